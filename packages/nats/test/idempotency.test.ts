import { NatsBroker } from '@herald/nats';
import { ManualClock } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefix = testPrefix();
const open: NatsBroker[] = [];
afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
});
afterAll(() => deleteStreams(NATS_URL, [prefix]));

async function node(clock: ManualClock): Promise<NatsBroker> {
  const broker = await NatsBroker.connect({ url: NATS_URL, prefix, clock });
  open.push(broker);
  return broker;
}

describe('NatsBroker idempotency keys across nodes', () => {
  it('twenty concurrent retries of one publish on two nodes store it once; every retry answers its position; the key lives idempotencyTtl by the hub clock', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const [a, b] = [await node(clock), await node(clock)];
    const key = { idempotencyKey: 'order-42', idempotencyTtl: 60, fingerprint: 'fp' };
    await a.publish('orders', '"before"');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).publish('orders', '"paid"', key)));
    expect(results.filter((r) => !('duplicate' in r))).toHaveLength(1);
    expect(new Set(results.map((r) => `${r.epoch}/${r.offset}`))).toEqual(new Set([`${results[0]!.epoch}/2`]));
    expect((await b.read('orders')).messages.map((m) => JSON.parse(m.json).data)).toEqual(['before', 'paid']);
    clock.time += 59_999;
    expect(await b.publish('orders', '"paid"', key)).toMatchObject({ duplicate: true, offset: 2 });
    clock.time += 1;
    expect(await a.publish('orders', '"paid again"', key)).toMatchObject({ offset: 3 });
  });
});
