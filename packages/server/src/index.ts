export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export type { Broker, BrokerHandler, BrokerMessage, DuplicatePublish, PresenceEntry, PresenceEvent, PresenceStore, PublishOptions, ReadOptions, ReadResult } from './engine/broker.js';
export { serializeEnvelope } from './engine/broker.js';
export { DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_TTL, resolveHistoryPolicy, type HistoryOptions, type HistoryPolicy } from './engine/history-policy.js';
export { HeraldError, toWireError } from './errors.js';
export { createHeraldServer, type HeraldServer } from './http/herald-server.js';
export type { HeraldServerOptions } from './http/server-options.js';
export { Hub, type HubOptions, type PublishCallOptions, type MessageListener, type ReadOutcome, type SubscribeOutcome } from './hub/hub.js';
export { HubMessage } from './hub/hub-message.js';
export type { Subscriber } from './hub/subscriber.js';
export type { Subscription } from './hub/subscription.js';
export { silentLogger, type Logger } from './logger.js';
export { MemoryBroker, type MemoryBrokerOptions } from './memory/memory-broker.js';
export { MemoryPresenceStore } from './memory/memory-presence-store.js';
export { newEpoch } from './engine/epoch.js';
export { DEFAULT_SEND_QUEUE_BYTES } from './transport/outbox.js';
export { wsTextFrame } from './transport/ws-frame.js';
export type { Authenticator } from './auth/authenticator.js';
export { ANONYMOUS, grantsFromClaims, idempotencyScope, matchesAny, SERVER, type Grants, type Identity, type Operation } from './auth/identity.js';
export { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, JwtAuthenticator, MIN_SECRET_BYTES, tokenFingerprint, type JwtOptions } from './auth/jwt-authenticator.js';
export { API_KEY_HEADER, Security, type CredentialSource, type SecurityOptions } from './auth/security.js';
export { DEFAULT_TICKET_TTL, MemoryTicketStore, newTicket, type IssuedTicket, type TicketStore } from './auth/ticket-store.js';
export {
  DEFAULT_TICKET_BURST,
  DEFAULT_TICKETS_PER_HOLDER,
  DEFAULT_TICKETS_PER_SECOND,
  MAX_TICKETS,
  resolveTicketLimits,
  ticketHolder,
  ticketRefusal,
  TicketRefusedError,
  type ResolvedTicketLimits,
  type TicketLimits,
} from './auth/ticket-limits.js';
export { ALLOW_ALL, DENY_ALL, namespaceOf, Permissions, type Access, type NamespaceRules } from './auth/permissions.js';
export { CURSOR_CHARS_PER_CHANNEL, MAX_REQUEST_HEADERS, requestHeadBytes } from './http/request-head.js';
