import type { HeraldServer, HeraldServerOptions } from '@herald/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadClientBundle, loadLandingPage } from '../src/landing-page.js';
import type { RunningHub } from '../src/start.js';
import { launchChromium, startDevHub, PANELS, range, WAIT_MS, type DemoEnvelope, type HeraldDemo } from './demo-page.js';
import { startScriptHub } from './sdk-page.js';

// The client SDK's browser bundle (/sdk/herald-client.js) in Debian's Chromium against real hubs on
// real sockets: forced onto each transport it receives, publishes and reads history; with WebSocket
// (and then SSE) refused by the hub, the default client falls back; and the landing page's SDK panel
// shows the transport it picked and what it received.

type TransportName = 'websocket' | 'sse' | 'polling';

/** What the harness page records on `window.sdk.log`. */
interface HarnessLog {
  readonly messages: DemoEnvelope[];
  /** Client states, in order. */
  readonly states: string[];
  /** Subscription states, in order. */
  readonly subStates: string[];
  /** Every `transport` event: one per connection. */
  readonly transports: TransportName[];
  readonly errors: string[];
}

/** `window.heraldDemo` with the SDK panel's fields. */
type SdkDemo = Omit<HeraldDemo, 'ready' | 'state' | 'opens'> & {
  readonly sdk: DemoEnvelope[];
  readonly ready: Record<string, boolean>;
  readonly state: Record<string, string>;
  readonly opens: Record<string, number>;
  readonly sdkChoice: string;
  readonly sdkTransport: TransportName | null;
  readonly sdkError: string | null;
};

/** What a page did on the network, as Chromium reports it. */
interface Traffic {
  /** WebSockets opened, with the frames sent on each (parsed), and whether it has closed. */
  readonly sockets: { url: string; sent: any[]; closed: boolean }[];
  /** Requests to the hub's API, as `METHOD /path?query`. */
  readonly api: string[];
}

/**
 * The harness: a module that imports the bundle the way an application does, and exposes one client
 * and its subscription as `window.sdk`. It runs on a document the hub serves (`/healthz`): a page
 * made up with `page.route` does not count as the hub's, and Chromium's local network access checks
 * then refuse its WebSocket to 127.0.0.1.
 */
const HARNESS = `
  import { createClient } from '/sdk/herald-client.js';
  const log = { messages: [], states: [], subStates: [], transports: [], errors: [] };
  const failed = (e) => log.errors.push(e.code + ': ' + e.message);
  let client;
  let sub;
  window.sdk = {
    log,
    open(channel, transports) {
      client = createClient({ url: location.origin, transports, timeout: 10000, pollWait: 5 });
      client.on('state', (s) => log.states.push(s));
      client.on('transport', (t) => log.transports.push(t));
      client.on('error', failed);
      sub = client.subscribe(channel, (m) => log.messages.push(m));
      sub.on('state', (s) => log.subStates.push(s));
      sub.on('error', failed);
    },
    transport: () => client.transport ?? null,
    publish: (data) => sub.publish(data),
    history: (options) => sub.history(options),
    presence: () => sub.presence(),
    close: () => client.close(),
  };
`;

const bundle = loadClientBundle();
let browser: Browser;
let hub: RunningHub;
const pages: Page[] = [];
const servers: HeraldServer[] = [];

beforeAll(async () => {
  if (bundle === undefined) throw new Error('packages/client/dist/herald-client.js is missing: run npm run build first');
  hub = await startDevHub();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.server.close();
});

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  for (const server of servers.splice(0)) await server.close();
});

/** A hub built with `createHeraldServer`, serving the bundle (unless `withBundle` is false) the way `herald start` does. */
async function startServer(options: HeraldServerOptions, withBundle = true): Promise<{ server: HeraldServer; url: string }> {
  const { server, url } = await startScriptHub(options, withBundle ? undefined : {});
  servers.push(server);
  return { server, url };
}

/** A new page (its own browser context, so nothing is remembered between tests), with its errors and traffic. */
async function newPage(): Promise<{ page: Page; errors: string[]; traffic: Traffic }> {
  const page = await browser.newPage();
  pages.push(page);
  const errors: string[] = [];
  const traffic: Traffic = { sockets: [], api: [] };
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('websocket', (socket) => {
    const entry = { url: new URL(socket.url()).pathname, sent: [] as any[], closed: false };
    traffic.sockets.push(entry);
    socket.on('framesent', (frame) => entry.sent.push(JSON.parse(String(frame.payload))));
    socket.on('close', () => (entry.closed = true));
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/api/') || url.pathname === '/events')
      traffic.api.push(`${request.method()} ${url.pathname}${url.search}`);
  });
  return { page, errors, traffic };
}

/** Opens the harness on the hub at `url` and subscribes its client to `channel`. */
async function openHarness(
  url: string,
  channel: string,
  transports?: TransportName[],
): Promise<{ page: Page; errors: string[]; traffic: Traffic }> {
  const opened = await newPage();
  const { page } = opened;
  await page.goto(`${url}/healthz`);
  await page.addScriptTag({ type: 'module', content: HARNESS });
  await page.waitForFunction('window.sdk !== undefined', undefined, { timeout: WAIT_MS });
  await page.evaluate(`window.sdk.open(${JSON.stringify(channel)}, ${JSON.stringify(transports)})`);
  await waitForLog(
    page,
    'the subscription to be subscribed',
    (log) => log.subStates.includes('subscribed') && log.states.at(-1) === 'connected',
    null,
  );
  return opened;
}

/** Calls `window.sdk[method](...args)` in the page and returns what its promise resolves to. */
function harness<T>(page: Page, method: 'publish' | 'history' | 'presence' | 'transport' | 'close', ...args: unknown[]): Promise<T> {
  return page.evaluate<T>(`window.sdk.${method}(...${JSON.stringify(args)})`);
}

/**
 * Waits until `predicate(state, arg)` holds in the page, where `state` is what `root` evaluates to.
 * The predicate runs in the browser: it may use only its two arguments. On timeout the error shows
 * the state.
 */
async function waitInPage<A>(page: Page, root: string, what: string, predicate: (state: any, arg: A) => boolean, arg: A): Promise<void> {
  try {
    await page.waitForFunction(`(${predicate.toString()})(${root}, ${JSON.stringify(arg)})`, undefined, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    const state = await page.evaluate<string>(`JSON.stringify(${root})`).catch((e: unknown) => `(unreadable: ${String(e)})`);
    throw new Error(`timed out waiting for ${what}; ${root} = ${state.slice(0, 3000)}`, { cause: error });
  }
}

function waitForLog<A>(page: Page, what: string, predicate: (log: HarnessLog, arg: A) => boolean, arg: A): Promise<void> {
  return waitInPage(page, 'window.sdk.log', what, predicate, arg);
}

function waitForOffsets(page: Page, offsets: number[]): Promise<void> {
  return waitForLog(
    page,
    `offsets ${offsets.join(',')}`,
    (log, arg) => arg.every((o) => log.messages.some((m) => m.offset === o)),
    offsets,
  );
}

function waitForDemo<A>(page: Page, what: string, predicate: (demo: SdkDemo, arg: A) => boolean, arg: A): Promise<void> {
  return waitInPage(page, 'window.heraldDemo', what, predicate, arg);
}

function demoState(page: Page): Promise<SdkDemo> {
  return page.evaluate<SdkDemo>('window.heraldDemo');
}

function harnessLog(page: Page): Promise<HarnessLog> {
  return page.evaluate<HarnessLog>('window.sdk.log');
}

/** Opens the landing page on `channel` and waits until all four panels are subscribed. */
async function openLanding(url: string, channel: string): Promise<{ page: Page; errors: string[]; traffic: Traffic }> {
  const opened = await newPage();
  await opened.page.goto(`${url}/?channel=${encodeURIComponent(channel)}`);
  await waitForDemo(
    opened.page,
    'all four panels to subscribe',
    (demo) => demo.ready.poll! && demo.ready.sse! && demo.ready.ws! && demo.ready.sdk!,
    null,
  );
  return opened;
}

/** The pin the SDK sends when `subscribe()` is called (see docs/client.md, when a subscription starts). */
const pinRequest = (channel: string): unknown =>
  expect.stringMatching(new RegExp(`^GET /api/messages\\?channel=${channel}&since=now&lookback=\\d+$`));
/** An SSE stream for `channel` that resumes from the pinned start. */
const pinnedStream = (channel: string): unknown =>
  expect.stringMatching(new RegExp(`^GET /events\\?channel=${channel}&since=c1\\.[A-Za-z0-9_-]+$`));

async function publishHttp(url: string, channel: string, data: unknown): Promise<{ epoch: string; offset: number }> {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { epoch: string; offset: number };
}

describe('the SDK bundle in Chromium', { timeout: 60_000 }, () => {
  it('is served as JavaScript at /sdk/herald-client.js', async () => {
    const res = await fetch(`${hub.url}/sdk/herald-client.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await res.text()).toBe(bundle);
  });

  it.each<TransportName>(['websocket', 'sse', 'polling'])(
    'forced onto %s: receives, publishes, reads history and presence, over it only',
    async (transport) => {
      const channel = `sdk-forced-${transport}`;
      const { page, errors, traffic } = await openHarness(hub.url, channel, [transport]);
      expect(await harness(page, 'transport')).toBe(transport);

      // From Node, through the hub.
      const published = [];
      for (const n of range(1, 3)) published.push(await hub.server.hub.publish(channel, { n, from: 'node' }));
      await waitForOffsets(page, [1, 2, 3]);
      const epoch = published[0]!.epoch;
      expect((await harnessLog(page)).messages).toEqual(
        range(1, 3).map((n) => ({ type: 'message', channel, epoch, offset: n, time: expect.any(Number), data: { n, from: 'node' } })),
      );

      // From the page: the hub's reply, then the message itself comes back.
      const reply = await harness<Record<string, unknown>>(page, 'publish', { from: 'the page', transport });
      expect(reply).toMatchObject({ channel, epoch, offset: 4 });
      await waitForOffsets(page, [4]);
      expect((await harnessLog(page)).messages[3]).toMatchObject({ channel, epoch, offset: 4, data: { from: 'the page', transport } });
      expect((await hub.server.hub.read(channel)).messages.map((m) => m.offset)).toEqual([1, 2, 3, 4]);

      // History, in pages.
      const first = await harness<{ messages: DemoEnvelope[]; cursor: string; more?: boolean }>(page, 'history', { limit: 2 });
      expect(first.messages.map((m) => [m.offset, m.data])).toEqual([
        [1, { n: 1, from: 'node' }],
        [2, { n: 2, from: 'node' }],
      ]);
      expect(first.more).toBe(true);
      const rest = await harness<{ messages: DemoEnvelope[]; more?: boolean }>(page, 'history', { since: first.cursor });
      expect(rest.messages.map((m) => m.offset)).toEqual([3, 4]);
      // `more` is left out when false, on every transport.
      expect(rest.more).toBeUndefined();

      // Presence: the page is a member on every transport (a poller through its polling session).
      const members = await harness<unknown[]>(page, 'presence');
      expect(members).toHaveLength(1);

      const log = await harnessLog(page);
      expect(log.transports).toEqual([transport]);
      expect(log.states).toEqual(['connecting', 'connected']);
      expect(log.subStates).toEqual(['subscribed']);
      expect(log.messages.map((m) => m.offset)).toEqual([1, 2, 3, 4]);
      expect(log.errors).toEqual([]);
      expect(errors).toEqual([]);

      // The forced transport is the only one on the wire, after the pin of the subscription's start.
      const q = `channel=${channel}`;
      expect(traffic.api[0]).toEqual(pinRequest(channel));
      if (transport === 'websocket') {
        expect(traffic.api).toEqual([pinRequest(channel)]);
        expect(traffic.sockets).toEqual([
          {
            url: '/ws',
            closed: false,
            sent: [
              { id: 1, type: 'subscribe', channel, since: { epoch, offset: 0 } },
              { id: 2, type: 'publish', channel, data: { from: 'the page', transport } },
              { id: 3, type: 'history', channel, limit: 2 },
              { id: 4, type: 'history', channel, since: first.cursor },
              { id: 5, type: 'presence', channel },
            ],
          },
        ]);
      } else {
        expect(traffic.sockets).toEqual([]);
        expect(traffic.api).toContain('POST /api/publish');
        expect(traffic.api).toContain(`GET /api/history?${q}&limit=2`);
        expect(traffic.api).toContain(`GET /api/presence?${q}`);
        const streams = traffic.api.filter((r) => r.startsWith('GET /events'));
        const longPolls = traffic.api.filter((r) => r.startsWith('GET /api/messages') && r.includes('&wait=5'));
        if (transport === 'sse') {
          expect(streams).toEqual([pinnedStream(channel)]);
          expect(longPolls).toEqual([]);
        } else {
          expect(streams).toEqual([]);
          expect(traffic.api[1]).toBe(`GET /api/messages?${q}&since=now`);
          expect(longPolls.length).toBeGreaterThan(0);
        }
      }
      await harness(page, 'close');
    },
  );

  it('falls back to SSE when the hub refuses the WebSocket upgrade', async () => {
    const { server, url } = await startServer({ transports: { websocket: false } });
    const channel = 'sdk-no-websocket';
    const { page, errors, traffic } = await openHarness(url, channel);
    expect(await harness(page, 'transport')).toBe('sse');
    // It did try the WebSocket first: one handshake, refused, nothing sent.
    expect(traffic.sockets).toMatchObject([{ url: '/ws', sent: [] }]);

    for (const n of range(1, 5)) await server.hub.publish(channel, n);
    await waitForOffsets(page, range(1, 5));
    const reply = await harness<Record<string, unknown>>(page, 'publish', 'from the page');
    expect(reply).toMatchObject({ channel, offset: 6 });
    await waitForOffsets(page, [6]);

    const log = await harnessLog(page);
    expect(log.messages.map((m) => [m.offset, m.data])).toEqual([...range(1, 5).map((n) => [n, n]), [6, 'from the page']]);
    expect(log.transports).toEqual(['sse']);
    expect(log.states).toEqual(['connecting', 'connected']);
    expect(log.errors).toEqual([]);
    expect(traffic.api.filter((r) => r.startsWith('GET /events'))).toEqual([pinnedStream(channel)]);
    expect(errors).toEqual([]);
    await harness(page, 'close');
  });

  it('falls back to polling when the hub refuses both WebSocket and SSE', async () => {
    const { server, url } = await startServer({ transports: { websocket: false, sse: false } });
    const channel = 'sdk-polling-only';
    const { page, errors, traffic } = await openHarness(url, channel);
    expect(await harness(page, 'transport')).toBe('polling');
    // WebSocket refused, then the SSE stream answered 404 (asked again with fetch to learn whether
    // its channels were refused: they were not), then polling.
    expect(traffic.sockets).toMatchObject([{ url: '/ws', sent: [] }]);
    expect(traffic.api.slice(0, 4)).toEqual([
      pinRequest(channel),
      pinnedStream(channel),
      pinnedStream(channel),
      `GET /api/messages?channel=${channel}&since=now`,
    ]);

    for (const n of range(1, 5)) await server.hub.publish(channel, n);
    await waitForOffsets(page, range(1, 5));
    const log = await harnessLog(page);
    expect(log.messages.map((m) => m.offset)).toEqual(range(1, 5));
    expect(log.transports).toEqual(['polling']);
    expect(log.errors).toEqual([]);
    expect(errors).toEqual([]);
    await harness(page, 'close');
  });
});

describe('the landing page’s SDK panel', { timeout: 60_000 }, () => {
  it('runs the snippet it shows, says which transport it picked, and receives a message published over HTTP', async () => {
    const channel = 'sdk-landing';
    const { page, errors, traffic } = await openLanding(hub.url, channel);

    const code = await page.locator('#sdk-code').innerText();
    expect(code).toContain("import { createClient } from './sdk/herald-client.js';");
    expect(code).toContain("createClient({ url: new URL('.', location.href).href, transports })");
    expect(code).toContain('client.subscribe(channel, show)');
    expect(await page.locator('#sdk-transport').innerText()).toBe('websocket');
    expect(await page.getAttribute('#sdk-state', 'data-state')).toBe('live');
    expect(await page.locator('#sdk-state').innerText()).toBe('connected');
    expect(await page.locator('#sdk-detail').innerText()).toContain('websocket');
    const before = await demoState(page);
    expect([before.sdkChoice, before.sdkTransport, before.sdkError, before.opens.sdk]).toEqual(['auto', 'websocket', null, 1]);
    // Its own socket, besides the WebSocket panel's.
    expect(traffic.sockets.map((s) => s.url)).toEqual(['/ws', '/ws']);

    const hostile = '<img src=x onerror="window.pwned=1">';
    const first = await publishHttp(hub.url, channel, 'hello from node');
    await publishHttp(hub.url, channel, { text: hostile });
    await waitForDemo(page, 'the SDK panel to receive offsets 1 and 2', (demo) => demo.sdk.length === 2, null);
    expect((await demoState(page)).sdk.map((e) => [e.channel, e.epoch, e.offset, e.data])).toEqual([
      [channel, first.epoch, 1, 'hello from node'],
      [channel, first.epoch, 2, { text: hostile }],
    ]);
    expect(await page.locator('#sdk-log li[data-offset]').count()).toBe(2);
    expect(await page.locator('#sdk-log li[data-offset="1"]').innerText()).toContain('"hello from node"');
    expect(await page.locator('#sdk-log li[data-offset="2"]').innerText()).toContain('<img src=x');
    expect(await page.locator('#sdk-log img').count()).toBe(0);
    expect(await page.locator('#sdk-count').innerText()).toBe('2 messages');
    expect(await page.evaluate<unknown>('window.pwned')).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('publishes with the SDK, and the other three panels receive it', async () => {
    const channel = 'sdk-landing-publish';
    const { page, errors } = await openLanding(hub.url, channel);
    const text = `from the SDK panel ${Date.now()}`;
    await page.fill('#publish-data', text);
    await page.click('#publish-sdk');
    await waitForDemo(page, 'the SDK publish to be acknowledged', (demo) => demo.publishes.length === 1, null);
    const state = await demoState(page);
    expect(state.publishes).toEqual([{ via: 'sdk', data: text, offset: 1 }]);
    expect(await page.locator('#publish-status').innerText()).toContain('SDK publish over websocket');
    for (const panel of [...PANELS, 'sdk'] as const) {
      await waitForDemo(page, `${panel} to receive offset 1`, (demo, arg) => demo[arg].some((e) => e.offset === 1), panel);
      expect((await demoState(page))[panel].map((e) => [e.offset, e.data])).toEqual([[1, text]]);
    }
    expect(errors).toEqual([]);
  });

  it('follows a channel switch, closing its client on the old channel', async () => {
    const { page, errors, traffic } = await openLanding(hub.url, 'sdk-switch-a');
    await publishHttp(hub.url, 'sdk-switch-a', 'before the switch');
    await waitForDemo(page, 'the SDK panel to receive on the first channel', (demo) => demo.sdk.length === 1, null);

    await page.fill('#channel', 'sdk-switch-b');
    await page.click('#channel-switch');
    await waitForDemo(
      page,
      'the SDK panel to subscribe to the new channel',
      (demo) => demo.channel === 'sdk-switch-b' && demo.ready.sdk!,
      null,
    );
    expect((await demoState(page)).sdk).toEqual([]);
    await publishHttp(hub.url, 'sdk-switch-a', 'old channel');
    await publishHttp(hub.url, 'sdk-switch-b', 'new channel');
    await waitForDemo(page, 'the SDK panel to receive on the new channel', (demo) => demo.sdk.length > 0, null);
    expect((await demoState(page)).sdk.map((e) => [e.channel, e.offset, e.data])).toEqual([['sdk-switch-b', 1, 'new channel']]);
    expect(await page.locator('#sdk-log li[data-offset]').count()).toBe(1);

    // Both sockets on the old channel (the WebSocket panel's and the SDK's) are closed; two new ones
    // subscribed to the new channel.
    const subscribedTo = (channel: string): boolean[] => traffic.sockets.filter((s) => s.sent[0]?.channel === channel).map((s) => s.closed);
    await expect.poll(() => subscribedTo('sdk-switch-a'), { timeout: WAIT_MS }).toEqual([true, true]);
    expect(subscribedTo('sdk-switch-b')).toEqual([false, false]);
    expect(errors).toEqual([]);
  });

  it.each<TransportName>(['sse', 'polling'])('switches to %s from its transports box and receives on it', async (transport) => {
    const channel = `sdk-landing-${transport}`;
    const { page, errors, traffic } = await openLanding(hub.url, channel);
    const sockets = traffic.sockets.length;
    await page.selectOption('#sdk-choice', transport);
    await waitForDemo(
      page,
      `the SDK panel to connect over ${transport}`,
      (demo, arg) => demo.sdkTransport === arg && demo.ready.sdk!,
      transport,
    );
    expect(await page.locator('#sdk-transport').innerText()).toBe(transport);
    expect(await page.locator('#sdk-detail').innerText()).toContain(`connected over ${transport} (forced)`);
    expect(await page.locator('#sdk-log li.note').innerText()).toContain(`['${transport}']`);
    // The SDK's first client (on websocket) is closed.
    await expect.poll(() => traffic.sockets.map((s) => s.closed), { timeout: WAIT_MS }).toEqual([false, true]);

    await publishHttp(hub.url, channel, `over ${transport}`);
    await waitForDemo(page, 'the SDK panel to receive offset 1', (demo) => demo.sdk.length === 1, null);
    expect((await demoState(page)).sdk.map((e) => [e.offset, e.data])).toEqual([[1, `over ${transport}`]]);
    expect(await page.locator('#sdk-log li[data-offset="1"]').innerText()).toContain(`"over ${transport}"`);
    // The new client opened no WebSocket; the stream or the long polls carried the message.
    expect(traffic.sockets.length).toBe(sockets);
    const carried =
      transport === 'sse'
        ? traffic.api.filter((r) => r.startsWith(`GET /events?channel=${channel}`))
        : traffic.api.filter((r) => r.includes('&wait=25'));
    expect(carried.length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('says so, and the other panels still run, when the hub has no SDK bundle', async () => {
    const { url } = await startServer({ landingPage: loadLandingPage() }, false);
    expect((await fetch(`${url}/sdk/herald-client.js`)).status).toBe(404);
    const { page, errors } = await newPage();
    await page.goto(`${url}/?channel=sdk-missing`);
    await waitForDemo(page, 'the SDK panel to report the missing bundle', (demo) => demo.sdkError !== null, null);
    await waitForDemo(page, 'the three native panels to subscribe', (demo) => demo.ready.poll! && demo.ready.sse! && demo.ready.ws!, null);
    expect(await page.getAttribute('#sdk-state', 'data-state')).toBe('error');
    expect(await page.locator('#sdk-state').innerText()).toBe('unavailable');
    const detail = await page.locator('#sdk-detail').innerText();
    expect(detail).toContain('/sdk/herald-client.js');
    expect(detail).toContain('npm run build');
    expect(await page.isDisabled('#publish-sdk')).toBe(true);
    expect(await page.isDisabled('#sdk-choice')).toBe(true);
    expect((await demoState(page)).ready.sdk).toBe(false);

    // The rest of the page is unaffected.
    await publishHttp(url, 'sdk-missing', 'still here');
    for (const panel of PANELS) await waitForDemo(page, `${panel} to receive offset 1`, (demo, arg) => demo[arg].length === 1, panel);
    expect(errors).toEqual([]);
  });
});
