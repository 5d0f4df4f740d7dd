import { randomUUID } from 'node:crypto';
import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildHub, startWebhookApp, type ChildHub, type WebhookApp } from '@herald/testkit';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

// Each node is a child process (test/fixtures/webhook-node.ts, bundled from the sources) running a
// hub on the Redis engine with webhooks; nodes of one test share a key prefix, so one webhook
// queue. Events are emitted through each hub's webhook sink on command, as the event sources will.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const source = (pkg: string): string => fileURLToPath(new URL(`../../${pkg}/src/index.ts`, import.meta.url));
const bundleDir = join(packageDir, '.tmp');
const bundle = join(bundleDir, `webhook-node-${process.pid}.mjs`);
const SECRET = 'webhook-cluster-secret-0123456789';
const prefixes: string[] = [];

beforeAll(async () => {
  mkdirSync(bundleDir, { recursive: true });
  await build({
    entryPoints: [join(packageDir, 'test/fixtures/webhook-node.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@redis/client', 'ws', 'jose', 'prom-client'],
    alias: { '@herald/redis': source('redis'), '@herald/server': source('server'), '@herald/protocol': source('protocol') },
    logLevel: 'silent',
  });
});
afterAll(async () => {
  rmSync(bundle, { force: true });
  try {
    rmdirSync(bundleDir);
  } catch {
    // Not empty: another run's bundle is still there.
  }
  await deleteKeys(REDIS_URL, prefixes);
});

const children: ChildHub[] = [];
let app: WebhookApp | undefined;
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await app?.close();
});

function newPrefix(): string {
  const prefix = `herald-test-${randomUUID()}:`;
  prefixes.push(prefix);
  return prefix;
}

async function node(prefix: string, url: string, options: object): Promise<ChildHub> {
  const child = await startChildHub(bundle, [REDIS_URL, prefix, url, SECRET, JSON.stringify(options)]);
  children.push(child);
  return child;
}

const channelOf = (e: unknown): string => (e as { channel: string }).channel;

describe('webhooks on Redis: nodes sharing one queue', () => {
  it('two nodes deliver each event exactly once', async () => {
    app = await startWebhookApp(SECRET);
    const prefix = newPrefix();
    const options = { pollInterval: 10, batchSize: 25, concurrency: 2 };
    const [a, b] = [await node(prefix, app.url, options), await node(prefix, app.url, options)];
    for (let round = 0; round < 4; round++) {
      a.send(`emit a ${round * 50} 50`);
      b.send(`emit b ${round * 50} 50`);
    }
    for (let round = 0; round < 4; round++) {
      await a.waitFor(`stored a ${round * 50} 50`);
      await b.waitFor(`stored b ${round * 50} 50`);
    }
    await app.deliveries.until(() => app!.delivered().length >= 400, '400 events');
    const events = app.deliveries.items.flatMap((d) => d.events);
    // Exactly once: 400 requests' worth of events, 400 distinct ids, every channel once.
    expect(events).toHaveLength(400);
    expect(new Set(events.map((e) => e.id)).size).toBe(400);
    const expected = ['a', 'b'].flatMap((tag) => Array.from({ length: 200 }, (_, i) => `${tag}:${i}`));
    expect(events.map(channelOf).sort()).toEqual(expected.sort());
    expect(app.unsigned()).toBe(0);
    expect(app.deliveries.items.every((d) => d.events.length <= 25)).toBe(true);
  });

  it('a node killed mid-delivery: another node delivers its events once the lease ran out', async () => {
    app = await startWebhookApp(SECRET);
    const a = app;
    const prefix = newPrefix();
    // A's request would time out after 3 s: the kill comes well before, so only the lease frees the events.
    const options = { pollInterval: 10, timeout: 3000, lease: 3500, retryBase: 20 };
    // Only node A runs when the events are emitted, so A claims them; the app holds A's request.
    a.answer(() => 'hold');
    const first = await node(prefix, a.url, options);
    // A claims the events after they are emitted: its lease ends 3.5 s after that at the earliest.
    // (Measured from the emit, not from A's request reaching the app, which a loaded machine delays.)
    const emittedAt = performance.now();
    first.send('emit k 0 10');
    await first.waitFor('stored k 0 10');
    await a.deliveries.until((all) => all.flatMap((d) => d.events).length === 10, 'the held batch');
    const heldIds = a.deliveries.items.flatMap((d) => d.events.map((e) => e.id));
    const second = await node(prefix, a.url, options);
    a.answer(() => 200);
    const killedAt = performance.now();
    await first.kill();
    expect(await first.exited).toBe('SIGKILL');
    a.releaseHeld();
    await a.deliveries.until(() => new Set(a.delivered()).size === 10, 'all 10 delivered by the other node', 10_000);
    // The other node could only claim them after the lease (3.5 s from A's claim) ran out.
    const firstOk = a.deliveries.items.find((d) => d.status === 200)!;
    expect(firstOk.at - emittedAt).toBeGreaterThanOrEqual(3400);
    expect(firstOk.at).toBeGreaterThan(killedAt);
    // The same ids: the held batch was never answered 2xx, so each is delivered exactly once here;
    // had A's request been answered just before the kill, those events would come twice (at least once).
    expect(a.delivered().sort()).toEqual([...heldIds].sort());
    expect(second.stderr()).toBe('');
  });
});
