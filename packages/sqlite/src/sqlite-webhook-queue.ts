import { randomUUID } from 'node:crypto';
import type { WebhookEvent } from '@herald/protocol';
import { ErrorCode } from '@herald/protocol';
import { HeraldError, type DeadWebhook, type QueuedWebhook, type WebhookQueue, type WebhookQueueCounts } from '@herald/server';
import type Database from 'better-sqlite3';
import { openDatabase, type Synchronous } from './schema.js';

/** Options of {@link SqliteWebhookQueue}. */
export interface SqliteWebhookQueueOptions {
  /** The engine's database file (its own connection to it), or `':memory:'` for a private one. */
  readonly path: string;
  /** As {@link SqliteBrokerOptions.synchronous}. @default 'normal' */
  readonly synchronous?: Synchronous;
}

interface QueueRow {
  seq: number;
  bytes: number;
  attempts: number;
  last_error: string | null;
  json: string;
}

interface DeadRow {
  seq: number;
  attempts: number;
  last_error: string;
  died: number;
  json: string;
}

/**
 * The webhook queue in the SQLite engine's file (tables `webhooks` and `webhooks_dead`), on a
 * connection of its own: every change is one transaction, committed before its promise resolves,
 * so a crashed or killed process loses no event it stored (WAL; see `synchronous` for power loss).
 * One node per file, like the engine; leases still expire, so events a killed process held go out
 * after a restart once their lease has run out. Times are the caller's (one node, one clock). A
 * claim's lease token is kept in `leased_by` (`<node>/<random UUID>`), which fences later outcomes.
 */
export class SqliteWebhookQueue implements WebhookQueue {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #due: Database.Statement;
  readonly #lease: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #held: Database.Statement;
  readonly #ack: Database.Statement;
  readonly #retry: Database.Statement;
  readonly #release: Database.Statement;
  readonly #bury: Database.Statement;
  readonly #trimDead: Database.Statement;
  readonly #deleteAllDead: Database.Statement;
  readonly #deadPage: Database.Statement;
  readonly #revive: Database.Statement;
  readonly #unbury: Database.Statement;
  readonly #deadIds: Database.Statement;
  readonly #counts: Database.Statement;
  #closed = false;

  /** Opens (or creates) the database at `options.path`; throws as `SqliteBroker`'s constructor. */
  constructor(options: SqliteWebhookQueueOptions) {
    const path: unknown = options?.path;
    if (typeof path !== 'string') throw new TypeError('path must be a string: a file path or ":memory:"');
    if (path.trim() === '') throw new RangeError('path must not be empty: give a file path or ":memory:"');
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') throw new RangeError('synchronous must be "normal" or "full"');
    const db = (this.#db = openDatabase(path, synchronous));
    try {
      this.#insert = db.prepare(
        'INSERT INTO webhooks (id, due, json) SELECT @id, @due, @json WHERE NOT EXISTS (SELECT 1 FROM webhooks_dead WHERE id = @id) ON CONFLICT (id) DO NOTHING',
      );
      this.#due = db.prepare(
        'SELECT seq, length(CAST(json AS BLOB)) AS bytes, attempts, last_error, json FROM webhooks WHERE due <= ? ORDER BY due, seq LIMIT ?',
      );
      this.#lease = db.prepare('UPDATE webhooks SET due = ?, leased_by = ? WHERE seq = ?');
      this.#delete = db.prepare('DELETE FROM webhooks WHERE id = ?');
      // An outcome given a lease token applies only while the event is still held under it.
      const held = 'id = @id AND (@lease IS NULL OR leased_by = @lease)';
      this.#held = db.prepare(`SELECT 1 FROM webhooks WHERE ${held}`).pluck();
      this.#ack = db.prepare(`DELETE FROM webhooks WHERE ${held}`);
      this.#retry = db.prepare(`UPDATE webhooks SET due = @due, leased_by = NULL, attempts = @attempts, last_error = @error WHERE ${held}`);
      this.#release = db.prepare(
        "UPDATE webhooks SET due = json_extract(json, '$.time'), leased_by = NULL WHERE id = @id AND leased_by = @lease",
      );
      this.#bury = db.prepare(
        'INSERT INTO webhooks_dead (id, attempts, last_error, died, json) SELECT id, ?, ?, ?, json FROM webhooks WHERE id = ? ON CONFLICT (id) DO NOTHING',
      );
      this.#trimDead = db.prepare(
        'DELETE FROM webhooks_dead WHERE seq IN (SELECT seq FROM webhooks_dead ORDER BY seq LIMIT max(0, (SELECT count(*) FROM webhooks_dead) - ?))',
      );
      this.#deleteAllDead = db.prepare('DELETE FROM webhooks_dead');
      this.#deadPage = db.prepare('SELECT seq, attempts, last_error, died, json FROM webhooks_dead WHERE seq > ? ORDER BY seq LIMIT ?');
      this.#revive = db.prepare(
        "INSERT INTO webhooks (id, due, json) SELECT id, json_extract(json, '$.time'), json FROM webhooks_dead WHERE id = ? ON CONFLICT (id) DO NOTHING",
      );
      this.#unbury = db.prepare('DELETE FROM webhooks_dead WHERE id = ?');
      this.#deadIds = db.prepare('SELECT id FROM webhooks_dead ORDER BY seq').pluck();
      this.#counts = db.prepare(
        'SELECT (SELECT count(*) FROM webhooks) AS queued, (SELECT count(*) FROM webhooks WHERE leased_by IS NOT NULL AND due > ?) AS leased, (SELECT count(*) FROM webhooks_dead) AS dead',
      );
    } catch (error) {
      db.close();
      throw error;
    }
  }

  add(events: readonly WebhookEvent[]): Promise<void> {
    return this.#call(() => {
      this.#db.transaction(() => {
        for (const event of events) this.#insert.run({ id: event.id, due: event.time, json: JSON.stringify(event) });
      })();
    });
  }

  claim(node: string, max: number, leaseMs: number, now: number, maxBytes = Infinity): Promise<QueuedWebhook[]> {
    const lease = `${node}/${randomUUID()}`;
    return this.#call(() =>
      this.#db
        .transaction(() => {
          const rows = this.#due.all(now, max) as QueueRow[];
          const claimed: QueuedWebhook[] = [];
          let bytes = 0;
          for (const row of rows) {
            if (claimed.length > 0 && bytes + row.bytes > maxBytes) break;
            bytes += row.bytes;
            this.#lease.run(now + leaseMs, lease, row.seq);
            const event = JSON.parse(row.json) as WebhookEvent;
            claimed.push(
              row.last_error === null
                ? { event, attempts: row.attempts, lease }
                : { event, attempts: row.attempts, lastError: row.last_error, lease },
            );
          }
          return claimed;
        })
        .immediate(),
    );
  }

  ack(ids: readonly string[], lease?: string): Promise<number> {
    return this.#call(() =>
      this.#db.transaction(() => {
        let acked = 0;
        for (const id of ids) acked += this.#ack.run({ id, lease: lease ?? null }).changes;
        return acked;
      })(),
    );
  }

  retry(id: string, attempts: number, nextAt: number, lastError: string, lease?: string): Promise<number> {
    return this.#call(() => this.#retry.run({ id, lease: lease ?? null, due: nextAt, attempts, error: lastError }).changes);
  }

  bury(id: string, attempts: number, lastError: string, now: number, lease?: string): Promise<number> {
    return this.#call(() =>
      this.#db.transaction(() => {
        if (this.#held.get({ id, lease: lease ?? null }) === undefined) return 0;
        this.#bury.run(attempts, lastError, now, id);
        this.#delete.run(id);
        return 1;
      })(),
    );
  }

  release(ids: readonly string[], lease: string): Promise<number> {
    return this.#call(() =>
      this.#db.transaction(() => {
        let released = 0;
        for (const id of ids) released += this.#release.run({ id, lease }).changes;
        return released;
      })(),
    );
  }

  trimDead(max: number): Promise<number> {
    return this.#call(() => this.#trimDead.run(max).changes);
  }

  deleteDead(ids: readonly string[] | 'all'): Promise<number> {
    return this.#call(() =>
      ids === 'all'
        ? this.#deleteAllDead.run().changes
        : this.#db.transaction(() => {
            let deleted = 0;
            for (const id of ids) deleted += this.#unbury.run(id).changes;
            return deleted;
          })(),
    );
  }

  dead(limit: number, after = 0): Promise<DeadWebhook[]> {
    return this.#call(() =>
      (this.#deadPage.all(after, limit) as DeadRow[]).map((row) => ({
        event: JSON.parse(row.json) as WebhookEvent,
        attempts: row.attempts,
        lastError: row.last_error,
        diedAt: row.died,
        seq: row.seq,
      })),
    );
  }

  replay(ids: readonly string[] | 'all'): Promise<number> {
    return this.#call(() =>
      this.#db
        .transaction(() => {
          const chosen = ids === 'all' ? (this.#deadIds.all() as string[]) : ids;
          let replayed = 0;
          for (const id of chosen) {
            this.#revive.run(id);
            replayed += this.#unbury.run(id).changes;
          }
          return replayed;
        })
        .immediate(),
    );
  }

  /** The counts; `leased`: events whose lease has not run out by `now` (this node's clock). */
  counts(now: number = Date.now()): Promise<WebhookQueueCounts> {
    return this.#call(() => this.#counts.get(now) as WebhookQueueCounts);
  }

  /** Closes this connection (the engine's file stays). Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  #call<T>(step: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new HeraldError(ErrorCode.Unavailable, 'the SQLite webhook queue is closed'));
    return new Promise((resolve) => resolve(step()));
  }
}
