import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe } from './mercure-helpers.js';

// `~mercure` shares the default retention with every topic: a publisher's id it has dropped while a
// quiet topic's channel still holds later updates must not resume "from now" silently.

let hub: TestHub | undefined;
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  hub = undefined;
});

describe('a resume from an id ~mercure no longer holds', () => {
  it('opens with a gap event (reason unknown) once ~mercure has dropped updates', async () => {
    hub = await startMercureHub({ anonymous: true }, { historySize: 5 });
    const jwt = await publisher();
    const quiet = 'https://example.com/quiet';
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', quiet],
            ['data', 'a1'],
            ['id', 'a1'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    for (let i = 0; i < 6; i++)
      expect(
        (
          await post(
            hub.url,
            [
              ['topic', 'https://example.com/busy'],
              ['data', `b${i}`],
            ],
            jwt,
          )
        ).status,
      ).toBe(200);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', quiet],
            ['data', 'a2'],
            ['id', 'a2'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    const resumed = await subscribe(hub.url, [quiet], { 'last-event-id': 'a1' });
    opened.push(resumed);
    expect(resumed.response.headers['last-event-id']).toBe('earliest');
    await resumed.events.count(1);
    expect(resumed.events.items[0]).toMatchObject({ event: 'gap', data: '{"type":"gap","reason":"unknown"}' });
  });

  it('an unknown id on a hub whose ~mercure dropped nothing opens without a gap event', async () => {
    hub = await startMercureHub({ anonymous: true });
    const jwt = await publisher();
    const topic = 'https://example.com/t';
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', topic],
            ['data', 'old'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    const resumed = await subscribe(hub.url, [topic], { 'last-event-id': 'never-published' });
    opened.push(resumed);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', topic],
            ['data', 'new'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    await resumed.events.count(1);
    expect(resumed.events.items.map((e) => [e.event, e.data])).toEqual([['message', 'new']]);
  });
});
