export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  DuplicatePublish,
  PresenceAddCount,
  PresenceEvent,
  PresenceExpiry,
  PresenceMarker,
  PresenceRemoveCount,
  PresenceStore,
  PublishOptions,
  ReadOptions,
  ReadResult,
} from './engine/broker.js';
// eslint-disable-next-line @typescript-eslint/no-deprecated -- the old name of PresenceMember, kept so engines written against it still compile
export type { PresenceEntry } from './engine/broker.js';
export { serializeEnvelope } from './engine/broker.js';
export {
  ackDecision,
  DEFAULT_ACK_TTL,
  DEFAULT_MAX_ACKS_PER_CHANNEL,
  resolveAckLimits,
  type AckDecision,
  type AckedPosition,
  type AckListOptions,
  type AckOutcome,
  type AckStore,
  type AckStoreLimits,
} from './engine/ack-store.js';
export { MemoryAckStore, MAX_MEMORY_ACK_CHANNELS } from './memory/memory-ack-store.js';
export { DEFAULT_ACK_WEBHOOK_INTERVAL, MAX_PENDING_ACK_EVENTS } from './acks/ack-webhooks.js';
export { DEFAULT_ACKS_LIMIT, MAX_ACK_BODY_BYTES, MAX_ACKS_LIMIT } from './http/ack-route.js';
export { resolveHistoryPolicy, type HistoryOptions, type HistoryPolicy } from './engine/history-policy.js';
export { HeraldError } from './errors.js';
export { DEFAULT_COMPRESSION_THRESHOLD, type CompressionOptions, type CompressionSettings } from './transport/compression-options.js';
export { createHeraldServer, type HeraldServer } from './http/herald-server.js';
export { createHerald, type AttachOptions, type Herald } from './http/herald.js';
export type { AttachableServer } from './http/attach.js';
export { normalizeMountPath } from './http/mount-path.js';
export { ADMIN_SERIES_WINDOW, DEFAULT_ADMIN_SAMPLE_INTERVAL, type AdminSample } from './admin/admin-sampler.js';
export { DEFAULT_ADMIN_LIMIT, MAX_ADMIN_LIMIT } from './admin/admin-routes.js';
export type { NodeSummary } from './admin/node-directory.js';
export { ADMIN_CREDENTIALS_NEEDED, ADMIN_NEEDS_CREDENTIALS } from './admin/admin-access.js';
export type { ConnectionInfo, TransportName } from './transport/transport.js';
export type { ClientBundles, HeraldOptions, HeraldServerOptions } from './http/server-options.js';
export {
  DEFAULT_MAX_BUCKETS,
  MemoryRateLimitStore,
  takeFromBucket,
  type RateLimitStore,
  type RequestRate,
} from './http/rate-limit-store.js';
export {
  REQUEST_KINDS,
  resolveRequestLimits,
  type RequestKind,
  type RequestKindLimits,
  type RequestLimits,
  type ResolvedRequestLimits,
} from './http/request-limits.js';
export { Hub, type HubOptions, type PublishCallOptions, type MessageListener, type ReadOutcome, type SubscribeOutcome } from './hub/hub.js';
export type { HubMessage } from './hub/hub-message.js';
export type { Subscriber } from './hub/subscriber.js';
export type { Subscription } from './hub/subscription.js';
export { silentLogger, type Logger } from './logger.js';
export { MemoryBroker, type MemoryBrokerOptions } from './memory/memory-broker.js';
export { MemoryPresenceStore } from './memory/memory-presence-store.js';
export { newEpoch } from './engine/epoch.js';
export { deleteChannelClient, HeldMembers, type ClientsByChannel } from './engine/held-members.js';
export type { Authenticator } from './auth/authenticator.js';
export { ANONYMOUS, type Grants, type Identity, type Operation } from './auth/identity.js';
export { JwtAuthenticator, tokenFingerprint, type JwtOptions } from './auth/jwt-authenticator.js';
export { Security, type CredentialSource, type SecurityOptions } from './auth/security.js';
export { DEFAULT_TICKET_TTL, MemoryTicketStore, newTicket, type IssuedTicket, type TicketStore } from './auth/ticket-store.js';
export {
  resolveTicketLimits,
  ticketHolder,
  ticketRefusal,
  TicketRefusedError,
  type ResolvedTicketLimits,
  type TicketLimits,
} from './auth/ticket-limits.js';
export { ALLOW_ALL, DENY_ALL, Permissions, type Access, type NamespaceRules } from './auth/permissions.js';
export { CURSOR_CHARS_PER_CHANNEL, requestHeadBytes } from './http/request-head.js';
export { MAX_TIMER_DELAY, MAX_TIMER_SECONDS, timerMs, timerSeconds } from './timer-delay.js';
export { HookCaller, HookFailure, MAX_HOOK_ANSWER_BYTES, type HookObserver, type HookOutcome } from './hooks/hook-caller.js';
export { signatureHeaders } from './hooks/hook-signature.js';
export { resolveHooks, type HookEndpoints, type HooksOptions, type NamespaceHooks } from './hooks/hooks-options.js';
export { ProxyHooks, type ForwardedRequest, type HookContext } from './hooks/proxy-hooks.js';
export type { WebhookEventInput, WebhookSink } from './webhooks/webhook-sink.js';
export {
  isWebhookCondition,
  type WebhookCondition,
  type WebhookConditionClaim,
  type WebhookDelivery,
  type WebhookHold,
} from './webhooks/webhook-condition.js';
export { DEFAULT_PRESENCE_DEBOUNCE } from './webhooks/presence-webhooks.js';
export { closeReason } from './webhooks/close-reason.js';
export type { DeadWebhook, QueuedWebhook, WebhookQueue, WebhookQueueCounts } from './webhooks/webhook-queue.js';
export { MemoryWebhookQueue } from './webhooks/memory-webhook-queue.js';
export {
  DEFAULT_WEBHOOK_EVENT_TYPES,
  resolveWebhooks,
  WEBHOOK_EVENT_TYPES,
  type ResolvedWebhooks,
  type WebhooksOptions,
} from './webhooks/webhooks-options.js';
export { webhookRetryDelay } from './webhooks/webhook-backoff.js';
export {
  MAX_BUFFERED_WEBHOOKS,
  MAX_BUFFERED_WEBHOOK_BYTES,
  WebhookDispatcher,
  type WebhookDispatcherParts,
  type WebhookObserver,
  type WebhookOutcome,
  type WebhookRequest,
} from './webhooks/webhook-dispatcher.js';
export { MAX_REPLAY_IDS } from './admin/webhook-admin-routes.js';
// The Pusher HTTP API and webhooks.
export type {
  PusherAppOptions,
  PusherOptions,
  PusherWebhookDelivery,
  PusherWebhookEventName,
  PusherWebhookOptions,
} from './pusher/pusher-options.js';
export { pusherWebhookQueueName } from './pusher/pusher-webhooks.js';
export { checkPusherSignature, pusherHmac, stringToSign } from './pusher/pusher-request-signature.js';
export type { MercureJwtAlgorithm, MercureOptions } from './mercure/mercure-options.js';
export { MERCURE_ALGORITHMS } from './mercure/mercure-config.js';
export { PUSHER_WEBHOOK_EVENTS } from './pusher/pusher-webhook-events.js';
