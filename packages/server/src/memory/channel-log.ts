import type { BrokerMessage } from '../engine/broker.js';
import type { HistoryPolicy } from '../engine/history-policy.js';

/**
 * One channel's bounded log in memory: consecutive offsets, oldest first. Trimming by size happens on
 * append; trimming by age whenever the log is touched.
 */
export class ChannelLog {
  readonly epoch: string;
  /** Offset of the last appended message (0 before the first). */
  top = 0;
  #entries: BrokerMessage[] = [];
  #start = 0;

  constructor(epoch: string) {
    this.epoch = epoch;
  }

  /** Number of retained messages. */
  get size(): number {
    return this.#entries.length - this.#start;
  }

  /** Offset of the oldest retained message (`top + 1` when none). */
  get oldest(): number {
    return this.top - this.size + 1;
  }

  append(message: BrokerMessage, policy: HistoryPolicy): void {
    this.top = message.offset;
    if (policy.size === 0) {
      this.#entries = [];
      this.#start = 0;
      return;
    }
    this.#entries.push(message);
    const excess = this.size - policy.size;
    if (excess > 0) this.#drop(excess);
  }

  /** Drops messages older than the policy's age limit. */
  expire(now: number, policy: HistoryPolicy): void {
    if (policy.ttl === 0) return;
    const cutoff = now - policy.ttl * 1000;
    let n = 0;
    while (this.#start + n < this.#entries.length && this.#entries[this.#start + n]!.time <= cutoff) n++;
    if (n > 0) this.#drop(n);
  }

  /** Messages with offset > `after`, at most `limit`. `after` must lie in [oldest - 1, top]. */
  slice(after: number, limit: number): BrokerMessage[] {
    const from = this.#start + (after - this.oldest + 1);
    return this.#entries.slice(from, Math.min(this.#entries.length, from + limit));
  }

  #drop(n: number): void {
    this.#start += n;
    // Compact once the dead prefix outweighs the live part: amortised O(1) per message.
    if (this.#start > 32 && this.#start * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#start);
      this.#start = 0;
    }
  }
}
