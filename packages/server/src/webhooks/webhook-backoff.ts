/**
 * The wait before attempt `attempts + 1` of a webhook event that failed `attempts` times (≥ 1):
 * exponential backoff with full jitter, a uniform draw from 0 to `min(max, base · 2^(attempts − 1))`
 * ms, so nodes retrying after one outage spread out instead of arriving together.
 * @param random a draw from [0, 1) @default Math.random
 */
export function webhookRetryDelay(attempts: number, base: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempts - 1, 0), 52));
  return Math.round(random() * ceiling);
}
