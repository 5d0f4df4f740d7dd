import type { Position } from '@herald/protocol';
import {
  newEpoch,
  serializeEnvelope,
  type BrokerMessage,
  type DuplicatePublish,
  type HistoryPolicy,
  type ReadResult,
} from '@herald/server';
import type Database from 'better-sqlite3';

/** An idempotency key and when it is forgotten (ms since the epoch). */
export interface IdempotencyKey {
  readonly key: string;
  readonly expires: number;
  readonly fingerprint: string;
}

interface ChannelRow {
  readonly epoch: string;
  readonly top: number;
}

/** `offset`, `time`, `json`: rows as arrays, which better-sqlite3 builds faster than objects. */
type MessageRow = readonly [offset: number, time: number, json: string];

interface TrimParams {
  readonly channel: string;
  /** Offsets below this are dropped by size. */
  readonly keepFrom: number;
  /** Messages stored at or before this time (ms) are dropped by age. */
  readonly cutoff: number;
  /** Past the channel's last offset: with nothing fresh, everything goes. */
  readonly end: number;
}

/** Oldest time that can never be too old: `ttl` 0 means no age limit. */
const NO_CUTOFF = Number.MIN_SAFE_INTEGER;

const cutoffOf = (now: number, policy: HistoryPolicy): number => (policy.ttl === 0 ? NO_CUTOFF : now - policy.ttl * 1000);

/**
 * The channel logs in one SQLite database: every statement prepared once, every operation one
 * transaction. A log's retained window is a run of consecutive offsets: trimming by size drops
 * the oldest offsets, and trimming by age drops the oldest messages up to the first one still fresh
 * (as the memory engine does), so the window never has a hole.
 */
export class SqliteLog {
  readonly #selectChannel: Database.Statement<[string], ChannelRow>;
  readonly #insertChannel: Database.Statement<[string, string]>;
  readonly #updateTop: Database.Statement<[number, string]>;
  readonly #insertMessage: Database.Statement<[string, number, number, string]>;
  readonly #trim: Database.Statement<[TrimParams]>;
  readonly #firstFresh: Database.Statement<[string, number], number>;
  readonly #messagesAfter: Database.Statement<[string, number, number], MessageRow>;
  readonly #channelsAfter: Database.Statement<[string, number], ChannelRow & { readonly name: string }>;
  readonly #deleteUnused: Database.Statement<[string]>;
  readonly #findKey: Database.Statement<
    [string, string, number],
    { readonly epoch: string; readonly offset: number; readonly fingerprint: string }
  >;
  readonly #rememberKey: Database.Statement<[string, string, string, number, number, string]>;
  readonly #forgetKeys: Database.Statement<[number]>;
  readonly #append: Database.Transaction<
    (
      channel: string,
      dataJson: string,
      time: number,
      policy: HistoryPolicy,
      key: IdempotencyKey | undefined,
    ) => BrokerMessage | DuplicatePublish
  >;
  readonly #read: Database.Transaction<
    (channel: string, since: Position | undefined, limit: number | undefined, now: number, policy: HistoryPolicy) => ReadResult
  >;
  readonly #position: Database.Transaction<(channel: string) => ChannelRow>;
  readonly #sweep: Database.Transaction<
    (
      after: string,
      count: number,
      now: number,
      policy: (channel: string) => HistoryPolicy,
      keep: (channel: string) => boolean,
    ) => string | undefined
  >;

  constructor(db: Database.Database) {
    this.#selectChannel = db.prepare<[string], ChannelRow>('SELECT epoch, top FROM channels WHERE name = ?');
    this.#insertChannel = db.prepare<[string, string]>('INSERT INTO channels (name, epoch, top) VALUES (?, ?, 0)');
    this.#updateTop = db.prepare<[number, string]>('UPDATE channels SET top = ? WHERE name = ?');
    this.#insertMessage = db.prepare<[string, number, number, string]>(
      'INSERT INTO messages (channel, "offset", time, json) VALUES (?, ?, ?, ?)',
    );
    // The subquery finds the first fresh message walking the primary key in offset order, so it
    // reads only the expired messages it is about to delete (plus one).
    this.#trim = db.prepare<[TrimParams]>(
      `DELETE FROM messages WHERE channel = @channel AND "offset" < max(@keepFrom, coalesce(
         (SELECT "offset" FROM messages WHERE channel = @channel AND time > @cutoff ORDER BY "offset" LIMIT 1), @end))`,
    );
    this.#firstFresh = db
      .prepare<[string, number], number>('SELECT "offset" FROM messages WHERE channel = ? AND time > ? ORDER BY "offset" LIMIT 1')
      .pluck();
    this.#messagesAfter = db
      .prepare<[string, number, number], MessageRow>(
        'SELECT "offset", time, json FROM messages WHERE channel = ? AND "offset" > ? ORDER BY "offset" LIMIT ?',
      )
      .raw();
    this.#channelsAfter = db.prepare<[string, number], ChannelRow & { readonly name: string }>(
      'SELECT name, epoch, top FROM channels WHERE name > ? ORDER BY name LIMIT ?',
    );
    this.#deleteUnused = db.prepare<[string]>('DELETE FROM channels WHERE name = ? AND top = 0');

    this.#findKey = db.prepare<[string, string, number], { readonly epoch: string; readonly offset: number; readonly fingerprint: string }>(
      'SELECT epoch, "offset", fingerprint FROM idempotency WHERE channel = ? AND key = ? AND expires > ?',
    );
    this.#rememberKey = db.prepare<[string, string, string, number, number, string]>(
      'INSERT OR REPLACE INTO idempotency (channel, key, epoch, "offset", expires, fingerprint) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#forgetKeys = db.prepare<[number]>('DELETE FROM idempotency WHERE expires <= ?');

    this.#append = db.transaction((channel, dataJson, time, policy, key) => {
      if (key !== undefined) {
        const first = this.#findKey.get(channel, key.key, time);
        if (first !== undefined)
          return { duplicate: true, channel, epoch: first.epoch, offset: first.offset, fingerprint: first.fingerprint };
      }
      const { epoch, top } = this.#channel(channel);
      const offset = top + 1;
      const json = serializeEnvelope(channel, epoch, offset, time, dataJson);
      if (policy.size > 0) this.#insertMessage.run(channel, offset, time, json);
      this.#updateTop.run(offset, channel);
      this.#trimChannel(channel, offset, time, policy);
      if (key !== undefined) this.#rememberKey.run(channel, key.key, epoch, offset, key.expires, key.fingerprint);
      return { channel, epoch, offset, time, json };
    });

    this.#read = db.transaction((channel, since, limit, now, policy) => {
      const { epoch, top } = this.#channel(channel);
      const fresh = policy.size === 0 ? undefined : this.#firstFresh.get(channel, cutoffOf(now, policy));
      // A smaller size than the one the log was written with applies before the next trim does.
      const oldest = Math.max(fresh ?? top + 1, top - policy.size + 1);
      const resumable = since !== undefined && since.epoch === epoch && since.offset >= oldest - 1 && since.offset <= top;
      const after = resumable ? since.offset : oldest - 1;
      // LIMIT -1 is SQLite's "no limit".
      const rows = this.#messagesAfter.all(channel, after, limit ?? -1);
      const messages = rows.map(([offset, time, json]): BrokerMessage => ({ channel, epoch, offset, time, json }));
      return { messages, position: { epoch, offset: top }, oldest };
    });

    this.#position = db.transaction((channel) => this.#channel(channel));

    this.#sweep = db.transaction((after, count, now, policy, keep) => {
      let last: string | undefined;
      for (const row of this.#channelsAfter.all(after, count)) {
        last = row.name;
        // A channel nothing was ever published to, that no one listens to, holds nothing worth
        // keeping: reads and subscriptions of arbitrary names must not grow the file for good.
        if (row.top === 0 && !keep(row.name)) this.#deleteUnused.run(row.name);
        else this.#trimChannel(row.name, row.top, now, policy(row.name));
      }
      return last;
    });
  }

  /**
   * Appends `dataJson` at the channel's next offset and trims the log, in one transaction; with a
   * key still remembered for the channel, appends nothing and returns the first publish's position.
   */
  append(channel: string, dataJson: string, time: number, policy: HistoryPolicy): BrokerMessage;
  append(channel: string, dataJson: string, time: number, policy: HistoryPolicy, key: IdempotencyKey): BrokerMessage | DuplicatePublish;
  append(channel: string, dataJson: string, time: number, policy: HistoryPolicy, key?: IdempotencyKey): BrokerMessage | DuplicatePublish {
    return this.#append.immediate(channel, dataJson, time, policy, key);
  }

  /** Forgets idempotency keys expired at `now`. */
  forgetKeys(now: number): void {
    this.#forgetKeys.run(now);
  }

  /** A consistent read of the channel's window at `now` (see `Broker.read`). */
  read(channel: string, since: Position | undefined, limit: number | undefined, now: number, policy: HistoryPolicy): ReadResult {
    return this.#read(channel, since, limit, now, policy);
  }

  /** The channel's epoch and last offset; a channel first seen gets its row (and epoch) now. */
  position(channel: string): Position {
    const { epoch, top } = this.#position(channel);
    return { epoch, offset: top };
  }

  /**
   * Trims (or, when never published to and not kept, deletes) up to `count` channels whose names
   * sort after `after`, in one transaction. Returns the last name visited, or `undefined` when none
   * was left.
   */
  sweep(
    after: string,
    count: number,
    now: number,
    policy: (channel: string) => HistoryPolicy,
    keep: (channel: string) => boolean,
  ): string | undefined {
    return this.#sweep.immediate(after, count, now, policy, keep);
  }

  #channel(channel: string): ChannelRow {
    const row = this.#selectChannel.get(channel);
    if (row !== undefined) return row;
    const created = { epoch: newEpoch(), top: 0 };
    this.#insertChannel.run(channel, created.epoch);
    return created;
  }

  #trimChannel(channel: string, top: number, now: number, policy: HistoryPolicy): void {
    this.#trim.run({ channel, keepFrom: top - policy.size + 1, cutoff: cutoffOf(now, policy), end: top + 1 });
  }
}
