import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteWebhookQueue } from '@herald/sqlite';
import { runWebhookQueueContract } from '@herald/testkit';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-webhooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A database file per store: two queues on one store are two connections to one file.
runWebhookQueueContract('sqlite', (store) => Promise.resolve(new SqliteWebhookQueue({ path: join(dir, `${store}.db`) })), true);
