import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe, token } from './mercure-helpers.js';

// Only the hub publishes in /.well-known/mercure: a topic whose text reaches it before dot segments
// are resolved (a selector matches the text as it is) is refused too, so no subscription event is forged.

let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('topics in the hub’s namespace', () => {
  it('are refused with dot segments, encoded dots and letters, in any position', async () => {
    hub = await startMercureHub({ subscriptions: true });
    const template = '/.well-known/mercure/subscriptions{/topic}{/subscriber}';
    const watcher = await subscribe(hub.url, [template], { authorization: `Bearer ${await token({ subscribe: [template] })}` });
    const jwt = await publisher();
    for (const topic of [
      '/.well-known/mercure/subscriptions/x/y',
      '/.well-known/mercure/subscriptions/../../x',
      '/.well-known/mercure/subscriptions/%2e%2e/%2e%2e/x',
      '/.well-known/%6Dercure/subscriptions/./x/y',
      'https://example.com/a/../.well-known/mercure',
      'urn:x:/.well-known/mercure?x',
    ]) {
      const answer = await post(
        hub.url,
        [
          ['topic', topic],
          ['data', 'forged'],
          ['private', 'on'],
        ],
        jwt,
      );
      expect([topic, answer.status]).toEqual([topic, 400]);
    }
    for (const topic of ['/.well-known/mercure-other', 'https://example.com/.well-known/mercurex/1']) {
      expect(
        (
          await post(
            hub.url,
            [
              ['topic', topic],
              ['data', 'ok'],
            ],
            jwt,
          )
        ).status,
      ).toBe(200);
    }
    // The watcher's own subscription events are all it gets.
    const other = await subscribe(hub.url, ['urn:probe'], { authorization: `Bearer ${await token({ subscribe: ['*'] })}` });
    await watcher.events.until((items) => items.some((e) => e.data.includes('urn:probe')), 'the probe’s subscription event');
    expect(watcher.events.items.filter((e) => e.data.includes('forged'))).toEqual([]);
    await other.close();
    await watcher.close();
  });

  it('an exact subscriber of a topic there gets nothing Herald’s API publishes on its channel', async () => {
    hub = await startMercureHub({ subscriptions: true });
    const topic = '/.well-known/mercure/subscriptions/x/y';
    const exact = await subscribe(hub.url, [topic, 'urn:after'], { authorization: `Bearer ${await token({ subscribe: ['*'] })}` });
    const res = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: topic, data: { type: 'Subscription', active: true, subscriber: 'urn:uuid:fake' } }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'urn:after'],
            ['data', 'after'],
          ],
          await publisher(),
        )
      ).status,
    ).toBe(200);
    await exact.events.until((items) => items.some((e) => e.data === 'after'), 'the update after');
    expect(exact.events.items.map((e) => e.data)).toEqual(['after']);
    await exact.close();
  });
});
