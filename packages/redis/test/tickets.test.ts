import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { RedisBroker, RedisPresenceStore, RedisTicketStore } from '@herald/redis';
import { JwtAuthenticator, Permissions, type Clock } from '@herald/server';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const SECRET = randomBytes(32).toString('base64url');
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

async function store(options: { ttl?: number; clock?: Clock } = {}): Promise<RedisTicketStore> {
  const tickets = await RedisTicketStore.connect({ url: REDIS_URL, prefix, ...options });
  open.push(tickets);
  return tickets;
}

const alice = { user: 'alice', authenticated: true, expiresAt: undefined, grants: { subscribe: ['inbox:alice'], publish: [], history: [], presence: [] } };

describe('RedisTicketStore', () => {
  it('a ticket issued by one node is redeemed once by another', async () => {
    const [a, b] = [await store(), await store()];
    const { ticket, expiresIn } = await a.issue(alice);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresIn).toBe(30);
    expect(await b.redeem(ticket)).toEqual(alice);
    expect(await a.redeem(ticket)).toBeUndefined();
    expect(await b.redeem('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
  });

  it('never outlives the token it stands for', async () => {
    const clock = { time: 1_700_000_000_000, now() { return this.time; } };
    const tickets = await store({ clock });
    const issued = await tickets.issue({ ...alice, expiresAt: clock.time + 5_000 });
    expect(issued.expiresIn).toBe(5);
    clock.time += 5_001;
    expect(await tickets.redeem(issued.ticket)).toBeUndefined();
  });

  it('expires in Redis after its lifetime', async () => {
    const tickets = await store({ ttl: 1 });
    const { ticket } = await tickets.issue(alice);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await tickets.redeem(ticket)).toBeUndefined();
  });

  it('rejects a bad ttl', async () => {
    await expect(RedisTicketStore.connect({ url: REDIS_URL, prefix, ttl: 0 })).rejects.toThrow(RangeError);
  });
});

describe('tickets across two hubs on one Redis', () => {
  const hubs: TestHub[] = [];
  afterEach(async () => {
    for (const hub of hubs.splice(0)) await hub.close();
  });

  async function node(): Promise<TestHub> {
    const broker = await RedisBroker.connect({ url: REDIS_URL, prefix });
    const presence = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
    const tickets = await RedisTicketStore.connect({ url: REDIS_URL, prefix });
    const hub = await startTestHub({
      broker,
      presence,
      security: {
        authenticator: new JwtAuthenticator({ secret: SECRET }),
        permissions: new Permissions({ inbox: { subscribe: 'owner', publish: 'none', history: 'owner', presence: 'none' } }),
        apiKeys: ['k'.repeat(32)],
        requireAuth: true,
        tickets,
      },
    });
    hubs.push(hub);
    return hub;
  }

  it('POST /api/ticket on A, WebSocket on B: the session is the token’s user; replayed on A it is refused', async () => {
    const [a, b] = [await node(), await node()];
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(Buffer.from(SECRET));
    const answer = await fetch(`${a.url}/api/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    const { ticket } = (await answer.json()) as { ticket: string };
    const client = await WsTestClient.connect(`${b.wsUrl}?ticket=${ticket}`);
    try {
      expect((await client.request({ type: 'subscribe', channel: 'inbox:alice' })).error).toBeUndefined();
      expect((await client.request({ type: 'subscribe', channel: 'inbox:bob' })).error.code).toBe(ErrorCode.Forbidden);
    } finally {
      await client.close();
    }
    const replay = await fetch(`${a.url}/api/messages?channel=inbox:alice&ticket=${ticket}`);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Unauthorized);
  });
});
