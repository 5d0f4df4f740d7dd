import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeraldError } from '@herald/server';
import { createSqliteEngine, SqliteBroker, type SqliteBrokerOptions } from '@herald/sqlite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bad input', () => {
  it.each([
    [{ path: '' }, RangeError, 'path must not be empty: give a file path or ":memory:"'],
    [{ path: '  ' }, RangeError, 'path must not be empty: give a file path or ":memory:"'],
    [{ path: 42 }, TypeError, 'path must be a string: a file path or ":memory:"'],
    [{}, TypeError, 'path must be a string: a file path or ":memory:"'],
    [undefined, TypeError, 'path must be a string: a file path or ":memory:"'],
    [{ path: ':memory:', historySize: -1 }, RangeError, 'historySize must be an integer ≥ 0'],
    [{ path: ':memory:', historySize: 1.5 }, RangeError, 'historySize must be an integer ≥ 0'],
    [{ path: ':memory:', historyTtl: -1 }, RangeError, 'historyTtl must be a number of seconds ≥ 0'],
    [{ path: ':memory:', historyTtl: Number.NaN }, RangeError, 'historyTtl must be a number of seconds ≥ 0'],
    [{ path: ':memory:', sweepInterval: 0 }, RangeError, 'sweepInterval must be a number of seconds from 0.001 to 2147483'],
    [{ path: ':memory:', sweepInterval: Infinity }, RangeError, 'sweepInterval must be a number of seconds from 0.001 to 2147483'],
    [{ path: ':memory:', sweepInterval: 3_000_000 }, RangeError, 'sweepInterval must be a number of seconds from 0.001 to 2147483'],
    [{ path: ':memory:', synchronous: 'off' }, RangeError, 'synchronous must be "normal" or "full"'],
    [{ path: ':memory:', synchronous: 'FULL' }, RangeError, 'synchronous must be "normal" or "full"'],
  ])('refuses %j', (options, type, message) => {
    const make = (): unknown => new SqliteBroker(options as unknown as SqliteBrokerOptions);
    expect(make).toThrow(type);
    expect(make).toThrow(message);
    expect(() => createSqliteEngine(options as unknown as SqliteBrokerOptions)).toThrow(message);
  });

  it('validates options before creating a file', () => {
    const path = join(dir, 'never.db');
    expect(() => new SqliteBroker({ path, historySize: -1 })).toThrow(RangeError);
    expect(() => new Database(path, { fileMustExist: true })).toThrow();
  });

  it('names the path when its directory does not exist', () => {
    const path = join(dir, 'missing', 'herald.db');
    expect(() => new SqliteBroker({ path })).toThrow(
      `cannot open the SQLite database ${JSON.stringify(path)}: Cannot open database because the directory does not exist`,
    );
  });

  it('refuses a file that is not a database, a directory, and another application’s database', () => {
    const text = join(dir, 'text.db');
    writeFileSync(text, 'not a database, just text that is long enough to have a header'.repeat(10));
    expect(() => new SqliteBroker({ path: text })).toThrow(
      `cannot open the SQLite database ${JSON.stringify(text)}: file is not a database`,
    );
    expect(() => new SqliteBroker({ path: dir })).toThrow(`cannot open the SQLite database ${JSON.stringify(dir)}`);
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)');
    db.close();
    expect(() => new SqliteBroker({ path: other })).toThrow(
      `cannot open the SQLite database ${JSON.stringify(other)}: it is not a Herald database`,
    );
  });

  it('refuses a Herald database written by a newer schema', async () => {
    const path = join(dir, 'future.db');
    await new SqliteBroker({ path }).close();
    const db = new Database(path);
    db.pragma('user_version = 6');
    db.close();
    expect(() => new SqliteBroker({ path })).toThrow(': its schema version 6 is newer than this @herald/sqlite supports (5)');
  });

  it('upgrades a version 1 database in place (to version 5, with the webhook queue and the acks), keeping its logs and epochs', async () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE channels (name TEXT PRIMARY KEY NOT NULL, epoch TEXT NOT NULL, top INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE messages (channel TEXT NOT NULL, "offset" INTEGER NOT NULL, time INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (channel, "offset")) WITHOUT ROWID;`);
    db.prepare("INSERT INTO channels VALUES ('old', 'v1epochv1epo', 1)").run();
    db.prepare('INSERT INTO messages VALUES (?, 1, ?, ?)').run(
      'old',
      Date.now(),
      `{"type":"message","channel":"old","offset":1,"epoch":"v1epochv1epo","time":${Date.now()},"data":"kept"}`,
    );
    db.pragma(`application_id = 1213353028`);
    db.pragma('user_version = 1');
    db.close();
    const broker = new SqliteBroker({ path });
    try {
      expect((await broker.read('old')).messages.map((m) => JSON.parse(m.json).data)).toEqual(['kept']);
      const next = await broker.publish('old', '"new"', { idempotencyKey: 'k', idempotencyTtl: 60, fingerprint: 'f' });
      expect(next).toMatchObject({ epoch: 'v1epochv1epo', offset: 2 });
      expect(await broker.publish('old', '"again"', { idempotencyKey: 'k', idempotencyTtl: 60, fingerprint: 'f' })).toEqual({
        duplicate: true,
        channel: 'old',
        epoch: 'v1epochv1epo',
        offset: 2,
        fingerprint: 'f',
      });
    } finally {
      await broker.close();
    }
    const reopened = new Database(path);
    expect(reopened.pragma('user_version', { simple: true })).toBe(5);
    // Version 3 added the webhook queue's tables, version 4 its delivery conditions.
    expect(
      reopened.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'webhooks%' AND type = 'table' ORDER BY name").pluck().all(),
    ).toEqual(['webhooks', 'webhooks_dead']);
    expect(reopened.prepare("SELECT count(*) FROM pragma_table_info('webhooks') WHERE name = 'condition'").pluck().get()).toBe(1);
    // Version 5 added the acknowledged positions.
    expect(reopened.prepare("SELECT name FROM sqlite_schema WHERE name = 'acks' AND type = 'table'").pluck().all()).toEqual(['acks']);
    reopened.close();
  });

  it('rejects every call after close with a HeraldError, and closing again is harmless', async () => {
    const broker = new SqliteBroker({ path: ':memory:' });
    await broker.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['publish', () => broker.publish('c', '1')],
      ['read', () => broker.read('c')],
      ['position', () => broker.position('c')],
      ['subscribe', () => broker.subscribe('c')],
      ['unsubscribe', () => broker.unsubscribe('c')],
      ['publishPresenceEvent', () => broker.publishPresenceEvent({ type: 'join', channel: 'c', client: 'x', user: null })],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(HeraldError);
      expect(error, name).toMatchObject({ code: 'unavailable', message: 'the SQLite engine is closed' });
    }
    await expect(broker.close()).resolves.toBeUndefined();
  });
});
