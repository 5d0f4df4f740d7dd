import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { RedisBroker, RedisPresenceStore, RedisTicketStore } from '@herald/redis';
import { JwtAuthenticator, Permissions, TicketRefusedError, type Clock, type Identity, type TicketLimits } from '@herald/server';
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

async function store(options: { ttl?: number; clock?: Clock; limits?: TicketLimits; prefix?: string } = {}): Promise<RedisTicketStore> {
  const tickets = await RedisTicketStore.connect({ url: REDIS_URL, prefix, ...options });
  open.push(tickets);
  return tickets;
}

const alice = {
  user: 'alice',
  authenticated: true,
  expiresAt: undefined,
  grants: { subscribe: ['inbox:alice'], publish: [], history: [], presence: [] },
};

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
    const clock = {
      time: 1_700_000_000_000,
      now() {
        return this.time;
      },
    };
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

describe('RedisTicketStore limits, counted over every node', () => {
  let n = 0;
  /** Two nodes on their own keys (a holder's count must not carry over from another test). */
  async function nodes(options: { clock?: Clock; limits?: TicketLimits } = {}): Promise<[RedisTicketStore, RedisTicketStore]> {
    const own = `${prefix}limits${n++}:`;
    return [await store({ ...options, prefix: own }), await store({ ...options, prefix: own })];
  }
  const user = (name: string): Identity => ({ ...alice, user: name });
  const clockAt = (time: number): Clock & { time: number } => ({
    time,
    now() {
      return this.time;
    },
  });

  /** Settles `issue` and reports it as `ok` or the refusal's `code retryAfter message`. */
  const outcome = (issued: Promise<unknown>): Promise<string> =>
    issued.then(
      () => 'ok',
      (error: unknown) =>
        error instanceof TicketRefusedError ? `${error.wireCode} ${error.retryAfter} ${error.message}` : `unexpected ${String(error)}`,
    );

  it('a flood by one user from two nodes at once gets exactly 16 tickets; another user’s ticket survives it', async () => {
    const [a, b] = await nodes();
    const { ticket } = await a.issue(user('bob'));
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => outcome((i % 2 === 0 ? a : b).issue(user('mallory')))));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(16);
    expect(new Set(outcomes.filter((o) => o !== 'ok'))).toEqual(
      new Set([`${ErrorCode.RateLimited} 30 at most 16 unredeemed tickets at once`]),
    );
    expect((await b.redeem(ticket))?.user).toBe('bob');
  });

  it('a ticket redeemed on one node frees its slot on the other; the rate (5 a second, bursts of 20) holds across nodes', async () => {
    const clock = clockAt(1_900_000_000_000);
    const [a, b] = await nodes({ clock });
    const held: string[] = [];
    for (let i = 0; i < 16; i++) held.push((await a.issue(user('mallory'))).ticket);
    expect(await outcome(b.issue(user('mallory')))).toBe(`${ErrorCode.RateLimited} 30 at most 16 unredeemed tickets at once`);
    for (let i = 0; i < 4; i++) {
      expect(await b.redeem(held.pop()!)).toBeDefined();
      held.push((await (i % 2 === 0 ? a : b).issue(user('mallory'))).ticket);
    }
    expect(await a.redeem(held.pop()!)).toBeDefined();
    expect(await outcome(b.issue(user('mallory')))).toBe(`${ErrorCode.RateLimited} 1 at most 5 tickets per second`);
    clock.time += 199;
    expect(await outcome(a.issue(user('mallory')))).toMatch(/^3002 1 /);
    clock.time += 2;
    expect(await outcome(a.issue(user('mallory')))).toBe('ok');
  });

  it('expired tickets free their slots (node clock)', async () => {
    const clock = clockAt(1_900_000_000_000);
    const [a, b] = await nodes({ clock });
    for (let i = 0; i < 16; i++) await a.issue(user('mallory'));
    clock.time += 29_999;
    expect(await outcome(b.issue(user('mallory')))).toBe(`${ErrorCode.RateLimited} 1 at most 16 unredeemed tickets at once`);
    clock.time += 1;
    const again = await Promise.all(Array.from({ length: 16 }, (_, i) => outcome((i % 2 === 0 ? a : b).issue(user('mallory')))));
    expect(again).toEqual(Array.from({ length: 16 }, () => 'ok'));
  });

  it('a full store refuses with 3001 and the time until its first ticket expires, and drops nothing', async () => {
    const clock = clockAt(1_900_000_000_000);
    const [a, b] = await nodes({ clock, limits: { max: 20 } });
    const { ticket } = await a.issue(user('bob'));
    clock.time += 1000;
    const outcomes: string[] = [];
    for (const name of ['u1', 'u2']) for (let i = 0; i < 16; i++) outcomes.push(await outcome(b.issue(user(name))));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(19);
    expect(outcomes.at(-1)).toBe(`${ErrorCode.Unavailable} 29 too many tickets outstanding`);
    expect((await b.redeem(ticket))?.user).toBe('bob');
    expect(await outcome(a.issue(user('u2')))).toBe('ok');
  });

  it('rejects limits out of range', async () => {
    await expect(RedisTicketStore.connect({ url: REDIS_URL, prefix, limits: { perHolder: 0 } })).rejects.toThrow(
      new RangeError('tickets perHolder must be an integer ≥ 1'),
    );
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
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(Buffer.from(SECRET));
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
