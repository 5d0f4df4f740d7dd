import Database from 'better-sqlite3';

/** The schema version this package writes and reads, kept in the database's `user_version`. */
export const SCHEMA_VERSION = 5;

/** Marks a database file as Herald's (`PRAGMA application_id`, the ASCII bytes `HRLD`). */
export const APPLICATION_ID = 0x48524c44;

// "offset" is an SQL keyword, hence the quotes. Both tables are WITHOUT ROWID: they are looked up
// only by their primary key, so the row lives in the key's B-tree instead of a second one.
const CREATE_SCHEMA = `
CREATE TABLE channels (
  name  TEXT PRIMARY KEY NOT NULL,
  epoch TEXT NOT NULL,
  top   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE messages (
  channel  TEXT NOT NULL,
  "offset" INTEGER NOT NULL,
  time     INTEGER NOT NULL,
  json     TEXT NOT NULL,
  PRIMARY KEY (channel, "offset")
) WITHOUT ROWID;
`;

// Version 2: idempotency keys of recent publishes, found by (channel, key), swept by expiry.
const CREATE_IDEMPOTENCY = `
CREATE TABLE idempotency (
  channel  TEXT NOT NULL,
  key      TEXT NOT NULL,
  epoch    TEXT NOT NULL,
  "offset" INTEGER NOT NULL,
  expires  INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  PRIMARY KEY (channel, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_expires ON idempotency (expires);
`;

// Version 3: the webhook queue (SqliteWebhookQueue). `due` is when an event may be claimed: its
// time, a retry's time, or the end of a node's lease. `seq` keeps events of one millisecond in order.
const CREATE_WEBHOOKS = `
CREATE TABLE webhooks (
  seq        INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  due        INTEGER NOT NULL,
  leased_by  TEXT,
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  json       TEXT NOT NULL
);
CREATE INDEX webhooks_due ON webhooks (due, seq);
CREATE TABLE webhooks_dead (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  attempts   INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  died       INTEGER NOT NULL,
  json       TEXT NOT NULL
);
`;

// Version 4: a queued webhook event's delivery condition (JSON of a WebhookCondition: the presence
// marker a pending leave or vacate is sent under), until its first attempt is recorded.
const ADD_WEBHOOK_CONDITION = `
ALTER TABLE webhooks ADD COLUMN condition TEXT;
`;

// Version 5: client acknowledgements (SqliteAckStore): each user's acknowledged position per
// channel, found by (channel, user), listed and bounded by time within a channel, swept by time.
const CREATE_ACKS = `
CREATE TABLE acks (
  channel  TEXT NOT NULL,
  user     TEXT NOT NULL,
  epoch    TEXT NOT NULL,
  "offset" INTEGER NOT NULL,
  time     INTEGER NOT NULL,
  PRIMARY KEY (channel, user)
) WITHOUT ROWID;
CREATE INDEX acks_channel_time ON acks (channel, time);
CREATE INDEX acks_time ON acks (time);
`;

/** How hard a commit is pushed to disk (SQLite's `synchronous` in WAL mode); see {@link openDatabase}. */
export type Synchronous = 'normal' | 'full';

/**
 * Opens (creating when missing) the database at `path` (`':memory:'` for a private in-memory one),
 * switches it to WAL and creates or checks the schema.
 *
 * Durability in WAL mode: a commit is appended to the WAL before it returns, so a process crash
 * (kill -9, out of memory) loses nothing. With `'normal'` the WAL is not flushed to the disk on each
 * commit (only at checkpoints), so a power loss or kernel crash may roll back the last commits, but
 * never corrupts the database. `'full'` flushes the WAL on every commit: nothing acknowledged is
 * lost even then, at the price of one disk flush per publish.
 *
 * @throws Error naming the path when the file cannot be opened (missing directory, not a database,
 *   not Herald's database, or a schema newer than this package).
 */
export function openDatabase(path: string, synchronous: Synchronous): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    const from = schemaVersion(db);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    if (from < SCHEMA_VERSION) migrate(db, from);
    return db;
  } catch (error) {
    db?.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open the SQLite database ${JSON.stringify(path)}: ${reason}`, { cause: error });
  }
}

/**
 * The file's schema version: 0 for a new, empty file. Throws when the file belongs to something
 * else or is newer than this package.
 */
function schemaVersion(db: Database.Database): number {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (applicationId === APPLICATION_ID) {
    if (version > SCHEMA_VERSION)
      throw new Error(`its schema version ${version} is newer than this @herald/sqlite supports (${SCHEMA_VERSION})`);
    return version;
  }
  // Never write Herald's tables (or switch the journal) in another application's database.
  const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
  if (applicationId !== 0 || objects > 0) throw new Error('it is not a Herald database');
  return 0;
}

/** Creates the schema (`from` 0) or upgrades it from an older version, in one transaction. */
function migrate(db: Database.Database, from: number): void {
  db.transaction(() => {
    if (from < 1) db.exec(CREATE_SCHEMA);
    if (from < 2) db.exec(CREATE_IDEMPOTENCY);
    if (from < 3) db.exec(CREATE_WEBHOOKS);
    if (from < 4) db.exec(ADD_WEBHOOK_CONDITION);
    if (from < 5) db.exec(CREATE_ACKS);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
