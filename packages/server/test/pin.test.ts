import { ErrorCode, parseCursor } from '@herald/protocol';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { ManualClock, poll, startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * `GET /api/messages?since=now&lookback=ms` (the SDK's pin, issue 18): the end of every channel's log,
 * the hub's clock, and the messages stored within the lookback (offset, time, and the cursor just
 * before each), so a client places its subscribe() call on the hub's clock.
 */

describe('a pin: since=now&lookback', () => {
  let hub: TestHub | undefined;
  const clock = new ManualClock();
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('answers the end of each log, the hub clock, and the recent messages with the cursor before each', async () => {
    hub = await startTestHub({ clock });
    const old = await hub.server.hub.publish('a', 'old');
    clock.advance(10_000);
    const recent = [await hub.server.hub.publish('a', 'r1'), await hub.server.hub.publish('b', 'r2')];
    clock.advance(500);
    const answer = await poll(hub.url, 'channel=a&channel=b&channel=c&since=now&lookback=2000');
    expect(answer.status).toBe(200);
    expect(answer.body.messages).toEqual([]);
    expect(answer.body.now).toBe(clock.now());
    const ends = parseCursor(answer.body.cursor);
    expect(ends.ok && [...ends.value]).toEqual([
      ['a', { epoch: old.epoch, offset: 2 }],
      ['b', { epoch: recent[1]!.epoch, offset: 1 }],
      ['c', expect.objectContaining({ offset: 0 })],
    ]);
    expect(answer.body.recent).toEqual([
      { channel: 'a', offset: 2, time: clock.now() - 500, cursor: expect.any(String) },
      { channel: 'b', offset: 1, time: clock.now() - 500, cursor: expect.any(String) },
    ]);
    const before = parseCursor(answer.body.recent[0].cursor);
    expect(before.ok && before.value.get('a')).toEqual({ epoch: old.epoch, offset: 1 });
  });

  it('refuses a lookback without since=now, with wait, or out of range (1005)', async () => {
    hub = await startTestHub({ clock });
    for (const query of [
      'channel=a&lookback=100',
      'channel=a&since=now&lookback=100&wait=1',
      'channel=a&since=now&lookback=60001',
      'channel=a&since=now&lookback=-1',
      'channel=a&since=now&lookback=1.5',
    ]) {
      const answer = await poll(hub.url, query);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe(ErrorCode.InvalidField);
    }
  });

  it('looks back at most 2 s, with signed cursors, on a channel whose history the client may not read', async () => {
    const secret = 'pin-test-jwt-secret-0123456789abcdef';
    hub = await startTestHub({
      clock,
      security: {
        authenticator: new JwtAuthenticator({ secret }),
        apiKeys: ['pin-test-api-key-0123456789'],
        permissions: new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' } }),
      },
    });
    const token = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    await hub.server.hub.publish('room:1', 'three seconds ago');
    clock.advance(1000);
    await hub.server.hub.publish('room:1', 'two seconds ago');
    clock.advance(2000);
    const res = await fetch(`${hub.url}/api/messages?channel=room:1&since=now&lookback=60000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { recent: { offset: number; cursor: string }[]; cursor: string };
    expect(body.recent.map((m) => m.offset)).toEqual([2]);
    const before = parseCursor(body.recent[0]!.cursor);
    expect(before.ok && before.value.get('room:1')).toMatchObject({ offset: 1, mac: expect.any(String) });
  });
});
