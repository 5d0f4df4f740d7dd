import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEngine, SqliteAckStore } from '@herald/sqlite';
import { runAckStoreContract, runEngineContract } from '@herald/testkit';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-contract-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A new database file per test: every test starts from an empty log space, on disk, in WAL mode.
runEngineContract('sqlite', ({ historySize, historyTtl, clock }) =>
  Promise.resolve(createSqliteEngine({ path: join(dir, `${files++}.db`), historySize, historyTtl, clock })),
);

// A file per test; the peer is a second connection to the same file (another store on one node).
runAckStoreContract('sqlite', (limits) => Promise.resolve(new SqliteAckStore({ path: join(dir, `${files++}.db`), ...limits })));

runAckStoreContract(
  'sqlite, two connections to one file',
  (limits) => Promise.resolve(new SqliteAckStore({ path: join(dir, `${files++}.db`), ...limits })),
  () => Promise.resolve(new SqliteAckStore({ path: join(dir, `${files - 1}.db`) })),
);
