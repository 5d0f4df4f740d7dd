import type { WebhookEvent } from '@herald/protocol';
import { ErrorCode } from '@herald/protocol';
import {
  HeraldError,
  isWebhookCondition,
  type DeadWebhook,
  type WebhookDelivery,
  type QueuedWebhook,
  type WebhookQueue,
  type WebhookQueueCounts,
} from '@herald/server';
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
  attempts: number;
  last_error: string | null;
  condition: string | null;
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
 * after a restart once their lease has run out.
 */
export class SqliteWebhookQueue implements WebhookQueue {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #due: Database.Statement;
  readonly #lease: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #retry: Database.Statement;
  readonly #bury: Database.Statement;
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
        'INSERT INTO webhooks (id, due, condition, json) SELECT @id, @due, @condition, @json WHERE NOT EXISTS (SELECT 1 FROM webhooks_dead WHERE id = @id) ON CONFLICT (id) DO NOTHING',
      );
      this.#due = db.prepare('SELECT seq, attempts, last_error, condition, json FROM webhooks WHERE due <= ? ORDER BY due, seq LIMIT ?');
      this.#lease = db.prepare('UPDATE webhooks SET due = ?, leased_by = ? WHERE seq = ?');
      this.#delete = db.prepare('DELETE FROM webhooks WHERE id = ?');
      this.#retry = db.prepare(
        'UPDATE webhooks SET due = ?, leased_by = NULL, attempts = ?, last_error = ?, condition = NULL WHERE id = ?',
      );
      this.#bury = db.prepare(
        'INSERT INTO webhooks_dead (id, attempts, last_error, died, json) SELECT id, ?, ?, ?, json FROM webhooks WHERE id = ? ON CONFLICT (id) DO NOTHING',
      );
      this.#deadPage = db.prepare('SELECT seq, attempts, last_error, died, json FROM webhooks_dead WHERE seq > ? ORDER BY seq LIMIT ?');
      this.#revive = db.prepare(
        "INSERT INTO webhooks (id, due, json) SELECT id, json_extract(json, '$.time'), json FROM webhooks_dead WHERE id = ? ON CONFLICT (id) DO NOTHING",
      );
      this.#unbury = db.prepare('DELETE FROM webhooks_dead WHERE id = ?');
      this.#deadIds = db.prepare('SELECT id FROM webhooks_dead ORDER BY seq').pluck();
      this.#counts = db.prepare(
        'SELECT (SELECT count(*) FROM webhooks) AS queued, (SELECT count(*) FROM webhooks WHERE leased_by IS NOT NULL) AS leased, (SELECT count(*) FROM webhooks_dead) AS dead',
      );
    } catch (error) {
      db.close();
      throw error;
    }
  }

  add(events: readonly WebhookEvent[], deliveries?: ReadonlyMap<string, WebhookDelivery>): Promise<void> {
    return this.#call(() => {
      this.#db.transaction(() => {
        for (const event of events) {
          const delivery = deliveries?.get(event.id);
          const condition = delivery?.condition === undefined ? null : JSON.stringify(delivery.condition);
          this.#insert.run({ id: event.id, due: delivery?.due ?? event.time, condition, json: JSON.stringify(event) });
        }
      })();
    });
  }

  claim(node: string, max: number, leaseMs: number, now: number): Promise<QueuedWebhook[]> {
    return this.#call(() =>
      this.#db
        .transaction(() => {
          const rows = this.#due.all(now, max) as QueueRow[];
          for (const row of rows) this.#lease.run(now + leaseMs, node, row.seq);
          return rows.map((row): QueuedWebhook => {
            const event = JSON.parse(row.json) as WebhookEvent;
            const condition: unknown = row.condition === null ? undefined : JSON.parse(row.condition);
            return {
              event,
              attempts: row.attempts,
              ...(row.last_error !== null && { lastError: row.last_error }),
              ...(isWebhookCondition(condition) && { condition }),
            };
          });
        })
        .immediate(),
    );
  }

  ack(ids: readonly string[]): Promise<void> {
    return this.#call(() => {
      this.#db.transaction(() => {
        for (const id of ids) this.#delete.run(id);
      })();
    });
  }

  retry(id: string, attempts: number, nextAt: number, lastError: string): Promise<void> {
    return this.#call(() => {
      this.#retry.run(nextAt, attempts, lastError, id);
    });
  }

  bury(id: string, attempts: number, lastError: string, now: number): Promise<void> {
    return this.#call(() => {
      this.#db.transaction(() => {
        this.#bury.run(attempts, lastError, now, id);
        this.#delete.run(id);
      })();
    });
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

  counts(): Promise<WebhookQueueCounts> {
    return this.#call(() => this.#counts.get() as WebhookQueueCounts);
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
