export {
  createBackendClient,
  type BackendClient,
  type BackendPublishOptions,
  type CallOptions,
  type DisconnectResult,
  type HistoryOptions,
  type HistoryPage,
  type Ticket,
} from './backend-client.js';
export { parseRetryAfter, retryDelay } from './backoff.js';
export {
  HeraldAbortError,
  HeraldApiError,
  HeraldBackendError,
  HeraldNetworkError,
  HeraldProtocolError,
  HeraldTimeoutError,
  type HeraldErrorOptions,
} from './errors.js';
export { DEFAULT_MAX_BATCH_BYTES, type BackendClientOptions, type RetryInfo } from './options.js';
export { PublishManyError, type PendingMessage } from './publish-many-error.js';
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
