import { silentLogger } from '@herald/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { loadClientBundle, type ClientBundleFile } from '../src/landing-page.js';
import { startHub, type RunningHub } from '../src/start.js';
import { launchChromium, WAIT_MS } from './demo-page.js';
import { openSdkPage } from './sdk-page.js';

// Every browser bundle @herald/client builds is served by `herald start` under /sdk/, the same way
// (content type, no-cache with an ETag, any origin), and the bundles work together when a page
// imports them from there: in Debian's Chromium, a client created with the compact or the
// MessagePack format from /sdk/herald-compact.js or /sdk/herald-msgpack.js receives a message in
// that format, and /sdk/herald-outbox.js finds the client bundle it imports beside it.

const FILES: readonly ClientBundleFile[] = [
  'herald-client.js',
  'herald-share.js',
  'herald-compact.js',
  'herald-msgpack.js',
  'herald-outbox.js',
];

/** The page's module: the client and the three optional bundles, each imported from the hub. */
const HARNESS = `
  import { createClient } from '/sdk/herald-client.js';
  import { compact } from '/sdk/herald-compact.js';
  import { msgpack } from '/sdk/herald-msgpack.js';
  import { outbox } from '/sdk/herald-outbox.js';
  const formats = { compact, msgpack };
  const log = { messages: [], states: [], errors: [], published: [] };
  window.sdk = {
    log,
    open(channel, transport, format, withOutbox) {
      const client = createClient({
        url: location.origin,
        transports: [transport],
        format: formats[format],
        pollWait: 5,
        timeout: 10000,
        ...(withOutbox && { outbox: outbox() }),
      });
      client.on('state', (s) => log.states.push(s));
      client.on('error', (e) => log.errors.push(e.code + ': ' + e.message));
      const sub = client.subscribe(channel, (m) => log.messages.push(m));
      sub.on('error', (e) => log.errors.push(e.code + ': ' + e.message));
      window.sdk.publish = (data) => client.publish(channel, data).then((r) => log.published.push(r.offset));
    },
  };
`;

let browser: Browser;
let hub: RunningHub;
const pages: Page[] = [];

beforeAll(async () => {
  for (const file of FILES)
    if (loadClientBundle(file) === undefined) throw new Error(`packages/client/dist/${file} is missing: run npm run build first`);
  hub = await startHub(configSchema.parse({ port: 0, host: '127.0.0.1' }), 'dev', silentLogger, { demos: false });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.server.close();
});

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
});

describe('GET /sdk/<bundle>', () => {
  it.each(FILES)('serves %s as the client package built it, cacheable with its ETag, to any origin', async (file) => {
    const res = await fetch(`${hub.url}/sdk/${file}`, { headers: { origin: 'https://elsewhere.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(await res.text()).toBe(loadClientBundle(file));
    // Asked again with the ETag: 304, no body, the same headers.
    const again = await fetch(`${hub.url}/sdk/${file}`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    const head = await fetch(`${hub.url}/sdk/${file}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(loadClientBundle(file)!)));
  });

  it('answers 404 for a file it does not have', async () => {
    expect((await fetch(`${hub.url}/sdk/herald-nothing.js`)).status).toBe(404);
  });
});

interface PageLog {
  readonly messages: { data: unknown; offset: number }[];
  readonly states: string[];
  readonly errors: string[];
  readonly published: number[];
}

/**
 * Opens the harness on a document of `herald start`'s hub (not `useSdkBrowser`'s, which serves
 * its scripts itself: the bundles under test are the ones /sdk/ serves) and creates its client;
 * records what it received on the wire.
 */
async function open(
  channel: string,
  transport: 'websocket' | 'polling',
  format: 'compact' | 'msgpack',
  withOutbox = false,
): Promise<{ page: Page; frames: (string | Buffer)[]; polls: string[]; errors: string[] }> {
  const frames: (string | Buffer)[] = [];
  const polls: string[] = [];
  const { page, errors } = await openSdkPage(browser, hub.url, {
    prepare: (page) => {
      page.on('websocket', (socket) => socket.on('framereceived', (frame) => frames.push(frame.payload)));
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (url.pathname === '/api/messages') polls.push(url.search);
      });
    },
    script: HARNESS,
    ready: 'window.sdk !== undefined',
  });
  pages.push(page);
  await page.evaluate(`window.sdk.open(${JSON.stringify(channel)}, '${transport}', '${format}', ${withOutbox})`);
  await waitForLog(page, 'the client to connect', (log) => log.states.includes('connected'));
  return { page, frames, polls, errors };
}

async function waitForLog(page: Page, what: string, predicate: (log: PageLog) => boolean): Promise<void> {
  try {
    await page.waitForFunction(`(${predicate.toString()})(window.sdk.log)`, undefined, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    const state = await page.evaluate<string>('JSON.stringify(window.sdk.log)').catch((e: unknown) => String(e));
    throw new Error(`timed out waiting for ${what}; log = ${state.slice(0, 3000)}`, { cause: error });
  }
}

const log = (page: Page): Promise<PageLog> => page.evaluate<PageLog>('window.sdk.log');

describe('a page importing the bundles from /sdk/', () => {
  it('receives a message in compact format on the WebSocket (herald-compact.js)', async () => {
    const { page, frames, errors } = await open('bundles-compact', 'websocket', 'compact');
    await hub.server.hub.publish('bundles-compact', { n: 1 });
    await waitForLog(page, 'the message', (l) => l.messages.length === 1);
    expect((await log(page)).messages).toMatchObject([{ data: { n: 1 }, offset: 1 }]);
    // The push came as a compact array (a JSON envelope is an object).
    const pushes = frames.filter((f) => typeof f === 'string' && f.startsWith('['));
    expect(pushes.length).toBeGreaterThan(0);
    expect(JSON.parse(pushes.at(-1) as string)).toContainEqual({ n: 1 });
    expect(errors).toEqual([]);
    expect((await log(page)).errors).toEqual([]);
  });

  it('asks for format=compact when polling with it', async () => {
    const { page, polls, errors } = await open('bundles-poll', 'polling', 'compact');
    await hub.server.hub.publish('bundles-poll', 'hello');
    await waitForLog(page, 'the message', (l) => l.messages.length === 1);
    expect((await log(page)).messages).toMatchObject([{ data: 'hello', offset: 1 }]);
    // Every poll of the loop (`wait`) asks for compact items (the pin and the opening read of the
    // position carry no messages).
    const reads = polls.map((query) => new URLSearchParams(query)).filter((query) => query.has('wait'));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.map((query) => query.get('format'))).toEqual(reads.map(() => 'compact'));
    expect(errors).toEqual([]);
  });

  it('receives binary MessagePack frames with herald-msgpack.js, and publishes through the outbox of herald-outbox.js', async () => {
    const { page, frames, errors } = await open('bundles-msgpack', 'websocket', 'msgpack', true);
    await page.evaluate(`window.sdk.publish('through the outbox')`);
    await waitForLog(page, 'the published message', (l) => l.messages.length === 1 && l.published.length === 1);
    const { messages, published } = await log(page);
    expect(messages).toMatchObject([{ data: 'through the outbox', offset: 1 }]);
    expect(published).toEqual([1]);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => Buffer.isBuffer(f))).toBe(true);
    expect(errors).toEqual([]);
  });
});
