import type { ReadOutcome } from '../hub/hub.js';

/** Answers an {@link AnswerCache} keeps; past it, it starts again empty. */
const MAX_ANSWERS = 64;

interface Answer {
  readonly first: string;
  readonly last: string;
  readonly body: Buffer;
}

/**
 * The bodies of recent answers to one-channel reads, by the messages they carry. Under load the
 * polls of a channel's subscribers ask from the same few positions and get the same messages, so
 * each body is built and encoded once and the same bytes go to every one of them (as a held poll's
 * answer is shared). The key is the channel, epoch and offsets of the first and last message, and
 * the stored JSON of both is compared too, so a message stored again at a reused offset (an engine
 * that lost acknowledged messages, before the hub renews the epoch) is never answered from here.
 */
export class AnswerCache {
  readonly #answers = new Map<string, Answer>();

  /** The body kept for `read` (a read with messages, no gap, unsigned), or `undefined`. */
  get(read: ReadOutcome): Buffer | undefined {
    const first = read.messages[0];
    const last = read.messages.at(-1);
    if (first === undefined || last === undefined) return undefined;
    const answer = this.#answers.get(keyOf(read));
    // Usually the very same strings (the engine's stored JSON): the comparison is a pointer check.
    if (answer === undefined || answer.first !== first.json || answer.last !== last.json) return undefined;
    return answer.body;
  }

  /** Keeps `body` as the answer to `read`. */
  set(read: ReadOutcome, body: Buffer): void {
    const first = read.messages[0];
    const last = read.messages.at(-1);
    if (first === undefined || last === undefined) return;
    if (this.#answers.size >= MAX_ANSWERS) this.#answers.clear();
    this.#answers.set(keyOf(read), { first: first.json, last: last.json, body });
  }
}

// '|' separates the fields of a cursor: no channel name or epoch holds one.
function keyOf(read: ReadOutcome): string {
  const first = read.messages[0]!;
  const last = read.messages.at(-1)!;
  return `${read.channel}|${first.epoch}|${first.offset}|${last.epoch}|${last.offset}|${read.messages.length}|${read.more ? 1 : 0}`;
}
