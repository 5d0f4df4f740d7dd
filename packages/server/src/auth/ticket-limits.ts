import { ErrorCode } from '@herald/protocol';
import { HeraldError } from '../errors.js';
import type { Identity } from './identity.js';

/** Unredeemed, unexpired tickets one holder may have at once. */
export const DEFAULT_TICKETS_PER_HOLDER = 16;
/** Tickets a holder is issued per second, on average. */
export const DEFAULT_TICKETS_PER_SECOND = 5;
/** Tickets a holder may be issued in a row before {@link DEFAULT_TICKETS_PER_SECOND} applies. */
export const DEFAULT_TICKET_BURST = 20;
/** Tickets outstanding in one store, all holders together. */
export const MAX_TICKETS = 100_000;

/**
 * How many tickets a store issues. A holder is a user (the token's `sub`) or, for a token without
 * `sub` and in the dev profile, a client IP address (see {@link ticketHolder}). Past a limit a store
 * refuses with {@link TicketRefusedError}; it never drops a ticket it issued to make room.
 */
export interface TicketLimits {
  /** Unredeemed, unexpired tickets per holder; a redeemed or expired one frees its slot. @default 16 */
  readonly perHolder?: number;
  /** Tickets issued per second per holder, on average (a token bucket). @default 5 */
  readonly perSecond?: number;
  /** Tickets a holder may be issued in a row (the bucket's size). @default 20 */
  readonly burst?: number;
  /** Unredeemed, unexpired tickets in the whole store. @default 100000 */
  readonly max?: number;
}

/** {@link TicketLimits} with every default applied. */
export type ResolvedTicketLimits = { readonly [K in keyof TicketLimits]-?: number };

/** Checks limits and fills in the defaults; throws `RangeError` for a value out of range. */
export function resolveTicketLimits(limits: TicketLimits = {}): ResolvedTicketLimits {
  const integer = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`tickets ${name} must be an integer ≥ 1`);
    return value;
  };
  const perSecond = limits.perSecond ?? DEFAULT_TICKETS_PER_SECOND;
  if (!Number.isFinite(perSecond) || perSecond <= 0) throw new RangeError('tickets perSecond must be a number > 0');
  return {
    perHolder: integer('perHolder', limits.perHolder, DEFAULT_TICKETS_PER_HOLDER),
    perSecond,
    burst: integer('burst', limits.burst, DEFAULT_TICKET_BURST),
    max: integer('max', limits.max, MAX_TICKETS),
  };
}

/**
 * A ticket not issued because a limit was reached: {@link ErrorCode.RateLimited} (429) for a
 * holder's limits, {@link ErrorCode.Unavailable} (503) when the store is full.
 */
export class TicketRefusedError extends HeraldError {
  /** Whole seconds (≥ 1) after which asking again may succeed: the answer's `Retry-After`. */
  readonly retryAfter: number;

  constructor(wireCode: typeof ErrorCode.RateLimited | typeof ErrorCode.Unavailable, message: string, retryAfterMs: number) {
    super(wireCode, message);
    this.name = 'TicketRefusedError';
    this.retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  }
}

/** The refusals every store gives, with the same messages. */
export const ticketRefusal = {
  perHolder: (limits: ResolvedTicketLimits, retryAfterMs: number): TicketRefusedError =>
    new TicketRefusedError(ErrorCode.RateLimited, `at most ${limits.perHolder} unredeemed tickets at once`, retryAfterMs),
  rate: (limits: ResolvedTicketLimits, retryAfterMs: number): TicketRefusedError =>
    new TicketRefusedError(ErrorCode.RateLimited, `at most ${limits.perSecond} tickets per second`, retryAfterMs),
  full: (retryAfterMs: number): TicketRefusedError =>
    new TicketRefusedError(ErrorCode.Unavailable, 'too many tickets outstanding', retryAfterMs),
};

/**
 * Whose limits a ticket counts against: the user, or, when the identity names none (a token without
 * `sub`, anonymous tickets of the dev profile), the client's IP address.
 */
export function ticketHolder(identity: Identity, address: string | undefined): string {
  return identity.user !== null ? `user:${identity.user}` : `ip:${address ?? 'unknown'}`;
}
