import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { eventually, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, post, publisher, startMercureHub, subscribe } from './mercure-helpers.js';

/** A stream's limits: its JWT's expiry, a slow consumer, the admin disconnect by the JWT's `sub`. */

let hub: TestHub;

beforeAll(async () => {
  hub = await startMercureHub({ anonymous: true }, { sendQueueBytes: 64 * 1024 });
});
afterAll(async () => {
  await hub.close();
});

describe('stream limits', () => {
  it('a closing hub ends its streams (subscription events on)', async () => {
    const closing = await startMercureHub({ anonymous: true, subscriptions: true });
    const sub = await subscribe(closing.url, ['urn:limits:shutdown', 'urn:limits:{x}']);
    expect(closing.server.stats().mercure).toBe(1);
    await closing.close();
    await sub.ended;
  });

  it('ends a stream when its JWT expires', async () => {
    const jwt = await new SignJWT({ mercure: { subscribe: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + 1)
      .sign(new TextEncoder().encode(KEY));
    const sub = await subscribe(hub.url, ['urn:limits:exp'], { authorization: `Bearer ${jwt}` });
    expect(sub.response.statusCode).toBe(200);
    await sub.ended;
    expect(hub.server.stats().mercure).toBe(0);
  });

  it('cuts a subscriber that does not read, and serves the others', async () => {
    const topic = 'urn:limits:slow';
    const socket = connect(hub.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /.well-known/mercure?topic=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.pause();
    const reader = await subscribe(hub.url, [topic]);
    await eventually(() => hub.server.stats().mercure === 2, 'both streams open');
    const big = 'x'.repeat(32 * 1024);
    const jwt = await publisher();
    for (let i = 0; i < 200 && hub.server.stats().mercure === 2; i++)
      await post(
        hub.url,
        [
          ['topic', topic],
          ['data', big],
        ],
        jwt,
      );
    await eventually(() => hub.server.stats().mercure === 1, 'the slow stream cut');
    socket.resume();
    await closed;
    await reader.events.count(1);
    await reader.close();
  });

  it('the admin disconnect ends the streams of the JWT subject', async () => {
    const jwt = await new SignJWT({ mercure: { subscribe: [] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(KEY));
    const sub = await subscribe(hub.url, ['urn:limits:user'], { authorization: `Bearer ${jwt}` });
    expect(hub.server.stats().mercure).toBe(1);
    expect(hub.server.disconnect({ user: 'ann' })).toBe(1);
    await sub.ended;
  });
});
