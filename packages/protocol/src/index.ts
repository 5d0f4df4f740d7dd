export { checkChannelName, MAX_CHANNEL_LENGTH } from './channel-name.js';
export type {
  AckCommand,
  AuthCommand,
  Command,
  CommandId,
  DecodedCommand,
  DecodedHistoryCommand,
  DecodedRpcCommand,
  DecodedSubscribeCommand,
  HistoryCommand,
  PingCommand,
  PresenceCommand,
  PublishCommand,
  RpcCommand,
  SubscribeCommand,
  UnsubscribeCommand,
} from './commands.js';
export { COMMAND_TYPES } from './commands.js';
export {
  encodeCursor,
  encodePosition,
  parseCursor,
  parseSince,
  MAX_CURSOR_CHANNELS,
  MAX_CURSOR_LENGTH,
  type CursorEntry,
  type CursorPositions,
} from './cursor.js';
export { ACK_FIELDS, decodeCommand, decodeCommandValue, MAX_HISTORY_LIMIT, MAX_TOKEN_LENGTH, type DecodeResult } from './decode-command.js';
export type { DeltaPush, Envelope, Gap, GapReason } from './envelope.js';
export {
  CloseCode,
  ErrorCode,
  needsNewToken,
  shouldReconnect,
  type CloseCodeValue,
  type ErrorCodeValue,
  type WireError,
} from './error-codes.js';
export { checkIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency-key.js';
export { checkRpcMethod, MAX_METHOD_LENGTH } from './rpc-method.js';
export { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';
export { isPosition, MAX_EPOCH_LENGTH, type Position } from './position.js';
export { fail, ok, type Result } from './result.js';
export type {
  AckEntry,
  AckResult,
  AcksResult,
  AuthResult,
  CommandResult,
  CommandResults,
  ErrorFrame,
  ErrorReplyFrame,
  GapFrame,
  HistoryReplyResult,
  HistoryResult,
  PingResult,
  PresenceEventFrame,
  PresenceMember,
  PresenceResult,
  PublishResult,
  ReplyFrame,
  ResultFrame,
  RpcResult,
  ServerFrame,
  SubscribeResult,
  UnsubscribedFrame,
  UnsubscribeResult,
} from './server-frames.js';
export { MAX_PIN_LOOKBACK_MS } from './pin.js';
export {
  DEFAULT_MAX_BATCH_MESSAGES,
  isBatchEntryError,
  type BatchEntryError,
  type BatchEntryResult,
  type BatchMessage,
  type PublishBatchResult,
} from './publish-batch.js';
export {
  HOOK_SIGNATURE_HEADER,
  HOOK_TIMESTAMP_HEADER,
  HOOK_TOLERANCE_SECONDS,
  type ChannelOccupiedEvent,
  type ChannelVacatedEvent,
  type ClientAckEvent,
  type ClientHookRequestBase,
  type ClientPublishEvent,
  type ConnectHookAllow,
  type ConnectHookRequest,
  type ConnectionClosedEvent,
  type HookAnswer,
  type HookAnswers,
  type HookDeny,
  type HookGrants,
  type HookName,
  type HookRequest,
  type HookRequestBase,
  type HookTransport,
  type PresenceJoinEvent,
  type PresenceLeaveEvent,
  type PublishHookAllow,
  type PublishHookRequest,
  type RefreshHookAllow,
  type RefreshHookRequest,
  type RpcHookAllow,
  type RpcHookRequest,
  type SubscribeHookAllow,
  type SubscribeHookRequest,
  type WebhookBatch,
  type WebhookEvent,
  type WebhookEventBase,
  type WebhookEventType,
} from './hooks.js';
export { COMPACT_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, type CompactMessage } from './compact.js';
