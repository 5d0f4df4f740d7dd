/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Real milliseconds before giving up. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * Milliseconds between probes; 0 probes again after each macrotask (`setImmediate`, which fake
   * timers leave alone unless told otherwise). @default 0
   */
  readonly intervalMs?: number;
}

/** Resolves once `condition()` holds; rejects with `what` in the message after `timeoutMs`. */
export function eventually(condition: () => boolean | Promise<boolean>, what: string, options?: EventuallyOptions): Promise<void>;
/** Resolves with the first result of `probe()` that `accept` takes; rejects (naming `what` and the last result) after `timeoutMs`. */
export function eventually<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  what: string,
  options?: EventuallyOptions,
): Promise<T>;
/**
 * Waits for a condition without sleeping a fixed time: probes, and probes again (after each
 * macrotask, or every `intervalMs`), until it holds. The deadline is measured on the real clock
 * (`performance.now()`), so fake timers do not stop it.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  acceptOrWhat: ((value: T) => boolean) | string,
  whatOrOptions?: string | EventuallyOptions,
  maybeOptions?: EventuallyOptions,
): Promise<T | void> {
  const accept = typeof acceptOrWhat === 'function' ? acceptOrWhat : (value: T) => value === true;
  const what = typeof acceptOrWhat === 'string' ? acceptOrWhat : (whatOrOptions as string);
  const options = (typeof acceptOrWhat === 'string' ? (whatOrOptions as EventuallyOptions | undefined) : maybeOptions) ?? {};
  const { timeoutMs = 10_000, intervalMs = 0 } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return typeof acceptOrWhat === 'string' ? undefined : value;
    if (performance.now() > deadline) {
      const last = typeof acceptOrWhat === 'string' ? '' : `; last: ${JSON.stringify(value)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((resolve) => (intervalMs > 0 ? setTimeout(resolve, intervalMs) : setImmediate(resolve)));
  }
}
