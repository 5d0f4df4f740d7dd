import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import * as wsModule from 'ws';
import type { HubMessage } from '../hub/hub-message.js';
import type { CompressionSettings } from './compression-options.js';
import type { SignedEncodings } from './signed-json.js';
import { wsDeflatedFrame, wsTextFrame } from './ws-frame.js';

/** The plain frame of a message (cache key `ws`), shared by every session that does not deflate it. */
export const encodeWsFrame = (message: HubMessage): Buffer => wsTextFrame(message.json);

/** The name of the extension (RFC 7692). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/**
 * `plain` compressed as one permessage-deflate message (RFC 7692 §7.2.1): raw DEFLATE without
 * context takeover, ended by a sync flush whose trailing `00 00 ff ff` is dropped. `undefined` when
 * that is no smaller than `plain` (the frame then goes uncompressed, RSV1 clear).
 */
export function deflateMessage(plain: Buffer, level: number): Buffer | undefined {
  const compressed = deflateRawSync(plain, { level, finishFlush: constants.Z_SYNC_FLUSH });
  const payload = compressed.subarray(0, compressed.length - 4);
  return payload.length < plain.length ? payload : undefined;
}

/**
 * How a deflate session's frames are compressed: shared by every session ({@link WsDeflate}, no
 * context takeover) or by a compressor of the session's own (`TakeoverDeflate`).
 */
export interface SessionDeflate {
  /** A message's frame (plain JSON envelope). */
  message(message: HubMessage): Buffer;
  /** A message's frame with its signed cursor. */
  signedMessage(message: HubMessage): Buffer;
  /** Any other frame (reply, gap, presence, history), compressed at or above the threshold. */
  frame(frame: Buffer): Buffer;
  /** A message push another wire format built (a `herald.compact` or `herald.msgpack` frame). */
  wrap(frame: Buffer): Buffer;
  /** Frees what the session holds (called once it has closed). */
  close?(): void;
}

/**
 * The frames of the sessions that negotiated permessage-deflate. A message at or above the
 * threshold is compressed once, without context takeover, cached on it (`ws-deflate`), and the same
 * bytes go to every such session; below it, the plain frame every session shares. Other frames
 * (replies, gaps, presence) are compressed per frame when at or above the threshold.
 */
export class WsDeflate implements SessionDeflate {
  readonly threshold: number;
  readonly level: number;
  readonly #signed: SignedEncodings;
  readonly #message = (message: HubMessage): Buffer => this.#compress(Buffer.from(message.json));
  readonly #signedMessage = (message: HubMessage): Buffer => this.#compress(Buffer.from(this.#signed.json(message)));

  constructor(settings: CompressionSettings, signed: SignedEncodings) {
    this.threshold = settings.threshold;
    this.level = settings.level;
    this.#signed = signed;
  }

  /** A message's frame for a deflate session (its JSON length stands for its size: no encoding to count bytes). */
  message(message: HubMessage): Buffer {
    return message.json.length < this.threshold ? message.encoded('ws', encodeWsFrame) : message.encoded('ws-deflate', this.#message);
  }

  /** A message's frame with its signed cursor, for a deflate session. */
  signedMessage(message: HubMessage): Buffer {
    return this.#signed.json(message).length < this.threshold
      ? this.#signed.wsFrame(message)
      : message.encoded('ws-signed-deflate', this.#signedMessage);
  }

  /**
   * Any other frame `wsTextFrame` or `wsBinaryFrame` built (a reply, gap, presence event, history
   * reply), compressed when at or above the threshold.
   */
  frame(frame: Buffer): Buffer {
    const payload = framePayload(frame);
    return payload === undefined || payload.length < this.threshold ? frame : this.#compressPayload(payload, frame);
  }

  /**
   * A message push another wire format built and cached on the message (a `herald.compact` array
   * frame, a `herald.msgpack` binary frame): compressed once per frame, whichever session asks
   * first, and the same compressed bytes go to every session with that frame (kept as long as the
   * plain frame lives).
   */
  wrap(frame: Buffer): Buffer {
    const payload = framePayload(frame);
    if (payload === undefined || payload.length < this.threshold) return frame;
    let compressed = this.#wrapped.get(frame);
    if (compressed === undefined) {
      compressed = this.#compressPayload(payload, frame);
      this.#wrapped.set(frame, compressed);
    }
    return compressed;
  }

  readonly #wrapped = new WeakMap<Buffer, Buffer>();

  #compressPayload(payload: Buffer, frame: Buffer): Buffer {
    const compressed = deflateMessage(payload, this.level);
    return compressed === undefined ? frame : wsDeflatedFrame(compressed, frame[0] === BINARY);
  }

  #compress(plain: Buffer): Buffer {
    const payload = deflateMessage(plain, this.level);
    return payload === undefined ? wsTextFrame(plain.toString('utf8')) : wsDeflatedFrame(payload);
  }
}

/** First bytes of the unfragmented, uncompressed frames `wsTextFrame` and `wsBinaryFrame` build. */
const TEXT = 0x81;
const BINARY = 0x82;

/**
 * The payload of an unfragmented, unmasked, uncompressed text or binary frame as `wsTextFrame` or
 * `wsBinaryFrame` builds it (its first byte tells which); `undefined` for any other frame.
 */
export function framePayload(frame: Buffer): Buffer | undefined {
  if (frame[0] !== TEXT && frame[0] !== BINARY) return undefined;
  const length = frame[1]! & 0x7f;
  return frame.subarray(length < 126 ? 2 : length === 126 ? 4 : 10);
}

/** Offer parameters (RFC 7692 §7.1) and whether each takes a value. */
const PARAMS: Record<string, 'none' | 'bits' | 'optional-bits'> = {
  server_no_context_takeover: 'none',
  client_no_context_takeover: 'none',
  server_max_window_bits: 'bits',
  client_max_window_bits: 'optional-bits',
};

/** The offer the hub accepts, as `ws` is to answer it, and how the session compresses. */
export interface AcceptedOffer {
  /** The offer rewritten: `ws` echoes its parameters (and adds `client_no_context_takeover`). */
  readonly header: string;
  /** Set when the session compresses with context takeover: the window of its compressor. */
  readonly windowBits?: number | undefined;
}

/**
 * Picks the first permessage-deflate offer of a `Sec-WebSocket-Extensions` header the hub can
 * accept and returns it rewritten as the offer `ws` then answers (with `client_no_context_takeover`
 * added, the hub inflating each command alone). `client_max_window_bits` is kept as offered (the
 * hub inflates with a 15-bit window, which reads any).
 *
 * Shared mode (`takeoverBits` undefined, the default): `server_no_context_takeover` in every answer,
 * no `server_max_window_bits` (the hub compresses with a 15-bit window, so an offer asking for less
 * is declined; one asking for 15 is what it does anyway).
 *
 * Context takeover (`takeoverBits`: the configured window): an offer without
 * `server_no_context_takeover` is answered without it, the session compressing with a window of
 * `takeoverBits` or the client's smaller `server_max_window_bits` (answered with that value; 8 is
 * declined: zlib's raw deflate has no 256-byte window). An offer with `server_no_context_takeover`
 * gets the shared mode, as without takeover.
 *
 * `undefined` when no offer can be accepted (malformed, unknown parameter, a window the hub cannot
 * use): the connection then goes on without compression, as RFC 7692 §5 allows, where `ws` would
 * fail the handshake with 400.
 */
export function acceptDeflateOffer(header: string | string[] | undefined, takeoverBits?: number): AcceptedOffer | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const element of text.split(',')) {
    const [name, ...parts] = element.split(';').map((part) => part.trim());
    if (name !== PERMESSAGE_DEFLATE) continue;
    const params = new Map<string, string | true>();
    let ok = true;
    for (const part of parts) {
      const eq = part.indexOf('=');
      const key = (eq === -1 ? part : part.slice(0, eq)).trim();
      const raw = eq === -1 ? true : part.slice(eq + 1).trim();
      const value = typeof raw === 'string' && raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
      const kind = PARAMS[key];
      if (kind === undefined || params.has(key) || !validValue(kind, value)) {
        ok = false;
        break;
      }
      params.set(key, value);
    }
    if (!ok) continue;
    const client = params.get('client_max_window_bits');
    const clientPart = client === undefined ? '' : `; client_max_window_bits${client === true ? '' : `=${client}`}`;
    const server = params.get('server_max_window_bits');
    if (takeoverBits !== undefined && !params.has('server_no_context_takeover')) {
      if (server === undefined) return { header: `${PERMESSAGE_DEFLATE}${clientPart}`, windowBits: takeoverBits };
      const bits = Math.min(Number(server), takeoverBits);
      if (bits < 9) continue;
      return { header: `${PERMESSAGE_DEFLATE}; server_max_window_bits=${bits}${clientPart}`, windowBits: bits };
    }
    if (server !== undefined && Number(server) < 15) continue;
    // With takeover configured, ws no longer adds server_no_context_takeover itself.
    return { header: `${PERMESSAGE_DEFLATE}${takeoverBits === undefined ? '' : '; server_no_context_takeover'}${clientPart}` };
  }
  return undefined;
}

function validValue(kind: 'none' | 'bits' | 'optional-bits', value: string | true): boolean {
  if (value === true) return kind !== 'bits';
  if (kind === 'none') return false;
  return /^(8|9|1[0-5])$/.test(value);
}

/** What the hub uses of `ws`'s permessage-deflate extension object (its `_extensions` entry). */
interface WsExtension {
  decompress(data: Buffer, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
}

/** The symbol `ws` reads a close code from on an error (`kStatusCode`), taken from an error its receiver makes. */
const STATUS_CODE: symbol | undefined = (() => {
  const { Receiver } = wsModule as unknown as { Receiver?: { prototype: { createError?: (...args: unknown[]) => Error } } };
  const error = Receiver?.prototype.createError?.call({}, Error, 'probe', false, 1007, 'probe');
  return error === undefined ? undefined : Object.getOwnPropertySymbols(error).find((s) => (error as never)[s] === 1007);
})();

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);

/**
 * Replaces the inflater `ws` would give a deflate session with a synchronous one that keeps no zlib
 * state between messages (the negotiation asks for `client_no_context_takeover`): an idle session
 * holds no inflater (ws keeps one per session, about 40 KB, from the first compressed command on),
 * nothing waits in ws's process-wide zlib queue, and a command that inflates past `maxBytes`
 * (a zip bomb) stops there. Bad input closes the session with 1007, too large with 1009. Returns
 * false when `ws` has no such extension object (then its own inflater stays).
 */
export function inflateSynchronously(socket: unknown, maxBytes: number): boolean {
  const extension = (socket as { _extensions?: Record<string, WsExtension | undefined> })._extensions?.[PERMESSAGE_DEFLATE];
  if (extension === undefined || typeof extension.decompress !== 'function' || STATUS_CODE === undefined) return false;
  // The compressed fragments of a fragmented message until its last one (ws bounds them by
  // maxPayload, like any message); it is inflated whole, so its inflated size is checked then.
  let fragments: Buffer[] | undefined;
  extension.decompress = (data, fin, callback) => {
    // Called back on the next tick, as ws's own inflater does: its receiver waits for it.
    if (!fin) {
      (fragments ??= []).push(data);
      return process.nextTick(callback, null, EMPTY);
    }
    const input = fragments === undefined ? [data, TAIL] : [...fragments, data, TAIL];
    fragments = undefined;
    const result = inflate(input, maxBytes);
    if (result instanceof Error) return process.nextTick(callback, result);
    process.nextTick(callback, null, result);
  };
  return true;
}

/** `input` inflated, or the error to close with: 1007 bad data, 1009 past `maxBytes`. */
function inflate(input: Buffer[], maxBytes: number): Buffer | Error {
  try {
    return inflateRawSync(Buffer.concat(input), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: maxBytes + 1 });
  } catch (error) {
    const tooLarge = error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    return wsError(tooLarge ? 'message too large after inflating' : 'invalid compressed data', tooLarge ? 1009 : 1007);
  }
}

function wsError(message: string, code: number): Error {
  const error = code === 1009 ? new RangeError(message) : new Error(message);
  (error as unknown as Record<symbol, number>)[STATUS_CODE!] = code;
  return error;
}
