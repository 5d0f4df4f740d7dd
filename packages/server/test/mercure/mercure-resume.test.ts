import { SseTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe, subscribeUrl } from './mercure-helpers.js';

/** Reconnection and state reconciliation: Last-Event-ID, lastEventID, earliest, unknown ids and gaps. */

let hub: TestHub;
let small: TestHub;
const opened: { close(): Promise<unknown> }[] = [];
const track = <T extends { close(): Promise<unknown> }>(client: T): T => {
  opened.push(client);
  return client;
};
const datas = (client: SseTestClient): string[] => client.events.items.filter((e) => e.event === 'message').map((e) => e.data);

async function publishAll(url: string, topic: string, datas: string[], extra: [string, string][] = []): Promise<string[]> {
  const jwt = await publisher();
  const ids: string[] = [];
  for (const data of datas) ids.push((await post(url, [['topic', topic], ['data', data], ...extra], jwt)).body);
  return ids;
}

beforeAll(async () => {
  hub = await startMercureHub({ anonymous: true });
  small = await startMercureHub({ anonymous: true }, { historySize: 3 });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all([hub.close(), small.close()]);
});

describe('resume', () => {
  for (const how of ['header', 'query'] as const) {
    it(`resumes exactly from the last event id (${how === 'header' ? 'Last-Event-ID' : 'lastEventID'}), exact and template topics`, async () => {
      const topics = [`https://example.com/r/${how}`, `https://example.com/t-${how}/{id}`];
      const first = track(await subscribe(hub.url, topics));
      await publishAll(hub.url, topics[0]!, ['1', '2']);
      await publishAll(hub.url, `https://example.com/t-${how}/9`, ['3']);
      await first.events.count(3);
      const last = first.lastEventId;
      await first.close();
      await publishAll(hub.url, topics[0]!, ['4']);
      await publishAll(hub.url, `https://example.com/t-${how}/9`, ['5']);
      const again = track(
        how === 'header'
          ? await subscribe(hub.url, topics, { 'last-event-id': last })
          : await subscribe(hub.url, topics, {}, { lastEventID: last }),
      );
      expect(again.response.headers['last-event-id']).toBe(last);
      await again.events.count(2);
      await publishAll(hub.url, topics[0]!, ['6']);
      await again.events.count(3);
      expect(datas(again)).toEqual(['4', '5', '6']);
    });
  }

  it('the header wins over the query parameter', async () => {
    const topic = 'urn:resume:precedence';
    const first = track(await subscribe(hub.url, [topic]));
    await publishAll(hub.url, topic, ['a', 'b']);
    await first.events.count(2);
    const afterA = first.events.items[0]!.id!;
    const again = track(await subscribe(hub.url, [topic], { 'last-event-id': afterA }, { lastEventID: 'earliest' }));
    await again.events.count(1);
    expect(datas(again)).toEqual(['b']);
  });

  it('takes last_event_id (the later drafts’ name) and treats an empty id as none', async () => {
    const topic = 'urn:resume:alias';
    await publishAll(hub.url, topic, ['before']);
    const alias = track(await subscribe(hub.url, [topic], {}, { last_event_id: 'earliest' }));
    expect(alias.response.headers['last-event-id']).toBe('earliest');
    await alias.events.count(1);
    const empty = track(await subscribe(hub.url, [topic], {}, { lastEventID: '' }));
    expect(empty.response.headers['last-event-id']).toBeUndefined();
    await publishAll(hub.url, topic, ['after']);
    await empty.events.count(1);
    expect(datas(empty)).toEqual(['after']);
  });

  it('earliest sends every retained update and says earliest', async () => {
    const topic = 'urn:resume:earliest';
    await publishAll(hub.url, topic, ['x', 'y', 'z']);
    const sub = track(await subscribe(hub.url, [topic], {}, { lastEventID: 'earliest' }));
    expect(sub.response.headers['last-event-id']).toBe('earliest');
    await sub.events.count(3);
    expect(datas(sub)).toEqual(['x', 'y', 'z']);
  });

  it('resumes from a publisher-given id looked up in the retained updates', async () => {
    const topic = 'urn:resume:given';
    await publishAll(hub.url, topic, ['p1'], [['id', 'urn:uuid:given-1']]);
    await publishAll(hub.url, topic, ['p2'], [['id', 'urn:uuid:given-2']]);
    const exact = track(await subscribe(hub.url, [topic], {}, { lastEventID: 'urn:uuid:given-1' }));
    const template = track(await subscribe(hub.url, ['urn:resume:{x}'], {}, { lastEventID: 'urn:uuid:given-1' }));
    await exact.events.count(1);
    await template.events.count(1);
    expect(datas(exact)).toEqual(['p2']);
    expect(datas(template)).toEqual(['p2']);
  });

  it('an id it cannot resume from starts from now and answers earliest ("an event that doesn\'t exist")', async () => {
    const topic = 'urn:resume:unknown';
    await publishAll(hub.url, topic, ['old']);
    const sub = track(await subscribe(hub.url, [topic], {}, { lastEventID: 'urn:uuid:never-published' }));
    expect(sub.response.headers['last-event-id']).toBe('earliest');
    await publishAll(hub.url, topic, ['new']);
    await sub.events.count(1);
    expect(datas(sub)).toEqual(['new']);
  });

  it('a resume from outside the retention window sends a gap event before what is retained', async () => {
    const topic = 'urn:resume:gap';
    const first = track(await subscribe(small.url, [topic]));
    await publishAll(small.url, topic, ['1']);
    await first.events.count(1);
    const last = first.lastEventId;
    await first.close();
    await publishAll(small.url, topic, ['2', '3', '4', '5', '6']);
    const again = track(await SseTestClient.connect(subscribeUrl(small.url, [topic]), { 'last-event-id': last }));
    expect(again.response.headers['last-event-id']).not.toBe(last);
    await again.events.until((items) => items.filter((e) => e.event === 'message').length === 3, 'the retained updates');
    // Updates come from the updates channel (no topic in its gap); the topic's channel may gap too.
    expect(again.events.items[0]!.event).toBe('gap');
    expect(JSON.parse(again.events.items[0]!.data)).toMatchObject({ type: 'gap', reason: 'window' });
    expect(datas(again)).toEqual(['4', '5', '6']);
  });
});
