import type { Clock } from '../clock.js';
import { MAX_TIMER_DELAY } from '../timer-delay.js';

/** Shared by every timer: no closure per armed timer. */
function onTimer(timer: ExpiryTimer): void {
  timer.check();
}

/**
 * Runs `fire` once, when the injected clock reaches an absolute time (a token's expiry, a deadline),
 * on the next timer turn when it already has. Node runs a timer of more than 2³¹ − 1 ms after 1 ms,
 * so a time further ahead is reached in steps of at most that: each step reads the clock again and
 * arms the next for what is left, the last for exactly what is left. The timer does not keep the
 * process alive.
 */
export class ExpiryTimer {
  readonly #clock: Clock;
  readonly #at: number;
  readonly #fire: () => void;
  #timer: NodeJS.Timeout;
  /** Whether the armed timer is a step short of the time (then the clock is read again). */
  #stepping = false;

  /** Arms the timer: `fire` runs when `clock` reaches `at` (ms since the Unix epoch). */
  constructor(clock: Clock, at: number, fire: () => void) {
    this.#clock = clock;
    this.#at = at;
    this.#fire = fire;
    this.#timer = this.#arm(at - clock.now());
  }

  /** Stops the timer; `fire` will not run. Idempotent. */
  cancel(): void {
    clearTimeout(this.#timer);
  }

  /** @internal The timer fired: at the time, or after a step on the way to it. */
  check(): void {
    if (this.#stepping) this.#timer = this.#arm(this.#at - this.#clock.now());
    else this.#fire();
  }

  #arm(delay: number): NodeJS.Timeout {
    // The final step is trusted: re-reading the clock then, while it lags the timers, would re-arm
    // 1 ms timers until it caught up.
    this.#stepping = delay > MAX_TIMER_DELAY;
    const timer = setTimeout(onTimer, Math.max(0, Math.min(delay, MAX_TIMER_DELAY)), this);
    timer.unref();
    return timer;
  }
}
