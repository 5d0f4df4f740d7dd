import { createHeraldServer, JwtAuthenticator, silentLogger, type HeraldServer } from '@herald/server';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadClientBundle } from '../src/landing-page.js';
import type { RunningHub } from '../src/start.js';
import { launchChromium, range, startDevHub, WAIT_MS } from './demo-page.js';

// `createClient({ share: true })` in Debian's Chromium: several tabs (pages of one browser context,
// so one origin) against a real dev hub on a real socket. One WebSocket for all of them, counted on
// the hub; every tab receives every message; the leader's tab closes while a publisher goes on,
// and the other tabs receive every number once, in order, over one connection again; a channel one
// tab leaves still reaches the others; a tab that does not hold the connection publishes.

/**
 * The harness: one shared client per tab, subscriptions by channel name, everything received kept
 * on `window.share.log`. Served on a document of the hub (`/healthz`), as in sdk-browser.test.ts.
 */
const harness = (share: unknown, tokens: boolean): string => `
  import { createClient } from '/sdk/herald-client.js';
  const log = { data: {}, gaps: [], states: [], errors: [], transports: [], presence: [] };
  const failed = (e) => log.errors.push(e.code + ': ' + e.message);
  const client = createClient({
    url: location.origin,
    share: ${JSON.stringify(share)},
    timeout: 10000,
    ${tokens ? "getToken: () => fetch('/token').then((res) => res.text())," : ''}
  });
  client.on('state', (s) => log.states.push(s));
  client.on('transport', (t) => log.transports.push(t));
  client.on('error', failed);
  const subs = {};
  window.share = {
    log,
    subscribe(channel, joinLeave = false, ack = undefined) {
      log.data[channel] = [];
      const sub = client.subscribe(channel, (m) => log.data[channel].push(m.data), { joinLeave, ack });
      sub.on('presence', (c) => log.presence.push(c.type + ' ' + c.channel));
      sub.on('gap', (g) => log.gaps.push(g));
      sub.on('error', failed);
      subs[channel] = sub;
    },
    unsubscribe: (channel) => subs[channel].unsubscribe(),
    subState: (channel) => subs[channel].state,
    publish: (channel, data) => client.publish(channel, data).then((r) => r, (e) => ({ error: e.code })),
    history: (channel) => client.history(channel).then((page) => page.messages.map((m) => m.data)),
    members: (channel) => client.presence(channel).then((members) => members.length),
    async publishMany(channel, count, delay) {
      const offsets = [];
      for (let n = 1; n <= count; n++) {
        offsets.push(await client.publish(channel, n).then((r) => r.offset, (e) => 'error ' + e.code));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      return offsets;
    },
    state: () => client.state,
    transport: () => client.transport ?? null,
    close: () => client.close(),
  };
`;

interface Tab {
  readonly page: Page;
  readonly errors: string[];
  /** WebSocket URLs this page opened. */
  readonly sockets: string[];
}

let browser: Browser;
let hub: RunningHub;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  hub = await startDevHub();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.server.close();
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  // The next test counts from zero.
  await websockets(0);
});

/** `count` tabs of one origin (one browser context), each with the harness loaded. */
async function openTabs(count: number, url = hub.url, share: unknown = true, tokens = false): Promise<Tab[]> {
  const context = await browser.newContext();
  contexts.push(context);
  const tabs: Tab[] = [];
  for (let i = 0; i < count; i++) {
    const page = await context.newPage();
    const tab: Tab = { page, errors: [], sockets: [] };
    page.on('pageerror', (error) => tab.errors.push(error.message));
    page.on('websocket', (socket) => tab.sockets.push(socket.url()));
    await page.goto(`${url}/healthz`);
    await page.addScriptTag({ type: 'module', content: harness(share, tokens) });
    await page.waitForFunction('window.share !== undefined', undefined, { timeout: WAIT_MS });
    tabs.push(tab);
  }
  return tabs;
}

function call<T>(tab: Tab, method: string, ...args: unknown[]): Promise<T> {
  return tab.page.evaluate<T>(`window.share.${method}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
}

/** Waits until `expression` (run in the page, with `window.share` as `share`) is true. */
async function waitIn(tab: Tab, what: string, expression: string): Promise<void> {
  try {
    await tab.page.waitForFunction(`((share) => ${expression})(window.share)`, undefined, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    const log = await tab.page.evaluate('JSON.stringify(window.share.log)').catch(() => '(unreadable)');
    throw new Error(`timed out waiting for ${what}; log: ${String(log).slice(0, 2000)}`, { cause: error });
  }
}

async function subscribeAll(tabs: readonly Tab[], channel: string): Promise<void> {
  for (const tab of tabs) await call(tab, 'subscribe', channel);
  for (const tab of tabs) await waitIn(tab, `${channel} subscribed`, `share.subState(${JSON.stringify(channel)}) === 'subscribed'`);
}

async function publishHttp(channel: string, data: unknown, url = hub.url): Promise<{ offset: number }> {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { offset: number };
}

function received(tab: Tab, channel: string): Promise<unknown[]> {
  return tab.page.evaluate<unknown[]>(`window.share.log.data[${JSON.stringify(channel)}]`);
}

function waitForAll(tab: Tab, channel: string, count: number): Promise<void> {
  return waitIn(tab, `${count} messages on ${channel}`, `share.log.data[${JSON.stringify(channel)}].length >= ${count}`);
}

/** Open WebSocket sessions on the hub, once it has settled at `expected` (or the last count seen). */
async function websockets(expected: number, server: Pick<HeraldServer, 'stats'> = hub.server): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  let count = server.stats().websocket;
  while (count !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    count = server.stats().websocket;
  }
  return count;
}

describe('createClient({ share: true }) in Chromium', { timeout: 90_000 }, () => {
  it('serves the share code at /sdk/herald-share.js, loaded only by a client that asks for it', async () => {
    const res = await fetch(`${hub.url}/sdk/herald-share.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const scripts: string[] = [];
    page.on('request', (request) => request.url().includes('/sdk/') && scripts.push(new URL(request.url()).pathname));
    await page.goto(`${hub.url}/healthz`);
    await page.addScriptTag({
      type: 'module',
      content: `
        import { createClient } from '/sdk/herald-client.js';
        const plain = createClient({ url: location.origin });
        plain.subscribe('share-plain').on('state', (s) => s === 'subscribed' && (window.plain = plain.transport));`,
    });
    await page.waitForFunction('window.plain === "websocket"', undefined, { timeout: WAIT_MS });
    expect(scripts).toEqual(['/sdk/herald-client.js']);
    await page.addScriptTag({
      type: 'module',
      content: `
        import { createClient } from '/sdk/herald-client.js';
        const shared = createClient({ url: location.origin, share: true });
        shared.subscribe('share-plain').on('state', (s) => s === 'subscribed' && (window.shared = shared.transport));`,
    });
    await page.waitForFunction('window.shared === "websocket"', undefined, { timeout: WAIT_MS });
    expect(scripts).toEqual(['/sdk/herald-client.js', '/sdk/herald-share.js']);
  });

  it('opens one WebSocket for three tabs, and every tab receives every message', async () => {
    const before = hub.server.stats();
    const tabs = await openTabs(3);
    await subscribeAll(tabs, 'share-one');
    expect(await websockets(before.websocket + 1)).toBe(before.websocket + 1);
    expect(hub.server.stats().sse).toBe(before.sse);
    expect(tabs.map((tab) => tab.sockets.length).sort()).toEqual([0, 0, 1]);
    for (const n of range(1, 20)) await publishHttp('share-one', n);
    for (const tab of tabs) {
      await waitForAll(tab, 'share-one', 20);
      expect(await received(tab, 'share-one')).toEqual(range(1, 20));
      expect(await call(tab, 'state')).toBe('connected');
      expect(await call(tab, 'transport')).toBe('websocket');
      expect(tab.errors).toEqual([]);
    }
  });

  it('loses nothing and repeats nothing when the leader tab closes mid-stream, then holds one connection again', async () => {
    const before = hub.server.stats().websocket;
    const tabs = await openTabs(3);
    await subscribeAll(tabs, 'share-takeover');
    expect(await websockets(before + 1)).toBe(before + 1);
    const leader = tabs.find((tab) => tab.sockets.length === 1)!;
    const followers = tabs.filter((tab) => tab !== leader);
    // A follower publishes through the leader meanwhile: every publish answered, each stored once.
    const published = followers[0]!.page.evaluate<(number | string)[]>(`window.share.publishMany('share-takeover-pub', 60, 15)`);
    const total = 150;
    let closed = false;
    const publisher = (async () => {
      for (const n of range(1, total)) {
        await publishHttp('share-takeover', n);
        if (n === 50) {
          closed = true;
          void leader.page.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await publisher;
    expect(closed).toBe(true);
    for (const tab of followers) {
      await waitForAll(tab, 'share-takeover', total);
      // Each number once, in order: nothing lost across the takeover, nothing delivered twice.
      expect(await received(tab, 'share-takeover')).toEqual(range(1, total));
      expect(await tab.page.evaluate('window.share.log.gaps')).toEqual([]);
      expect(await call(tab, 'state')).toBe('connected');
      expect(tab.errors).toEqual([]);
    }
    expect(await published).toEqual(range(1, 60));
    expect(await call(followers[1]!, 'history', 'share-takeover-pub')).toEqual(range(1, 60));
    expect(await websockets(before + 1)).toBe(before + 1);
    // The new leader is one of the remaining tabs.
    expect(followers.map((tab) => tab.sockets.length).sort()).toEqual([0, 1]);
  });

  it('counts subscriptions across tabs: a channel one tab leaves still reaches the others', async () => {
    const tabs = await openTabs(3);
    await subscribeAll(tabs, 'share-rc');
    const leader = tabs.find((tab) => tab.sockets.length === 1)!;
    const [follower, other] = tabs.filter((tab) => tab !== leader) as [Tab, Tab];
    await publishHttp('share-rc', 1);
    for (const tab of tabs) await waitForAll(tab, 'share-rc', 1);
    // The leader's own tab and one follower leave; the last follower still receives.
    await call(leader, 'unsubscribe', 'share-rc');
    await call(follower, 'unsubscribe', 'share-rc');
    await publishHttp('share-rc', 2);
    await publishHttp('share-rc', 3);
    await waitForAll(other, 'share-rc', 3);
    expect(await received(other, 'share-rc')).toEqual([1, 2, 3]);
    expect(await received(leader, 'share-rc')).toEqual([1]);
    expect(await received(follower, 'share-rc')).toEqual([1]);
    // A tab joins again later: from now, the others unaffected.
    await call(follower, 'subscribe', 'share-rc');
    await waitIn(follower, 'share-rc again', `share.subState('share-rc') === 'subscribed'`);
    await publishHttp('share-rc', 4);
    await waitForAll(other, 'share-rc', 4);
    await waitForAll(follower, 'share-rc', 1);
    expect(await received(follower, 'share-rc')).toEqual([4]);
    expect(await received(other, 'share-rc')).toEqual([1, 2, 3, 4]);
  });

  it('lets a tab without the connection publish, read history, and get its own errors back', async () => {
    const tabs = await openTabs(2);
    await subscribeAll(tabs, 'share-pub');
    const follower = tabs.find((tab) => tab.sockets.length === 0)!;
    const result = await call<{ offset: number; channel: string }>(follower, 'publish', 'share-pub', { from: 'follower' });
    expect(result).toMatchObject({ channel: 'share-pub', offset: 1 });
    for (const tab of tabs) {
      await waitForAll(tab, 'share-pub', 1);
      expect(await received(tab, 'share-pub')).toEqual([{ from: 'follower' }]);
    }
    expect(await call(follower, 'history', 'share-pub')).toEqual([{ from: 'follower' }]);
    // The hub's refusal comes back to the tab that asked.
    expect(await call(follower, 'publish', 'no spaces', 1)).toEqual({ error: 1003 });
    expect(follower.errors).toEqual([]);
  });

  it('forwards joins and leaves to the tabs that asked, and keeps another browser profile on its own connection', async () => {
    const tabs = await openTabs(2);
    for (const tab of tabs) await call(tab, 'subscribe', 'share-presence', true);
    for (const tab of tabs) await waitIn(tab, 'subscribed', `share.subState('share-presence') === 'subscribed'`);
    expect(await websockets(1)).toBe(1);
    // Another browser context is another profile: its own locks and channels, its own connection.
    const [stranger] = await openTabs(1);
    await call(stranger!, 'subscribe', 'share-presence');
    await waitIn(stranger!, 'subscribed', `share.subState('share-presence') === 'subscribed'`);
    expect(await websockets(2)).toBe(2);
    for (const tab of tabs) await waitIn(tab, 'a join', `share.log.presence.includes('join share-presence')`);
    expect(
      await call(
        tabs.find((tab) => tab.sockets.length === 0)!,
        'members',
        'share-presence',
      ),
    ).toBe(2);
    await contexts.pop()!.close();
    for (const tab of tabs) await waitIn(tab, 'a leave', `share.log.presence.includes('leave share-presence')`);
    for (const tab of tabs) expect(tab.errors).toEqual([]);
  });

  it('with share.worker, holds the connection in a SharedWorker: one WebSocket, kept when any tab closes', async () => {
    // The worker's script is a file of the page's origin; the SDK and its share code come from the hub.
    const server = createHeraldServer({
      logger: silentLogger,
      clientBundle: loadClientBundle(),
      clientShareBundle: loadClientBundle('herald-share.js'),
      routes: (_req, res, url) => {
        if (url.pathname !== '/herald-worker.js') return false;
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
        res.end(`import { createClient } from '/sdk/herald-client.js';
import { shareWorker } from '/sdk/herald-share.js';
shareWorker(createClient);`);
        return true;
      },
    });
    try {
      const url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
      const tabs = await openTabs(3, url, { worker: '/herald-worker.js' });
      await subscribeAll(tabs, 'share-worker');
      expect(await websockets(1, server)).toBe(1);
      // No tab opened it: the worker did.
      expect(tabs.map((tab) => tab.sockets.length)).toEqual([0, 0, 0]);
      for (const n of range(1, 10)) await publishHttp('share-worker', n, url);
      for (const tab of tabs) {
        await waitForAll(tab, 'share-worker', 10);
        expect(await received(tab, 'share-worker')).toEqual(range(1, 10));
        expect(await call(tab, 'transport')).toBe('websocket');
      }
      // The first tab closes: the connection stays (no takeover), the others go on receiving.
      await tabs[0]!.page.close();
      for (const n of range(11, 20)) await publishHttp('share-worker', n, url);
      const [second, third] = [tabs[1]!, tabs[2]!];
      expect(await call<{ offset: number }>(second, 'publish', 'share-worker', 21)).toMatchObject({ offset: 21 });
      await call(third, 'unsubscribe', 'share-worker');
      await publishHttp('share-worker', 22, url);
      await waitForAll(second, 'share-worker', 22);
      expect(await received(second, 'share-worker')).toEqual(range(1, 22));
      expect(await received(third, 'share-worker')).toEqual(range(1, 21));
      expect(await websockets(1, server)).toBe(1);
      for (const tab of tabs) expect(tab.errors).toEqual([]);
    } finally {
      for (const context of contexts.splice(0)) await context.close();
      await server.close();
    }
  });

  it('with share.worker on a hub that requires tokens, the worker gets them from the tabs’ getToken; a tab’s acks are kept for its user', async () => {
    const secret = 'a-test-secret-that-is-long-enough-for-hs256';
    const apiKey = 'an-api-key-for-the-acks-read-back-0123456789';
    let minted = 0;
    const server = createHeraldServer({
      logger: silentLogger,
      security: { authenticator: new JwtAuthenticator({ secret }), requireAuth: true, apiKeys: [apiKey] },
      clientBundle: loadClientBundle(),
      clientShareBundle: loadClientBundle('herald-share.js'),
      routes: (_req, res, url) => {
        if (url.pathname === '/herald-worker.js') {
          res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
          res.end(`import { createClient } from '/sdk/herald-client.js';
import { shareWorker } from '/sdk/herald-share.js';
shareWorker(createClient);`);
          return true;
        }
        if (url.pathname !== '/token') return false;
        minted++;
        void new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('alice')
          .setExpirationTime('10m')
          .sign(Buffer.from(secret))
          .then((token) => {
            res.writeHead(200, { 'Content-Type': 'text/plain' });
            res.end(token);
          });
        return true;
      },
    });
    try {
      const url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
      const tabs = await openTabs(2, url, { worker: '/herald-worker.js' }, true);
      await subscribeAll(tabs, 'share-token');
      // A tab acknowledges what it processed: sent from the tab itself, kept for its user.
      await call(tabs[0]!, 'subscribe', 'share-acked', false, 'auto');
      await waitIn(tabs[0]!, 'share-acked subscribed', `share.subState('share-acked') === 'subscribed'`);
      expect(await websockets(1, server)).toBe(1);
      const result = await call<{ offset: number }>(tabs[1]!, 'publish', 'share-token', 'signed in');
      expect(result).toMatchObject({ offset: 1 });
      for (const tab of tabs) {
        await waitForAll(tab, 'share-token', 1);
        expect(await received(tab, 'share-token')).toEqual(['signed in']);
        expect(tab.errors).toEqual([]);
      }
      expect(minted).toBeGreaterThan(0);
      const { offset } = await call<{ offset: number }>(tabs[1]!, 'publish', 'share-acked', 'read me');
      await waitForAll(tabs[0]!, 'share-acked', 1);
      const deadline = Date.now() + WAIT_MS;
      let acks: { user: string; offset: number }[] = [];
      while (acks.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const res = await fetch(`${url}/api/acks?channel=share-acked`, { headers: { 'X-Herald-Key': apiKey } });
        acks = ((await res.json()) as { acks: { user: string; offset: number }[] }).acks;
      }
      expect(acks).toMatchObject([{ user: 'alice', offset }]);
    } finally {
      for (const context of contexts.splice(0)) await context.close();
      await server.close();
    }
  });
});
