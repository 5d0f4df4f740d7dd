import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Identity } from './identity.js';

/** Seconds a ticket stays valid unless configured. */
export const DEFAULT_TICKET_TTL = 30;
/** Most tickets outstanding at once; older ones are dropped first. */
export const MAX_TICKETS = 100_000;

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
  issue(identity: Identity): Promise<IssuedTicket>;
  /** The identity a ticket stands for, once; `undefined` when unknown, used or expired. */
  redeem(ticket: string): Promise<Identity | undefined>;
  close?(): Promise<void>;
}

/** A new ticket: 256 random bits, base64url. */
export function newTicket(): string {
  return randomBytes(32).toString('base64url');
}

/** Tickets in this process's memory: for a single node. */
export class MemoryTicketStore implements TicketStore {
  readonly #tickets = new Map<string, { identity: Identity; expires: number }>();
  readonly #ttl: number;
  readonly #clock: Clock;

  constructor(clock: Clock, ttl: number = DEFAULT_TICKET_TTL) {
    this.#clock = clock;
    this.#ttl = ttl;
  }

  /** Issues a ticket; resolves with it and its lifetime in seconds. */
  issue(identity: Identity): Promise<IssuedTicket> {
    const now = this.#clock.now();
    this.#sweep(now);
    if (this.#tickets.size >= MAX_TICKETS) this.#tickets.delete(this.#tickets.keys().next().value!);
    const ticket = newTicket();
    // A ticket never outlives the token it was issued for.
    const expires = Math.min(now + this.#ttl * 1000, identity.expiresAt ?? Infinity);
    this.#tickets.set(ticket, { identity, expires });
    return Promise.resolve({ ticket, expiresIn: Math.max(0, Math.floor((expires - now) / 1000)) });
  }

  redeem(ticket: string): Promise<Identity | undefined> {
    const entry = this.#tickets.get(ticket);
    if (entry === undefined) return Promise.resolve(undefined);
    this.#tickets.delete(ticket);
    return Promise.resolve(entry.expires > this.#clock.now() ? entry.identity : undefined);
  }

  #sweep(now: number): void {
    // Insertion order is expiry order (same TTL), so the expired ones are at the front.
    for (const [ticket, entry] of this.#tickets) {
      if (entry.expires > now) break;
      this.#tickets.delete(ticket);
    }
  }
}
