/** How many recent round trips the statistics cover. */
export const ROUND_TRIP_SAMPLES = 200;

/**
 * Round trips of this page's own updates: publish → its envelope back from the hub. Times are
 * `performance.now()` milliseconds; only the last {@link ROUND_TRIP_SAMPLES} count.
 */
export class RoundTrips {
  readonly #sent = new Map<number, number>();
  readonly #samples: number[] = [];
  #last: number | undefined;

  /** Remembers when update `seq` was sent. */
  sent(seq: number, at: number): void {
    this.#sent.set(seq, at);
    // An update lost on a reconnect never comes back: forget the oldest beyond a bound.
    if (this.#sent.size > ROUND_TRIP_SAMPLES) this.#sent.delete(this.#sent.keys().next().value!);
  }

  /** Records update `seq` coming back at `at`; returns its round trip, or undefined for one not (or no longer) waited for. */
  received(seq: number, at: number): number | undefined {
    const sent = this.#sent.get(seq);
    if (sent === undefined) return undefined;
    this.#sent.delete(seq);
    const rtt = at - sent;
    this.#last = rtt;
    this.#samples.push(rtt);
    if (this.#samples.length > ROUND_TRIP_SAMPLES) this.#samples.shift();
    return rtt;
  }

  get last(): number | undefined {
    return this.#last;
  }

  get count(): number {
    return this.#samples.length;
  }

  /** The `p`-th percentile (0–100, nearest rank) of the recent samples; undefined before the first. */
  percentile(p: number): number | undefined {
    if (this.#samples.length === 0) return undefined;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  }
}
