import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open file descriptors, read from `/proc/self/limits` (Linux), or
 * `undefined` where it cannot be read or is unlimited.
 */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/**
 * Descriptors kept out of reach of long-lived connections when the hub caps them from the open-file
 * limit: 10 % of it, at least 64. They serve what is not long-lived (health checks, publishes,
 * short polls, answers that refuse a connection) and the process itself (engine, listening socket).
 */
export function descriptorReserve(fileLimit: number): number {
  return Math.max(64, Math.ceil(fileLimit / 10));
}

/**
 * The default hub-wide cap on long-lived connections: the open-file limit minus
 * {@link descriptorReserve} (at least 1), or `Infinity` where the limit is unknown.
 */
export function defaultMaxConnections(fileLimit: number | undefined = openFileLimit()): number {
  if (fileLimit === undefined) return Infinity;
  return Math.max(1, fileLimit - descriptorReserve(fileLimit));
}
