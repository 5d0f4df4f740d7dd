import { readFileSync } from 'node:fs';
import { ErrorCode } from '@herald/protocol';
import { ALLOW_ALL, DENY_ALL, JwtAuthenticator, Permissions, type HeraldServerOptions } from '@herald/server';
import {
  eventually,
  RecordingSink,
  startHookApp,
  startTestHub,
  startWebhookApp,
  WsTestClient,
  type HookApp,
  type TestHub,
} from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

const SECRET = 'acks-test-secret-0123456789abcdef-0123';
const API_KEY = 'a'.repeat(32);

function tokenFor(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ sub, exp: Math.floor(Date.now() / 1000) + 3600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
}

/** Open namespaces `chat` and `feed`, `secret` for nobody. */
const PERMISSIONS = new Permissions({ chat: ALLOW_ALL, feed: ALLOW_ALL, secret: DENY_ALL }, ALLOW_ALL);

function hubOptions(options: HeraldServerOptions = {}): HeraldServerOptions {
  return {
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY], permissions: PERMISSIONS },
    admin: true,
    ...options,
  };
}

async function publish(hub: TestHub, channel: string, n: number): Promise<{ epoch: string; offset: number }> {
  let last: { epoch: string; offset: number } | undefined;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
      body: JSON.stringify({ channel, data: i }),
    });
    expect(res.status).toBe(200);
    last = (await res.json()) as { epoch: string; offset: number };
  }
  return last!;
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

async function postAck(hub: TestHub, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}/api/ack`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: await res.json() };
}

describe('client acks', () => {
  let hub: TestHub | undefined;
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await hub?.close();
    hub = undefined;
  });
  const connect = async (user?: string): Promise<WsTestClient> => {
    const headers: Record<string, string> = user === undefined ? {} : { Authorization: `Bearer ${await tokenFor(user)}` };
    const client = await WsTestClient.connect(hub!.wsUrl, { headers });
    clients.push(client);
    return client;
  };

  it('a WebSocket ack shows in GET /api/acks and /api/admin/acks, and never moves backwards', async () => {
    hub = await startTestHub(hubOptions());
    const alice = await connect('alice');
    await alice.request({ type: 'subscribe', channel: 'chat:room' });
    const top = await publish(hub, 'chat:room', 3);
    await alice.waitForMessages(3, 'chat:room');
    expect(await alice.request({ type: 'ack', channel: 'chat:room', epoch: top.epoch, offset: 2 })).toEqual({
      type: 'reply',
      id: expect.anything(),
      channel: 'chat:room',
      epoch: top.epoch,
      offset: 2,
    });
    // Behind what was acknowledged: the reply says where the user stands.
    expect(await alice.request({ type: 'ack', channel: 'chat:room', epoch: top.epoch, offset: 1 })).toMatchObject({ offset: 2 });
    const key = { 'x-herald-key': API_KEY };
    const listed = await getJson(`${hub.url}/api/acks?channel=chat:room`, key);
    expect(listed).toEqual({
      status: 200,
      body: { channel: 'chat:room', acks: [{ user: 'alice', epoch: top.epoch, offset: 2, time: expect.any(Number) }] },
    });
    expect(await getJson(`${hub.url}/api/admin/acks?channel=chat:room&user=alice`, key)).toEqual(listed);
    expect((await getJson(`${hub.url}/api/acks?channel=chat:room&user=bob`, key)).body.acks).toEqual([]);
    // Not for clients: the positions of every user need the API key or an admin token.
    const asAlice = { authorization: `Bearer ${await tokenFor('alice')}` };
    expect((await getJson(`${hub.url}/api/acks?channel=chat:room`, asAlice)).status).toBe(403);
    expect((await getJson(`${hub.url}/api/acks?channel=chat:room`)).status).toBe(401);
    const admin = { authorization: `Bearer ${await tokenFor('ops', { herald: { admin: true } })}` };
    expect((await getJson(`${hub.url}/api/acks?channel=chat:room`, admin)).body.acks).toHaveLength(1);
    expect((await getJson(`${hub.url}/api/acks?channel=chat:room&limit=0`, key)).body.error.code).toBe(ErrorCode.InvalidField);
    expect((await getJson(`${hub.url}/api/acks?channel=`, key)).body.error.code).toBe(ErrorCode.InvalidChannel);
  });

  it('an ack of a channel not subscribed on the connection is allowed with the subscribe right', async () => {
    hub = await startTestHub(hubOptions());
    const bob = await connect('bob');
    const top = await publish(hub, 'feed:x', 2);
    expect(await bob.request({ type: 'ack', channel: 'feed:x', epoch: top.epoch, offset: 2 })).toMatchObject({ offset: 2 });
  });

  it('refuses acks: no user, no subscribe right, beyond the last offset, another epoch, garbage', async () => {
    hub = await startTestHub(hubOptions());
    const top = await publish(hub, 'chat:a', 2);
    await publish(hub, 'secret:s', 1);
    const alice = await connect('alice');
    const ack = (fields: Record<string, unknown>) => alice.request({ type: 'ack', channel: 'chat:a', epoch: top.epoch, ...fields });
    const code = async (fields: Record<string, unknown>) => ((await ack(fields)) as { error: { code: number } }).error.code;
    expect(await code({ offset: 3 })).toBe(ErrorCode.AckBeyondPosition);
    expect(await code({ epoch: 'otherEpoch', offset: 1 })).toBe(ErrorCode.AckWrongEpoch);
    expect(await code({ channel: 'secret:s', offset: 1 })).toBe(ErrorCode.Forbidden);
    expect(await code({ offset: 0 })).toBe(ErrorCode.InvalidField);
    expect(await code({ offset: -1 })).toBe(ErrorCode.InvalidField);
    expect(await code({ offset: 1.5 })).toBe(ErrorCode.InvalidField);
    expect(await code({ offset: '1' })).toBe(ErrorCode.InvalidField);
    expect(await code({ epoch: 'bad epoch', offset: 1 })).toBe(ErrorCode.InvalidField);
    expect(await code({ epoch: undefined, offset: 1 })).toBe(ErrorCode.InvalidField);
    expect(await code({ channel: 'bad channel', offset: 1 })).toBe(ErrorCode.InvalidChannel);
    expect(await code({ offset: Number.MAX_SAFE_INTEGER + 2 })).toBe(ErrorCode.InvalidField);
    // Nothing was stored by any of them.
    const key = { 'x-herald-key': API_KEY };
    expect((await getJson(`${hub.url}/api/acks?channel=chat:a`, key)).body.acks).toEqual([]);
    expect((await getJson(`${hub.url}/api/acks?channel=secret:s`, key)).body.acks).toEqual([]);
    // An anonymous client and a backend with the API key have no user to acknowledge for.
    const anonymous = await connect();
    expect((await anonymous.request({ type: 'ack', channel: 'chat:a', epoch: top.epoch, offset: 1 })).error.code).toBe(
      ErrorCode.Unauthorized,
    );
    const backend = await WsTestClient.connect(hub.wsUrl, { headers: { 'x-herald-key': API_KEY } });
    clients.push(backend);
    expect((await backend.request({ type: 'ack', channel: 'chat:a', epoch: top.epoch, offset: 1 })).error.code).toBe(
      ErrorCode.Unauthorized,
    );
    // The session is still usable.
    expect(await ack({ offset: 2 })).toMatchObject({ offset: 2 });
  });

  it('POST /api/ack: an SSE or polling client acknowledges over HTTP with its credentials', async () => {
    hub = await startTestHub(hubOptions());
    const top = await publish(hub, 'chat:h', 4);
    const auth = { authorization: `Bearer ${await tokenFor('carol')}` };
    const body = (fields: Record<string, unknown>) => JSON.stringify({ channel: 'chat:h', epoch: top.epoch, offset: 3, ...fields });
    expect(await postAck(hub, body({}), auth)).toEqual({ status: 200, body: { channel: 'chat:h', epoch: top.epoch, offset: 3 } });
    expect(await postAck(hub, body({ offset: 2 }), auth)).toEqual({
      status: 200,
      body: { channel: 'chat:h', epoch: top.epoch, offset: 3 },
    });
    const listed = await getJson(`${hub.url}/api/acks?channel=chat:h`, { 'x-herald-key': API_KEY });
    expect(listed.body.acks).toEqual([{ user: 'carol', epoch: top.epoch, offset: 3, time: expect.any(Number) }]);
    const refused = async (text: string, headers: Record<string, string> = auth) => {
      const answer = await postAck(hub!, text, headers);
      return [answer.status, answer.body.error.code];
    };
    expect(await refused(body({ offset: 5 }))).toEqual([400, ErrorCode.AckBeyondPosition]);
    expect(await refused(body({ epoch: 'nope' }))).toEqual([400, ErrorCode.AckWrongEpoch]);
    expect(await refused(body({ channel: 'secret:z' }))).toEqual([403, ErrorCode.Forbidden]);
    expect(await refused(body({}), {})).toEqual([401, ErrorCode.Unauthorized]);
    expect(await refused(body({}), { 'x-herald-key': API_KEY })).toEqual([401, ErrorCode.Unauthorized]);
    expect(await refused('{')).toEqual([400, ErrorCode.InvalidJson]);
    expect(await refused('[1]')).toEqual([400, ErrorCode.InvalidFrame]);
    expect(await refused(body({ offset: null }))).toEqual([400, ErrorCode.InvalidField]);
    expect(await refused(body({ channel: '' }))).toEqual([400, ErrorCode.InvalidChannel]);
    expect(await refused(body({ pad: 'x'.repeat(2000) }))).toEqual([413, ErrorCode.TooLarge]);
    const wrongMethod = await fetch(`${hub.url}/api/ack`);
    expect(wrongMethod.status).toBe(405);
    await wrongMethod.body?.cancel();
  });

  it('acks: false refuses the command (1002) and the routes (404)', async () => {
    hub = await startTestHub(hubOptions({ acks: false }));
    const top = await publish(hub, 'chat:off', 1);
    const alice = await connect('alice');
    expect((await alice.request({ type: 'ack', channel: 'chat:off', epoch: top.epoch, offset: 1 })).error.code).toBe(
      ErrorCode.UnknownCommand,
    );
    const auth = { authorization: `Bearer ${await tokenFor('alice')}` };
    expect((await postAck(hub, JSON.stringify({ channel: 'chat:off', epoch: top.epoch, offset: 1 }), auth)).status).toBe(404);
    expect((await getJson(`${hub.url}/api/acks?channel=chat:off`, { 'x-herald-key': API_KEY })).status).toBe(404);
    expect((await getJson(`${hub.url}/api/admin/acks?channel=chat:off`, { 'x-herald-key': API_KEY })).status).toBe(404);
  });

  it('every refusal of an ack is given, with its message, in errors.md (and the body rule in protocol.md)', async () => {
    const doc = (path: string): string => readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');
    const errors = doc('docs/errors.md');
    /** The line of errors.md whose first cell is `first` (a code's row, or a cause in the 2000 table). */
    const line = (first: string): string => {
      const found = errors.split('\n').find((l) => l.startsWith(`| ${first}`));
      expect(found, `errors.md has a row starting with "${first}"`).toBeDefined();
      return found!;
    };
    hub = await startTestHub(hubOptions());
    const top = await publish(hub, 'chat:doc', 12);
    const auth = { authorization: `Bearer ${await tokenFor('dora')}` };
    const refused = async (text: string, headers: Record<string, string> = auth): Promise<{ code: number; message: string }> =>
      (await postAck(hub!, text, headers)).body.error;
    const body = (fields: Record<string, unknown>) => JSON.stringify({ channel: 'chat:doc', epoch: top.epoch, offset: 1, ...fields });
    // errors.md's examples use the epoch Xd-gMAMIAZVj and a channel whose last offset is 12.
    const asDocumented = (message: string): string => message.replaceAll(top.epoch, 'Xd-gMAMIAZVj');
    const beyond = await refused(body({ offset: 99 }));
    expect(beyond.code).toBe(ErrorCode.AckBeyondPosition);
    expect(line('1012 ')).toContain(`\`${beyond.message}\``);
    const wrongEpoch = await refused(body({ epoch: 'old-epoch', offset: 3 }));
    expect(wrongEpoch.code).toBe(ErrorCode.AckWrongEpoch);
    expect(line('1013 ')).toContain(`\`${asDocumented(wrongEpoch.message)}\``);
    const noUser = await refused(body({}), {});
    expect(noUser.code).toBe(ErrorCode.Unauthorized);
    expect(line('an [ack]')).toContain(`| \`${noUser.message}\` |`);
    const tooLarge = await refused(body({ pad: 'x'.repeat(2000) }));
    expect(tooLarge.code).toBe(ErrorCode.TooLarge);
    expect(line('1006 ')).toContain(`\`${tooLarge.message}\``);
    const fields = await refused(body({ offset: 0 }));
    expect(fields.code).toBe(ErrorCode.InvalidField);
    expect(doc('docs/protocol.md')).toContain(`\`${fields.message}\``);
    for (const text of ['{', '[1]']) expect(line(`${(await refused(text)).code} `)).toContain('`POST /api/ack` body');
    await hub.close();
    hub = await startTestHub(hubOptions({ acks: false }));
    const off = await connect('dora');
    const disabled = (await off.request({ type: 'ack', channel: 'chat:doc', epoch: top.epoch, offset: 1 })).error;
    expect(disabled.code).toBe(ErrorCode.UnknownCommand);
    expect(line('1002 ')).toContain(`\`${disabled.message}\``);
    const route = await postAck(hub, body({}), auth);
    expect([route.status, route.body.error.code]).toEqual([404, ErrorCode.NotFound]);
    expect(line('1010 ')).toContain('`POST /api/ack`, `GET /api/acks` and `GET /api/admin/acks` on a hub with `acks: false`');
  });

  it('client_ack webhook events: coalesced per user and channel, the latest position, only acks that moved it', async () => {
    const sink = new RecordingSink();
    hub = await startTestHub(hubOptions({ webhookSink: sink, acks: { webhookInterval: 1000 } }));
    const top = await publish(hub, 'chat:w', 20);
    const alice = await connect('alice');
    const bob = await connect('bob');
    // Ten acks sent at once (as a burst of messages would make them), well within one interval.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => alice.request({ type: 'ack', channel: 'chat:w', epoch: top.epoch, offset: i + 1 })),
      bob.request({ type: 'ack', channel: 'chat:w', epoch: top.epoch, offset: 4 }),
    ]);
    await eventually(() => sink.of('client_ack').length >= 2, 'two client_ack events');
    expect(sink.of('client_ack')).toEqual([
      { type: 'client_ack', channel: 'chat:w', user: 'alice', epoch: top.epoch, offset: 10 },
      { type: 'client_ack', channel: 'chat:w', user: 'bob', epoch: top.epoch, offset: 4 },
    ]);
    // An ack that does not move the position sends nothing; the next one that does, one more event.
    await alice.request({ type: 'ack', channel: 'chat:w', epoch: top.epoch, offset: 3 });
    await alice.request({ type: 'ack', channel: 'chat:w', epoch: top.epoch, offset: 12 });
    await eventually(() => sink.of('client_ack').length >= 3, 'a third client_ack event');
    expect(sink.of('client_ack')).toHaveLength(3);
    expect(sink.of('client_ack')[2]).toEqual({ type: 'client_ack', channel: 'chat:w', user: 'alice', epoch: top.epoch, offset: 12 });
  });

  it('a subscribe hook decides: a channel subscribed on the session is acked without asking; otherwise the hook is asked', async () => {
    const hookSecret = 'acks-hook-secret-0123456789abcdef';
    const app: HookApp = await startHookApp(hookSecret, (request) =>
      (request.body['channel'] as string).startsWith('chat:no') ? { allow: false, reason: 'not yours' } : { allow: true },
    );
    try {
      hub = await startTestHub(hubOptions({ hooks: { secrets: [hookSecret], subscribe: `${app.url}/subscribe` } }));
      const top = await publish(hub, 'chat:yes', 2);
      const no = await publish(hub, 'chat:no', 2);
      const alice = await connect('alice');
      await alice.request({ type: 'subscribe', channel: 'chat:yes' });
      const asked = app.requests.items.length;
      expect(await alice.request({ type: 'ack', channel: 'chat:yes', epoch: top.epoch, offset: 2 })).toMatchObject({ offset: 2 });
      // Allowed by the app when it subscribed: not asked again per ack.
      expect(app.requests.items.length).toBe(asked);
      expect((await alice.request({ type: 'ack', channel: 'chat:no', epoch: no.epoch, offset: 1 })).error.code).toBe(ErrorCode.Forbidden);
      expect(app.requests.items.length).toBe(asked + 1);
      const auth = { authorization: `Bearer ${await tokenFor('alice')}` };
      expect((await postAck(hub, JSON.stringify({ channel: 'chat:yes', epoch: top.epoch, offset: 1 }), auth)).status).toBe(200);
      expect((await postAck(hub, JSON.stringify({ channel: 'chat:no', epoch: no.epoch, offset: 1 }), auth)).status).toBe(403);
      expect(app.requests.items.filter((r) => r.body['transport'] === 'http')).toHaveLength(2);
    } finally {
      await hub?.close();
      hub = undefined;
      await app.close();
    }
  });

  it('client_ack through the webhooks setting: signed requests to the app, only when listed, coalesced', async () => {
    const secret = 'acks-webhook-secret-0123456789abcdef';
    const app = await startWebhookApp(secret);
    try {
      hub = await startTestHub(
        hubOptions({
          webhooks: { url: app.url, secrets: [secret], events: ['client_ack'], pollInterval: 20 },
          acks: { webhookInterval: 200 },
        }),
      );
      const top = await publish(hub, 'chat:hook', 5);
      const alice = await connect('alice');
      await Promise.all([1, 2, 3, 4, 5].map((offset) => alice.request({ type: 'ack', channel: 'chat:hook', epoch: top.epoch, offset })));
      await eventually(() => app.delivered().length >= 1, 'a webhook delivery');
      const events = app.deliveries.items.flatMap((d) => d.events);
      expect(events).toEqual([
        {
          id: expect.any(String),
          time: expect.any(Number),
          type: 'client_ack',
          channel: 'chat:hook',
          user: 'alice',
          epoch: top.epoch,
          offset: 5,
        },
      ]);
      // Every request was signed with the configured secret (the app checks each one).
      expect(app.unsigned()).toBe(0);
    } finally {
      await hub?.close();
      hub = undefined;
      await app.close();
    }
  });

  it('the webhooks option sends client_ack only when listed', async () => {
    const { resolveWebhooks } = await import('@herald/server');
    const base = { url: 'http://127.0.0.1:9/hook', secrets: ['s'.repeat(16)] };
    expect(resolveWebhooks(base).events.has('client_ack')).toBe(false);
    expect(resolveWebhooks(base).events.has('client_publish')).toBe(true);
    expect(resolveWebhooks({ ...base, events: ['client_ack'] }).events.has('client_ack')).toBe(true);
  });

  it('checks the acks options', async () => {
    await expect(startTestHub(hubOptions({ acks: { ttl: 0 } }))).rejects.toThrow(
      'acks.ttl must be an integer from 1 to 31536000 (seconds)',
    );
  });
});
