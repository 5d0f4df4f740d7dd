import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@herald/protocol';
import { startHeraldNode, type HeraldNode } from '@herald/testkit';
import { afterEach, expect, it } from 'vitest';

const API_KEY = 'batch-limit-api-key-0123456789';
let node: HeraldNode | undefined;
let dir: string | undefined;
afterEach(async () => {
  await node?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  node = dir = undefined;
});

it('herald start applies limits.maxBatchMessages of the config file', async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-batch-'));
  const config = join(dir, 'herald.config.json');
  writeFileSync(config, JSON.stringify({ auth: { secret: 's'.repeat(32) }, apiKeys: [API_KEY], limits: { maxBatchMessages: 2 } }));
  node = await startHeraldNode({ args: ['--config', config] });
  const batch = (count: number): Promise<Response> =>
    fetch(`${node!.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-Herald-Key': API_KEY },
      body: JSON.stringify({ messages: Array.from({ length: count }, (_, i) => ({ channel: 'c', data: i })) }),
    });
  const refused = await batch(3);
  expect([refused.status, await refused.json()]).toEqual([
    400,
    { error: { code: ErrorCode.LimitExceeded, message: 'at most 2 messages in one batch' } },
  ]);
  const accepted = await batch(2);
  expect(((await accepted.json()) as { results: { offset: number }[] }).results.map((r) => r.offset)).toEqual([1, 2]);
});
