import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { post, publisher, startMercureHub, subscribe } from './mercure-helpers.js';

// Looking a publisher's id up reads the retained updates of ~mercure: only the ones whose text holds
// the id are decoded (an unknown id with 10,000 retained cost ~110 ms of CPU, decoding every one).

let hub: TestHub | undefined;
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  hub = undefined;
});

describe('a publisher id lookup', () => {
  it('decodes only the updates whose text holds the id, and still finds ids that JSON escapes', async () => {
    hub = await startMercureHub({ anonymous: true });
    const jwt = await publisher();
    const odd = 'urn:id:"quoted"/\\x';
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'urn:t'],
            ['data', 'first'],
            ['id', odd],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    for (let i = 0; i < 300; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          post(
            hub!.url,
            [
              ['topic', `urn:t:${i + j}`],
              ['data', 'x'],
            ],
            jwt,
          ),
        ),
      );
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'urn:t'],
            ['data', 'after'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    const parse = vi.spyOn(JSON, 'parse');
    const unknown = await subscribe(hub.url, ['urn:t'], { 'last-event-id': 'urn:id:unknown' });
    opened.push(unknown);
    expect(parse.mock.calls.length).toBeLessThan(50);
    parse.mockRestore();
    const resumed = await subscribe(hub.url, ['urn:t'], { 'last-event-id': odd });
    opened.push(resumed);
    expect(resumed.response.headers['last-event-id']).toBe(odd);
    await resumed.events.count(1);
    expect(resumed.events.items.map((e) => e.data)).toEqual(['after']);
  });
});
