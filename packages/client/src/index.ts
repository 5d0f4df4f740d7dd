export { backoffDelay, type ReconnectOptions } from './backoff.js';
export { createClient, HeraldClient, type ClientEvents, type ClientOptions } from './client.js';
export { HeraldClientError } from './errors.js';
export { memoryOutboxStore } from './outbox-store.js';
export { Subscription, type SubscribeOptions, type SubscriptionEvents, type SubscriptionState } from './subscription.js';
export type {
  ChannelMap,
  ClientState,
  Envelope,
  Gap,
  HistoryPage,
  OutboxEvent,
  OutboxItem,
  OutboxOptions,
  OutboxStore,
  Position,
  PresenceChange,
  PresenceMember,
  PublishOptions,
  PublishResult,
  RpcOptions,
  Since,
  TransportName,
} from './types.js';
