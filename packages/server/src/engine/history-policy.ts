/** How much of a channel's log an engine retains. */
export interface HistoryPolicy {
  /** Most messages kept per channel. */
  readonly size: number;
  /** Longest a message is kept, in seconds; 0 keeps messages until `size` pushes them out. */
  readonly ttl: number;
}

/** Messages kept per channel unless configured. */
export const DEFAULT_HISTORY_SIZE = 1000;
/** Seconds a message is kept unless configured (one day). */
export const DEFAULT_HISTORY_TTL = 86_400;

/** Options shared by every engine for retention. */
export interface HistoryOptions {
  /** Most messages kept per channel. @default 1000 */
  readonly historySize?: number;
  /** Seconds a message is kept; 0 = no age limit. @default 86400 */
  readonly historyTtl?: number;
  /** Per-channel override (for namespaces); falls back to the two options above. */
  readonly historyFor?: (channel: string) => HistoryPolicy;
}

/** Validates retention options and returns the per-channel policy function. */
export function resolveHistoryPolicy(options: HistoryOptions): (channel: string) => HistoryPolicy {
  const size = options.historySize ?? DEFAULT_HISTORY_SIZE;
  const ttl = options.historyTtl ?? DEFAULT_HISTORY_TTL;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('historySize must be an integer ≥ 0');
  if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError('historyTtl must be a number of seconds ≥ 0');
  const fixed: HistoryPolicy = { size, ttl };
  return options.historyFor ?? (() => fixed);
}
