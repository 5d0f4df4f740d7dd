import type { Position } from '@herald/protocol';
import { ErrorCode } from '@herald/protocol';
import {
  ackDecision,
  HeraldError,
  resolveAckLimits,
  type AckedPosition,
  type AckListOptions,
  type AckOutcome,
  type AckStore,
  type AckStoreLimits,
} from '@herald/server';
import type Database from 'better-sqlite3';
import { openDatabase, type Synchronous } from './schema.js';

/** Options of {@link SqliteAckStore}. */
export interface SqliteAckStoreOptions extends AckStoreLimits {
  /** The engine's database file (its own connection to it), or `':memory:'` for a private one. */
  readonly path: string;
  /** As `SqliteBrokerOptions.synchronous`. @default 'normal' */
  readonly synchronous?: Synchronous;
}

/** Acks between two sweeps of every channel's expired positions. */
const SWEEP_EVERY = 1000;

interface Row {
  user: string;
  channel: string;
  epoch: string;
  offset: number;
  time: number;
}

/**
 * Acknowledged positions in the SQLite engine's file (table `acks`), on a connection of its own:
 * each ack is one transaction (expire the channel's old positions, compare (see `ackDecision`), upsert, trim the channel
 * to `maxPerChannel`), so positions survive a restart. Every 1000th ack also deletes every
 * channel's expired positions.
 */
export class SqliteAckStore implements AckStore {
  readonly #db: Database.Database;
  readonly #ttl: number;
  readonly #max: number;
  readonly #get: Database.Statement;
  readonly #put: Database.Statement;
  readonly #expireChannel: Database.Statement;
  readonly #count: Database.Statement;
  readonly #trim: Database.Statement;
  readonly #sweep: Database.Statement;
  readonly #list: Database.Statement;
  readonly #one: Database.Statement;
  readonly #ack: (user: string, channel: string, position: Position, now: number, replacing: string | undefined) => AckOutcome;
  #acks = 0;
  #closed = false;

  /** Opens (or creates) the database; throws as `SqliteBroker`'s constructor, `RangeError` for limits out of range. */
  constructor(options: SqliteAckStoreOptions) {
    const path: unknown = options?.path;
    if (typeof path !== 'string') throw new TypeError('path must be a string: a file path or ":memory:"');
    const limits = resolveAckLimits(options);
    this.#ttl = limits.ttl * 1000;
    this.#max = limits.maxPerChannel;
    const db = (this.#db = openDatabase(path, options.synchronous ?? 'normal'));
    try {
      this.#get = db.prepare('SELECT epoch, "offset" FROM acks WHERE channel = ? AND user = ?');
      this.#put = db.prepare(
        'INSERT INTO acks (channel, user, epoch, "offset", time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, user) DO UPDATE SET epoch = excluded.epoch, "offset" = excluded."offset", time = excluded.time',
      );
      this.#expireChannel = db.prepare('DELETE FROM acks WHERE channel = ? AND time <= ?');
      this.#count = db.prepare('SELECT count(*) FROM acks WHERE channel = ?').pluck();
      this.#trim = db.prepare(
        'DELETE FROM acks WHERE channel = ? AND user IN (SELECT user FROM acks WHERE channel = ? ORDER BY time, user LIMIT ?)',
      );
      this.#sweep = db.prepare('DELETE FROM acks WHERE time <= ?');
      this.#list = db.prepare(
        'SELECT user, channel, epoch, "offset", time FROM acks WHERE channel = ? AND time > ? ORDER BY time DESC, user DESC LIMIT ?',
      );
      this.#one = db.prepare('SELECT user, channel, epoch, "offset", time FROM acks WHERE channel = ? AND user = ? AND time > ?');
      this.#ack = db.transaction(
        (user: string, channel: string, position: Position, now: number, replacing: string | undefined): AckOutcome => {
          this.#expireChannel.run(channel, now - this.#ttl);
          const stored = this.#get.get(channel, user) as Position | undefined;
          const decision = ackDecision(stored, position, replacing);
          // Another epoch's position stays untouched until the caller confirms the ack's epoch.
          if (decision === 'other-epoch')
            return { position: { epoch: stored!.epoch, offset: stored!.offset }, moved: false, otherEpoch: true };
          const moved = decision === 'store';
          const kept = moved || stored === undefined ? position : { epoch: stored.epoch, offset: stored.offset };
          this.#put.run(channel, user, kept.epoch, kept.offset, now);
          const count = this.#count.get(channel) as number;
          if (count > this.#max) this.#trim.run(channel, channel, count - this.#max);
          return { position: { epoch: kept.epoch, offset: kept.offset }, moved };
        },
      );
    } catch (error) {
      db.close();
      throw error;
    }
  }

  ack(user: string, channel: string, position: Position, now: number, replacing?: string): Promise<AckOutcome> {
    return this.#call(() => {
      const outcome = this.#ack(user, channel, position, now, replacing);
      if (++this.#acks % SWEEP_EVERY === 0) this.#sweep.run(now - this.#ttl);
      return outcome;
    });
  }

  list(channel: string, options: AckListOptions, now: number): Promise<AckedPosition[]> {
    return this.#call(() => {
      const since = now - this.#ttl;
      const rows = (
        options.user === undefined ? this.#list.all(channel, since, options.limit) : this.#one.all(channel, options.user, since)
      ) as Row[];
      return rows.map(({ user, channel: c, epoch, offset, time }) => ({ user, channel: c, epoch, offset, time }));
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  #call<T>(step: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new HeraldError(ErrorCode.Unavailable, 'the SQLite ack store is closed'));
    try {
      return Promise.resolve(step());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
