/**
 * What the hub compresses on the wire (option `compression` of `createHerald`/`createHeraldServer`).
 * `false` turns every kind off; `true` or an object turns it on with the defaults filled in.
 */
export interface CompressionOptions {
  /**
   * WebSocket permessage-deflate (RFC 7692), negotiated when the client offers it. Each message is
   * compressed once, without context takeover, and the same bytes go to every deflate session.
   * @default true
   */
  readonly websocket?: boolean | undefined;
  /** gzip (SSE streams; gzip or br for polling answers) when the request's `Accept-Encoding` allows it. @default true */
  readonly http?: boolean | undefined;
  /** Bytes below which a frame, event or answer is sent uncompressed. @default 256 */
  readonly threshold?: number | undefined;
  /** zlib deflate level, 1 (fastest) to 9 (smallest). @default 6 */
  readonly level?: number | undefined;
  /**
   * WebSocket context takeover: a deflate session whose client did not ask for
   * `server_no_context_takeover` gets its own compressor that keeps its window from one frame to
   * the next (repeated, similar messages shrink several times more), at the cost of one
   * compression per session and message and about 30 KB per session (docs/operations.md). Off:
   * each message is compressed once for every session.
   * @default false
   */
  readonly contextTakeover?: boolean | undefined;
  /**
   * Window of a context-takeover compressor, 9 (512 bytes) to 15 (32 KB), as a power of two: it
   * should hold the previous message; a client's smaller `server_max_window_bits` wins.
   * @default 12
   */
  readonly windowBits?: number | undefined;
  /** zlib memLevel of a context-takeover compressor, 1 (least memory) to 9. @default 4 */
  readonly memLevel?: number | undefined;
}

/** {@link CompressionOptions} checked, with the defaults filled in; `undefined` kinds are off. */
export interface CompressionSettings {
  readonly websocket: boolean;
  readonly http: boolean;
  readonly threshold: number;
  readonly level: number;
  readonly contextTakeover: boolean;
  readonly windowBits: number;
  readonly memLevel: number;
}

/** Bytes below which nothing is compressed: deflate saves little there and costs a zlib call (docs/operations.md). */
export const DEFAULT_COMPRESSION_THRESHOLD = 256;

/** Window of a context-takeover compressor: 4 KB holds the previous dashboard-sized message (docs/operations.md). */
export const DEFAULT_WINDOW_BITS = 12;
/** memLevel of a context-takeover compressor: 4 compresses as well as 8 on such messages with a 16th of the memory. */
export const DEFAULT_MEM_LEVEL = 4;

/** Checks `options` (a bad value throws a `RangeError` naming it) and fills in the defaults. */
export function resolveCompression(options: boolean | CompressionOptions | undefined): CompressionSettings {
  const given = options === true || options === undefined || options === false ? {} : options;
  return {
    websocket: options !== false && flag('compression.websocket', given.websocket, true),
    http: options !== false && flag('compression.http', given.http, true),
    threshold: integer('compression.threshold', given.threshold, DEFAULT_COMPRESSION_THRESHOLD, 0, 2 ** 31 - 1),
    level: integer('compression.level', given.level, 6, 1, 9),
    contextTakeover: flag('compression.contextTakeover', given.contextTakeover, false),
    windowBits: integer('compression.windowBits', given.windowBits, DEFAULT_WINDOW_BITS, 9, 15),
    memLevel: integer('compression.memLevel', given.memLevel, DEFAULT_MEM_LEVEL, 1, 9),
  };
}

function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new RangeError(`${name} must be true or false`);
  return value;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}
