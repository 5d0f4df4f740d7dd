/** The window a rate is measured over, in ms. */
export const RATE_WINDOW_MS = 2000;

/** Events per second over the last {@link RATE_WINDOW_MS}, from `performance.now()` times. */
export class RateMeter {
  readonly #times: number[] = [];
  #total = 0;

  /** Counts one event at `at`. */
  tick(at: number): void {
    this.#times.push(at);
    this.#total += 1;
    this.#trim(at);
  }

  /** Events per second over the window ending at `now`. */
  perSecond(now: number): number {
    this.#trim(now);
    return this.#times.length / (RATE_WINDOW_MS / 1000);
  }

  /** Every event counted so far. */
  get total(): number {
    return this.#total;
  }

  #trim(now: number): void {
    while (this.#times.length > 0 && this.#times[0]! <= now - RATE_WINDOW_MS) this.#times.shift();
  }
}
