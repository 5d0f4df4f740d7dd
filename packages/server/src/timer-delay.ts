/**
 * Longest delay a Node.js timer honours: 2³¹ − 1 ms (about 24.8 days). Node runs a timer asked for a
 * longer delay after 1 ms instead, with only a warning, so every timer option is bounded by it.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/** Longest timer option given in seconds: {@link MAX_TIMER_DELAY} in whole seconds. */
export const MAX_TIMER_SECONDS = 2_147_483;

/**
 * Checks an option that becomes a timer's delay in milliseconds: `undefined` gives `fallback`;
 * otherwise an integer from `min` to `max`, or a `RangeError`
 * `<name> must be an integer of ms from <min> to <max>`.
 * @param max @default MAX_TIMER_DELAY
 */
export function timerMs(name: string, value: number | undefined, fallback: number, min = 1, max = MAX_TIMER_DELAY): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer of ms from ${min} to ${max}`);
  }
  return value;
}

/**
 * Checks an option in seconds (fractions allowed) that becomes a timer's delay: `undefined` gives
 * `fallback`; otherwise a number from `min` to {@link MAX_TIMER_SECONDS}, or a `RangeError`
 * `<name> must be a number of seconds from <min> to 2147483`. The default `min` is 1 ms.
 */
export function timerSeconds(name: string, value: number | undefined, fallback: number, min = 0.001): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min || value > MAX_TIMER_SECONDS) {
    throw new RangeError(`${name} must be a number of seconds from ${min} to ${MAX_TIMER_SECONDS}`);
  }
  return value;
}
