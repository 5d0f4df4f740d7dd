import { constants, createDeflateRaw, type DeflateRaw } from 'node:zlib';
import type { HubMessage } from '../hub/hub-message.js';
import type { CompressionSettings } from './compression-options.js';
import type { SignedEncodings } from './signed-json.js';
import { encodeWsFrame, framePayload, type SessionDeflate } from './ws-deflate.js';
import { wsDeflatedFrame } from './ws-frame.js';

/** The native zlib handle under a `node:zlib` stream, as Node's own synchronous API drives it. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}

/** A `node:zlib` stream's internals this file uses: its handle and where the handle reports what is left. */
interface ZlibInternals {
  readonly _handle: ZlibHandle | null;
  /** [output bytes left, input bytes left] after a `writeSync`. */
  readonly _writeState: Uint32Array;
}

/**
 * One output buffer for every compressor: compression is synchronous, so no two use it at once,
 * and no session holds an output buffer of its own (zlib streams allocate 16 KB each by default).
 */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** Whether this Node's zlib streams expose the handle {@link TakeoverDeflate} drives. */
export const takeoverSupported: boolean = (() => {
  const probe = createDeflateRaw({ chunkSize: 64 }) as unknown as ZlibInternals & DeflateRaw;
  const ok = typeof probe._handle?.writeSync === 'function' && probe._writeState instanceof Uint32Array;
  probe.close();
  return ok;
})();

/**
 * permessage-deflate WITH context takeover for one session (RFC 7692 §7.2.1): a raw-DEFLATE
 * compressor of its own that keeps its window from one frame to the next, so a message much like
 * the previous one costs a fraction of its shared-mode size. Each frame at or above the threshold
 * is compressed synchronously, when the session queues it, and ended by a sync flush whose
 * trailing `00 00 ff ff` is dropped: frames reach the outbox, and so the client's inflater, in the
 * order they were compressed. Below the threshold a frame goes plain (RSV1 clear), which the
 * client's context does not see. Every compressed frame is sent, even when no smaller than the
 * plain one: the client's window must hold what the compressor's holds. The compressor is created
 * on the first compressed frame (an idle session holds none) and freed by {@link close}; its size
 * is bounded by `windowBits` and `memLevel` (about 2^(windowBits+2) + 2^(memLevel+9) bytes plus
 * zlib's state, docs/operations.md#compression).
 */
export class TakeoverDeflate implements SessionDeflate {
  readonly #settings: CompressionSettings;
  readonly #windowBits: number;
  readonly #signed: SignedEncodings;
  #stream: (DeflateRaw & ZlibInternals) | undefined;
  /** zlib failed once: every later frame goes plain (an uncompressed frame needs no shared context). */
  #broken = false;

  /** `windowBits`: the configured window, or the smaller `server_max_window_bits` the client offered. */
  constructor(settings: CompressionSettings, windowBits: number, signed: SignedEncodings) {
    this.#settings = settings;
    this.#windowBits = windowBits;
    this.#signed = signed;
  }

  message(message: HubMessage): Buffer {
    const json = message.json;
    return json.length < this.#settings.threshold ? message.encoded('ws', encodeWsFrame) : this.#compressText(json, message);
  }

  signedMessage(message: HubMessage): Buffer {
    const json = this.#signed.json(message);
    return json.length < this.#settings.threshold ? this.#signed.wsFrame(message) : this.#compressText(json, message, true);
  }

  frame(frame: Buffer): Buffer {
    const payload = framePayload(frame);
    if (payload === undefined || payload.length < this.#settings.threshold) return frame;
    return this.#deflate(payload, frame[0] === 0x82) ?? frame;
  }

  wrap(frame: Buffer): Buffer {
    return this.frame(frame);
  }

  /** Frees the compressor (the session closed). */
  close(): void {
    this.#stream?.close();
    this.#stream = undefined;
    this.#broken = true;
  }

  #compressText(json: string, message: HubMessage, signed = false): Buffer {
    return this.#deflate(Buffer.from(json)) ?? (signed ? this.#signed.wsFrame(message) : message.encoded('ws', encodeWsFrame));
  }

  /** `payload` compressed in the session's context as a deflated frame; `undefined` once zlib has failed (or after close). */
  #deflate(payload: Buffer, binary = false): Buffer | undefined {
    if (this.#broken) return undefined;
    const stream = (this.#stream ??= this.#create());
    const handle = stream._handle;
    if (handle === null) return this.#fail();
    const state = stream._writeState;
    let parts: Buffer[] | undefined;
    let offset = 0;
    let left = payload.length;
    for (;;) {
      handle.writeSync(constants.Z_SYNC_FLUSH, payload, offset, left, scratch, 0, scratch.length);
      if (stream.destroyed || stream._handle === null) return this.#fail();
      const outLeft = state[0]!;
      const inLeft = state[1]!;
      const have = scratch.length - outLeft;
      // The usual case: the whole frame fits the scratch buffer, copied once into the frame.
      if (outLeft !== 0 && parts === undefined) return wsDeflatedFrame(scratch.subarray(0, have - 4), binary);
      (parts ??= []).push(Buffer.from(scratch.subarray(0, have)));
      if (outLeft !== 0) break;
      offset += left - inLeft;
      left = inLeft;
    }
    const whole = Buffer.concat(parts);
    return wsDeflatedFrame(whole.subarray(0, whole.length - 4), binary);
  }

  #create(): DeflateRaw & ZlibInternals {
    const { level, memLevel } = this.#settings;
    // chunkSize 64 (zlib's least): the stream's own output buffer is never used (see scratch).
    const stream = createDeflateRaw({ level, memLevel, windowBits: this.#windowBits, chunkSize: 64 }) as DeflateRaw & ZlibInternals;
    // zlib reports a failure by destroying the stream with an error: seen in #deflate, never thrown.
    stream.on('error', ignore);
    return stream;
  }

  #fail(): undefined {
    this.close();
    return undefined;
  }
}

function ignore(): void {}
