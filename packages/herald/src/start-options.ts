/** What `herald start` runs with, after flags are read and checked. */
export interface StartOptions {
  /** TCP port; 0 picks a free one. @default 3000 */
  readonly port: number;
  /** Interface to bind. @default '127.0.0.1' */
  readonly host: string;
  /** Messages kept per channel. @default 1000 */
  readonly historySize: number;
  /** Seconds a message is kept; 0 = no age limit. @default 86400 */
  readonly historyTtl: number;
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';

/** Parses a flag value as an integer in [min, max], or throws a RangeError naming the flag. */
export function parseIntegerFlag(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
