import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';
import { RedisPresenceStore } from '@herald/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;

afterAll(async () => {
  await deleteKeys(REDIS_URL, [prefix]);
});

describe('Redis presence members with info', () => {
  it('reads members stored before members had info (the user as JSON) beside new ones, and an unreadable one as anonymous', async () => {
    const channel = 'room';
    const members = `${prefix}{${channel}}:members`;
    const alive = `${prefix}{${channel}}:alive`;
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    const store = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
    try {
      // What an earlier version of the store wrote: the user alone, as JSON.
      const until = String(Date.now() + 60_000);
      await raw.hSet(members, { old: '"alice"', anon: 'null', broken: '{not json' });
      await raw.zAdd(alive, [
        { score: Number(until), value: 'old' },
        { score: Number(until), value: 'anon' },
        { score: Number(until), value: 'broken' },
      ]);
      await store.add(channel, { client: 'new', user: 'bob', info: { seat: 3 } });
      const listed = await store.list(channel);
      expect(listed.sort((a, b) => a.client.localeCompare(b.client))).toEqual([
        { client: 'anon', user: null },
        { client: 'broken', user: null },
        { client: 'new', user: 'bob', info: { seat: 3 } },
        { client: 'old', user: 'alice' },
      ]);
      // A member without info is stored in the old form, so an older node still reads it.
      await store.add(channel, { client: 'plain', user: 'carol' });
      expect(await raw.hGet(members, 'plain')).toBe('"carol"');
      expect(JSON.parse((await raw.hGet(members, 'new'))!)).toEqual({ user: 'bob', info: { seat: 3 } });
    } finally {
      await store.close();
      raw.destroy();
    }
  });
});
