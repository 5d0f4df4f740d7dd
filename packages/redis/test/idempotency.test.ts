import { randomBytes } from 'node:crypto';
import { createClient } from '@herald/client/node';
import type { TestHub } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRedisHub } from './fault-helpers.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const hubs: TestHub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

async function node(): Promise<TestHub> {
  const hub = await startRedisHub({ url: REDIS_URL, prefix });
  hubs.push(hub);
  return hub;
}

describe('idempotent publish across nodes', () => {
  it('a publish retried on another node with the same key is stored once', async () => {
    const [a, b] = [await node(), await node()];
    const publish = (url: string) =>
      fetch(`${url}/api/publish`, {
        method: 'POST',
        headers: { 'Idempotency-Key': 'payment-42' },
        body: JSON.stringify({ channel: 'payments', data: { id: 42 } }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const first = await publish(a.url);
    expect(await publish(b.url)).toEqual({ ...first, duplicate: true });
    const read = (await (await fetch(`${b.url}/api/messages?channel=payments`)).json()) as { messages: unknown[] };
    expect(read.messages).toHaveLength(1);
  });

  it('the SDK passes the key on every transport', async () => {
    const hub = await node();
    for (const transport of ['websocket', 'sse', 'polling'] as const) {
      const client = createClient({ url: hub.url, transports: [transport] });
      try {
        const first = await client.publish('sdk', transport, { idempotencyKey: `key-${transport}` });
        expect(first.duplicate).toBeUndefined();
        expect(await client.publish('sdk', transport, { idempotencyKey: `key-${transport}` })).toEqual({ ...first, duplicate: true });
      } finally {
        client.close();
      }
    }
  });
});
