import { HOOK_CALLS_PER_REQUEST } from './bounded-map.js';
import { HookFailure } from './hook-caller.js';

/** Hook calls one WebSocket session may have waiting for one of its slots; past it a command is refused (3003). */
export const HOOK_CALLS_WAITING_PER_SESSION = 256;

/**
 * One WebSocket session's share of the app's hook slots: at most {@link HOOK_CALLS_PER_REQUEST}
 * of its hooked commands (subscribe, publish, rpc) ask the app at once, like a poll or an SSE
 * request; the others wait their turn in order, at most {@link HOOK_CALLS_WAITING_PER_SESSION}
 * (the session's command rate limit fills it no faster). So one session pipelining many hooked
 * commands cannot take every slot of an app that serves other clients too.
 */
export class SessionHookSlots {
  #running = 0;
  /** Resolved with true when handed a slot, false when the session closed. */
  readonly #waiting: ((handed: boolean) => void)[] = [];
  #closed = false;
  readonly #limit: number;
  readonly #maxWaiting: number;

  constructor(limit = HOOK_CALLS_PER_REQUEST, maxWaiting = HOOK_CALLS_WAITING_PER_SESSION) {
    this.#limit = limit;
    this.#maxWaiting = maxWaiting;
  }

  /**
   * Runs `call` once a slot is free and resolves with its result.
   * @throws HookFailure 3003 (`busy`) when too many calls wait already, or the session closed while this one waited
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new HookFailure('busy', 'the connection is closing');
    if (this.#running < this.#limit) this.#running++;
    else {
      if (this.#waiting.length >= this.#maxWaiting) {
        throw new HookFailure('busy', `at most ${this.#maxWaiting} hook calls may wait on one connection`);
      }
      // The slot is handed over by the call that frees it: #running stays counted.
      const handed = await new Promise<boolean>((resolve) => this.#waiting.push(resolve));
      if (!handed) throw new HookFailure('busy', 'the connection is closing');
      if (this.#closed) {
        this.#release();
        throw new HookFailure('busy', 'the connection is closing');
      }
    }
    try {
      return await call();
    } finally {
      this.#release();
    }
  }

  /** The session closed: the waiting calls are refused, none is started. */
  close(): void {
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake(false);
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#running--;
    else next(true);
  }
}
