import {
  DEFAULT_TICKET_TTL,
  newTicket,
  resolveTicketLimits,
  systemClock,
  ticketHolder,
  ticketRefusal,
  type Clock,
  type Identity,
  type IssuedTicket,
  type ResolvedTicketLimits,
  type TicketLimits,
  type TicketStore,
} from '@herald/server';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, disconnect, retrying, setupDeadline, type NatsConnectionOptions } from './connection.js';
import { KvCas } from './kv-cas.js';
import { keyPart, Names } from './names.js';

/** Options of {@link NatsTicketStore.connect}. */
export interface NatsTicketOptions extends NatsConnectionOptions {
  /** @default "HERALD" */
  readonly prefix?: string;
  /** Replicas of the tickets bucket when this node creates it. @default 1 */
  readonly replicas?: number;
  /** Seconds a ticket stays valid. @default 30 */
  readonly ttl?: number;
  /**
   * Tickets per holder and per second, counted over every node; `max` (all tickets) is counted per
   * node. @default see {@link TicketLimits}
   */
  readonly limits?: TicketLimits;
  readonly clock?: Clock;
}

/** A ticket as stored. */
interface StoredTicket {
  readonly identity: Identity;
  readonly holder: string;
  readonly expires: number;
}

/** A holder's outstanding tickets (id → expiry) and rate bucket. */
interface HolderState {
  readonly tickets: { [ticket: string]: number };
  readonly tokens: number;
  readonly at: number;
}

/** Compare-and-set rounds an issue or redeem may lose to other nodes before it fails. */
const CAS_ATTEMPTS = 50;

/**
 * Tickets shared by every node on one NATS, in a KV bucket: `t.<ticket>` holds the identity,
 * `h.<holder>` the holder's outstanding tickets and rate bucket. Issuing updates the holder's entry
 * with a compare-and-set, so the per-holder and rate limits hold exactly across nodes; a redeem
 * deletes the ticket at the revision it read, so a ticket is redeemed once. The store-wide `max`
 * is counted per node (a node refuses past `max` tickets it issued and that are still live).
 */
export class NatsTicketStore implements TicketStore {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #cas: KvCas;
  readonly #ttl: number;
  readonly #clock: Clock;
  readonly #limits: ResolvedTicketLimits;
  /** Tickets this node issued (id → expiry), for the per-node `max`. */
  readonly #issued = new Map<string, number>();
  /** Per holder, this node's queue of issues (one compare-and-set at a time per holder per node). */
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(nc: NatsConnection, kv: KV, cas: KvCas, ttl: number, clock: Clock, limits: ResolvedTicketLimits) {
    this.#nc = nc;
    this.#kv = kv;
    this.#cas = cas;
    this.#ttl = ttl;
    this.#clock = clock;
    this.#limits = limits;
  }

  static async connect(options: NatsTicketOptions): Promise<NatsTicketStore> {
    const ttl = options.ttl ?? DEFAULT_TICKET_TTL;
    if (!Number.isInteger(ttl) || ttl < 1) throw new RangeError('ttl must be a whole number of seconds ≥ 1');
    const limits = resolveTicketLimits(options.limits);
    const names = new Names(options.prefix ?? 'HERALD');
    const nc = await connect(options, 'tickets');
    try {
      const js = jetstream(nc, { timeout: options.commandTimeout ?? 5000 });
      const kvm = new Kvm(js);
      const kv = await retrying(
        () =>
          kvm.create(names.bucket('tickets'), {
            history: 1,
            replicas: options.replicas ?? 1,
            // NATS forgets entries a while after any ticket expired; the clock decides before that.
            ttl: Math.max(ttl * 1000 * 4, 60_000 * 60),
          }),
        setupDeadline(options),
      );
      return new NatsTicketStore(nc, kv, new KvCas(js, names.bucket('tickets')), ttl, options.clock ?? systemClock, limits);
    } catch (error) {
      await disconnect(nc);
      throw error;
    }
  }

  issue(identity: Identity, holder: string = ticketHolder(identity, undefined)): Promise<IssuedTicket> {
    const previous = this.#queues.get(holder) ?? Promise.resolve();
    const task = (): Promise<IssuedTicket> => this.#issue(identity, holder);
    const run = previous.then(task, task);
    const settled = run.catch(() => undefined);
    this.#queues.set(holder, settled);
    void settled.then(() => {
      if (this.#queues.get(holder) === settled) this.#queues.delete(holder);
    });
    return run;
  }

  async #issue(identity: Identity, holder: string): Promise<IssuedTicket> {
    const limits = this.#limits;
    const key = `h.${keyPart(holder)}`;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const now = this.#clock.now();
      const entry = await this.#kv.get(key);
      const found = entry !== null && entry.operation === 'PUT' ? parseHolder(entry.string()) : undefined;
      const state = found ?? { tickets: {}, tokens: limits.burst, at: now };
      const tickets = Object.entries(state.tickets).filter(([, expires]) => expires > now);
      if (tickets.length >= limits.perHolder) throw ticketRefusal.perHolder(limits, Math.min(...tickets.map(([, e]) => e)) - now);
      const tokens = Math.min(limits.burst, state.tokens + (Math.max(0, now - state.at) * limits.perSecond) / 1000);
      if (tokens < 1) throw ticketRefusal.rate(limits, Math.ceil(((1 - tokens) * 1000) / limits.perSecond));
      for (const [ticket, expires] of this.#issued) if (expires <= now) this.#issued.delete(ticket);
      if (this.#issued.size >= limits.max) throw ticketRefusal.full(Math.min(...this.#issued.values()) - now);
      const ticket = newTicket();
      // A ticket never outlives the token it was issued for.
      const expires = Math.min(now + this.#ttl * 1000, identity.expiresAt ?? Infinity);
      const next: HolderState = { tickets: { ...Object.fromEntries(tickets), [ticket]: expires }, tokens: tokens - 1, at: now };
      try {
        await this.#cas.put(key, JSON.stringify(next), entry?.revision ?? 0);
      } catch {
        // Another node issued or redeemed for this holder meanwhile: count again.
        continue;
      }
      await this.#kv.put(`t.${ticket}`, JSON.stringify({ identity, holder, expires } satisfies StoredTicket));
      this.#issued.set(ticket, expires);
      return { ticket, expiresIn: Math.max(0, Math.floor((expires - now) / 1000)) };
    }
    throw new Error('issuing a ticket lost every race for its holder');
  }

  async redeem(ticket: string): Promise<Identity | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(ticket)) return undefined;
    const key = `t.${ticket}`;
    const entry = await this.#kv.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    try {
      // At the revision read: of concurrent redeems, one deletes it.
      await this.#cas.delete(key, entry.revision);
    } catch {
      return undefined;
    }
    this.#issued.delete(ticket);
    const stored = JSON.parse(entry.string()) as StoredTicket;
    await this.#free(stored.holder, ticket);
    if (stored.expires <= this.#clock.now()) return undefined;
    return { ...stored.identity, expiresAt: stored.identity.expiresAt ?? undefined };
  }

  /** Frees the redeemed ticket's slot of its holder (else it frees at the ticket's expiry). */
  async #free(holder: string, ticket: string): Promise<void> {
    const key = `h.${keyPart(holder)}`;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(key);
      const state = entry !== null && entry.operation === 'PUT' ? parseHolder(entry.string()) : undefined;
      if (entry === null || state === undefined || !(ticket in state.tickets)) return;
      const tickets = Object.fromEntries(Object.entries(state.tickets).filter(([id]) => id !== ticket));
      try {
        await this.#cas.put(key, JSON.stringify({ ...state, tickets }), entry.revision);
        return;
      } catch {
        continue;
      }
    }
  }

  async close(): Promise<void> {
    await disconnect(this.#nc);
  }
}

function parseHolder(text: string): HolderState | undefined {
  try {
    const value = JSON.parse(text) as Partial<HolderState>;
    if (typeof value.tokens !== 'number' || typeof value.at !== 'number' || typeof value.tickets !== 'object' || value.tickets === null)
      return undefined;
    return value as HolderState;
  } catch {
    return undefined;
  }
}
