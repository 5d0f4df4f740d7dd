import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NatsPresenceStore } from '@herald/nats';
import { ManualClock } from '@herald/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('NATS presence counting sweeps (review 2)', () => {
  it('a sweep that finds nothing expired writes nothing', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const clock = new ManualClock(1_700_000_000_000);
    const holder = await NatsPresenceStore.connect({ url: NATS_URL, prefix, clock, memberTtl: 60 });
    // memberTtl 3: this store sweeps every second.
    const sweeper = await NatsPresenceStore.connect({ url: NATS_URL, prefix, clock, memberTtl: 3 });
    const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
    try {
      await holder.addCounting('room', { client: 'a1', user: 'alice' }, 'u:alice');
      const kv = await new Kvm(nc).open(`${prefix}_counts`);
      const key = Buffer.from('room').toString('base64url');
      const before = (await kv.get(key))?.revision;
      expect(before).toBeGreaterThan(0);
      sweeper.onExpired(() => undefined);
      // Proving that nothing is written takes time to pass: two sweeps (and the sweeper's re-stamps).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await kv.get(key))?.revision).toBe(before);
    } finally {
      await nc.close();
      await sweeper.close();
      await holder.close();
    }
  });
});
