import { eventually, SseTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMercureHub, subscribe, subscribeUrl, token } from './mercure-helpers.js';

/** The subscriptions API and subscription events (`subscriptions: true`). */

let hub: TestHub;
const opened: { close(): Promise<unknown> }[] = [];
const track = <T extends { close(): Promise<unknown> }>(client: T): T => {
  opened.push(client);
  return client;
};
const SUBSCRIPTIONS = '/.well-known/mercure/subscriptions{/topic}{/subscriber}';

beforeAll(async () => {
  hub = await startMercureHub({ subscriptions: true });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await hub.close();
});

async function api(path: string, jwt?: string): Promise<{ status: number; body: any; type: string | null }> {
  const res = await fetch(`${hub.url}${path}`, { headers: jwt === undefined ? {} : { authorization: `Bearer ${jwt}` } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: res.status === 200 ? JSON.parse(text) : text };
}

describe('subscriptions', () => {
  it('publishes private subscription events and lists active subscriptions as JSON-LD', async () => {
    const watcherJwt = await token({ subscribe: [SUBSCRIPTIONS] });
    const watcher = track(await subscribe(hub.url, [SUBSCRIPTIONS], { authorization: `Bearer ${watcherJwt}` }));
    // A subscriber not allowed the subscriptions topics sees no event (they are private).
    const outsider = track(await subscribe(hub.url, [SUBSCRIPTIONS], { authorization: `Bearer ${await token({ subscribe: [] })}` }));
    const topic = 'https://example.com/books/{id}';
    const subscriber = track(
      await subscribe(hub.url, [topic], { authorization: `Bearer ${await token({ subscribe: [], payload: { user: 'ann' } })}` }),
    );
    const about = (active: boolean) => (items: { data: string }[]) =>
      items.some((e) => JSON.parse(e.data).topic === topic && JSON.parse(e.data).active === active);
    const event = JSON.parse(
      (await watcher.events.until(about(true), 'the subscription created')).find((e) => JSON.parse(e.data).topic === topic)!.data,
    );
    expect(event).toMatchObject({
      '@context': 'https://mercure.rocks/',
      type: 'Subscription',
      topic,
      active: true,
      payload: { user: 'ann' },
    });
    expect(event.subscriber).toMatch(/^urn:uuid:/);
    expect(event.id).toBe(`/.well-known/mercure/subscriptions/${encodeURIComponent(topic)}/${encodeURIComponent(event.subscriber)}`);

    const all = await eventually(
      () => api('/.well-known/mercure/subscriptions', watcherJwt),
      (r) => r.status === 200 && r.body.subscriptions.some((s: any) => s.topic === topic),
      'the subscription listed',
    );
    expect(all.type).toBe('application/ld+json');
    expect(all.body).toMatchObject({
      '@context': 'https://mercure.rocks/',
      id: '/.well-known/mercure/subscriptions',
      type: 'Subscriptions',
    });
    expect(all.body.lastEventID).toMatch(/^#c1\./);
    const byTopic = await api(`/.well-known/mercure/subscriptions/${encodeURIComponent(topic)}`, watcherJwt);
    expect(byTopic.body.subscriptions).toEqual([
      { id: event.id, type: 'Subscription', topic, subscriber: event.subscriber, active: true, payload: { user: 'ann' } },
    ]);
    const one = await api(event.id, watcherJwt);
    expect(one.body).toMatchObject({ id: event.id, active: true, lastEventID: all.body.lastEventID });
    expect((await api(`/.well-known/mercure/subscriptions/${encodeURIComponent(topic)}/urn%3Auuid%3Anobody`, watcherJwt)).status).toBe(404);
    expect((await api('/.well-known/mercure/subscriptions')).status).toBe(401);
    expect((await api('/.well-known/mercure/subscriptions', await token({ subscribe: ['https://example.com/{x}'] }))).status).toBe(403);

    await subscriber.close();
    const ended = (await watcher.events.until(about(false), 'the subscription ended'))
      .map((e) => JSON.parse(e.data))
      .find((e) => e.active === false);
    expect(ended).toMatchObject({ id: event.id, topic, active: false });
    await eventually(
      () => api('/.well-known/mercure/subscriptions', watcherJwt),
      (r) => !r.body.subscriptions.some((s: any) => s.topic === topic),
      'the subscription gone',
    );
    // Subscription events are private: a subscriber not allowed their topics sees none.
    expect(outsider.events.items).toEqual([]);
  });

  it('a closed stream is not a subscription (401 before any stream)', async () => {
    const refused = track(await SseTestClient.connect(subscribeUrl(hub.url, ['a'])));
    expect(refused.response.statusCode).toBe(401);
  });
});
