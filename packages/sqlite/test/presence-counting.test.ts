import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEngine, type SqliteEngine } from '@herald/sqlite';
import { runPresenceCountingContract } from '@herald/testkit';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-counting-'));
const engines: SqliteEngine[] = [];
let files = 0;
afterAll(async () => {
  for (const engine of engines) await engine.broker.close();
  rmSync(dir, { recursive: true, force: true });
});

// The SQLite engine's presence (in memory: one node) counts for the webhook presence events.
runPresenceCountingContract(
  'sqlite',
  () => {
    const engine = createSqliteEngine({ path: join(dir, `${files++}.db`) });
    engines.push(engine);
    return Promise.resolve(engine.presence);
  },
  (store) => Promise.resolve(store),
);
