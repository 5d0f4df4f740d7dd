import { createHeraldServer, Hub, MemoryBroker, MemoryPresenceStore, type HeraldServerOptions } from '@herald/server';
import { describe, expect, it } from 'vitest';

/**
 * Node runs a timer asked to wait more than 2³¹ − 1 ms after 1 ms (with only a warning), so a
 * `pingInterval` of a month would ping every millisecond: every option that becomes a timer is
 * refused outside what a timer can wait, with one RangeError message per unit.
 */

const MAX = 2_147_483_647;

/** Creates a server and closes it at once (it never listens). */
async function accepted(options: HeraldServerOptions): Promise<void> {
  const server = createHeraldServer(options);
  await server.close();
}

describe('timer options of createHeraldServer', () => {
  it('headersTimeout: an integer of ms from 1 to 30000 (the request timeout: Node refuses more)', async () => {
    for (const value of [30_001, MAX + 1, 0, 1.5])
      expect(() => createHeraldServer({ headersTimeout: value })).toThrow(
        new RangeError('headersTimeout must be an integer of ms from 1 to 30000'),
      );
    await accepted({ headersTimeout: 30_000 });
  });

  it.each(['pingInterval', 'heartbeatInterval', 'sseRetry'] as const)('%s: an integer of ms from 1 to 2147483647', async (name) => {
    const error = new RangeError(`${name} must be an integer of ms from 1 to ${MAX}`);
    for (const value of [MAX + 1, 2 ** 40, 0, -1, 1.5, Number.NaN, Infinity])
      expect(() => createHeraldServer({ [name]: value }), String(value)).toThrow(error);
    await accepted({ [name]: MAX });
    await accepted({ [name]: 1 });
  });

  it('security.authTimeout: an integer of ms from 1 to 2147483647', async () => {
    for (const authTimeout of [MAX + 1, 0, 2.5]) {
      expect(() => createHeraldServer({ security: { authTimeout } })).toThrow(
        new RangeError(`authTimeout must be an integer of ms from 1 to ${MAX}`),
      );
    }
    await accepted({ security: { authTimeout: MAX } });
  });

  it('positionCheckInterval: an integer of ms from 0 (never) to 2147483647', async () => {
    const error = new RangeError(`positionCheckInterval must be an integer of ms from 0 to ${MAX}`);
    for (const value of [MAX + 1, -1, 0.5]) expect(() => createHeraldServer({ positionCheckInterval: value })).toThrow(error);
    expect(() => new Hub({ broker: new MemoryBroker(), presence: new MemoryPresenceStore(), positionCheckInterval: MAX + 1 })).toThrow(
      error,
    );
    await accepted({ positionCheckInterval: 0 });
    await accepted({ positionCheckInterval: MAX });
  });

  it('maxWait (seconds, fractions allowed): from 0.001 to 2147483', async () => {
    const error = new RangeError('maxWait must be a number of seconds from 0.001 to 2147483');
    for (const value of [2_147_484, 0, 0.0001, Infinity])
      expect(() => createHeraldServer({ maxWait: value }), String(value)).toThrow(error);
    await accepted({ maxWait: 2_147_483 });
    await accepted({ maxWait: 0.5 });
  });

  it('pollPresenceGrace (seconds, fractions allowed): 0 (off) or from 1 to 2147483', async () => {
    const error = new RangeError('pollPresenceGrace must be a number of seconds from 1 to 2147483');
    for (const value of [2_147_484, 0.5, -1, Infinity, NaN])
      expect(() => createHeraldServer({ pollPresenceGrace: value }), String(value)).toThrow(error);
    await accepted({ pollPresenceGrace: 0 });
    await accepted({ pollPresenceGrace: 1.5 });
    await accepted({ pollPresenceGrace: 2_147_483 });
  });
});

describe('MemoryBroker sweepInterval (seconds, fractions allowed)', () => {
  it('from 0.001 to 2147483', async () => {
    const error = new RangeError('sweepInterval must be a number of seconds from 0.001 to 2147483');
    for (const value of [2_147_484, 0, -1, Number.NaN])
      expect(() => new MemoryBroker({ sweepInterval: value }), String(value)).toThrow(error);
    for (const sweepInterval of [2_147_483, 0.5]) await new MemoryBroker({ sweepInterval }).close();
  });
});
