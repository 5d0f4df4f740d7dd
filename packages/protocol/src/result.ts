import type { WireError } from './error-codes.js';

/** The outcome of a parser that never throws: a value or a typed wire error. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

/** A successful {@link Result}. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed {@link Result}. */
export function fail<T = never>(code: number, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}
