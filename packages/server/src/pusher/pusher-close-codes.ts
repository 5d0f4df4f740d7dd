/**
 * The close and error codes the Pusher door sends (Pusher's own, see `docs/errors.md`). pusher-js
 * acts on the range: 4000–4099 it does not reconnect, 4100–4199 it reconnects after a back-off,
 * 4200–4299 it reconnects at once.
 */
export const PusherCode = {
  /** The key in `/app/{key}` is no app's. */
  AppNotFound: 4001,
  /** A protocol version the door does not speak (it speaks 5–7). */
  UnsupportedProtocol: 4007,
  /** No `protocol` query parameter. */
  NoProtocol: 4008,
  /** A `pusher:signin` with a bad signature or user data, or the app's backend ended the connection (`terminate_connections`, admin disconnect). */
  Unauthorized: 4009,
  /** The connection's send queue passed `sendQueueBytes` (a slow consumer), or 50 frames in a row were over the frame rate: reconnect after a back-off. */
  OverCapacity: 4100,
  /** The server is shutting down: reconnect at once (to another node). */
  ReconnectNow: 4200,
  /** No frame came within `pongTimeout` after the server's `pusher:ping`. */
  PongTimeout: 4201,
  /** A client event over the connection's rate (`clientEventsPerSecond`), sent as `pusher:error`; the connection stays open. */
  ClientEventRateLimit: 4301,
  /**
   * Any frame over the connection's frame rate (Herald's `commandsPerSecond`, `commandBurst`), sent
   * as `pusher:error`; the frame is dropped. 50 in a row close the connection with {@link OverCapacity}.
   */
  RateLimited: 4302,
} as const;

/** Pusher's limit on a client event's data, in bytes. */
export const MAX_CLIENT_EVENT_BYTES = 10 * 1024;

/** Bytes a WebSocket close reason may have (RFC 6455: 125 bytes of payload less the 2-byte code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, at a character boundary (a close reason over 123
 * bytes makes `ws` throw; a slice by characters is not enough for multi-byte text).
 */
export function utf8Prefix(text: string, maxBytes: number = MAX_CLOSE_REASON_BYTES): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
