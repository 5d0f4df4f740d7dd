/** Reconnect policy. Delays in milliseconds. */
export interface ReconnectOptions {
  /** Lower bound of every delay, and the size of the first window. @default 500 */
  readonly minDelay?: number;
  /** Upper bound of the window. @default 30000 */
  readonly maxDelay?: number;
  /** Failed connection attempts in a row (the first included) before giving up (state `closed`). @default Infinity */
  readonly maxAttempts?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): uniform in [min, min(max, min·2^(attempt+1))].
 * The jitter spreads clients that lost the same hub at once over the whole window.
 */
export function backoffDelay(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  const window = Math.min(max, min * 2 ** (attempt + 1));
  return min + random() * Math.max(0, window - min);
}
