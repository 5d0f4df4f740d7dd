import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HeraldServer } from '@herald/server';
import { startTcpProxy, type TcpProxy } from '@herald/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, WAIT_MS } from './demo-page.js';
import { clientBundle, startScriptHub } from './sdk-page.js';

// The SDK's offline outbox (issue 17, part 7) in Debian's Chromium: the page reaches the hub through
// a TCP proxy the test controls, so cutting the network really stops the WebSocket (and every
// request), and restoring it lets the client reconnect. The page itself stays loadable while cut
// (as an offline-capable app serves it from its cache): only the hub's API is cut.

/** The outbox's browser bundle (herald-outbox.js), which imports ./herald-client.js. */
const outboxBundle = readFileSync(createRequire(import.meta.url).resolve('@herald/client/herald-outbox.js'), 'utf8');
let browser: Browser;
let server: HeraldServer;
let port: number;
let proxy: TcpProxy;
const pages: Page[] = [];
let n = 0;

/** What the harness page records on `window.box`. */
interface BoxLog {
  readonly states: string[];
  readonly events: { type: string; data: unknown; offset?: number; duplicate?: boolean; error?: string | number }[];
  /** What each `publish` settled to: the offset, or `error:<code>`. */
  readonly results: Record<string, number | string>;
}

const harness = (channel: string, transport: string): string => `
  import { createClient } from '/sdk/herald-client.js';
  import { outbox } from '/sdk/herald-outbox.js';
  const log = { states: [], events: [], results: {} };
  const client = createClient({
    url: location.origin,
    transports: [${JSON.stringify(transport)}],
    outbox: outbox(),
    timeout: 3000,
    pollWait: 2,
    reconnect: { minDelay: 50, maxDelay: 300 },
  });
  client.on('state', (s) => log.states.push(s));
  // A page that also listens (a polling client without channels would not poll, so never notice a cut).
  client.subscribe(${JSON.stringify(channel)});
  client.on('outbox', (e) =>
    log.events.push({ type: e.type, data: e.data, offset: e.result?.offset, duplicate: e.result?.duplicate, error: e.error?.code }),
  );
  window.box = {
    log,
    client,
    publish(data) {
      client.publish(${JSON.stringify(channel)}, data).then(
        (r) => (log.results[data] = r.offset),
        (e) => (log.results[data] = 'error:' + e.code),
      );
    },
  };
`;

beforeAll(async () => {
  ({ server, port } = await startScriptHub({}, { '/sdk/herald-client.js': clientBundle(), '/sdk/herald-outbox.js': outboxBundle }));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  await proxy?.close();
});

/** What the hub stored on `channel`, read from the hub itself (not through the proxy). */
async function stored(channel: string): Promise<unknown[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/history?channel=${channel}&limit=1000`);
  return ((await res.json()) as { messages: { data: unknown }[] }).messages.map((m) => m.data);
}

async function openHarness(page: Page, channel: string, transport: string): Promise<void> {
  await page.addScriptTag({ type: 'module', content: harness(channel, transport) });
  await page.waitForFunction('window.box !== undefined', undefined, { timeout: WAIT_MS });
}

async function waitForBox(page: Page, what: string, predicate: (log: BoxLog, arg: unknown) => boolean, arg?: unknown): Promise<void> {
  try {
    await page.waitForFunction(`(${predicate.toString()})(window.box.log, ${JSON.stringify(arg ?? null)})`, undefined, {
      timeout: WAIT_MS,
      polling: 50,
    });
  } catch (error) {
    const state = await page.evaluate<string>('JSON.stringify(window.box.log)').catch((e: unknown) => String(e));
    throw new Error(`timed out waiting for ${what}; log = ${state.slice(0, 3000)}`, { cause: error });
  }
}

/** Items in the page's IndexedDB outbox. */
function queued(page: Page): Promise<number> {
  return page.evaluate<number>(`new Promise((resolve, reject) => {
    const open = indexedDB.open('herald-outbox');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('items')) return resolve(0);
      const count = db.transaction('items').objectStore('items').count();
      count.onsuccess = () => { db.close(); resolve(count.result); };
    };
  })`);
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  pages.push(page);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

const connected = (log: BoxLog): boolean => log.states.at(-1) === 'connected';
const offline = (log: BoxLog): boolean => log.states.at(-1) === 'reconnecting';

describe.each(['websocket', 'polling'])('the outbox in Chromium over %s', (transport) => {
  it('keeps publishes made while the network is cut and stores each exactly once, in order, when it is back', async () => {
    proxy = await startTcpProxy(port, { allow: (line) => /^GET \/(healthz|sdk\/)/.test(line) });
    const channel = `outbox-browser:${transport}-${n++}`;
    const { page, errors } = await newPage();
    await page.goto(`${proxy.url}/healthz`);
    await openHarness(page, channel, transport);
    await page.evaluate(`window.box.publish('online')`);
    await waitForBox(page, 'the first publish', (log) => log.results['online'] === 1);

    proxy.cut();
    await waitForBox(page, 'the client to notice the cut', offline);
    for (const data of ['offline-1', 'offline-2', 'offline-3']) await page.evaluate(`window.box.publish(${JSON.stringify(data)})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stored(channel)).toEqual(['online']);
    expect((await page.evaluate<BoxLog>('window.box.log')).results).toEqual({ online: 1 });
    expect(await queued(page)).toBe(3);

    proxy.restore();
    await waitForBox(page, 'every queued publish to be stored', (log) => Object.keys(log.results).length === 4);
    expect((await page.evaluate<BoxLog>('window.box.log')).results).toEqual({ online: 1, 'offline-1': 2, 'offline-2': 3, 'offline-3': 4 });

    // Sent, stored, but the answer lost with the connection: sent again with the same key.
    await waitForBox(page, 'the client to be connected', connected);
    proxy.holdReplies();
    await page.evaluate(`window.box.publish('unanswered')`);
    const deadline = Date.now() + WAIT_MS;
    while ((await stored(channel)).length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await page.evaluate(`window.box.publish('behind it')`);
    proxy.cut();
    await waitForBox(page, 'the client to notice the cut', offline);
    proxy.restore();
    await waitForBox(page, 'the last publishes to settle', (log) => Object.keys(log.results).length === 6);
    const log = await page.evaluate<BoxLog>('window.box.log');
    expect(log.results).toMatchObject({ unanswered: 5, 'behind it': 6 });
    expect(log.events.find((e) => e.data === 'unanswered')).toMatchObject({ duplicate: true });
    expect(await stored(channel)).toEqual(['online', 'offline-1', 'offline-2', 'offline-3', 'unanswered', 'behind it']);
    expect(await queued(page)).toBe(0);
    expect(errors).toEqual([]);
  }, 90_000);

  it('keeps the outbox in IndexedDB through a reload while offline; the new page sends it', async () => {
    proxy = await startTcpProxy(port, { allow: (line) => /^GET \/(healthz|sdk\/)/.test(line) });
    const channel = `outbox-browser:reload-${transport}-${n++}`;
    const { page, errors } = await newPage();
    await page.goto(`${proxy.url}/healthz`);
    await openHarness(page, channel, transport);
    await page.evaluate(`window.box.publish('first')`);
    await waitForBox(page, 'the first publish', (log) => log.results['first'] === 1);
    proxy.cut();
    await waitForBox(page, 'the client to notice the cut', offline);
    for (const data of ['queued-1', 'queued-2', 'queued-3']) await page.evaluate(`window.box.publish(${JSON.stringify(data)})`);
    const deadline = Date.now() + WAIT_MS;
    while ((await queued(page)) < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await queued(page)).toBe(3);

    // Still offline: the page reloads (served while the hub's API is cut) and publishes nothing itself.
    await page.reload();
    await openHarness(page, channel, transport);
    await waitForBox(page, 'the new page to try to connect', offline);
    expect(await stored(channel)).toEqual(['first']);
    proxy.restore();
    await waitForBox(page, 'the new page to send the old outbox', (log) => log.events.length === 3);
    const log = await page.evaluate<BoxLog>('window.box.log');
    expect(log.events.map((e) => [e.type, e.data, e.offset])).toEqual([
      ['sent', 'queued-1', 2],
      ['sent', 'queued-2', 3],
      ['sent', 'queued-3', 4],
    ]);
    expect(await stored(channel)).toEqual(['first', 'queued-1', 'queued-2', 'queued-3']);
    expect(await queued(page)).toBe(0);
    expect(errors).toEqual([]);
  }, 90_000);
});
