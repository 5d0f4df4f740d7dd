/**
 * Numeric error codes carried in `error.code` on every transport (WebSocket replies, HTTP error
 * bodies). Ranges tell a client what to do:
 *
 * - 1000–1999: the request is wrong; sending it again unchanged fails again.
 * - 2000–2999: not allowed (authentication, permission); needs a new token or a grant.
 * - 3000–3999: temporary; retry later (after `Retry-After` where given).
 *
 * `docs/errors.md` is the single list; keep both in step.
 */
export const ErrorCode = {
  /** The frame or body is not valid JSON. */
  InvalidJson: 1000,
  /** Valid JSON, but not a command object (missing `type`, wrong shape). */
  InvalidFrame: 1001,
  /** `type` names no known command. */
  UnknownCommand: 1002,
  /** Channel name empty, longer than 255 characters, or outside the allowed alphabet. */
  InvalidChannel: 1003,
  /** `since` is neither a cursor nor a position. */
  InvalidCursor: 1004,
  /** A field has the wrong type or an out-of-range value. */
  InvalidField: 1005,
  /** A frame or body is larger than the configured limit. */
  TooLarge: 1006,
  /** `subscribe` for a channel this session is already subscribed to. */
  AlreadySubscribed: 1007,
  /** `unsubscribe` for a channel this session is not subscribed to. */
  NotSubscribed: 1008,
  /** A per-connection limit (channels per connection, channels per request) was reached. */
  LimitExceeded: 1009,
  /** No route for this method and path. */
  NotFound: 1010,
  /** The route exists but not for this HTTP method. */
  MethodNotAllowed: 1011,
  /** An `ack` names an offset beyond the channel's last message. */
  AckBeyondPosition: 1012,
  /** An `ack` names an epoch that is not the channel's current one (the log was lost or renewed). */
  AckWrongEpoch: 1013,
  /** The request needs authentication. */
  Unauthorized: 2000,
  /** Authenticated, but not allowed on this channel (or from this origin). */
  Forbidden: 2001,
  /** The token expired: get a new one and send it (`refresh`) or reconnect with it. */
  TokenExpired: 2002,
  /** A backend disconnected this user or session (`POST /api/disconnect`); do not reconnect on your own. */
  Disconnected: 2003,
  /** Unexpected server fault; the request may be retried. */
  Internal: 3000,
  /** The engine is unreachable or the hub is shutting down; retry later. */
  Unavailable: 3001,
  /** Too many requests; slow down and retry. */
  RateLimited: 3002,
  /**
   * The app's hook (connect, subscribe, publish, refresh or rpc) did not answer in time, could not
   * be reached, answered something other than a valid JSON decision, or has too many calls queued:
   * the hub fails closed. Retry later.
   */
  HookUnavailable: 3003,
} as const;

/** One of the numeric {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * WebSocket close codes. 4000–4099: reconnect (with backoff) and resume from the last position.
 * 4100–4199: get a new token, then reconnect and resume. 4500–4999: do not reconnect without a
 * change (a new token, a fixed client, an operator's decision).
 */
export const CloseCode = {
  /** The session's send queue passed its limit: the client read too slowly. Reconnect and resume. */
  SlowConsumer: 4000,
  /** The hub is shutting down or restarting. Reconnect (to another node) and resume. */
  ServerShutdown: 4001,
  /** No pong arrived in time. Reconnect and resume. */
  PingTimeout: 4002,
  /** Too many commands, still coming after the rate-limit errors. Reconnect after a backoff and resume. */
  RateLimited: 4003,
  /** The token expired and was not refreshed in time. Get a new token, reconnect and resume. */
  TokenExpired: 4100,
  /** The client sent too many invalid frames; fix the client before reconnecting. */
  ProtocolViolation: 4500,
  /** Authentication failed, or none arrived within the deadline; reconnect only with a valid token. */
  Unauthorized: 4501,
  /** A backend disconnected this user or session (`POST /api/disconnect`); do not reconnect on your own. */
  Disconnected: 4502,
} as const;

/** One of the numeric {@link CloseCode} values. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** An error as it travels on the wire: `{code, message}`. */
export interface WireError {
  readonly code: number;
  readonly message: string;
  /**
   * The channel the request was refused for (`2000`/`2001` on one channel of a poll that names
   * several): the others may be asked for again without it. Absent on any other error.
   */
  readonly channel?: string;
}

/** Whether a close code asks the client to get a new token before it reconnects. */
export function needsNewToken(closeCode: number): boolean {
  return closeCode >= 4100 && closeCode <= 4199;
}

/** Whether a close code asks the client to reconnect (and resume), possibly after a new token. */
export function shouldReconnect(closeCode: number): boolean {
  if (closeCode >= 4500 && closeCode <= 4999) return false;
  // Protocol error, unsupported data, invalid UTF-8, policy violation, too big: client bugs.
  if (closeCode === 1002 || closeCode === 1003 || closeCode === 1007 || closeCode === 1008 || closeCode === 1009) return false;
  return true;
}
