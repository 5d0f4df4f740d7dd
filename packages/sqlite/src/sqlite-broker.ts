import { ErrorCode, type Position } from '@herald/protocol';
import {
  HeraldError,
  resolveHistoryPolicy,
  silentLogger,
  systemClock,
  timerSeconds,
  type Broker,
  type BrokerHandler,
  type BrokerMessage,
  type Clock,
  type DuplicatePublish,
  type HistoryOptions,
  type HistoryPolicy,
  type Logger,
  type PresenceEvent,
  type PublishOptions,
  type ReadOptions,
  type ReadResult,
} from '@herald/server';
import type Database from 'better-sqlite3';
import { openDatabase, type Synchronous } from './schema.js';
import { SqliteLog } from './sqlite-log.js';

/** Options of {@link SqliteBroker}. */
export interface SqliteBrokerOptions extends HistoryOptions {
  /**
   * The database file, created with its tables when missing (its directory must exist), or
   * `':memory:'` for a private in-memory database that is gone once the broker is closed.
   */
  readonly path: string;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Where a failed sweep is reported. @default a silent logger */
  readonly logger?: Logger;
  /** Seconds between sweeps that drop expired messages and unused channel rows. @default 60 */
  readonly sweepInterval?: number;
  /**
   * When a commit reaches the disk. `'normal'`: a process crash loses nothing, a power loss or
   * kernel crash may lose the last publishes (never corrupting the file). `'full'`: not even those,
   * for one disk flush per publish (several times slower).
   * @default 'normal'
   */
  readonly synchronous?: Synchronous;
}

/** Channels trimmed per sweep transaction; the sweep yields to the event loop between batches. */
const SWEEP_BATCH = 500;

/**
 * A durable single-node engine: every channel's log and epoch in one SQLite database, so a client
 * resumes across a restart with no gap and no duplicate. Live delivery and presence events stay in
 * this process (one hub per database file).
 *
 * Each publish is one transaction (append, advance the channel's last offset, trim by size and age)
 * and resolves after it committed. better-sqlite3 is synchronous, so publishes run one at a time and
 * a channel's offsets are consecutive; the handler receives each message right after its commit, in
 * offset order. Reads do not return messages older than the age limit even before the periodic sweep
 * has deleted them. Calls after {@link close} reject with a `HeraldError` of code `unavailable`.
 */
export class SqliteBroker implements Broker {
  readonly #db: Database.Database;
  readonly #log: SqliteLog;
  readonly #subscribed = new Set<string>();
  readonly #policy: (channel: string) => HistoryPolicy;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #sweepTimer: NodeJS.Timeout;
  #sweepBatch: NodeJS.Immediate | undefined;
  #handler: BrokerHandler | undefined;
  #closed = false;

  /**
   * Opens (or creates) the database at `options.path`.
   *
   * @throws TypeError when `path` is not a string; RangeError for an empty `path` or an out-of-range
   *   retention or sweep option; Error when the database cannot be opened.
   */
  constructor(options: SqliteBrokerOptions) {
    const path: unknown = options?.path;
    if (typeof path !== 'string') throw new TypeError('path must be a string: a file path or ":memory:"');
    if (path.trim() === '') throw new RangeError('path must not be empty: give a file path or ":memory:"');
    this.#policy = resolveHistoryPolicy(options);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    const interval = timerSeconds('sweepInterval', options.sweepInterval, 60);
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') throw new RangeError('synchronous must be "normal" or "full"');
    this.#db = openDatabase(path, synchronous);
    try {
      this.#log = new SqliteLog(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
    this.#sweepTimer = setInterval(() => this.#startSweep(), interval * 1000);
    this.#sweepTimer.unref();
  }

  setHandler(handler: BrokerHandler): void {
    this.#handler = handler;
  }

  publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    return this.#call(() => {
      const now = this.#clock.now();
      const key =
        options === undefined
          ? undefined
          : { key: options.idempotencyKey, expires: now + options.idempotencyTtl * 1000, fingerprint: options.fingerprint };
      const outcome =
        key === undefined
          ? this.#log.append(channel, dataJson, now, this.#policy(channel))
          : this.#log.append(channel, dataJson, now, this.#policy(channel), key);
      if (!('duplicate' in outcome) && this.#subscribed.has(channel)) this.#handler?.onMessage(outcome);
      return outcome;
    });
  }

  read(channel: string, options: ReadOptions = {}): Promise<ReadResult> {
    return this.#call(() => this.#log.read(channel, options.since, options.limit, this.#clock.now(), this.#policy(channel)));
  }

  position(channel: string): Promise<Position> {
    return this.#call(() => this.#log.position(channel));
  }

  subscribe(channel: string): Promise<void> {
    return this.#call(() => {
      this.#subscribed.add(channel);
    });
  }

  unsubscribe(channel: string): Promise<void> {
    return this.#call(() => {
      this.#subscribed.delete(channel);
    });
  }

  publishPresenceEvent(event: PresenceEvent): Promise<void> {
    return this.#call(() => {
      if (this.#subscribed.has(event.channel)) this.#handler?.onPresenceEvent(event);
    });
  }

  /** Stops the sweep and closes the database (a checkpoint folds the WAL into the file). Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    if (this.#sweepBatch !== undefined) clearImmediate(this.#sweepBatch);
    this.#subscribed.clear();
    return new Promise((resolve) => {
      this.#db.close();
      resolve();
    });
  }

  /**
   * Runs a synchronous engine step now; a throw (or a closed broker) becomes a rejection (the
   * promise executor runs synchronously and turns a throw into a rejection).
   */
  #call<T>(step: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new HeraldError(ErrorCode.Unavailable, 'the SQLite engine is closed'));
    return new Promise((resolve) => resolve(step()));
  }

  #startSweep(): void {
    // A sweep still walking the channels from the previous tick carries on instead.
    if (this.#sweepBatch !== undefined || this.#closed) return;
    try {
      this.#log.forgetKeys(this.#clock.now());
    } catch (error) {
      this.#logger.warn({ err: error }, 'SQLite engine sweep failed');
    }
    this.#sweepFrom('');
  }

  /** Sweeps one batch of channels after `after`, then schedules the next batch on a later turn. */
  #sweepFrom(after: string): void {
    this.#sweepBatch = undefined;
    if (this.#closed) return;
    let last: string | undefined;
    try {
      last = this.#log.sweep(after, SWEEP_BATCH, this.#clock.now(), this.#policy, (channel) => this.#subscribed.has(channel));
    } catch (error) {
      // A failed sweep (disk full, a busy database) only delays trimming; the next tick starts over.
      this.#logger.warn({ err: error }, 'SQLite engine sweep failed');
      return;
    }
    if (last !== undefined) this.#sweepBatch = setImmediate(() => this.#sweepFrom(last));
  }
}
