import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { RedisWebhookQueue } from '@herald/redis';
import type { WebhookQueue } from '@herald/server';
import { SqliteWebhookQueue } from '@herald/sqlite';
import { startWebhookApp, webhookEvent, type WebhookApp } from '@herald/testkit';
import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCliHub, tempDir, writeConfig } from './cli-process.js';

const REDIS_URL = process.env['HERALD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SECRET = 'cli-webhook-secret-0123456789';

let app: WebhookApp | undefined;
const prefixes: string[] = [];
afterEach(async () => {
  await killAll();
  await app?.close();
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  for (const prefix of prefixes.splice(0))
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await client.del(keys);
  client.destroy();
});

interface Engine {
  readonly args: string[];
  /** The engine's queue, opened from the test (the hub is another process). */
  readonly queue: () => Promise<WebhookQueue>;
}

function sqlite(): Engine {
  const path = join(tempDir(), 'herald.db');
  return { args: ['--engine', `sqlite:${path}`], queue: () => Promise.resolve(new SqliteWebhookQueue({ path })) };
}

function redis(): Engine {
  const prefix = `herald-test-${randomUUID()}:`;
  prefixes.push(prefix);
  return {
    args: ['--engine', REDIS_URL, '--config', writeConfig({ redis: { prefix } })],
    queue: () => RedisWebhookQueue.connect({ url: REDIS_URL, prefix }),
  };
}

describe.each([
  ['sqlite', sqlite],
  ['redis', redis],
])('herald start --engine %s with HERALD_WEBHOOKS_*', (_name, make) => {
  it("delivers the events in the engine's queue and lists dead letters in the admin API", async () => {
    app = await startWebhookApp(SECRET);
    const a = app;
    a.answer(() => 500);
    const engine = make();
    // Events already in the engine's queue when the hub starts (as a previous run would leave them).
    const queue = await engine.queue();
    const events = [webhookEvent(Date.now() - 2), webhookEvent(Date.now() - 1)];
    await queue.add(events);
    await queue.close();
    const hub = await startCliHub(engine.args, {
      HERALD_WEBHOOKS_URL: a.url,
      HERALD_WEBHOOKS_SECRET: `${SECRET}, another-secret-0123456789`,
      HERALD_WEBHOOKS_MAX_ATTEMPTS: '2',
      HERALD_WEBHOOKS_RETRY_BASE: '10',
      HERALD_WEBHOOKS_BATCH_SIZE: '1',
    });
    await a.deliveries.count(4);
    expect(a.unsigned()).toBe(0);
    expect(a.deliveries.items.every((d) => d.events.length === 1)).toBe(true);
    let listed: { queued: number; dead: number; deadLetters: { event: { id: string } }[] } | undefined;
    for (let i = 0; i < 200 && listed?.dead !== 2; i++) {
      listed = (await (await fetch(`${hub.url}/api/admin/webhooks`)).json()) as typeof listed;
      if (listed?.dead !== 2) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(listed).toMatchObject({ queued: 0, dead: 2 });
    expect(listed!.deadLetters.map((l) => l.event.id).sort()).toEqual(events.map((e) => e.id).sort());
    a.answer(() => 200);
    const replay = await fetch(`${hub.url}/api/admin/webhooks/replay`, { method: 'POST', body: '{"all":true}' });
    expect(await replay.json()).toEqual({ replayed: 2 });
    await a.deliveries.until(() => a.delivered().length === 2, 'the replayed events');
    expect(a.delivered().sort()).toEqual(events.map((e) => e.id).sort());
  });
});

describe('herald start: webhook settings', () => {
  it('refuses bad HERALD_WEBHOOKS_* values with the setting named', async () => {
    const result = await runCli(['start', '--port', '0'], {
      env: { HERALD_WEBHOOKS_URL: 'ftp://x', HERALD_WEBHOOKS_SECRET: 'short', HERALD_WEBHOOKS_MAX_ATTEMPTS: '0' },
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('webhooks.url: must be an http(s) URL');
    expect(result.stderr).toContain('webhooks.secrets.0: webhook secrets must be at least 16 characters');
    expect(result.stderr).toContain('webhooks.maxAttempts: Too small');
  });

  it('without webhooks configured the admin API has no webhook routes', async () => {
    const hub = await startCliHub([]);
    expect((await fetch(`${hub.url}/api/admin/webhooks`)).status).toBe(404);
  });
});
