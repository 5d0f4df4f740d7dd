import type { Identity } from '../auth/identity.js';
import type { Clock } from '../clock.js';
import { ExpiryTimer } from '../transport/expiry-timer.js';
import { HookFailure } from './hook-caller.js';

/** Longest lead before `expiresAt` at which the refresh hook is first asked (ms). */
export const REFRESH_MAX_LEAD = 30_000;
/** Share of the lifetime left (when armed) that the refresh hook is first asked ahead of `expiresAt`. */
export const REFRESH_LEAD_SHARE = 0.1;
/** Backoff before the first retry of a refresh the hook could not decide (ms); it doubles per retry. */
export const REFRESH_RETRY_BASE = 1000;

/** What an {@link EarlyRefresh} does for its connection. */
export interface EarlyRefreshHandlers {
  /** Asks the refresh hook (`undefined`: no refresh hook after all). */
  refresh(): Promise<Identity | undefined>;
  /** The hook extended the connection: carry on under `identity` (arm a new watch for it). */
  refreshed(identity: Identity): void;
  /**
   * The connection ends as expired: `error` is the app's denial (or an answer the hub refused), a
   * {@link HookFailure} when the hook could not decide before `expiresAt`, `undefined` without a refresh.
   */
  expired(error: unknown): void;
}

/**
 * Watches a connection's `expiresAt`. With `refreshes`, asks the refresh hook ahead of it, at a
 * random moment between min(10 % of the lifetime left, 30 s) and half of that before `expiresAt`
 * (connections handed the same expiry do not call at once); a call that cannot decide (3003, the
 * app slow, down or busy) is retried after 1 s, 2 s, 4 s… (each × 0.5–1.5, random) while before
 * `expiresAt`. A denial ends the connection at once; at `expiresAt` without a successful refresh
 * it ends then (a call still in flight is ignored).
 */
export class EarlyRefresh {
  readonly #clock: Clock;
  readonly #expiresAt: number;
  readonly #handlers: EarlyRefreshHandlers;
  readonly #random: () => number;
  readonly #deadline: ExpiryTimer;
  #attempt: ExpiryTimer | undefined;
  #failure: unknown;
  #asked = false;
  #done = false;

  constructor(clock: Clock, expiresAt: number, refreshes: boolean, handlers: EarlyRefreshHandlers, random: () => number = Math.random) {
    this.#clock = clock;
    this.#expiresAt = expiresAt;
    this.#handlers = handlers;
    this.#random = random;
    this.#deadline = new ExpiryTimer(clock, expiresAt, () =>
      this.#finish(
        this.#failure ??
          (this.#asked ? new HookFailure('timeout', 'the refresh hook did not answer before the connection expired') : undefined),
      ),
    );
    if (!refreshes) return;
    const lead = Math.min(Math.max(0, expiresAt - clock.now()) * REFRESH_LEAD_SHARE, REFRESH_MAX_LEAD);
    this.#attempt = new ExpiryTimer(clock, expiresAt - lead * (0.5 + random() / 2), () => this.#ask(0));
  }

  /** Stops watching: nothing more is called (a refresh in flight is ignored). Idempotent. */
  cancel(): void {
    this.#done = true;
    this.#deadline.cancel();
    this.#attempt?.cancel();
  }

  #ask(retries: number): void {
    if (this.#done) return;
    this.#asked = true;
    this.#handlers.refresh().then(
      (identity) => {
        if (this.#done) return;
        if (identity === undefined) return this.#finish(undefined);
        this.cancel();
        this.#handlers.refreshed(identity);
      },
      (error: unknown) => {
        if (this.#done) return;
        if (!(error instanceof HookFailure)) return this.#finish(error);
        this.#failure = error;
        const at = this.#clock.now() + REFRESH_RETRY_BASE * 2 ** retries * (0.5 + this.#random());
        // Past the expiry the deadline ends the connection.
        if (at < this.#expiresAt) this.#attempt = new ExpiryTimer(this.#clock, at, () => this.#ask(retries + 1));
      },
    );
  }

  #finish(error: unknown): void {
    if (this.#done) return;
    this.cancel();
    this.#handlers.expired(error);
  }
}
