import { eventually, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startMercureHub, subscribe, token } from './mercure-helpers.js';

let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('a subscriber JWT whose exp is further than a Node timer reaches', () => {
  it('keeps the stream open (no 1 ms timer overflow, no EventSource reconnect loop)', async () => {
    hub = await startMercureHub({}, { heartbeatInterval: 20 });
    const jwt = await token({ subscribe: ['*'] }, undefined, 30 * 86_400);
    const client = await subscribe(hub.url, ['urn:x'], { authorization: `Bearer ${jwt}` });
    let ended = false;
    void client.ended.then(() => (ended = true));
    // Three heartbeats (≥ 60 ms) after the stream opened: the overflowing timer fired after 1 ms.
    await eventually(() => ended || client.comments.length >= 3, 'three heartbeats or the end');
    expect(ended).toBe(false);
    expect(client.response.statusCode).toBe(200);
    await client.close();
  });
});
