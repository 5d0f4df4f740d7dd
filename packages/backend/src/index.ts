export {
  createBackendClient,
  type BackendClient,
  type BackendPublishOptions,
  type DisconnectResult,
  type HistoryOptions,
  type HistoryPage,
  type Ticket,
} from './backend-client.js';
export { parseRetryAfter, retryDelay } from './backoff.js';
export { HeraldApiError, HeraldBackendError, HeraldNetworkError, HeraldTimeoutError } from './errors.js';
export type { BackendClientOptions, RetryInfo } from './options.js';
export { DEFAULT_TOKEN_TTL, type TokenGrants, type TokenKey, type TokenOptions, type TokenSigning } from './tokens.js';
export {
  ErrorCode,
  isBatchEntryError,
  type BatchEntryError,
  type BatchEntryResult,
  type BatchMessage,
  type Envelope,
  type Gap,
  type Position,
  type PresenceMember,
  type PresenceResult,
  type PublishResult,
} from '@herald/protocol';
