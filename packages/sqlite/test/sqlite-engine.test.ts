import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEngine } from '@herald/sqlite';
import { runEngineContract } from '@herald/testkit';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-contract-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A new database file per test: every test starts from an empty log space, on disk, in WAL mode.
runEngineContract('sqlite', ({ historySize, historyTtl, clock }) =>
  Promise.resolve(createSqliteEngine({ path: join(dir, `${files++}.db`), historySize, historyTtl, clock })),
);
