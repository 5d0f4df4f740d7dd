import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createHeraldServer, silentLogger, type HeraldServer } from '@herald/server';
import { eventually } from '@herald/testkit';
import { SignJWT } from 'jose';
import PusherServer from 'pusher';
import pusherJs from 'pusher-js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClientBundle } from '../src/landing-page.js';
import { launchChromium, WAIT_MS } from './demo-page.js';

// One log under four front doors (issue 15, item 3). One page in Chromium holds three subscribers of
// the same channel: the Herald SDK (app1:private-room), pusher-js (private-room of app app1) and a
// native EventSource on the Mercure door (topic app1:private-room). Messages go in through Herald's
// API, the Pusher HTTP API (the `pusher` SDK), a Pusher client event (pusher-js in Node) and a
// Mercure POST; each subscriber receives every message, all in the same order, the log's. Then the
// Herald client resumes with its cursor across messages of all four doors.

const APP = { id: 'app1', key: 'one-log-key', secret: 'one-log-secret-0123456789abcdef0123' };
const MERCURE_KEY = 'one-log-mercure-key-0123456789abcdef';
const PUSHER_CHANNEL = 'private-room';
const CHANNEL = `${APP.id}:${PUSHER_CHANNEL}`;
const PUSHER_JS = readFileSync(join(dirname(createRequire(import.meta.url).resolve('pusher-js/package.json')), 'dist/web/pusher.min.js'));
const SDK = loadClientBundle();

// pusher-js is CommonJS: Node's default import is the class, which its types call `default`.
const PusherJs = pusherJs as unknown as typeof pusherJs.default;
type PusherJs = InstanceType<typeof PusherJs>;

/** What one subscriber in the page saw: `[event, data as text]` per message, in arrival order. */
interface Seen {
  readonly herald: [string, string, number][];
  readonly pusher: [string, string][];
  readonly mercure: [string, string][];
}

const PAGE = `<!doctype html><title>one log</title>
<script src="/pusher.min.js"></script>
<script type="module">
  import { createClient } from '/sdk/herald-client.js';
  const seen = { herald: [], pusher: [], mercure: [] };
  const ready = { herald: false, pusher: false, mercure: false };
  Object.assign(window, { seen, ready, createClient });
  // Herald's SDK: data {event, data} as the doors store it; the offset too.
  const herald = createClient({ url: location.origin, transports: ['websocket'] });
  const sub = herald.subscribe('${CHANNEL}', (m) => seen.herald.push([m.data.event, JSON.stringify(m.data.data), m.offset]));
  sub.on('state', (s) => { if (s === 'subscribed') ready.herald = true; });
  window.heraldClient = herald;
  window.heraldSub = sub;
  // pusher-js on the private channel, authorised by the app's endpoint (/auth, the pusher SDK).
  const pusher = new Pusher('${APP.key}', {
    cluster: 'mt1', wsHost: location.hostname, wsPort: Number(location.port), forceTLS: false,
    enabledTransports: ['ws'], disableStats: true,
    channelAuthorization: { endpoint: '/auth', transport: 'ajax' },
  });
  const channel = pusher.subscribe('${PUSHER_CHANNEL}');
  channel.bind('pusher:subscription_succeeded', () => (ready.pusher = true));
  channel.bind_global((event, data) => { if (!event.startsWith('pusher:')) seen.pusher.push([event, JSON.stringify(data)]); });
  // Mercure: the browser's own EventSource, its JWT in the mercureAuthorization cookie (the messages
  // of a Pusher private- channel are not public to anonymous Mercure subscribers).
  const source = new EventSource('/.well-known/mercure?topic=' + encodeURIComponent('${CHANNEL}'));
  source.onopen = () => (ready.mercure = true);
  source.addEventListener('said', (e) => seen.mercure.push(['said', e.data]));
  source.addEventListener('client-said', (e) => seen.mercure.push(['client-said', e.data]));
</script>`;

let browser: Browser;
let hub: HeraldServer;
let base: string;
let backend: PusherServer;
let sender: PusherJs;
let page: Page;

async function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

beforeAll(async () => {
  expect(SDK, 'the client bundle is built (npm run build)').toBeDefined();
  backend = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: '1', useTLS: false });
  hub = createHeraldServer({
    logger: silentLogger,
    pusher: { apps: [APP] },
    mercure: { jwtKey: MERCURE_KEY, anonymous: true },
    ...(SDK !== undefined && { clientBundle: SDK }),
    // The page, pusher-js and the app's Pusher auth endpoint, on the hub's own origin.
    routes: (req, res, url) => {
      if (url.pathname === '/one-log.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      else if (url.pathname === '/pusher.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(PUSHER_JS);
      else if (url.pathname === '/auth' && req.method === 'POST') {
        void readBody(req).then((body) => {
          const form = new URLSearchParams(body);
          const auth = backend.authorizeChannel(form.get('socket_id') ?? '', form.get('channel_name') ?? '');
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(auth));
        });
      } else return false;
      return true;
    },
  });
  const port = await hub.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
  backend = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(port), useTLS: false });
  browser = await launchChromium();
  page = await browser.newPage();
  const subscriberJwt = await new SignJWT({ mercure: { subscribe: [CHANNEL] } })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(MERCURE_KEY));
  await page.context().addCookies([{ name: 'mercureAuthorization', value: subscriberJwt, url: base }]);
  await page.goto(`${base}/one-log.html`);
  await page.waitForFunction('window.ready && ready.herald && ready.pusher && ready.mercure', undefined, { timeout: WAIT_MS, polling: 50 });
  // The client-event sender: pusher-js in Node, on the same private channel.
  sender = new PusherJs(APP.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) => callback(null, backend.authorizeChannel(socketId, channelName)),
    },
  });
  await new Promise<void>((resolve, reject) => {
    const channel = sender.subscribe(PUSHER_CHANNEL);
    channel.bind('pusher:subscription_succeeded', () => resolve());
    channel.bind('pusher:subscription_error', (error: unknown) => reject(new Error(JSON.stringify(error))));
  });
}, 60_000);

afterAll(async () => {
  sender?.disconnect();
  await browser?.close();
  await hub?.close();
});

const mercureJwt = (): Promise<string> =>
  new SignJWT({ mercure: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(MERCURE_KEY));

/** The four front doors, each publishing event `said` (a client event: `client-said`) with `{door, n}`. */
const doors = {
  async herald(n: number): Promise<void> {
    const res = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: CHANNEL, data: { event: 'said', data: { door: 'herald', n } } }),
    });
    expect(res.status).toBe(200);
    await res.text();
  },
  async pusherApi(n: number): Promise<void> {
    const res = await backend.trigger(PUSHER_CHANNEL, 'said', { door: 'pusher-api', n });
    expect(res.status).toBe(200);
  },
  async clientEvent(n: number): Promise<void> {
    expect(sender.channel(PUSHER_CHANNEL).trigger('client-said', { door: 'client-event', n })).toBe(true);
    // A client event has no acknowledgement: wait until it is in the log before the next door.
    await eventually(
      async () => {
        const res = await fetch(`${base}/api/history?channel=${encodeURIComponent(CHANNEL)}&limit=1000`);
        const body = (await res.json()) as { messages: { data: { event: string; data: { n: number } } }[] };
        return body.messages.some((m) => m.data.event === 'client-said' && m.data.data.n === n);
      },
      `client event ${n} in the log`,
      { intervalMs: 20 },
    );
  },
  async mercure(n: number): Promise<void> {
    const res = await fetch(`${base}/.well-known/mercure`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${await mercureJwt()}` },
      body: new URLSearchParams([
        ['topic', CHANNEL],
        ['type', 'said'],
        ['data', JSON.stringify({ door: 'mercure', n })],
      ]).toString(),
    });
    expect(res.status).toBe(200);
    await res.text();
  },
};

/** Publishes `n`, `n + 1`, … through every door in turn; returns what was sent, as `[event, data text]`. */
async function publishRound(first: number): Promise<[string, string][]> {
  const sent: [string, string][] = [];
  let n = first;
  for (const [door, publish] of Object.entries(doors)) {
    await publish(n);
    const label = { herald: 'herald', pusherApi: 'pusher-api', clientEvent: 'client-event', mercure: 'mercure' }[door]!;
    sent.push([door === 'clientEvent' ? 'client-said' : 'said', JSON.stringify({ door: label, n })]);
    n++;
  }
  return sent;
}

const seen = (): Promise<Seen> => page.evaluate(() => (globalThis as unknown as { seen: Seen }).seen);

describe('one log under four front doors', { timeout: 90_000 }, () => {
  it('every subscriber receives every door’s messages in the same order, and a Herald client resumes across them', async () => {
    const sent = [...(await publishRound(1)), ...(await publishRound(5))];
    await eventually(
      async () => {
        const now = await seen();
        return [now.herald, now.pusher, now.mercure].every((list) => list.length >= sent.length);
      },
      'every message at the three subscribers',
      { timeoutMs: WAIT_MS, intervalMs: 50 },
    );
    const got = await seen();
    // Same messages, same order, at every door; the order is the log's (offsets 1, 2, …).
    expect(got.herald.map(([event, data]) => [event, data])).toEqual(sent);
    expect(got.pusher).toEqual(sent);
    expect(got.mercure).toEqual(sent);
    expect(got.herald.map(([, , offset]) => offset)).toEqual(sent.map((_, i) => i + 1));

    // The Herald client leaves with its cursor; four more messages go in through the four doors.
    const cursor = await page.evaluate(() => {
      const w = globalThis as unknown as { heraldSub: { cursor: string }; heraldClient: { close(): void } };
      const saved = w.heraldSub.cursor;
      w.heraldClient.close();
      return saved;
    });
    expect(typeof cursor).toBe('string');
    const missed = await publishRound(9);
    // A new client resumes from the cursor: exactly the four it missed, in order, with their offsets.
    await page.evaluate(
      ([channel, since]) => {
        const w = globalThis as unknown as {
          createClient(options: object): {
            subscribe(
              channel: string,
              handler: (m: { data: { event: string; data: unknown }; offset: number }) => void,
              options: object,
            ): void;
          };
          resumed: [string, string, number][];
        };
        w.resumed = [];
        const client = w.createClient({
          url: (globalThis as unknown as { location: { origin: string } }).location.origin,
          transports: ['sse'],
        });
        client.subscribe(channel!, (m) => w.resumed.push([m.data.event, JSON.stringify(m.data.data), m.offset]), { since });
      },
      [CHANNEL, cursor],
    );
    await page.waitForFunction('window.resumed.length >= 4', undefined, { timeout: WAIT_MS, polling: 50 });
    const resumed = await page.evaluate(() => (globalThis as unknown as { resumed: [string, string, number][] }).resumed);
    expect(resumed).toEqual(missed.map(([event, data], i) => [event, data, 9 + i]));
  });
});
