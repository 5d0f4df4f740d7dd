import { ErrorCode, type ErrorCodeValue, type WireError } from '@herald/protocol';

const NAMES = new Map<number, string>(
  Object.entries(ErrorCode).map(([name, value]) => [
    value,
    name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase()),
  ]),
);

/**
 * An error with a stable code. `code` is a string for JavaScript callers (`'invalid_channel'`);
 * `wireCode` is the numeric code sent to clients (see `docs/errors.md`).
 */
export class HeraldError extends Error {
  readonly code: string;
  readonly wireCode: ErrorCodeValue;

  constructor(wireCode: ErrorCodeValue, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeraldError';
    this.wireCode = wireCode;
    this.code = NAMES.get(wireCode) ?? 'internal';
  }

  /** The error as sent on the wire. */
  toWire(): WireError {
    return { code: this.wireCode, message: this.message };
  }

  /** A HeraldError from a wire error (for example a parser's result). */
  static fromWire(error: WireError): HeraldError {
    return new HeraldError(error.code as ErrorCodeValue, error.message);
  }
}

/** The wire form of any thrown value: its own code for a HeraldError, else an internal error. */
export function toWireError(error: unknown): WireError {
  if (error instanceof HeraldError) return error.toWire();
  return { code: ErrorCode.Internal, message: 'internal error' };
}
