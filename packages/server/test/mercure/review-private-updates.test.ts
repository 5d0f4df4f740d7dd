import { eventually, SseTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe, token } from './mercure-helpers.js';

// A private update is stored on `~mercure` only: Herald and Pusher clients of its topics' channels
// (which follow their own rules, not Mercure's JWTs) never see it.

let hub: TestHub | undefined;
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  hub = undefined;
});

const datas = (client: SseTestClient): string[] => client.events.items.filter((e) => e.event === 'message').map((e) => e.data);

describe('private Mercure updates', () => {
  it('never reach Herald clients of the topic’s channel (SSE, history) on an open hub', async () => {
    hub = await startMercureHub();
    const topic = 'https://example.com/users/alice';
    const herald = await SseTestClient.connect(`${hub.url}/events?channel=${encodeURIComponent(topic)}`);
    opened.push(herald);
    await eventually(() => herald.readyEvent !== undefined, 'the Herald SSE ready event');
    const jwt = await publisher();
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', topic],
            ['data', 'SECRET'],
            ['private', 'on'],
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
            ['topic', topic],
            ['data', 'public'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    await herald.waitForMessages(1);
    expect(herald.messages().map((m: { data: { data: unknown } }) => m.data.data)).toEqual(['public']);
    const history = await (await fetch(`${hub.url}/api/history?channel=${encodeURIComponent(topic)}`)).text();
    expect(history).toContain('public');
    expect(history).not.toContain('SECRET');
  });

  it('still reach allowed Mercure subscribers, and a resume from a private update’s id is exact on its topic’s channel', async () => {
    hub = await startMercureHub();
    const topic = 'urn:private:resume';
    const jwt = await token({ subscribe: ['urn:private:{x}'] });
    const auth = { authorization: `Bearer ${jwt}` };
    const live = await subscribe(hub.url, [topic], auth);
    opened.push(live);
    const id = (
      await post(
        hub.url,
        [
          ['topic', topic],
          ['data', 'secret'],
          ['private', 'on'],
        ],
        await publisher(),
      )
    ).body;
    await live.events.count(1);
    expect(datas(live)).toEqual(['secret']);
    expect(live.events.items[0]!.id).toBe(id);
    // A Herald API message on the topic's channel after the private update.
    const res = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: topic, data: 'from herald' }),
    });
    expect(res.status).toBe(200);
    await live.events.count(2);
    const resumed = await subscribe(hub.url, [topic], { ...auth, 'last-event-id': id });
    opened.push(resumed);
    await resumed.events.count(1);
    expect(resumed.response.headers['last-event-id']).toBe(id);
    expect(datas(resumed)).toEqual(['"from herald"']);
  });
});
