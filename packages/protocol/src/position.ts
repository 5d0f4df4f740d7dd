/**
 * A place in one channel's log. `offset` counts messages from 1 (0 = before the first message) and
 * grows by exactly 1 per message; `epoch` names the log instance, and changes whenever the log is lost
 * or rebuilt, so an offset is only meaningful together with its epoch.
 */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

/** Longest accepted epoch string. */
export const MAX_EPOCH_LENGTH = 64;

const EPOCH_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `value` is a well-formed {@link Position} (safe integer offset ≥ 0, epoch of safe characters). */
export function isPosition(value: unknown): value is Position {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['epoch'] === 'string' &&
    EPOCH_RE.test(v['epoch']) &&
    typeof v['offset'] === 'number' &&
    Number.isSafeInteger(v['offset']) &&
    v['offset'] >= 0
  );
}
