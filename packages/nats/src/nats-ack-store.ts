import type { Position } from '@herald/protocol';
import {
  ackDecision,
  resolveAckLimits,
  type AckedPosition,
  type AckListOptions,
  type AckOutcome,
  type AckStore,
  type AckStoreLimits,
} from '@herald/server';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, disconnect, retrying, setupDeadline, type NatsConnectionOptions } from './connection.js';
import { KvCas } from './kv-cas.js';
import { fromKeyPart, keyPart, Names } from './names.js';

/** Options of {@link NatsAckStore.connect}. */
export interface NatsAckOptions extends NatsConnectionOptions, AckStoreLimits {
  /** @default "HERALD" */
  readonly prefix?: string;
  /** Replicas of the acks bucket when this node creates it. @default 1 */
  readonly replicas?: number;
}

/** A position as stored: epoch, offset, time. */
interface Stored {
  readonly e: string;
  readonly o: number;
  readonly t: number;
}

/** Compare-and-set rounds an ack may lose to other nodes before it fails. */
const CAS_ATTEMPTS = 50;

/** New users of a channel acknowledged on this node between two trims of the channel to `maxPerChannel`. */
const TRIM_EVERY = 64;

/** Channels whose count of new users this node keeps (the oldest is forgotten first). */
const TRIM_CHANNELS = 10_000;

/**
 * Acknowledged positions shared by every node on one NATS, in a KV bucket (`<prefix>_acks`): key
 * `<channel>.<user>` (each base64url) → `{e, o, t}`. An ack is a compare-and-set on the user's
 * key, so concurrent acks keep the highest offset and an ack of another epoch replaces only the
 * stored epoch it names (`replacing`); an ack that does not move the position writes
 * only its time (as on the other engines, it counts as acknowledged again). The bucket's max age
 * is `ttl` (NATS forgets a position `ttl` after its last write; reads also check the time against
 * the hub's clock). `maxPerChannel` is applied by listing the channel and deleting the least
 * recently acknowledged: on every list, and after every
 * `min(64, maxPerChannel)` new users a node adds to a channel, so between two trims a channel may
 * hold up to that many more users per node.
 */
export class NatsAckStore implements AckStore {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #cas: KvCas;
  readonly #ttl: number;
  readonly #max: number;
  readonly #added = new Map<string, number>();

  private constructor(nc: NatsConnection, kv: KV, cas: KvCas, ttl: number, max: number) {
    this.#nc = nc;
    this.#kv = kv;
    this.#cas = cas;
    this.#ttl = ttl;
    this.#max = max;
  }

  /** Connects and creates the bucket when missing; `RangeError` for limits out of range. */
  static async connect(options: NatsAckOptions): Promise<NatsAckStore> {
    const limits = resolveAckLimits(options);
    const names = new Names(options.prefix ?? 'HERALD');
    const nc = await connect(options, 'acks');
    try {
      const js = jetstream(nc, { timeout: options.commandTimeout ?? 5000 });
      const kvm = new Kvm(js);
      const bucket = names.bucket('acks');
      const kv = await retrying(
        () => kvm.create(bucket, { history: 1, replicas: options.replicas ?? 1, ttl: limits.ttl * 1000 }),
        setupDeadline(options),
      );
      return new NatsAckStore(nc, kv, new KvCas(js, bucket), limits.ttl * 1000, limits.maxPerChannel);
    } catch (error) {
      await disconnect(nc);
      throw error;
    }
  }

  async ack(user: string, channel: string, position: Position, now: number, replacing?: string): Promise<AckOutcome> {
    const key = `${keyPart(channel)}.${keyPart(user)}`;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(key);
      const found = this.#read(entry, now);
      const stored = found === undefined ? undefined : { epoch: found.e, offset: found.o };
      const decision = ackDecision(stored, position, replacing);
      // Another epoch's position stays untouched until the caller confirms the ack's epoch; the
      // write below is a compare-and-set at the revision read, so it replaces only what was compared.
      if (decision === 'other-epoch') return { position: stored!, moved: false, otherEpoch: true };
      const moved = decision === 'store';
      const kept = moved || stored === undefined ? position : stored;
      // An ack that does not move the position still counts as acknowledged now (time, ttl, order).
      if (!moved && found !== undefined && found.t >= now) return { position: kept, moved: false };
      try {
        await this.#cas.put(key, JSON.stringify({ e: kept.epoch, o: kept.offset, t: now } satisfies Stored), entry?.revision ?? 0);
      } catch {
        // Another node acknowledged for this user meanwhile: compare again.
        continue;
      }
      if (found === undefined) await this.#counted(channel, now);
      return { position: { epoch: kept.epoch, offset: kept.offset }, moved };
    }
    throw new Error('an ack lost every race for its user');
  }

  async list(channel: string, options: AckListOptions, now: number): Promise<AckedPosition[]> {
    if (options.user !== undefined) {
      const found = this.#read(await this.#kv.get(`${keyPart(channel)}.${keyPart(options.user)}`), now);
      return found === undefined ? [] : [{ user: options.user, channel, epoch: found.e, offset: found.o, time: found.t }];
    }
    const rows = await this.#trim(channel, now);
    return rows.slice(0, options.limit);
  }

  async close(): Promise<void> {
    await disconnect(this.#nc);
  }

  /** The stored position, unless deleted, unreadable or expired at `now`. */
  #read(entry: KvEntry | null, now: number): Stored | undefined {
    if (entry === null || entry.operation !== 'PUT') return undefined;
    try {
      const value = JSON.parse(entry.string()) as Partial<Stored>;
      if (typeof value.e !== 'string' || typeof value.o !== 'number' || typeof value.t !== 'number') return undefined;
      return now - value.t < this.#ttl ? (value as Stored) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Counts a new user of `channel` on this node; trims the channel every `min(64, maxPerChannel)` of them. */
  async #counted(channel: string, now: number): Promise<void> {
    const added = (this.#added.get(channel) ?? 0) + 1;
    this.#added.delete(channel);
    if (added < Math.min(TRIM_EVERY, this.#max)) {
      this.#added.set(channel, added);
      if (this.#added.size > TRIM_CHANNELS) this.#added.delete(this.#added.keys().next().value!);
      return;
    }
    await this.#trim(channel, now);
  }

  /** Every live position of the channel, most recently acknowledged first; deletes the expired ones and those past `maxPerChannel`. */
  async #trim(channel: string, now: number): Promise<AckedPosition[]> {
    const prefix = `${keyPart(channel)}.`;
    const keys: string[] = [];
    for await (const key of await this.#kv.keys(`${prefix}*`)) keys.push(key);
    const rows: (AckedPosition & { revision: number; key: string })[] = [];
    const stale: { key: string; revision: number }[] = [];
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(
        keys.slice(i, i + 64).map(async (key) => {
          const entry = await this.#kv.get(key);
          const found = this.#read(entry, now);
          if (found === undefined) {
            if (entry !== null && entry.operation === 'PUT') stale.push({ key, revision: entry.revision });
            return;
          }
          const user = fromKeyPart(key.slice(prefix.length));
          rows.push({ user, channel, epoch: found.e, offset: found.o, time: found.t, revision: entry!.revision, key });
        }),
      );
    }
    rows.sort((a, b) => b.time - a.time || (a.user < b.user ? 1 : a.user > b.user ? -1 : 0));
    stale.push(...rows.splice(this.#max).map(({ key, revision }) => ({ key, revision })));
    // At the revision read: a user acknowledged again meanwhile stays.
    await Promise.all(stale.map(({ key, revision }) => this.#cas.delete(key, revision).catch(() => undefined)));
    return rows.map(({ user, channel: c, epoch, offset, time }) => ({ user, channel: c, epoch, offset, time }));
  }
}
