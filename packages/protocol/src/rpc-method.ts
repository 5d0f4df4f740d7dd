import { ErrorCode } from './error-codes.js';
import { fail, ok, type Result } from './result.js';

/** Longest accepted rpc method name, in characters. */
export const MAX_METHOD_LENGTH = 255;

const METHOD_RE = /^[A-Za-z0-9_.:/-]+$/;

/**
 * Checks an rpc method name: 1–255 characters of `A–Z a–z 0–9 _ - . : /`. Its namespace (the part
 * before the first `:`) picks the rpc hook's URL, as a channel's does. Never throws.
 */
export function checkRpcMethod(value: unknown): Result<string> {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_METHOD_LENGTH || !METHOD_RE.test(value)) {
    return fail(ErrorCode.InvalidField, `method must be 1-${MAX_METHOD_LENGTH} characters of letters, digits and _ - . : /`);
  }
  return ok(value);
}
