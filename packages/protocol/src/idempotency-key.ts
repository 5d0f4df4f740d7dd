import { ErrorCode } from './error-codes.js';
import { fail, ok, type Result } from './result.js';

/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

const PRINTABLE = /^[\x21-\x7e]+$/;

/**
 * Checks a publish's idempotency key: 1–128 printable ASCII characters, no spaces (a UUID, a
 * database id, a hash). Repeating a key within its lifetime on the same channel stores nothing and
 * answers with the first publish's position.
 */
export function checkIdempotencyKey(value: unknown): Result<string> {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_IDEMPOTENCY_KEY_LENGTH || !PRINTABLE.test(value)) {
    return fail(ErrorCode.InvalidField, `idempotencyKey must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces`);
  }
  return ok(value);
}
