import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteWebhookQueue } from '@herald/sqlite';
import { startChildHub, startWebhookApp, type ChildHub, type WebhookApp } from '@herald/testkit';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// The hub runs in a child process (test/fixtures/webhook-hub.ts, bundled from the sources): it
// builds a hub on the SQLite engine with webhooks and emits events through the hub's webhook sink
// on command, as the event sources will. The test SIGKILLs it with events queued and leased.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const source = (pkg: string): string => fileURLToPath(new URL(`../../${pkg}/src/index.ts`, import.meta.url));
const bundleDir = join(packageDir, '.tmp');
const bundle = join(bundleDir, `webhook-hub-${process.pid}.mjs`);
const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-webhooks-'));
const SECRET = 'webhook-crash-secret-0123456789';

beforeAll(async () => {
  mkdirSync(bundleDir, { recursive: true });
  await build({
    entryPoints: [join(packageDir, 'test/fixtures/webhook-hub.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'ws', 'jose', 'prom-client'],
    alias: { '@herald/sqlite': source('sqlite'), '@herald/server': source('server'), '@herald/protocol': source('protocol') },
    logLevel: 'silent',
  });
});
afterAll(() => {
  rmSync(bundle, { force: true });
  try {
    rmdirSync(bundleDir);
  } catch {
    // Not empty: another run's bundle is still there.
  }
  rmSync(dir, { recursive: true, force: true });
});

const children: ChildHub[] = [];
let app: WebhookApp | undefined;
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await app?.close();
});

async function hub(path: string, url: string, options: object): Promise<ChildHub> {
  const child = await startChildHub(bundle, [path, url, SECRET, JSON.stringify(options)]);
  children.push(child);
  return child;
}

describe('webhooks on SQLite: a hub SIGKILLed with events queued loses none', () => {
  it('the next process delivers every event stored before the kill, those leased at the kill included', async () => {
    const path = join(dir, 'crash.db');
    app = await startWebhookApp(SECRET);
    const a = app;
    // The app is down (503) while the first process runs; its first request is held open instead,
    // so some events are leased (in flight) when the process dies.
    a.answer((d) => (a.deliveries.items.length === 0 && d.events.length > 0 ? 'hold' : 503));
    const options = { retryBase: 50, retryMax: 200, maxAttempts: 1000, timeout: 1000, lease: 1500, pollInterval: 10, batchSize: 20 };
    const first = await hub(path, a.url, options);
    first.send('emit 0 30');
    await first.waitFor('stored 0 30');
    await a.deliveries.count(1);
    first.send('emit 30 70');
    await first.waitFor('stored 30 70');
    await a.deliveries.until((all) => all.some((d) => d.status === 503), 'a failed attempt');
    await first.kill();
    expect(await first.exited).toBe('SIGKILL');
    expect(first.stderr()).toBe('');
    a.releaseHeld();
    const delivered = a.delivered().length;
    expect(delivered).toBe(0);

    // Nothing was lost: all 100 are in the file, queued.
    const peek = new SqliteWebhookQueue({ path });
    expect(await peek.counts()).toMatchObject({ queued: 100, dead: 0 });
    await peek.close();

    a.answer(() => 200);
    await hub(path, a.url, options);
    await a.deliveries.until(() => new Set(a.delivered()).size === 100, 'all 100 events', 20_000);
    const events = a.deliveries.items.filter((d) => d.status === 200).flatMap((d) => d.events);
    expect(new Set(events.map((e) => (e as { channel: string }).channel))).toEqual(
      new Set(Array.from({ length: 100 }, (_, i) => `w:${i}`)),
    );
    // Each delivered once after the restart (none had been answered 2xx before the kill).
    expect(events).toHaveLength(100);
    expect(a.unsigned()).toBe(0);
  });
});
