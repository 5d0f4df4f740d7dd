import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions, type HooksOptions } from '@herald/server';
import { freePort, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, jwtUsers } from './jwt-users.js';
import { owned } from '../owned.js';
import { ScriptedHookApp } from './scripted-hook-app.js';

const SECRET = randomBytes(24).toString('base64url');
const { secret: JWT_SECRET, token } = jwtUsers();
const API_KEY = randomBytes(24).toString('base64url');

// Clients may not publish on `chat` by its static rule: only the hook lets them.
const permissions = new Permissions({
  chat: { subscribe: 'anonymous', publish: 'none', history: 'anonymous', presence: 'anonymous' },
  open: { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' },
});

let app: ScriptedHookApp;
let replacements = 0;
const { own, closeAll } = owned();

async function start(hooks: Partial<HooksOptions> = {}): Promise<TestHub> {
  return own(
    await startTestHub({
      security: { authenticator: new JwtAuthenticator({ secret: JWT_SECRET }), permissions, apiKeys: [API_KEY] },
      hooks: { secrets: [SECRET], publish: `${app.url}/publish`, namespaces: { open: { publish: false } }, ...hooks },
    }),
  );
}

/** POST /api/publish with `headers`; status, headers and parsed body. */
async function post(h: TestHub, body: unknown, headers: Record<string, string>): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${h.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

beforeEach(async () => {
  replacements = 0;
  // Denies `{bad: true}`; replaces `{text}` with its upper case, the user and a counter (so two
  // calls for the same data answer different replacements); allows anything else as sent.
  app = own(
    await ScriptedHookApp.start(SECRET, (call) => {
      const data = call.body['data'] as { bad?: unknown; text?: unknown } | undefined;
      if (data?.bad === true) return { allow: false, reason: 'no shouting at the hub' };
      if (typeof data?.text === 'string')
        return { allow: true, data: { text: data.text.toUpperCase(), by: call.body.user, n: ++replacements } };
      return { allow: true };
    }),
  );
});

afterEach(async () => {
  // The app was owned first, the hubs next: clients close first, the app last.
  await closeAll();
  expect(app.requests.items.filter((r) => !r.signed)).toEqual([]);
});

describe('publish hook', () => {
  it('refuses a denied publish with 2001 on the WebSocket and over HTTP, storing nothing', async () => {
    const h = await start();
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    const denied = await ws.request({ type: 'publish', channel: 'chat:room', data: { bad: true } });
    expect(denied.error).toEqual({ code: ErrorCode.Forbidden, message: 'no shouting at the hub' });
    const http = await post(h, { channel: 'chat:room', data: { bad: true } }, bearer(alice));
    expect(http.status).toBe(403);
    expect(http.body).toEqual({ error: { code: ErrorCode.Forbidden, message: 'no shouting at the hub' } });
    expect((await h.server.hub.read('chat:room')).messages).toEqual([]);
    const calls = app.callsOf('publish').map((c) => c.body);
    expect(calls.map((c) => c.transport)).toEqual(['websocket', 'http']);
    for (const call of calls) expect(call).toMatchObject({ hook: 'publish', user: 'alice', channel: 'chat:room', data: { bad: true } });
  });

  it("stores and delivers the app's replacement on every transport, and history holds it", async () => {
    const h = await start();
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl));
    await ws.request({ type: 'subscribe', channel: 'chat:room' });
    const sse = own(await SseTestClient.connect(`${h.url}/events?channel=chat:room`));
    await sse.ready();
    const first = await fetch(`${h.url}/api/messages?channel=chat:room`);
    const cursor = ((await first.json()) as { cursor: string }).cursor;
    const held = fetch(`${h.url}/api/messages?channel=chat:room&since=${cursor}&wait=10`);

    const publisher = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    const reply = await publisher.request({ type: 'publish', channel: 'chat:room', data: { text: 'hello' } });
    expect(reply.error).toBeUndefined();
    expect(reply.offset).toBe(1);
    const replaced = { text: 'HELLO', by: 'alice', n: 1 };

    expect((await ws.waitForMessages(1, 'chat:room'))[0].data).toEqual(replaced);
    expect((await sse.waitForMessages(1))[0].data).toEqual(replaced);
    const polled = (await (await held).json()) as { messages: { data: unknown }[] };
    expect(polled.messages.map((m) => m.data)).toEqual([replaced]);
    expect((await h.server.hub.read('chat:room')).messages.map((m) => JSON.parse(m.json).data)).toEqual([replaced]);

    // Allowed without a replacement: stored as sent.
    const http = await post(h, { channel: 'chat:room', data: { other: 1 } }, bearer(alice));
    expect(http.status).toBe(200);
    expect((await ws.waitForMessages(2, 'chat:room'))[1].data).toEqual({ other: 1 });
  });

  it('never asks the app about a backend publishing with the API key, nor about a namespace without the hook', async () => {
    const h = await start();
    const backend = await post(h, { channel: 'chat:room', data: { bad: true } }, { 'x-herald-key': API_KEY });
    expect(backend.status).toBe(200);
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: { 'x-herald-key': API_KEY } }));
    expect((await ws.request({ type: 'publish', channel: 'chat:room', data: { text: 'as is' } })).error).toBeUndefined();
    const client = await post(h, { channel: 'open:square', data: { text: 'static rules' } }, bearer(await token('bob')));
    expect(client.status).toBe(200);
    expect(app.requests.items).toEqual([]);
    expect((await h.server.hub.read('chat:room')).messages.map((m) => JSON.parse(m.json).data)).toEqual([{ bad: true }, { text: 'as is' }]);
  });

  it('decides each message of a batch on its own', async () => {
    const h = await start();
    const res = await post(
      h,
      {
        messages: [
          { channel: 'chat:a', data: { text: 'one' } },
          { channel: 'chat:a', data: { bad: true } },
          { channel: 'chat:a', data: { plain: 3 } },
          { channel: 'open:b', data: { text: 'static' } },
        ],
      },
      bearer(await token('alice')),
    );
    expect(res.status).toBe(200);
    const results = res.body.results as any[];
    expect(results[0]).toMatchObject({ channel: 'chat:a', offset: 1 });
    expect(results[1]).toEqual({ index: 1, error: { code: ErrorCode.Forbidden, message: 'no shouting at the hub' } });
    expect(results[2]).toMatchObject({ channel: 'chat:a', offset: 2 });
    expect(results[3]).toMatchObject({ channel: 'open:b', offset: 1 });
    expect((await h.server.hub.read('chat:a')).messages.map((m) => JSON.parse(m.json).data)).toEqual([
      { text: 'ONE', by: 'alice', n: 1 },
      { plain: 3 },
    ]);
    expect(app.callsOf('publish')).toHaveLength(3);
    expect(new Set(app.callsOf('publish').map((c) => c.body.client)).size).toBe(1);
  });

  it("binds an idempotency key to the client's data, not the replacement: a retry answers the first position", async () => {
    const h = await start();
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    const first = await ws.request({ type: 'publish', channel: 'chat:idem', data: { text: 'once' }, idempotencyKey: 'k-1' });
    // The app is asked again, and answers another replacement (n: 2): still the same message.
    const retry = await ws.request({ type: 'publish', channel: 'chat:idem', data: { text: 'once' }, idempotencyKey: 'k-1' });
    expect(retry).toMatchObject({ epoch: first.epoch, offset: first.offset, duplicate: true });
    const http = await post(h, { channel: 'chat:idem', data: { text: 'once' }, idempotencyKey: 'k-1' }, bearer(alice));
    expect(http.body).toMatchObject({ offset: first.offset, duplicate: true });
    const other = await ws.request({ type: 'publish', channel: 'chat:idem', data: { text: 'different' }, idempotencyKey: 'k-1' });
    expect(other.error).toEqual({
      code: ErrorCode.InvalidField,
      message: 'idempotencyKey was already used for different data on this channel',
    });
    expect((await h.server.hub.read('chat:idem')).messages.map((m) => JSON.parse(m.json).data)).toEqual([
      { text: 'ONCE', by: 'alice', n: 1 },
    ]);
  });
});

describe('publish hook failing', () => {
  it('fails closed with 3003 on the WebSocket and over HTTP (503) when the app is too slow, and the hub keeps serving', async () => {
    const h = await start({ timeout: 200 });
    app.hold();
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    const reply = await ws.request({ type: 'publish', channel: 'chat:slow', data: { text: 'late' } });
    expect(reply.error).toEqual({ code: ErrorCode.HookUnavailable, message: 'the publish hook did not answer within 200 ms' });
    const http = await post(h, { channel: 'chat:slow', data: 1 }, bearer(alice));
    expect([http.status, http.headers.get('retry-after'), http.body.error.code]).toEqual([503, '1', ErrorCode.HookUnavailable]);
    const batch = await post(
      h,
      {
        messages: [
          { channel: 'chat:slow', data: 1 },
          { channel: 'chat:slow', data: 2 },
          { channel: 'open:fine', data: 3 },
        ],
      },
      bearer(alice),
    );
    expect(batch.status).toBe(200);
    expect(batch.body.results[0].error.code).toBe(ErrorCode.HookUnavailable);
    // Temporary: the later entries of that channel are not attempted, the other channel's are.
    expect(batch.body.results[1].error.code).toBe(ErrorCode.Unavailable);
    expect(batch.body.results[2]).toMatchObject({ channel: 'open:fine', offset: 1 });
    app.release();
    expect((await ws.request({ type: 'publish', channel: 'open:fine', data: 4 })).offset).toBe(2);
    expect((await h.server.hub.read('chat:slow')).messages).toEqual([]);
  });

  it('fails closed with 3003 when the app is down', async () => {
    const h = await start({ publish: `http://127.0.0.1:${await freePort()}/publish` });
    const alice = await token('alice');
    const ws = own(await WsTestClient.connect(h.wsUrl, { headers: bearer(alice) }));
    expect((await ws.request({ type: 'publish', channel: 'chat:down', data: 1 })).error).toEqual({
      code: ErrorCode.HookUnavailable,
      message: 'the publish hook could not be reached',
    });
    const http = await post(h, { channel: 'chat:down', data: 1 }, bearer(alice));
    expect([http.status, http.headers.get('retry-after'), http.body.error.code]).toEqual([503, '1', ErrorCode.HookUnavailable]);
    expect((await post(h, { channel: 'open:fine', data: 1 }, bearer(alice))).status).toBe(200);
  });
});
