import type { Socket } from 'node:net';
import type { HeraldServer } from '@herald/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './demo-page.js';
import { openSdkPage, startScriptHub } from './sdk-page.js';

// Compression with a real browser as the client: Chromium offers permessage-deflate on every
// WebSocket and sends Accept-Encoding gzip/br on every request, EventSource included, so the hub
// compresses what it sends; the page must still receive every message, intact.

const big = { rows: Array.from({ length: 80 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i * 1.25, status: 'ok' })) };
const BIG_BYTES = JSON.stringify(big).length;

let browser: Browser;
let server: HeraldServer;
let url: string;
let page: Page;
const sockets: Socket[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.close();
  await server?.close();
  sockets.length = 0;
});

async function start(compression?: { contextTakeover: boolean }): Promise<void> {
  // No scripts: the page drives the browser's own WebSocket and EventSource.
  ({ server, url } = await startScriptHub({ ...(compression && { compression }) }, {}));
  server.server.on('connection', (socket: Socket) => sockets.push(socket));
  ({ page } = await openSdkPage(browser, url));
}

/**
 * Opens the browser's own WebSocket to the hub as `window.ws`, subscribes to `channel` and
 * resolves once the reply came; every frame received is kept, parsed, in `window.got`.
 */
function subscribeInPage(channel: string): Promise<void> {
  return page.evaluate(`new Promise((resolve, reject) => {
    const ws = new WebSocket(${JSON.stringify(`${url.replace('http', 'ws')}/ws`)});
    window.got = [];
    window.ws = ws;
    ws.onmessage = (e) => window.got.push(JSON.parse(e.data));
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel: ${JSON.stringify(channel)} }));
    ws.onerror = reject;
    const check = setInterval(() => { if (window.got.length > 0) { clearInterval(check); resolve(); } }, 10);
  })`);
}

/** Bytes the hub has written on every socket so far. */
const written = (): number => sockets.reduce((sum, socket) => sum + socket.bytesWritten, 0);

describe('compression in Chromium', () => {
  it('WebSocket: permessage-deflate is negotiated and large messages arrive compressed and intact', async () => {
    await start();
    await subscribeInPage('dash');
    expect(await page.evaluate<string>('window.ws.extensions')).toContain('permessage-deflate');
    const before = written();
    for (let i = 0; i < 5; i++) await server.hub.publish('dash', big);
    await expect.poll(() => page.evaluate<number>('window.got.length'), { timeout: 10_000 }).toBe(6);
    const got = await page.evaluate<{ type: string; data: unknown }[]>('window.got');
    expect(got.slice(1).map((m) => m.data)).toEqual(Array.from({ length: 5 }, () => big));
    // Five envelopes of more than BIG_BYTES each went out in far fewer bytes.
    expect(written() - before).toBeLessThan(BIG_BYTES);
    // A compressed command from the browser (Chromium compresses what it sends) runs too.
    await page.evaluate(`window.ws.send(JSON.stringify({ id: 2, type: 'publish', channel: 'dash', data: ${JSON.stringify(big)} }))`);
    await expect.poll(() => page.evaluate<number>('window.got.length'), { timeout: 10_000 }).toBe(8);
  });

  it('WebSocket with context takeover: every message arrives intact and in order, similar ones in a fraction of the bytes', async () => {
    await start({ contextTakeover: true });
    await subscribeInPage('tiles');
    const tile = (i: number): unknown =>
      i % 5 === 0
        ? `small ${i}`
        : { rows: Array.from({ length: 20 }, (_, j) => ({ id: j, name: `sensor-${j}`, value: (i * 7 + j) % 97 })) };
    const before = written();
    for (let i = 0; i < 60; i++) await server.hub.publish('tiles', tile(i));
    await expect.poll(() => page.evaluate<number>('window.got.length'), { timeout: 10_000 }).toBe(61);
    const got = await page.evaluate<{ offset: number; data: unknown }[]>('window.got');
    expect(got.slice(1).map((m) => m.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(got.slice(1).map((m) => m.data)).toEqual(Array.from({ length: 60 }, (_, i) => tile(i)));
    // Shared mode sends a similar tile in about 28 % of its push (`npm run bench:wire`, tile, ws-deflate); with takeover, the 60 pushes (their
    // envelopes included) take less than a fifth of the tiles' JSON alone.
    const json = Array.from({ length: 60 }, (_, i) => JSON.stringify(tile(i)).length).reduce((a, b) => a + b, 0);
    expect(written() - before).toBeLessThan(json / 5);
  });

  it('EventSource: the stream is gzip and every event arrives at once', async () => {
    await start();
    const encodings: (string | undefined)[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/events')) encodings.push(response.headers()['content-encoding']);
    });
    await page.evaluate(`new Promise((resolve, reject) => {
      const es = new EventSource('/events?channel=feed');
      window.got = [];
      es.onmessage = (e) => window.got.push(JSON.parse(e.data));
      es.addEventListener('ready', () => resolve());
      es.onerror = () => reject(new Error('EventSource failed'));
    })`);
    expect(encodings).toEqual(['gzip']);
    const before = written();
    // One at a time: each event must arrive before the next is published (nothing held back).
    for (let i = 1; i <= 5; i++) {
      await server.hub.publish('feed', i === 3 ? 'small' : big);
      await expect.poll(() => page.evaluate<number>('window.got.length'), { timeout: 10_000 }).toBe(i);
    }
    const got = await page.evaluate<{ data: unknown }[]>('window.got');
    expect(got.map((m) => m.data)).toEqual([big, big, 'small', big, big]);
    expect(written() - before).toBeLessThan(BIG_BYTES);
  });
});
