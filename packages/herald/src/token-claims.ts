import { checkChannelName } from '@herald/protocol';
import { CliError } from './cli-error.js';

/** The operations a grant may name, as the hub reads them from a token's `herald` claim. */
export const GRANT_OPERATIONS = ['subscribe', 'publish', 'history', 'presence'] as const;
type Operation = (typeof GRANT_OPERATIONS)[number];

/** Longest `--ttl`: one year, in seconds. */
export const MAX_TOKEN_TTL = 31_536_000;

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses `--ttl`: seconds, or a number with a unit `s`, `m`, `h`, `d` (`90s`, `15m`, `1h`, `7d`). */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match === null ? NaN : Number(match[1]) * UNITS[match[2] || 's']!;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_TOKEN_TTL) {
    throw new CliError(`--ttl must be a duration from 1s to 365d (e.g. 90s, 15m, 1h, 7d), got "${text}"`);
  }
  return seconds;
}

/**
 * Whether `pattern` is what the hub matches (see `Identity` in @herald/server): a channel name, or
 * the start of one followed by one `*` (`chat:*`, `*`). `a*b`, `chat:**` and names with `=` or `,`
 * (which `--grant` uses as separators) are not.
 */
function isGrantPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  const prefix = pattern.endsWith('*');
  const name = prefix ? pattern.slice(0, -1) : pattern;
  if (name.includes('*') || /[=,]/.test(name)) return false;
  // A prefix is the start of some valid channel name.
  return checkChannelName(prefix ? `${name}x` : name).ok;
}

/**
 * Turns `--grant` values into the claims the hub reads (see grantsFromClaims in @herald/server):
 * `PATTERN=op,op` adds the pattern to `herald.<op>` for each op; a bare `PATTERN` grants all four
 * operations through `channels`. A pattern is a channel name or the start of one followed by one `*`.
 */
export function grantClaims(grants: readonly string[]): { channels?: string[]; herald?: Partial<Record<Operation, string[]>> } {
  const channels: string[] = [];
  const herald: Partial<Record<Operation, string[]>> = {};
  for (const grant of grants) {
    const eq = grant.lastIndexOf('=');
    const pattern = eq === -1 ? grant : grant.slice(0, eq);
    if (!isGrantPattern(pattern)) {
      throw new CliError(
        `--grant "${grant}": the pattern must be a channel name (chat:1) or the start of one followed by a single * (chat:*, or * for every channel)`,
      );
    }
    if (eq === -1) {
      channels.push(pattern);
      continue;
    }
    const operations = grant.slice(eq + 1).split(',');
    for (const operation of operations) {
      if (!(GRANT_OPERATIONS as readonly string[]).includes(operation)) {
        throw new CliError(`--grant "${grant}": "${operation}" is not one of ${GRANT_OPERATIONS.join(', ')}`);
      }
      (herald[operation as Operation] ??= []).push(pattern);
    }
  }
  return {
    ...(channels.length > 0 && { channels }),
    ...(Object.keys(herald).length > 0 && { herald }),
  };
}
