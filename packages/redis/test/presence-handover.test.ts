import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WebhookEvent } from '@herald/protocol';
import { eventually, startChildHub, startWebhookApp, WsTestClient, type ChildHub, type WebhookApp } from '@herald/testkit';
import { build } from 'esbuild';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

// Each node is a child process (test/fixtures/presence-node.ts, bundled from the sources): a hub on
// the Redis engine with webhooks to the test's app; the nodes of one test share a key prefix. A
// user's pending leave is in the shared queue, so a node that closes or dies leaves it to the
// others, who send it only if the user did not come back within the debounce.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const source = (pkg: string): string => fileURLToPath(new URL(`../../${pkg}/src/index.ts`, import.meta.url));
const bundleDir = join(packageDir, '.tmp');
const bundle = join(bundleDir, `presence-node-${process.pid}.mjs`);
const SECRET = 'presence-handover-secret-0123456789';
const JWT_SECRET = randomBytes(32).toString('base64url');
const DEBOUNCE = 1500;
const PRESENCE = new Set(['presence_join', 'presence_leave', 'channel_occupied', 'channel_vacated']);
const prefixes: string[] = [];

beforeAll(async () => {
  mkdirSync(bundleDir, { recursive: true });
  await build({
    entryPoints: [join(packageDir, 'test/fixtures/presence-node.ts')],
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

interface Node {
  readonly child: ChildHub;
  readonly url: string;
  readonly wsUrl: string;
}

const children: ChildHub[] = [];
const clients: WsTestClient[] = [];
let app: WebhookApp | undefined;
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await app?.close();
  app = undefined;
});

async function twoNodes(options: object = {}): Promise<[Node, Node]> {
  app = await startWebhookApp(SECRET);
  const prefix = `herald-test-${randomUUID()}:`;
  prefixes.push(prefix);
  const settings = JSON.stringify({ pollInterval: 20, presenceDebounce: DEBOUNCE, ...options });
  const start = async (): Promise<Node> => {
    const child = await startChildHub(bundle, [REDIS_URL, prefix, app!.url, SECRET, JWT_SECRET, settings]);
    children.push(child);
    const port = child.lines.items.find((line) => line.startsWith('port '))!.slice(5);
    return { child, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` };
  };
  return [await start(), await start()];
}

const tokenOf = (user: string): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('1h').sign(Buffer.from(JWT_SECRET));

async function tab(node: Node, user: string): Promise<WsTestClient> {
  const client = await WsTestClient.connect(node.wsUrl, { headers: { authorization: `Bearer ${await tokenOf(user)}` } });
  clients.push(client);
  return client;
}

/**
 * The presence and channel events the app accepted, without id and time, by type (events of one
 * millisecond, such as a join and its occupied, go out in any order).
 */
function presenceEvents(): Record<string, unknown>[] {
  return app!.deliveries.items
    .filter((d) => d.status === 200)
    .flatMap((d) => d.events)
    .filter((e) => PRESENCE.has(e.type))
    .map((e) => {
      const rest: Record<string, unknown> = { ...e };
      delete rest['id'];
      delete rest['time'];
      return rest;
    })
    .sort((x, y) => String(x['type']).localeCompare(String(y['type'])));
}

/** The accepted event of `type` (the only one: asserted by the callers), with when the app got it. */
function accepted(type: WebhookEvent['type']): { event: WebhookEvent; at: number } {
  const delivery = app!.deliveries.items.find((d) => d.status === 200 && d.events.some((e) => e.type === type))!;
  return { event: delivery.events.find((e) => e.type === type)!, at: delivery.at };
}

/** The channel's live members as `node` lists them (a dead node's expired members are not listed). */
async function members(node: Node, channel: string): Promise<number> {
  const res = await fetch(`${node.url}/api/presence?channel=${channel}`, {
    headers: { authorization: `Bearer ${await tokenOf('observer')}` },
  });
  return ((await res.json()) as { members: unknown[] }).members.length;
}

async function cancelled(node: Node): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/herald_webhook_events_total\{outcome="cancelled"\} (\d+)/.exec(text)?.[1] ?? 0);
}

/** u's tab on `node`, subscribed to `room`, its join and the occupied delivered. */
async function present(node: Node, user: string): Promise<WsTestClient> {
  const client = await tab(node, user);
  await client.request({ type: 'subscribe', channel: 'room' });
  return client;
}

const JOINED = [
  { type: 'channel_occupied', channel: 'room' },
  { type: 'presence_join', channel: 'room', user: 'u', client: expect.any(String) },
];
const LEFT = [
  { type: 'channel_vacated', channel: 'room' },
  { type: 'presence_leave', channel: 'room', user: 'u', client: expect.any(String) },
];

describe('pending presence leaves on Redis survive the node that owes them', () => {
  it('a gracefully closed node: the user back on the other node within the debounce gives no leave and no join', async () => {
    const [a, b] = await twoNodes();
    const onA = await present(a, 'u');
    await eventually(presenceEvents, (events) => events.length === 2, 'join and occupied');
    a.child.send('close');
    await a.child.waitFor('closed');
    expect((await onA.closed).code).toBe(4001);
    await present(b, 'u');
    // The leave and vacate A queued come due on B, whose dispatcher finds their markers gone.
    await eventually(
      () => cancelled(b),
      (n) => n === 2,
      'the leave and the vacate cancelled on B',
      { timeoutMs: 10_000 },
    );
    expect(presenceEvents()).toEqual(JOINED);
  });

  it('a gracefully closed node: the user not back gives exactly one leave and one vacate, sent by the other node after the debounce', async () => {
    const [a, b] = await twoNodes();
    await present(a, 'u');
    await eventually(presenceEvents, (events) => events.length === 2, 'join and occupied');
    const closing = performance.now();
    const closingTime = Date.now();
    a.child.send('close');
    await a.child.waitFor('closed');
    await eventually(presenceEvents, (events) => events.length >= 4, 'leave and vacated', { timeoutMs: 10_000 });
    expect(presenceEvents()).toEqual([JOINED[0], LEFT[0], JOINED[1], LEFT[1]]);
    const leave = accepted('presence_leave');
    // Its time is when u left (A's close); it went out once the debounce from then was over (A was gone).
    expect(leave.event.time).toBeGreaterThanOrEqual(closingTime - 5);
    expect(leave.at - closing).toBeGreaterThanOrEqual(DEBOUNCE - 20);
    expect(await a.child.exited).toBe(0);
    // Nothing more: B sends no second copy.
    expect(await cancelled(b)).toBe(0);
    expect(presenceEvents()).toHaveLength(4);
  });

  it('a killed node: the user back on the other node gives no leave and no join; its dead member is swept without a leave', async () => {
    // A's member outlives A by memberTtl (1 s): the user is back on B before it expires.
    const [a, b] = await twoNodes({ memberTtl: 1 });
    await present(a, 'u');
    await eventually(presenceEvents, (events) => events.length === 2, 'join and occupied');
    await a.child.kill();
    await present(b, 'u');
    // Once A's member expired it is swept (by B's sweep of dead nodes, or v's join below): u still
    // has B's member, so no leave. v's join and leave after the expiry are the observation's end.
    await eventually(
      () => members(b, 'room'),
      (n) => n === 1,
      "A's member expired",
      { timeoutMs: 10_000 },
    );
    const v = await present(b, 'v');
    await v.close();
    await eventually(presenceEvents, (events) => events.some((e) => e['type'] === 'presence_leave' && e['user'] === 'v'), "v's leave", {
      timeoutMs: 10_000,
    });
    // v joined and left; of u, only the first join; the channel was never vacated.
    expect(presenceEvents().filter((e) => e['user'] !== 'v')).toEqual(JOINED);
    expect(
      presenceEvents()
        .filter((e) => e['user'] === 'v')
        .map((e) => e['type']),
    ).toEqual(['presence_join', 'presence_leave']);
  });

  it('a killed node, the user not back: exactly one leave and one vacate, sent by the other node once the dead member expired', async () => {
    const [a, b] = await twoNodes({ memberTtl: 1 });
    await present(a, 'u');
    await eventually(presenceEvents, (events) => events.length === 2, 'join and occupied');
    const killed = performance.now();
    await a.child.kill();
    // No change in the channel: B's periodic sweep of dead nodes' channels finds A's member expired.
    await eventually(presenceEvents, (events) => events.length >= 4, 'leave and vacated', { timeoutMs: 10_000 });
    expect(presenceEvents()).toEqual([JOINED[0], LEFT[0], JOINED[1], LEFT[1]]);
    // A's member outlives A by memberTtl (1 s), and A counts as dead after 1.5 × memberTtl.
    expect(accepted('presence_leave').at - killed).toBeGreaterThanOrEqual(1000);
    expect(await cancelled(b)).toBe(0);
    // Later changes of the channel find nothing more to sweep.
    await present(b, 'v');
    await eventually(presenceEvents, (events) => events.length === 6, "v's join and the channel's second occupied", { timeoutMs: 10_000 });
    expect(presenceEvents().filter((e) => e['user'] === 'u' && e['type'] === 'presence_leave')).toHaveLength(1);
  });
});
