import type { HeraldServer } from '@herald/server';
import { startNginx, type TestNginx } from '@herald/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './demo-page.js';
import { clientBundle, openSdkPage, startScriptHub } from './sdk-page.js';

// Issue 18 in Chromium: the SDK's browser bundle, with default options, subscribes; every message
// published after subscribe() returned arrives once and in order, behind an nginx that drops
// WebSocket upgrades and buffers responses (ignoring X-Accel-Buffering), and through one that passes
// everything, with a message published at once.

/** Loaded on a document the hub serves (through the proxy), like an application. */
const HARNESS = `
  import { createClient } from '/sdk/herald-client.js';
  window.received = [];
  window.errors = [];
  window.subscribeNow = (channel) => {
    window.client = createClient({ url: location.origin });
    window.client.on('error', (e) => window.errors.push(e.code + ': ' + e.message));
    const sub = window.client.subscribe(channel, (m) => window.received.push({ offset: m.offset, data: m.data }));
    sub.on('gap', (g) => window.errors.push('gap ' + JSON.stringify(g)));
    sub.on('error', (e) => window.errors.push(e.code + ': ' + e.message));
  };
`;

let bundle: string;
let browser: Browser;
let server: HeraldServer | undefined;
let nginx: TestNginx | undefined;
const pages: Page[] = [];

beforeAll(async () => {
  bundle = clientBundle();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  await nginx?.close();
  await server?.close();
  nginx = undefined;
  server = undefined;
});

/** A hub serving the bundle, behind a real nginx. */
async function hubBehind(proxy: { upgrade: boolean; buffering: boolean }): Promise<{ hub: HeraldServer; url: string }> {
  let port: number;
  ({ server, port } = await startScriptHub(
    // nginx's gzip is what buffers the stream; one the hub gzips itself would pass it.
    { ...(proxy.buffering && { compression: { http: false } }) },
    { '/sdk/herald-client.js': bundle },
  ));
  nginx = await startNginx({ upstreamPort: port, ...proxy });
  return { hub: server, url: nginx.url };
}

async function openPage(url: string): Promise<Page> {
  // A new context: nothing remembered from another test (the SDK keeps the transport that worked).
  const { page } = await openSdkPage(browser, url, { script: HARNESS, ready: 'window.subscribeNow !== undefined' });
  pages.push(page);
  return page;
}

const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('in Chromium, a subscription starts when subscribe() is called', { timeout: 60_000 }, () => {
  it('behind a proxy that drops upgrades and buffers responses: messages at 0.1, 1, 3 and 6 s arrive once, in order', async () => {
    const { hub, url } = await hubBehind({ upgrade: false, buffering: true });
    const page = await openPage(url);
    await page.evaluate(`window.subscribeNow('orders:7')`);
    const start = performance.now();
    const published: number[] = [];
    for (const at of [100, 1000, 3000, 6000]) {
      await after(at - (performance.now() - start));
      published.push((await hub.hub.publish('orders:7', { at })).offset);
    }
    await page.waitForFunction('window.received.length >= 4', undefined, { timeout: 15_000, polling: 50 });
    await after(200);
    expect(await page.evaluate('window.received')).toEqual(
      published.map((offset, i) => ({ offset, data: { at: [100, 1000, 3000, 6000][i] } })),
    );
    expect(await page.evaluate('window.errors')).toEqual([]);
    expect(await page.evaluate('window.client.transport')).toBe('polling');
  });

  it('through a proxy that passes everything: a message published right after subscribe() returned arrives', async () => {
    const { hub, url } = await hubBehind({ upgrade: true, buffering: false });
    const page = await openPage(url);
    await hub.hub.publish('race:7', 'before');
    await after(100);
    await page.evaluate(`window.subscribeNow('race:7')`);
    await hub.hub.publish('race:7', 'at once');
    await after(1);
    await hub.hub.publish('race:7', 'after 1 ms');
    await page.waitForFunction('window.received.length >= 2', undefined, { timeout: 15_000, polling: 50 });
    await after(200);
    expect(await page.evaluate('window.received.map((m) => m.data)')).toEqual(['at once', 'after 1 ms']);
    expect(await page.evaluate('window.errors')).toEqual([]);
    expect(await page.evaluate('window.client.transport')).toBe('websocket');
  });
});
