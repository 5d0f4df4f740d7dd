import { DEFAULT_TICKET_TTL, newTicket, silentLogger, systemClock, type Clock, type Identity, type IssuedTicket, type Logger, type TicketStore } from '@herald/server';
import { connect, disconnect, replyWithin, type RedisClient } from './connection.js';
import { Keys } from './keys.js';

/** Options of {@link RedisTicketStore.connect}. */
export interface RedisTicketOptions {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  /** Seconds a ticket stays valid. @default 30 */
  readonly ttl?: number;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * Tickets shared by every node on one Redis: issued by one node, redeemed (once, with `GETDEL`) by
 * whichever node the load balancer picks. Redis expires them; a ticket never outlives its token.
 */
export class RedisTicketStore implements TicketStore {
  readonly #client: RedisClient;
  readonly #keys: Keys;
  readonly #ttl: number;
  readonly #clock: Clock;

  private constructor(client: RedisClient, options: RedisTicketOptions, ttl: number) {
    this.#client = client;
    this.#keys = new Keys(options.prefix ?? 'herald:');
    this.#ttl = ttl;
    this.#clock = options.clock ?? systemClock;
  }

  static async connect(options: RedisTicketOptions): Promise<RedisTicketStore> {
    const ttl = options.ttl ?? DEFAULT_TICKET_TTL;
    if (!Number.isInteger(ttl) || ttl < 1) throw new RangeError('ttl must be a whole number of seconds ≥ 1');
    const client = await connect({ ...options, logger: options.logger ?? silentLogger }, 'tickets');
    return new RedisTicketStore(client, options, ttl);
  }

  async issue(identity: Identity): Promise<IssuedTicket> {
    const now = this.#clock.now();
    const expires = Math.min(now + this.#ttl * 1000, identity.expiresAt ?? Infinity);
    const ms = Math.max(1, expires - now);
    const ticket = newTicket();
    await replyWithin(this.#client, this.#client.set(this.#keys.ticket(ticket), JSON.stringify(identity), { expiration: { type: 'PX', value: ms } }));
    return { ticket, expiresIn: Math.floor(ms / 1000) };
  }

  async redeem(ticket: string): Promise<Identity | undefined> {
    const stored = await replyWithin(this.#client, this.#client.getDel(this.#keys.ticket(ticket)));
    if (typeof stored !== 'string') return undefined;
    const identity = JSON.parse(stored) as Identity;
    // Redis expires the key; the token's own expiry is checked again here against this node's clock.
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.#clock.now()) return undefined;
    return { ...identity, expiresAt: identity.expiresAt ?? undefined };
  }

  async close(): Promise<void> {
    await disconnect(this.#client);
  }
}
