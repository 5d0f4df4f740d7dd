import { ErrorCode, exceedsJsonDepth } from '@herald/protocol';
import type { Clock } from '../clock.js';
import { HeraldError } from '../errors.js';
import { signatureHeaders } from './hook-signature.js';

/** Largest answer the hub reads from a hook (bytes); a longer one is a failed call. */
export const MAX_HOOK_ANSWER_BYTES = 1_048_576;

/** How a hook call ended, for metrics and logs. */
export type HookOutcome = 'allow' | 'deny' | 'timeout' | 'unreachable' | 'invalid' | 'busy' | 'cached';

/** Told of every hook call (metrics). Must be cheap and must not throw. */
export interface HookObserver {
  called(hook: string, outcome: HookOutcome, ms: number): void;
}

/** Options of {@link HookCaller}. */
export interface HookCallerOptions {
  /** Secrets that sign every request (the first is the current one). */
  readonly secrets: readonly string[];
  /** Milliseconds a call may take, waiting for a slot included. */
  readonly timeout: number;
  /** Calls in flight at once, per hook name and app origin. */
  readonly concurrency: number;
  /** Calls waiting for a slot, per hook name and app origin; past it a call fails at once (`busy`). */
  readonly maxQueued: number;
  readonly clock: Clock;
  readonly observer?: HookObserver | undefined;
}

/** A failed call: the app cannot decide, so the hub fails closed with 3003. */
export class HookFailure extends HeraldError {
  readonly outcome: Exclude<HookOutcome, 'allow' | 'deny' | 'cached'>;
  constructor(outcome: HookFailure['outcome'], message: string, options?: ErrorOptions) {
    super(ErrorCode.HookUnavailable, message, options);
    this.outcome = outcome;
  }
}

/** Bounded concurrency with a bounded queue: `acquire` resolves when a slot is free. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  readonly #maxQueued: number;
  constructor(concurrency: number, maxQueued: number) {
    this.#free = concurrency;
    this.#maxQueued = maxQueued;
  }
  /** False when the queue is full; otherwise resolves with a release function once a slot is free (or `signal` aborts). */
  acquire(signal: AbortSignal): Promise<() => void> | false {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#free++;
      else next();
    };
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(release);
    }
    if (this.#waiting.length >= this.#maxQueued) return false;
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', abort);
        resolve(release);
      };
      const abort = (): void => {
        const index = this.#waiting.indexOf(wake);
        if (index !== -1) this.#waiting.splice(index, 1);
        reject(signal.reason as Error);
      };
      this.#waiting.push(wake);
      signal.addEventListener('abort', abort, { once: true });
    });
  }
}

/**
 * Makes the hub's signed JSON POSTs to the app: one timeout covers waiting for a slot, connecting,
 * and reading the answer; at most `concurrency` calls per hook and app origin (scheme, host and
 * port of the URL: one slow app does not hold the slots of another) are in flight and `maxQueued` wait.
 * Every failure (timeout, unreachable, a status other than 2xx, a body that is not a JSON object
 * or is too large, a full queue) is a {@link HookFailure} (code 3003): the hub fails closed.
 */
export class HookCaller {
  readonly #options: HookCallerOptions;
  readonly #slots = new Map<string, Slots>();

  constructor(options: HookCallerOptions) {
    this.#options = options;
  }

  /** POSTs `payload` to `url` for hook `hook`; resolves with the answer's JSON object. */
  async call(hook: string, url: string, payload: object): Promise<Record<string, unknown>> {
    const { clock, observer, timeout } = this.#options;
    const started = clock.now();
    const signal = AbortSignal.timeout(timeout);
    const pool = `${hook} ${new URL(url).origin}`;
    let slots = this.#slots.get(pool);
    if (slots === undefined) {
      slots = new Slots(this.#options.concurrency, this.#options.maxQueued);
      this.#slots.set(pool, slots);
    }
    const waiting = slots.acquire(signal);
    if (waiting === false) {
      observer?.called(hook, 'busy', 0);
      throw new HookFailure('busy', `the ${hook} hook has too many calls waiting`);
    }
    let release: (() => void) | undefined;
    try {
      release = await waiting.catch(() => {
        throw new HookFailure('timeout', `the ${hook} hook did not answer within ${timeout} ms`);
      });
      const body = JSON.stringify(payload);
      const answer = await this.#post(hook, url, body, signal);
      return answer;
    } catch (error) {
      const failure =
        error instanceof HookFailure ? error : new HookFailure('unreachable', `the ${hook} hook could not be reached`, { cause: error });
      observer?.called(hook, failure.outcome, clock.now() - started);
      throw failure;
    } finally {
      release?.();
    }
  }

  async #post(hook: string, url: string, body: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const { clock, secrets, timeout } = this.#options;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'herald-hooks', ...signatureHeaders(secrets, body, clock.now()) },
        body,
        signal,
        redirect: 'error',
      });
    } catch (error) {
      if (signal.aborted) throw new HookFailure('timeout', `the ${hook} hook did not answer within ${timeout} ms`, { cause: error });
      throw new HookFailure('unreachable', `the ${hook} hook could not be reached`, { cause: error });
    }
    let text: string;
    try {
      text = await readBounded(response, MAX_HOOK_ANSWER_BYTES);
    } catch (error) {
      if (signal.aborted) throw new HookFailure('timeout', `the ${hook} hook did not answer within ${timeout} ms`, { cause: error });
      if (error instanceof HookFailure) throw error;
      throw new HookFailure('unreachable', `the ${hook} hook's answer was cut off`, { cause: error });
    }
    if (response.status < 200 || response.status > 299) {
      throw new HookFailure('invalid', `the ${hook} hook answered HTTP ${response.status}`);
    }
    let parsed: unknown;
    try {
      if (exceedsJsonDepth(text)) throw new Error('too deep');
      parsed = JSON.parse(text);
    } catch {
      throw new HookFailure('invalid', `the ${hook} hook answered something other than JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HookFailure('invalid', `the ${hook} hook must answer a JSON object`);
    }
    return parsed as Record<string, unknown>;
  }
}

/** The response body as text, failing once it passes `max` bytes. */
async function readBounded(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw new HookFailure('invalid', `the hook's answer is larger than ${max} bytes`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw new HookFailure('invalid', `the hook's answer is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
