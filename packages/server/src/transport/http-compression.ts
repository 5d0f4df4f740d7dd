import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { ContentCoding } from './accept-encoding.js';

/** Brotli quality of answers: 5 compresses about as fast as gzip level 6 and smaller (docs/operations.md). */
const BROTLI_QUALITY = 5;

/**
 * Compressed bodies by the body they compress. Shared bodies (a message's poll answer, an
 * {@link AnswerCache} entry) are the same Buffer for every client, so each is compressed once per
 * coding; the entries go with their bodies.
 */
const compressed = new WeakMap<Buffer, Partial<Record<ContentCoding, Buffer>>>();

/** `body` compressed with `coding`, cached on the body; `undefined` when that saves nothing. */
export function compressBody(body: Buffer, coding: ContentCoding, level: number): Buffer | undefined {
  let entry = compressed.get(body);
  const cached = entry?.[coding];
  if (cached !== undefined) return cached.length < body.length ? cached : undefined;
  const out =
    coding === 'br'
      ? brotliCompressSync(body, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
            [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
            [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
          },
        })
      : gzipSync(body, { level });
  if (entry === undefined) compressed.set(body, (entry = {}));
  entry[coding] = out;
  return out.length < body.length ? out : undefined;
}
