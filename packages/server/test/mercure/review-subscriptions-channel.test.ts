import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe, token } from './mercure-helpers.js';

// With `subscriptions: true` each stream is a presence member of `~mercure-subscriptions`, through a
// member of its own: what is published on that channel never reaches the stream.

const API_KEY = 'k'.repeat(32);
let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('the subscriptions presence channel', () => {
  it('delivers nothing to the streams listed there', async () => {
    hub = await startMercureHub({ subscriptions: true }, { security: { apiKeys: [API_KEY] } });
    const stream = await subscribe(hub.url, ['https://example.com/only-this'], {
      authorization: `Bearer ${await token({ subscribe: ['*'] })}`,
    });
    const res = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
      body: JSON.stringify({ channel: '~mercure-subscriptions', data: { event: 'message', data: 'INJECTED' } }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'https://example.com/only-this'],
            ['data', 'after'],
          ],
          await publisher(),
        )
      ).status,
    ).toBe(200);
    await stream.events.until((items) => items.some((e) => e.data === 'after'), 'the update after');
    expect(stream.events.items.map((e) => e.data)).toEqual(['after']);
    await stream.close();
  });
});
