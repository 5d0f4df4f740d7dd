import { NatsAckStore } from '@herald/nats';
import { afterAll, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

it('review: an ack at the stored position counts as acknowledged again (time, ttl, order), as on the other engines', async () => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const store = await NatsAckStore.connect({ url: NATS_URL, prefix, ttl: 60 });
  try {
    const t0 = Date.now();
    await store.ack('alice', 'room', { epoch: 'e', offset: 5 }, t0);
    await store.ack('bob', 'room', { epoch: 'e', offset: 5 }, t0 + 10_000);
    // Alice acknowledges again (nothing new): still 5, acknowledged now.
    expect(await store.ack('alice', 'room', { epoch: 'e', offset: 5 }, t0 + 50_000)).toEqual({
      position: { epoch: 'e', offset: 5 },
      moved: false,
    });
    expect(await store.list('room', { limit: 10 }, t0 + 50_001)).toEqual([
      { user: 'alice', channel: 'room', epoch: 'e', offset: 5, time: t0 + 50_000 },
      { user: 'bob', channel: 'room', epoch: 'e', offset: 5, time: t0 + 10_000 },
    ]);
    // Within ttl of her last ack: kept.
    expect((await store.list('room', { user: 'alice', limit: 10 }, t0 + 70_000)).map((r) => r.offset)).toEqual([5]);
  } finally {
    await store.close();
  }
});
