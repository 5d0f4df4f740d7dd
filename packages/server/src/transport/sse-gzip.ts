import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * gzip on SSE streams, built from segments shared by every stream. A stream is one gzip member
 * (RFC 1952): the header, then one segment per chunk, each a run of raw DEFLATE blocks that starts
 * and ends on a byte boundary, none of them final, the last ended by a sync flush (or a stored
 * block), so the client inflates every event as soon as it arrives. Segments are compressed without
 * context, so the segment of a message is the same for every stream and is built once
 * (`message.encoded`); each stream only keeps the CRC-32 and length of what it sent, for the
 * trailer written when the hub ends it. A stream costs no zlib state at all.
 */

/** The gzip member header: deflate, no name, no time, unknown OS. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** An empty final block (fixed Huffman: BFINAL, BTYPE 01, end of block). */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Largest stored block. */
const STORED_MAX = 65_535;

/**
 * `plain` as a segment: compressed (ended by a sync flush) when at least `threshold` bytes and
 * that is smaller, else in stored blocks (5 bytes each, no zlib call).
 */
export function gzipSegment(plain: Buffer, threshold: number, level: number): Buffer {
  if (plain.length >= threshold) {
    const compressed = deflateRawSync(plain, { level, finishFlush: constants.Z_SYNC_FLUSH });
    if (compressed.length < plain.length + 5) return compressed;
  }
  return storedSegment(plain);
}

/** `plain` in stored blocks (RFC 1951 §3.2.4), byte-aligned, not final. */
export function storedSegment(plain: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(plain.length / STORED_MAX));
  const out = Buffer.allocUnsafe(plain.length + 5 * blocks);
  let at = 0;
  for (let start = 0; start < plain.length || at === 0; start += STORED_MAX) {
    const length = Math.min(STORED_MAX, plain.length - start);
    out[at] = 0x00;
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    plain.copy(out, at + 5, start, start + length);
    at += 5 + length;
  }
  return out;
}

/** What a gzip stream has sent so far, for its trailer. */
export class GzipTally {
  #crc = 0;
  #size = 0;

  /** Counts `plain` (the uncompressed bytes of a segment just sent). */
  add(plain: Buffer): void {
    this.#crc = crc32(plain, this.#crc);
    this.#size = (this.#size + plain.length) >>> 0;
  }

  /** The final block and the gzip trailer (CRC-32 and length of everything sent, mod 2³²). */
  trailer(): Buffer {
    const out = Buffer.allocUnsafe(10);
    FINAL_BLOCK.copy(out, 0);
    out.writeUInt32LE(this.#crc >>> 0, 2);
    out.writeUInt32LE(this.#size, 6);
    return out;
  }
}
