import { ErrorCode } from './error-codes.js';
import { fail, ok, type Result } from './result.js';

/** Longest accepted channel name, in characters. */
export const MAX_CHANNEL_LENGTH = 255;

// A fixed, safe alphabet: no whitespace, control characters, wildcards (* ? > #) or quotes.
const CHANNEL_RE = /^[A-Za-z0-9_\-:.@/=+,!~$]+$/;

/**
 * Checks a channel name: 1–255 characters from `A–Z a–z 0–9 _ - : . @ / = + , ! ~ $`, and no `..`
 * segment. Never throws.
 */
export function checkChannelName(name: unknown): Result<string> {
  if (typeof name !== 'string') return fail(ErrorCode.InvalidChannel, 'channel must be a string');
  if (name.length === 0) return fail(ErrorCode.InvalidChannel, 'channel must not be empty');
  if (name.length > MAX_CHANNEL_LENGTH) {
    return fail(ErrorCode.InvalidChannel, `channel must be at most ${MAX_CHANNEL_LENGTH} characters`);
  }
  if (!CHANNEL_RE.test(name)) {
    return fail(ErrorCode.InvalidChannel, 'channel may only contain letters, digits and _ - : . @ / = + , ! ~ $');
  }
  if (name.includes('..')) return fail(ErrorCode.InvalidChannel, 'channel must not contain ".."');
  return ok(name);
}
