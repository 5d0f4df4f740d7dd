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
}

/** {@link CompressionOptions} checked, with the defaults filled in; `undefined` kinds are off. */
export interface CompressionSettings {
  readonly websocket: boolean;
  readonly http: boolean;
  readonly threshold: number;
  readonly level: number;
}

/** Bytes below which nothing is compressed: deflate saves little there and costs a zlib call (docs/operations.md). */
export const DEFAULT_COMPRESSION_THRESHOLD = 256;

/** Checks `options` (a bad value throws a `RangeError` naming it) and fills in the defaults. */
export function resolveCompression(options: boolean | CompressionOptions | undefined): CompressionSettings {
  if (options === false) return { websocket: false, http: false, threshold: DEFAULT_COMPRESSION_THRESHOLD, level: 6 };
  const given = options === true || options === undefined ? {} : options;
  return {
    websocket: flag('compression.websocket', given.websocket),
    http: flag('compression.http', given.http),
    threshold: integer('compression.threshold', given.threshold, DEFAULT_COMPRESSION_THRESHOLD, 0, 2 ** 31 - 1),
    level: integer('compression.level', given.level, 6, 1, 9),
  };
}

function flag(name: string, value: boolean | undefined): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new RangeError(`${name} must be true or false`);
  return value;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}
