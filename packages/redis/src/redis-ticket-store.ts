import {
  DEFAULT_TICKET_TTL,
  newTicket,
  resolveTicketLimits,
  silentLogger,
  systemClock,
  ticketHolder,
  ticketRefusal,
  type Clock,
  type Identity,
  type IssuedTicket,
  type Logger,
  type ResolvedTicketLimits,
  type TicketLimits,
  type TicketStore,
} from '@herald/server';
import { RedisLink } from './redis-link.js';
import { Keys } from './keys.js';
import { TICKET_ISSUE, TICKET_REDEEM } from './scripts.js';

/** Options of {@link RedisTicketStore.connect}. */
export interface RedisTicketOptions {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  /** Seconds a ticket stays valid. @default 30 */
  readonly ttl?: number;
  /** Tickets per holder, per second and in all, counted over every node. @default see {@link TicketLimits} */
  readonly limits?: TicketLimits;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * Tickets shared by every node on one Redis: issued by one node, redeemed (once) by whichever node
 * the load balancer picks. Redis expires them; a ticket never outlives its token. The limits are
 * checked and counted in one script, so they hold exactly across nodes.
 */
export class RedisTicketStore implements TicketStore {
  readonly #client: RedisLink;
  readonly #keys: Keys;
  readonly #ttl: number;
  readonly #clock: Clock;
  readonly #limits: ResolvedTicketLimits;

  private constructor(client: RedisLink, options: RedisTicketOptions, ttl: number, limits: ResolvedTicketLimits) {
    this.#client = client;
    this.#keys = new Keys(options.prefix ?? 'herald:', client.mode === 'cluster');
    this.#ttl = ttl;
    this.#clock = options.clock ?? systemClock;
    this.#limits = limits;
  }

  static async connect(options: RedisTicketOptions): Promise<RedisTicketStore> {
    const ttl = options.ttl ?? DEFAULT_TICKET_TTL;
    if (!Number.isInteger(ttl) || ttl < 1) throw new RangeError('ttl must be a whole number of seconds ≥ 1');
    const limits = resolveTicketLimits(options.limits);
    const client = await RedisLink.open({ ...options, logger: options.logger ?? silentLogger }, 'tickets');
    return new RedisTicketStore(client, options, ttl, limits);
  }

  async issue(identity: Identity, holder: string = ticketHolder(identity, undefined)): Promise<IssuedTicket> {
    const now = this.#clock.now();
    const expires = Math.min(now + this.#ttl * 1000, identity.expiresAt ?? Infinity);
    const ms = Math.max(1, expires - now);
    const ticket = newTicket();
    const limits = this.#limits;
    const [refused, retryAfter] = (await TICKET_ISSUE.run(
      this.#client,
      [this.#keys.ticket(ticket), this.#keys.ticketsOf(holder), this.#keys.ticketRate(holder), this.#keys.tickets],
      [
        String(now),
        String(ms),
        JSON.stringify(identity),
        String(limits.perHolder),
        String(limits.perSecond),
        String(limits.burst),
        String(limits.max),
        this.#keys.ticket(''),
        ticket,
      ],
    )) as [number, number];
    if (refused === 1) throw ticketRefusal.perHolder(limits, retryAfter);
    if (refused === 2) throw ticketRefusal.rate(limits, retryAfter);
    if (refused === 3) throw ticketRefusal.full(retryAfter);
    return { ticket, expiresIn: Math.floor(ms / 1000) };
  }

  async redeem(ticket: string): Promise<Identity | undefined> {
    const stored = await TICKET_REDEEM.run(this.#client, [this.#keys.ticket(ticket), this.#keys.tickets], [ticket]);
    if (typeof stored !== 'string') return undefined;
    const identity = JSON.parse(stored) as Identity;
    // Redis expires the key; the token's own expiry is checked again here against this node's clock.
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.#clock.now()) return undefined;
    return { ...identity, expiresAt: identity.expiresAt ?? undefined };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
