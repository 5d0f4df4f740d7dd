import { CloseCode } from '@herald/protocol';

/** The reason words of `connection_closed` webhook events (see `ConnectionClosedEvent`). */
export type CloseReason =
  | 'client'
  | 'slow_consumer'
  | 'token_expired'
  | 'disconnected'
  | 'shutdown'
  | 'ping_timeout'
  | 'protocol_violation'
  | 'unauthorized'
  | 'rate_limited'
  | 'dropped';

const BY_CODE: Readonly<Record<number, CloseReason>> = {
  [CloseCode.SlowConsumer]: 'slow_consumer',
  [CloseCode.ServerShutdown]: 'shutdown',
  [CloseCode.PingTimeout]: 'ping_timeout',
  [CloseCode.RateLimited]: 'rate_limited',
  [CloseCode.TokenExpired]: 'token_expired',
  [CloseCode.ProtocolViolation]: 'protocol_violation',
  [CloseCode.Unauthorized]: 'unauthorized',
  [CloseCode.Disconnected]: 'disconnected',
};

/**
 * Why a WebSocket session closed, as a word, from its close code. `byServer`: the hub sent the
 * close frame (the code is the hub's); else the peer did, or the connection was lost (1006:
 * `dropped`). Codes of malformed traffic (1002, 1003, 1007, 1008, 1009) are `protocol_violation`
 * either way; any other code the peer sends is `client`.
 */
export function closeReason(code: number, byServer: boolean): CloseReason {
  const known = BY_CODE[code];
  if (known !== undefined && byServer) return known;
  if (code === 1002 || code === 1003 || code === 1007 || code === 1008 || code === 1009) return 'protocol_violation';
  if (code === 1006) return 'dropped';
  return byServer ? (known ?? 'shutdown') : 'client';
}
