import { RedisBroker, RedisPresenceStore, RedisTicketStore } from '@herald/redis';
import { describe, expect, it } from 'vitest';

/** Refused before any connection is tried: the address below is never dialled. */
const url = 'redis://127.0.0.1:1';
const MS = (name: string): RangeError => new RangeError(`${name} must be an integer of ms from 1 to 2147483647`);

describe('timer options of the Redis engine are bounded by what a Node.js timer can wait', () => {
  it('healthInterval, commandTimeout, connectTimeout: integers of ms from 1 to 2147483647', async () => {
    await expect(RedisBroker.connect({ url, healthInterval: 2 ** 31 })).rejects.toThrow(MS('healthInterval'));
    await expect(RedisBroker.connect({ url, healthInterval: 0 })).rejects.toThrow(MS('healthInterval'));
    await expect(RedisBroker.connect({ url, commandTimeout: 2 ** 31 })).rejects.toThrow(MS('commandTimeout'));
    await expect(RedisPresenceStore.connect({ url, connectTimeout: 2 ** 31 })).rejects.toThrow(MS('connectTimeout'));
    await expect(RedisTicketStore.connect({ url, commandTimeout: 0.5 })).rejects.toThrow(MS('commandTimeout'));
  });

  it('memberTtl (members are re-stamped every third of it): seconds from 1 to 2147483', async () => {
    const error = new RangeError('memberTtl must be a number of seconds from 1 to 2147483');
    for (const memberTtl of [2_147_484, 0.5, Number.NaN])
      await expect(RedisPresenceStore.connect({ url, memberTtl })).rejects.toThrow(error);
  });
});
