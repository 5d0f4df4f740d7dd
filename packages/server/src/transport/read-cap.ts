import type { ReadOutcome } from '../hub/hub.js';

/** Largest answer to a read (`GET /api/messages`, `GET /api/history`, a `history` reply), in bytes of message JSON. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Cuts `read` to the messages whose JSON (plus one separator byte each) fits in `budget` bytes,
 * oldest first. With `atLeastOne` the first message is kept whatever its size, so a reader always
 * progresses (a message may be larger than any budget). A cut read has `more: true` and the position
 * of the last message it kept (just before its first message when it kept none), so a reader that
 * continues from it misses nothing.
 */
export function capRead(read: ReadOutcome, budget: number, atLeastOne: boolean): { read: ReadOutcome; bytes: number } {
  let bytes = 0;
  let count = 0;
  for (const message of read.messages) {
    const size = Buffer.byteLength(message.json) + 1;
    if (bytes + size > budget && !(atLeastOne && count === 0)) break;
    bytes += size;
    count++;
  }
  if (count === read.messages.length) return { read, bytes };
  const messages = read.messages.slice(0, count);
  const last = messages.at(-1);
  const first = read.messages[0]!;
  const position = last === undefined ? { epoch: first.epoch, offset: first.offset - 1 } : { epoch: last.epoch, offset: last.offset };
  return { read: { ...read, messages, position, more: true }, bytes };
}
