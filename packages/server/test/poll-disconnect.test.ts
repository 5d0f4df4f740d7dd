import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator } from '@herald/server';
import { eventually, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

// POST /api/disconnect ends polling sessions (`session`) as it ends WebSocket sessions and SSE
// streams: the session leaves at once (long before the grace period), a held poll of it is
// answered 403/2003, and so is its next poll; other users' sessions carry on.

const SECRET = randomBytes(32).toString('base64url');
const API_KEY = 'd'.repeat(32);
const DISCONNECTED = { error: { code: ErrorCode.Disconnected, message: 'disconnected by the server' } };

const tokenFor = (sub: string): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(Buffer.from(SECRET));

/** A poll of `GET /api/messages` with `token` as the bearer. */
async function pollAs(url: string, token: string, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/messages?${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

async function disconnect(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/disconnect`, {
    method: 'POST',
    headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const membersOf = async (hub: TestHub, channel: string): Promise<string[]> => {
  const res = await fetch(`${hub.url}/api/presence?channel=${channel}`, { headers: { 'x-herald-key': API_KEY } });
  const body = (await res.json()) as { members: { client: string }[] };
  return body.members.map((m) => m.client).sort();
};

describe('POST /api/disconnect and polling sessions', () => {
  let hub: TestHub | undefined;
  let watcher: WsTestClient | undefined;
  afterEach(async () => {
    await watcher?.close();
    await hub?.close();
    hub = undefined;
    watcher = undefined;
  });

  async function start(): Promise<TestHub> {
    // A grace period far longer than the test: a leave can only come from the disconnect.
    hub = await startTestHub({
      pollPresenceGrace: 300,
      security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
    });
    watcher = await WsTestClient.connect(hub.wsUrl, { headers: { 'X-Herald-Key': API_KEY } });
    await watcher.request({ type: 'subscribe', channel: 'room', joinLeave: true });
    return hub;
  }

  it("by user: the user's sessions leave at once, a held poll and the next poll are answered 403/2003", async () => {
    const { url } = await start();
    const [alice, bob] = [await tokenFor('alice'), await tokenFor('bob')];
    const first = await pollAs(url, alice, 'channel=room&since=now&session=new');
    const second = await pollAs(url, alice, 'channel=room&since=now&session=new');
    const other = await pollAs(url, bob, 'channel=room&since=now&session=new');
    const [a1, a2, b] = [first, second, other].map((answer) => answer.body.session as string);
    const [c1, c2, cb] = [a1, a2, b].map((token) => token!.split('.')[0]!);
    expect(await membersOf(hub!, 'room')).toEqual(expect.arrayContaining([c1, c2, cb]));

    // One of alice's sessions has a poll held when the disconnect comes.
    const started = performance.now();
    const held = pollAs(url, alice, `channel=room&since=${second.body.cursor}&session=${a2}&wait=20`);
    await eventually(() => hub!.server.stats().polling === 1, 'the poll is held');

    expect(await disconnect(url, { user: 'alice' })).toEqual({ status: 200, body: { disconnected: 2 } });
    expect(await held).toEqual({ status: 403, body: DISCONNECTED });
    expect(performance.now() - started).toBeLessThan(10_000);
    // Both left now, not after the grace period, each with one leave.
    await watcher!.frames.until(
      (fs) => fs.filter((f) => f.type === 'leave' && f.member.user === 'alice').length === 2,
      "alice's sessions leave",
    );
    expect(await membersOf(hub!, 'room')).not.toContain(c1);
    expect(await membersOf(hub!, 'room')).not.toContain(c2);

    // The next poll of either session is refused, and does not make it a member again.
    expect(await pollAs(url, alice, `channel=room&since=${first.body.cursor}&session=${a1}`)).toEqual({ status: 403, body: DISCONNECTED });
    expect(await pollAs(url, alice, `channel=room&since=${second.body.cursor}&session=${a2}&wait=5`)).toEqual({
      status: 403,
      body: DISCONNECTED,
    });
    expect(await membersOf(hub!, 'room')).not.toContain(c1);
    expect(watcher!.frames.items.filter((f) => f.type === 'join' && f.member.user === 'alice')).toHaveLength(2);

    // Bob carries on; alice may start a new session on her own (her token is still valid).
    const bobNext = await pollAs(url, bob, `channel=room&since=${other.body.cursor}&session=${b}`);
    expect(bobNext.status).toBe(200);
    expect(await membersOf(hub!, 'room')).toContain(cb);
    const again = await pollAs(url, alice, 'channel=room&since=now&session=new');
    expect(again.status).toBe(200);
    expect(again.body.session).toMatch(/^p/);
  });

  it('by client: only that session ends; a session token another user presents is not refused', async () => {
    const { url } = await start();
    const [alice, mallory] = [await tokenFor('alice'), await tokenFor('mallory')];
    const kept = await pollAs(url, alice, 'channel=room&since=now&session=new');
    const ended = await pollAs(url, alice, 'channel=room&since=now&session=new');
    const client = (ended.body.session as string).split('.')[0]!;

    expect(await disconnect(url, { client })).toEqual({ status: 200, body: { disconnected: 1 } });
    await watcher!.frames.until((fs) => fs.some((f) => f.type === 'leave' && f.member.client === client), 'the session leaves');
    expect(await pollAs(url, alice, `channel=room&since=${ended.body.cursor}&session=${ended.body.session}`)).toEqual({
      status: 403,
      body: DISCONNECTED,
    });
    const next = await pollAs(url, alice, `channel=room&since=${kept.body.cursor}&session=${kept.body.session}`);
    expect(next.status).toBe(200);
    // The token is bound to alice: for anyone else it starts a new session, as before.
    const other = await pollAs(url, mallory, `channel=room&since=now&session=${ended.body.session}`);
    expect(other.status).toBe(200);
    expect(other.body.session).not.toBe(ended.body.session);
  });
});
