const monotonicNow = (): number => performance.now();

/**
 * A token bucket: `rate` commands per second on average, up to `burst` at once. One limiter serves
 * every client; each client keeps its bucket as one number, the time its bucket is full again (the
 * generic cell rate algorithm, equivalent to counting tokens), so a connection pays for a number
 * rather than for an object. The clock is read only when a command arrives.
 */
export class RateLimiter {
  /** A client that has sent nothing yet: its bucket is full. */
  static readonly FULL = 0;
  /** Milliseconds one token takes to come back. */
  readonly #interval: number;
  /** How far ahead of now a bucket's "full again" time may be while one token is left: (burst − 1) tokens. */
  readonly #tolerance: number;
  readonly #now: () => number;

  /** `rate` in commands per second (> 0), `burst` in commands (an integer ≥ 1); `now` in milliseconds. */
  constructor(rate: number, burst: number, now: () => number = monotonicNow) {
    this.#interval = 1000 / rate;
    this.#tolerance = (burst - 1) * this.#interval;
    this.#now = now;
  }

  /**
   * Takes one token from a client's bucket (`full`: the time it is full again, {@link RateLimiter.FULL}
   * at first). Returns the bucket's new time when the command may run now, or `undefined` when the
   * bucket is empty (the bucket is then unchanged).
   */
  take(full: number): number | undefined {
    const now = this.#now();
    if (full - now > this.#tolerance) return undefined;
    return Math.max(full, now) + this.#interval;
  }
}
