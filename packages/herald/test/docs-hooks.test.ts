/**
 * docs/hooks.md shows one Express app, block by block: the fenced blocks marked
 * `<!-- docs-test: express-app -->`, in document order, are that app's file, and the JSON blocks
 * marked `<!-- docs-test: express-config -->` together are the hub's configuration. This test
 * writes the app as the docs show it into a file under the repository's node_modules (so `express`
 * and `@herald/backend`, the built package, resolve), runs it as a process of its own, runs the
 * built CLI with the docs' configuration (the app's URL in place of `http://app.internal:8080`, a
 * SQLite file in place of the engine's path), and checks that each handler does what the page
 * says: connect allows and denies, subscribe allows with channel info and denies, publish replaces
 * the data and denies, refresh extends and denies, rpc answers, and webhooks arrive signed, are
 * logged once each, and a request not signed by the hub is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '@herald/protocol';
import { eventually, freePort, SseTestClient, WsTestClient } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { killAll, startCliHub, tempDir, writeConfig, type CliHub } from './cli-process.js';
import { readDocExamples } from './doc-examples.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const blocks = readDocExamples('docs/hooks.md', readFileSync(join(ROOT, 'docs/hooks.md'), 'utf8')).appBlocks;
const code = blocks.filter((block) => block.kind === 'express-app');
const configs = blocks.filter((block) => block.kind === 'express-config');

interface DocsConfig {
  apiKeys: string[];
  engine: string;
  hooks: { secrets: string[] } & Record<string, unknown>;
  webhooks: { secrets: string[]; url: string } & Record<string, unknown>;
}

/** The hub's configuration: the docs' blocks merged, pointed at the app on `port`. */
function hubConfig(port: number, dir: string): DocsConfig {
  const merged = Object.assign({}, ...configs.map((block) => JSON.parse(block.text) as object)) as DocsConfig;
  const text = JSON.stringify(merged).replaceAll('http://app.internal:8080', `http://127.0.0.1:${port}`);
  return { ...(JSON.parse(text) as DocsConfig), engine: `sqlite:${join(dir, 'herald.db')}` };
}

let app: ChildProcess | undefined;
let appOut = '';
let appErr = '';
let appUrl = '';
let hub: CliHub;
let config: DocsConfig;
let appDir: string | undefined;

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const ALICE = bearer('alice-session-token');
const BOB = bearer('bob-session-token');

/** The webhook events the app logged (one JSON line each, as its handler prints them). */
function logged(): { id: string; type: string; [field: string]: unknown }[] {
  return appOut
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { id: string; type: string });
}

/** Signs `body` as the hub does (header names and scheme of docs/hooks.md), with `secret`. */
function signed(body: string, secret: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const hex = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'content-type': 'application/json', 'herald-timestamp': timestamp, 'herald-signature': `v1=${hex}` };
}

/** The status and error body of a WebSocket upgrade the hub refuses. */
function refusedUpgrade(headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('error', () => {});
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

const errorOf = async (response: Response): Promise<[number, unknown]> => [
  response.status,
  ((await response.json()) as { error: unknown }).error,
];

beforeAll(async () => {
  expect(code.length).toBeGreaterThanOrEqual(7);
  expect(configs).toHaveLength(2);
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  appDir = mkdtempSync(join(cache, 'docs-hooks-'));
  const file = join(appDir, 'app.mjs');
  writeFileSync(file, code.map((block) => `// docs/hooks.md:${block.line}\n${block.text}\n`).join('\n'));
  const port = await freePort();
  config = hubConfig(port, tempDir());
  appUrl = `http://127.0.0.1:${port}`;
  app = spawn(process.execPath, [file], {
    env: {
      PATH: process.env['PATH'],
      PORT: String(port),
      HERALD_HOOKS_SECRET: config.hooks.secrets[0],
      HERALD_WEBHOOKS_SECRET: config.webhooks.secrets[0],
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  app.stdout!.on('data', (chunk: Buffer) => (appOut += chunk.toString()));
  app.stderr!.on('data', (chunk: Buffer) => (appErr += chunk.toString()));
  // Listening once it answers; an unsigned request is refused.
  await eventually(
    () =>
      fetch(`${appUrl}/herald/connect`, { method: 'POST' }).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status === 401,
    `the docs' app to listen on ${appUrl}; stderr: ${appErr}`,
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  hub = await startCliHub(['--config', writeConfig(config)]);
}, 30_000);

afterAll(async () => {
  const child = app;
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
  await killAll();
  if (appDir !== undefined) rmSync(appDir, { recursive: true, force: true });
});

describe('docs/hooks.md: the Express app as written, against a real hub', () => {
  it('refuses requests the hub did not sign (verifyHook, verifyWebhook)', async () => {
    const unsigned = await fetch(`${appUrl}/herald/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect([unsigned.status, await unsigned.json()]).toEqual([401, { error: 'missing_signature' }]);
    const body = JSON.stringify({ events: [] });
    const forged = await fetch(`${appUrl}/herald/webhooks`, { method: 'POST', headers: signed(body, 'not-the-webhook-secret'), body });
    expect([forged.status, await forged.json()]).toEqual([401, { error: 'bad_signature' }]);
    // A hook request sent to a webhook URL: signed, but not a batch.
    const hookBody = JSON.stringify({ id: 'x', hook: 'connect' });
    const swapped = await fetch(`${appUrl}/herald/webhooks`, {
      method: 'POST',
      headers: signed(hookBody, config.webhooks.secrets[0]!),
      body: hookBody,
    });
    expect([swapped.status, await swapped.json()]).toEqual([400, { error: 'bad_body' }]);
    // A webhook batch sent to a hook URL.
    const wrong = await fetch(`${appUrl}/herald/subscribe`, { method: 'POST', headers: signed(body, config.hooks.secrets[0]!), body });
    expect([wrong.status, await wrong.json()]).toEqual([400, { error: 'bad_body' }]);
  });

  it('connect: an unknown session is denied on every transport, a known one gets its user', async () => {
    const nobody = bearer('no-such-session');
    expect(await refusedUpgrade(nobody)).toEqual({
      status: 401,
      body: { error: { code: ErrorCode.Unauthorized, message: 'please log in' } },
    });
    const sse = await fetch(`${hub.url}/events?channel=chat:1`, { headers: nobody });
    expect(await errorOf(sse)).toEqual([401, { code: ErrorCode.Unauthorized, message: 'please log in' }]);
    const poll = await fetch(`${hub.url}/api/messages?channel=chat:1`, { headers: nobody });
    expect(await errorOf(poll)).toEqual([401, { code: ErrorCode.Unauthorized, message: 'please log in' }]);
    // The session cookie, forwarded (`forwardCookies`), identifies a client as well.
    const byCookie = await fetch(`${hub.url}/api/messages?channel=chat:1`, { headers: { cookie: 'session=alice-session-token' } });
    expect(byCookie.status).toBe(200);
    // The connect answer's grants: history of the user's room, from the static `granted` rule.
    const history = await fetch(`${hub.url}/api/history?channel=chat:1`, { headers: ALICE });
    expect(history.status).toBe(200);
    const otherRoom = await fetch(`${hub.url}/api/history?channel=chat:2`, { headers: ALICE });
    expect((await errorOf(otherRoom))[0]).toBe(403);
  });

  it('subscribe: members get their role as channel info, others are refused on every transport', async () => {
    const alice = await WsTestClient.connect(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: ALICE });
    try {
      expect((await alice.request({ type: 'subscribe', channel: 'chat:1' })).error).toBeUndefined();
      expect((await alice.request({ type: 'subscribe', channel: 'chat:2' })).error).toEqual({
        code: ErrorCode.Forbidden,
        message: 'members only',
      });
      const presence = await fetch(`${hub.url}/api/presence?channel=chat:1`, { headers: { 'x-herald-key': config.apiKeys[0]! } });
      const { members } = (await presence.json()) as { members: { user: string; info?: unknown }[] };
      expect(members.map((m) => [m.user, m.info])).toEqual([['alice', { role: 'moderator' }]]);
    } finally {
      await alice.close();
    }
    const sse = await fetch(`${hub.url}/events?channel=chat:2`, { headers: ALICE });
    expect(await errorOf(sse)).toEqual([403, { code: ErrorCode.Forbidden, message: 'members only' }]);
    const poll = await fetch(`${hub.url}/api/messages?channel=chat:2`, { headers: BOB });
    expect(await errorOf(poll)).toEqual([403, { code: ErrorCode.Forbidden, message: 'members only', channel: 'chat:2' }]);
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=chat:1`, BOB);
    try {
      await stream.ready();
    } finally {
      await stream.close();
    }
  });

  it('publish: the app replaces the data on every transport, and denies what it refuses', async () => {
    const bob = await WsTestClient.connect(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: BOB });
    const alice = await WsTestClient.connect(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: ALICE });
    try {
      await bob.request({ type: 'subscribe', channel: 'chat:1' });
      expect((await alice.request({ type: 'publish', channel: 'chat:1', data: { text: 'hi' } })).error).toBeUndefined();
      const refused = await alice.request({ type: 'publish', channel: 'chat:1', data: { text: '' } });
      expect(refused.error).toEqual({ code: ErrorCode.Forbidden, message: 'text of 1-500 characters' });
      const http = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { ...ALICE, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'chat:1', data: { text: 'over http' } }),
      });
      expect(http.status).toBe(200);
      const [first, second] = await bob.waitForMessages(2, 'chat:1');
      expect(first.data).toEqual({ text: 'hi', by: 'alice', at: expect.any(Number) });
      expect(second.data).toEqual({ text: 'over http', by: 'alice', at: expect.any(Number) });
      const deniedHttp = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { ...ALICE, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'chat:1', data: 'not an object' }),
      });
      expect(await errorOf(deniedHttp)).toEqual([403, { code: ErrorCode.Forbidden, message: 'text of 1-500 characters' }]);
      // History holds the replacement too.
      const history = await fetch(`${hub.url}/api/history?channel=chat:1`, { headers: ALICE });
      const { messages } = (await history.json()) as { messages: { data: unknown }[] };
      expect(messages.map((m) => m.data)).toEqual([first.data, second.data]);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it('refresh: an open account is extended by an hour, a closed one is refused', async () => {
    const alice = await WsTestClient.connect(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: ALICE });
    const bob = await WsTestClient.connect(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: BOB });
    try {
      const before = Date.now();
      const extended = await alice.request({ type: 'refresh', token: 'alice-session-token' });
      expect(extended.error).toBeUndefined();
      expect(extended.user).toBe('alice');
      expect(extended.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) + 3600);
      const refused = await bob.request({ type: 'refresh', token: 'bob-session-token' });
      expect(refused.error).toEqual({ code: ErrorCode.Unauthorized, message: 'account closed' });
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it('rpc: the app answers on the WebSocket and over POST /api/rpc', async () => {
    const alice = await WsTestClient.connect(`${hub.url.replace(/^http/, 'ws')}/ws`, { headers: ALICE });
    try {
      const list = await alice.request({ type: 'rpc', method: 'orders:list', data: { status: 'open' } });
      expect(list.data).toEqual([{ id: 8, user: 'alice', status: 'open' }]);
      const shipped = await alice.request({ type: 'rpc', method: 'orders:cancel', data: { id: 7 } });
      expect(shipped.error).toEqual({ code: ErrorCode.Forbidden, message: 'order 7 is shipped' });
    } finally {
      await alice.close();
    }
    const rpc = (body: object): Promise<Response> =>
      fetch(`${hub.url}/api/rpc`, {
        method: 'POST',
        headers: { ...ALICE, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cancelled = await rpc({ method: 'orders:cancel', data: { id: 8 } });
    expect([cancelled.status, await cancelled.json()]).toEqual([200, { data: { cancelled: 8 } }]);
    expect(await errorOf(await rpc({ method: 'orders:cancel', data: { id: 8 } }))).toEqual([
      403,
      { code: ErrorCode.Forbidden, message: 'order 8 is cancelled' },
    ]);
    expect(await errorOf(await rpc({ method: 'orders:refund' }))).toEqual([
      403,
      { code: ErrorCode.Forbidden, message: 'unknown method orders:refund' },
    ]);
  });

  it('webhooks: the events of the tests above arrive signed, each handled once', async () => {
    const events = await eventually(
      () => logged(),
      (all) =>
        all.filter((e) => e.type === 'client_publish').length >= 2 && all.some((e) => e.type === 'presence_join' && e.user === 'bob'),
      `client_publish and presence_join events logged by the docs' app; stdout: ${appOut}; stderr: ${appErr}`,
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(events.filter((e) => e.type === 'client_publish').map((e) => e['data'])).toEqual([
      { text: 'hi', by: 'alice', at: expect.any(Number) },
      { text: 'over http', by: 'alice', at: expect.any(Number) },
    ]);
    expect(events.filter((e) => e.type === 'presence_join').map((e) => [e['channel'], e['user']])).toEqual(
      expect.arrayContaining([
        ['chat:1', 'alice'],
        ['chat:1', 'bob'],
      ]),
    );
    // Only the configured event types.
    expect(events.filter((e) => !['client_publish', 'presence_join', 'presence_leave'].includes(e.type))).toEqual([]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    // A batch sent again (as after a lost answer): its events are handled once.
    const body = JSON.stringify({ events: [{ id: 'docs-test-event', type: 'channel_vacated', time: Date.now(), channel: 'chat:9' }] });
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${appUrl}/herald/webhooks`, {
        method: 'POST',
        headers: signed(body, config.webhooks.secrets[0]!),
        body,
      });
      expect(response.status).toBe(204);
    }
    expect(logged().filter((e) => e.id === 'docs-test-event')).toHaveLength(1);
    expect(appErr).toBe('');
  });
});
