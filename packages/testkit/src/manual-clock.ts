import type { Clock } from '@herald/server';

/**
 * A clock a test moves by hand: `advance(ms)`, or set `time`. `now` is bound, so `clock.now` can be
 * passed on alone (e.g. to `JwtAuthenticator`). With fake timers, move both together so the hub's
 * clock and its timers agree.
 */
export class ManualClock implements Clock {
  /** Milliseconds since the Unix epoch. */
  time: number;

  /** @param start the first `now()`; @default 1_900_000_000_000 (a whole second, so token `exp` maths is exact) */
  constructor(start = 1_900_000_000_000) {
    this.time = start;
  }

  readonly now = (): number => this.time;

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.time += ms;
  }
}
