import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Identity } from './identity.js';
import { resolveTicketLimits, ticketHolder, ticketRefusal, type ResolvedTicketLimits, type TicketLimits } from './ticket-limits.js';

/** Seconds a ticket stays valid unless configured. */
export const DEFAULT_TICKET_TTL = 30;

/** A ticket as `POST /api/ticket` returns it. */
export interface IssuedTicket {
  readonly ticket: string;
  /** Seconds it stays valid. */
  readonly expiresIn: number;
}

/**
 * Short-lived, single-use tickets that stand for an identity, for the transports that cannot send
 * an `Authorization` header (the browser's EventSource and WebSocket). A ticket is 256 random bits,
 * valid for a few seconds, redeemed at most once, and never outlives the token it stands for.
 *
 * Nodes behind a load balancer without sticky sessions must share the store (the Redis engine
 * provides one): the ticket is issued by one node and usually redeemed by another.
 */
export interface TicketStore {
  /**
   * Issues a ticket counted against `holder` (see {@link ticketHolder}; by default the identity's
   * user). Rejects with a `TicketRefusedError` past the store's {@link TicketLimits}.
   */
  issue(identity: Identity, holder?: string): Promise<IssuedTicket>;
  /** The identity a ticket stands for, once; `undefined` when unknown, used or expired. */
  redeem(ticket: string): Promise<Identity | undefined>;
  close?(): Promise<void>;
}

/** A new ticket: 256 random bits, base64url. */
export function newTicket(): string {
  return randomBytes(32).toString('base64url');
}

/** One holder's outstanding tickets (ticket → expiry) and rate bucket. */
interface Holder {
  readonly tickets: Map<string, number>;
  tokens: number;
  at: number;
}

/** Tickets in this process's memory: for a single node. */
export class MemoryTicketStore implements TicketStore {
  readonly #tickets = new Map<string, { identity: Identity; holder: string; expires: number }>();
  readonly #holders = new Map<string, Holder>();
  readonly #ttl: number;
  readonly #clock: Clock;
  readonly #limits: ResolvedTicketLimits;
  #swept = 0;

  /** `ttl` in seconds. Throws `RangeError` for limits out of range. */
  constructor(clock: Clock, ttl: number = DEFAULT_TICKET_TTL, limits: TicketLimits = {}) {
    this.#clock = clock;
    this.#ttl = ttl;
    this.#limits = resolveTicketLimits(limits);
  }

  /** Issues a ticket; resolves with it and its lifetime in seconds. */
  issue(identity: Identity, holder: string = ticketHolder(identity, undefined)): Promise<IssuedTicket> {
    const now = this.#clock.now();
    this.#sweep(now);
    const limits = this.#limits;
    const state = this.#holder(holder, now);
    if (state.tickets.size >= limits.perHolder)
      return Promise.reject(ticketRefusal.perHolder(limits, Math.min(...state.tickets.values()) - now));
    if (state.tokens < 1) return Promise.reject(ticketRefusal.rate(limits, ((1 - state.tokens) * 1000) / limits.perSecond));
    if (this.#tickets.size >= limits.max) {
      const earliest = this.#sweep(now, true);
      if (this.#tickets.size >= limits.max) return Promise.reject(ticketRefusal.full(earliest - now));
    }
    state.tokens -= 1;
    const ticket = newTicket();
    // A ticket never outlives the token it was issued for.
    const expires = Math.min(now + this.#ttl * 1000, identity.expiresAt ?? Infinity);
    this.#tickets.set(ticket, { identity, holder, expires });
    state.tickets.set(ticket, expires);
    return Promise.resolve({ ticket, expiresIn: Math.max(0, Math.floor((expires - now) / 1000)) });
  }

  redeem(ticket: string): Promise<Identity | undefined> {
    const entry = this.#tickets.get(ticket);
    if (entry === undefined) return Promise.resolve(undefined);
    this.#tickets.delete(ticket);
    this.#holders.get(entry.holder)?.tickets.delete(ticket);
    return Promise.resolve(entry.expires > this.#clock.now() ? entry.identity : undefined);
  }

  /** The holder's state, its bucket refilled and its expired tickets dropped. */
  #holder(holder: string, now: number): Holder {
    let state = this.#holders.get(holder);
    if (state === undefined) {
      state = { tickets: new Map(), tokens: this.#limits.burst, at: now };
      this.#holders.set(holder, state);
      return state;
    }
    state.tokens = Math.min(this.#limits.burst, state.tokens + ((now - state.at) * this.#limits.perSecond) / 1000);
    state.at = now;
    for (const [ticket, expires] of state.tickets) if (expires <= now) state.tickets.delete(ticket);
    return state;
  }

  /**
   * Drops expired tickets. Most expire in issue order, so the quick pass stops at the first live
   * one; a full pass (when the store is full, and at most once a lifetime otherwise) also drops the
   * ones a token's expiry cut short, and forgets idle holders. Returns the earliest live expiry.
   */
  #sweep(now: number, full = now - this.#swept >= this.#ttl * 1000): number {
    let earliest = Infinity;
    for (const [ticket, entry] of this.#tickets) {
      if (entry.expires > now) {
        if (!full) break;
        earliest = Math.min(earliest, entry.expires);
        continue;
      }
      this.#tickets.delete(ticket);
      this.#holders.get(entry.holder)?.tickets.delete(ticket);
    }
    if (full) {
      this.#swept = now;
      const { burst, perSecond } = this.#limits;
      for (const [key, state] of this.#holders) {
        if (state.tickets.size === 0 && state.tokens + ((now - state.at) * perSecond) / 1000 >= burst) this.#holders.delete(key);
      }
    }
    return earliest;
  }
}
