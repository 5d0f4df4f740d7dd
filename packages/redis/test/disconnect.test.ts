import { randomBytes } from 'node:crypto';
import { CloseCode } from '@herald/protocol';
import { JwtAuthenticator } from '@herald/server';
import { eventually, SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRedisHub } from './fault-helpers.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const SECRET = randomBytes(32).toString('base64url');
const API_KEY = 'k'.repeat(32);
const hubs: TestHub[] = [];

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

async function node(): Promise<TestHub> {
  const hub = await startRedisHub({
    url: REDIS_URL,
    prefix,
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
  });
  hubs.push(hub);
  return hub;
}

const token = (sub: string): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(Buffer.from(SECRET));

describe('POST /api/disconnect with several nodes', () => {
  it('closes the user’s sessions on every node, whichever node received the request', async () => {
    const [a, b] = [await node(), await node()];
    const alice = await token('alice');
    const headers = { authorization: `Bearer ${alice}` };
    const onA = await WsTestClient.connect(a.wsUrl, { headers });
    const onB = await WsTestClient.connect(b.wsUrl, { headers });
    const sseOnB = await SseTestClient.connect(`${b.url}/events?channel=news`, headers);
    await sseOnB.ready();
    const bob = await WsTestClient.connect(b.wsUrl, { headers: { authorization: `Bearer ${await token('bob')}` } });
    const answer = await fetch(`${a.url}/api/disconnect`, {
      method: 'POST',
      headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
      body: '{"user":"alice"}',
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ disconnected: 1, nodes: 'all' });
    expect((await onA.closed).code).toBe(CloseCode.Disconnected);
    expect((await onB.closed).code).toBe(CloseCode.Disconnected);
    await sseOnB.ended;
    const ended = sseOnB.events.items.find((e) => e.event === 'disconnect');
    expect(JSON.parse(ended!.data).error.code).toBe(2003);
    expect((await bob.request({ type: 'subscribe', channel: 'still-here' })).error).toBeUndefined();
    await bob.close();
  });
});

describe('POST /api/disconnect and polling sessions with several nodes', () => {
  const DISCONNECTED = { error: { code: 2003, message: 'disconnected by the server' } };
  const pollAs = async (url: string, jwt: string, query: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${url}/api/messages?${query}`, { headers: { authorization: `Bearer ${jwt}` } });
    return { status: res.status, body: await res.json() };
  };
  const disconnect = (url: string, body: unknown): Promise<Response> =>
    fetch(`${url}/api/disconnect`, { method: 'POST', headers: { 'x-herald-key': API_KEY }, body: JSON.stringify(body) });

  it("ends the user's polling sessions on the other node: they leave at once, the held and the next poll get 2003", async () => {
    const [a, b] = [await node(), await node()];
    const watcher = await WsTestClient.connect(a.wsUrl, { headers: { 'X-Herald-Key': API_KEY } });
    expect((await watcher.request({ type: 'subscribe', channel: 'room', joinLeave: true })).error).toBeUndefined();
    const alice = await token('alice');
    const first = await pollAs(b.url, alice, 'channel=room&since=now&session=new');
    const session = first.body.session as string;
    const client = session.split('.')[0]!;
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'join' && f.member.client === client), 'the poller joins');
    const held = pollAs(b.url, alice, `channel=room&since=${first.body.cursor}&session=${session}&wait=20`);
    await eventually(() => b.server.stats().polling === 1, 'the poll is held on b');

    const answer = await disconnect(a.url, { user: 'alice' });
    expect(await answer.json()).toEqual({ disconnected: 0, nodes: 'all' });
    expect(await held).toEqual({ status: 403, body: DISCONNECTED });
    // Long before the grace period (30 s): the leave comes from the disconnect.
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'leave' && f.member.client === client), 'the poller leaves');
    expect(await pollAs(b.url, alice, `channel=room&since=${first.body.cursor}&session=${session}`)).toEqual({
      status: 403,
      body: DISCONNECTED,
    });
    await watcher.close();
  });

  it('by user on the node that holds the session: the other nodes refuse its token too, and do not make it a member', async () => {
    const [a, b] = [await node(), await node()];
    const alice = await token('alice');
    const first = await pollAs(b.url, alice, 'channel=room&since=now&session=new');
    const session = first.body.session as string;
    const again = `channel=room&since=${first.body.cursor}&session=${session}`;

    expect(await (await disconnect(b.url, { user: 'alice' })).json()).toEqual({ disconnected: 1, nodes: 'all' });
    expect(await pollAs(b.url, alice, again)).toEqual({ status: 403, body: DISCONNECTED });
    // a never saw the session: it learns its id from b (a poll before that would start it on a).
    await eventually(async () => (await pollAs(a.url, alice, again)).status === 403, 'a refuses the session');
    expect(await pollAs(a.url, alice, again)).toEqual({ status: 403, body: DISCONNECTED });
    const members = async (): Promise<unknown> => {
      const res = await fetch(`${a.url}/api/presence?channel=room`, { headers: { 'x-herald-key': API_KEY } });
      return ((await res.json()) as { members: unknown }).members;
    };
    await eventually(async () => JSON.stringify(await members()) === '[]', 'alice is no member');
    // A new session of the user is let in, on either node.
    expect((await pollAs(a.url, alice, 'channel=room&since=now&session=new')).status).toBe(200);
  });

  it('by client: the session is refused on every node, also one its polls never reached', async () => {
    const [a, b] = [await node(), await node()];
    const alice = await token('alice');
    const first = await pollAs(b.url, alice, 'channel=room&since=now&session=new');
    const session = first.body.session as string;
    expect(await (await disconnect(a.url, { client: session.split('.')[0] })).json()).toEqual({ disconnected: 0, nodes: 'all' });
    await eventually(
      async () => (await pollAs(b.url, alice, `channel=room&since=${first.body.cursor}&session=${session}`)).status === 403,
      'b refuses the session',
    );
    expect(await pollAs(a.url, alice, `channel=room&since=${first.body.cursor}&session=${session}`)).toEqual({
      status: 403,
      body: DISCONNECTED,
    });
  });
});

describe('a node shutting down gracefully', () => {
  it('announces a leave for each of its members to the other nodes, and drops them from presence', async () => {
    const [a, b] = [await node(), await node()];
    const headers = { authorization: `Bearer ${await token('alice')}` };
    const watcher = await WsTestClient.connect(a.wsUrl, { headers });
    expect((await watcher.request({ type: 'subscribe', channel: 'room', joinLeave: true })).error).toBeUndefined();
    const leaving = await WsTestClient.connect(b.wsUrl, { headers: { authorization: `Bearer ${await token('bob')}` } });
    expect((await leaving.request({ type: 'subscribe', channel: 'room' })).error).toBeUndefined();
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'join' && f.member.user === 'bob'), 'bob joins');
    const bob = watcher.frames.items.find((f) => f.type === 'join' && f.member.user === 'bob').member;

    await b.close();
    hubs.splice(hubs.indexOf(b), 1);
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'leave'), 'bob leaves', 5000);
    expect(watcher.frames.items.filter((f) => f.type === 'leave')).toEqual([{ type: 'leave', channel: 'room', member: bob }]);
    const members = (await watcher.request({ type: 'presence', channel: 'room' })).members as { user: string }[];
    expect(members.map((m) => m.user)).toEqual(['alice']);
    await watcher.close();
  });
});
