export { applyDelta } from './apply-delta.js';
export { backoffDelay, type ReconnectOptions } from './backoff.js';
export { createClient, HeraldClient, type ClientEvents, type ClientOptions } from './client.js';
export type { OutboxPlugin } from './outbox-contract.js';
export { HeraldClientError } from './errors.js';
export type { WireFormat } from './wire-format.js';
export { DEFAULT_ACK_INTERVAL } from './ack-queue.js';
export { Subscription, type AckMode, type SubscribeOptions, type SubscriptionEvents, type SubscriptionState } from './subscription.js';
export type {
  ChannelMap,
  ClientState,
  Envelope,
  Gap,
  HistoryPage,
  OutboxEvent,
  OutboxOptions,
  Position,
  PresenceChange,
  PresenceMember,
  PublishOptions,
  PublishResult,
  RpcOptions,
  Since,
  TransportName,
} from './types.js';
