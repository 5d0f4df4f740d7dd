import { randomBytes } from 'node:crypto';
import { ErrorCode, type Position } from '@herald/protocol';
import { RedisAckStore, RedisBroker, RedisPresenceStore } from '@herald/redis';
import { JwtAuthenticator, type AckOutcome, type AckStore } from '@herald/server';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { createClient } from '@redis/client';
import { SignJWT } from 'jose';
import { afterAll, afterEach, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const SECRET = 'redis-ack-race-secret-0123456789abcdef';
const API_KEY = 'r'.repeat(32);
let hub: TestHub | undefined;
const clients: WsTestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await hub?.close();
  hub = undefined;
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

/**
 * The real Redis store, with the first ack of `epoch` held between the hub's check and the store
 * until `release()`: what a slow node or a network stall does to an ack.
 */
function holdingFirstAckOf(store: RedisAckStore): AckStore & { epoch: string; held: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  let holding = true;
  const gate = {
    epoch: '',
    held,
    release,
    async ack(user: string, channel: string, position: Position, now: number, replacing?: string): Promise<AckOutcome> {
      if (holding && position.epoch === gate.epoch) {
        holding = false;
        reached();
        await released;
      }
      return store.ack(user, channel, position, now, replacing);
    },
    list: store.list.bind(store),
    close: store.close.bind(store),
  };
  return gate;
}

it('a delayed ack of the old epoch, stored after the channel moved to a new epoch, does not replace the new position (Redis lost its tail)', async () => {
  const store = holdingFirstAckOf(await RedisAckStore.connect({ url: REDIS_URL, prefix }));
  hub = await startTestHub({
    broker: await RedisBroker.connect({ url: REDIS_URL, prefix }),
    presence: await RedisPresenceStore.connect({ url: REDIS_URL, prefix }),
    ackStore: store,
    positionCheckInterval: 50,
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
  });
  const token = await new SignJWT({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
  const tab = async (): Promise<WsTestClient> => {
    const ws = await WsTestClient.connect(hub!.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    clients.push(ws);
    await ws.request({ type: 'subscribe', channel: 'orders' });
    return ws;
  };
  const slow = await tab();
  const fast = await tab();
  for (let i = 1; i <= 5; i++) await hub.server.hub.publish('orders', i);
  await slow.waitForMessages(5);
  const old = slow.messages()[0].epoch as string;
  store.epoch = old;
  // Checked while `old` is the channel's epoch, then held before the store.
  const delayed = slow.request({ type: 'ack', channel: 'orders', epoch: old, offset: 5 });
  await store.held;

  // Redis loses messages 4 and 5 (a failover to a replica behind): the hub starts a new epoch.
  const admin = createClient({ url: REDIS_URL });
  await admin.connect();
  try {
    const base = `${prefix}{orders}`;
    const kept = (await admin.xRange(`${base}:log`, '-', '3-0')) ?? [];
    await admin.del(`${base}:log`);
    for (const entry of kept) if (entry !== null) await admin.xAdd(`${base}:log`, entry.id, entry.message);
    await admin.hSet(`${base}:meta`, 'top', '3');
    await expect.poll(async () => (await admin.hGet(`${base}:meta`, 'epoch')) !== old, { timeout: 5000, interval: 50 }).toBe(true);
  } finally {
    admin.destroy();
  }
  const next = await hub.server.hub.publish('orders', 'after the loss');
  expect(next.epoch).not.toBe(old);
  // Another tab of the same user acknowledges the new epoch's first message.
  expect(await fast.request({ type: 'ack', channel: 'orders', epoch: next.epoch, offset: 1 })).toMatchObject({
    epoch: next.epoch,
    offset: 1,
  });

  store.release();
  const answer = (await delayed) as { error?: { code: number } };
  expect(answer.error?.code).toBe(ErrorCode.AckWrongEpoch);
  const res = await fetch(`${hub.url}/api/acks?channel=orders`, { headers: { 'x-herald-key': API_KEY } });
  expect(((await res.json()) as { acks: unknown[] }).acks).toEqual([
    { user: 'alice', epoch: next.epoch, offset: 1, time: expect.any(Number) },
  ]);
  // The new epoch's acks still move it.
  expect(await fast.request({ type: 'ack', channel: 'orders', epoch: next.epoch, offset: 1 })).toMatchObject({ offset: 1 });
});
