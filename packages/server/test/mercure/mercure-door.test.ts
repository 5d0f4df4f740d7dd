import { publishHttp, SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe, subscribeUrl, token } from './mercure-helpers.js';

/** Subscribe, publish and their mapping onto Herald channels, on one hub with anonymous subscribers allowed. */

let hub: TestHub;
const opened: { close(): Promise<unknown> }[] = [];
const track = <T extends { close(): Promise<unknown> }>(client: T): T => {
  opened.push(client);
  return client;
};

beforeAll(async () => {
  hub = await startMercureHub({ anonymous: true });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await hub.close();
});

describe('subscribe and publish', () => {
  it('delivers a posted update with its id, and answers the id as text', async () => {
    const topic = 'https://example.com/books/1';
    const sub = track(await subscribe(hub.url, [topic]));
    expect(sub.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sub.response.headers.link).toBe('</.well-known/mercure>; rel="mercure"');
    const answer = await post(
      hub.url,
      [
        ['topic', topic],
        ['data', '{"title":"Dune"}'],
      ],
      await publisher(),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(answer.headers.get('link')).toBe('</.well-known/mercure>; rel="mercure"');
    const [event] = await sub.events.count(1);
    // The POST's id (no publisher id) is the event's id: `#` and a Herald cursor of its position.
    expect(answer.body).toMatch(/^#c1\./);
    expect(event).toEqual({ event: 'message', data: '{"title":"Dune"}', id: answer.body });
  });

  it('sends type as event, retry, and multi-line data as one data line each', async () => {
    const topic = 'urn:example:lines';
    const sub = track(await subscribe(hub.url, [topic]));
    const answer = await post(
      hub.url,
      [
        ['topic', topic],
        ['data', 'one\ntwo\r\nthree'],
        ['type', 'book-updated'],
        ['retry', '1500'],
        ['id', 'urn:uuid:fixed-1'],
      ],
      await publisher(),
    );
    expect(answer.body).toBe('urn:uuid:fixed-1');
    const [event] = await sub.events.count(1);
    expect(event).toMatchObject({ event: 'book-updated', data: 'one\ntwo\nthree' });
    expect(sub.retry).toBe(1500);
  });

  it('matches URI templates and *, and delivers a multi-topic update once per subscriber', async () => {
    const exact = track(await subscribe(hub.url, ['https://example.com/a/1', 'https://example.com/b/1']));
    const template = track(await subscribe(hub.url, ['https://example.com/a/{id}']));
    const mixed = track(await subscribe(hub.url, ['https://example.com/b/1', 'https://example.com/{kind}/{id}']));
    const any = track(await subscribe(hub.url, ['*']));
    const other = track(await subscribe(hub.url, ['https://example.com/c/{id}']));
    const jwt = await publisher();
    await post(
      hub.url,
      [
        ['topic', 'https://example.com/a/1'],
        ['topic', 'https://example.com/b/1'],
        ['data', 'both'],
      ],
      jwt,
    );
    await post(
      hub.url,
      [
        ['topic', 'https://example.com/c/9'],
        ['data', 'c'],
      ],
      jwt,
    );
    await post(
      hub.url,
      [
        ['topic', 'https://example.com/a/2'],
        ['data', 'a2'],
      ],
      jwt,
    );
    await any.events.count(3);
    await exact.events.count(1);
    await template.events.count(2);
    await mixed.events.count(3);
    await other.events.count(1);
    expect(exact.events.items.map((e) => e.data)).toEqual(['both']);
    expect(template.events.items.map((e) => e.data)).toEqual(['both', 'a2']);
    expect(mixed.events.items.map((e) => e.data)).toEqual(['both', 'c', 'a2']);
    expect(any.events.items.map((e) => e.data)).toEqual(['both', 'c', 'a2']);
    expect(other.events.items.map((e) => e.data)).toEqual(['c']);
  });

  it('a Herald API publish reaches an exact Mercure subscriber as {event, data}', async () => {
    const sub = track(await subscribe(hub.url, ['news:sports']));
    expect((await publishHttp(hub.url, 'news:sports', { event: 'goal', data: { score: [1, 0] } })).status).toBe(200);
    expect((await publishHttp(hub.url, 'news:sports', { plain: true })).status).toBe(200);
    const events = await sub.events.count(2);
    expect(events[0]).toMatchObject({ event: 'goal', data: '{"score":[1,0]}' });
    expect(events[1]).toMatchObject({ event: 'message', data: '{"plain":true}' });
  });

  it('a Mercure POST reaches a Herald WebSocket client of the mapped channel as {event, data} with its offset', async () => {
    const ws = track(await WsTestClient.connect(hub.wsUrl));
    const channel = 'https://example.com/books/1~3Fx=1';
    expect((await ws.request({ type: 'subscribe', channel })).error).toBeUndefined();
    await post(
      hub.url,
      [
        ['topic', 'https://example.com/books/1?x=1'],
        ['data', '{"a":1}'],
        ['type', 'changed'],
      ],
      await publisher(),
    );
    await post(
      hub.url,
      [
        ['topic', 'https://example.com/books/1?x=1'],
        ['data', 'not json'],
      ],
      await publisher(),
    );
    const [first, second] = await ws.waitForMessages(2, channel);
    expect(first).toMatchObject({ channel, offset: expect.any(Number), data: { event: 'changed', data: { a: 1 } } });
    expect(first.data.mercure).toEqual({ topics: ['https://example.com/books/1?x=1'] });
    expect(second).toMatchObject({ offset: (first.offset as number) + 1, data: { event: 'message', data: 'not json' } });
  });
});

describe('authorization', () => {
  const topic = 'https://example.com/users/42/inbox';

  it('sends private updates only to subscribers whose mercure.subscribe matches one of their topics', async () => {
    const anonymous = track(await subscribe(hub.url, [topic]));
    const allowed = track(
      await subscribe(hub.url, [topic], { authorization: `Bearer ${await token({ subscribe: ['https://example.com/users/42/{x}'] })}` }),
    );
    const elsewhere = track(
      await subscribe(hub.url, [topic], { authorization: `Bearer ${await token({ subscribe: ['https://example.com/users/7/{x}'] })}` }),
    );
    const viaAlternate = track(
      await subscribe(hub.url, ['https://example.com/users/{id}/inbox'], {
        cookie: `mercureAuthorization=${await token({ subscribe: ['https://example.com/grants/42{?topic}'] })}`,
      }),
    );
    const jwt = await publisher();
    await post(
      hub.url,
      [
        ['topic', topic],
        ['topic', `https://example.com/grants/42?topic=${encodeURIComponent(topic)}`],
        ['data', 'secret'],
        ['private', 'on'],
      ],
      jwt,
    );
    await post(
      hub.url,
      [
        ['topic', topic],
        ['data', 'public'],
      ],
      jwt,
    );
    await allowed.events.count(2);
    await viaAlternate.events.count(2);
    await anonymous.events.count(1);
    await elsewhere.events.count(1);
    expect(allowed.events.items.map((e) => e.data)).toEqual(['secret', 'public']);
    expect(viaAlternate.events.items.map((e) => e.data)).toEqual(['secret', 'public']);
    expect(anonymous.events.items.map((e) => e.data)).toEqual(['public']);
    expect(elsewhere.events.items.map((e) => e.data)).toEqual(['public']);
  });

  it('takes the subscriber JWT from the authorization query parameter, marking the answer private', async () => {
    const jwt = await token({ subscribe: ['*'] });
    const sub = track(await subscribe(hub.url, [topic], {}, { authorization: jwt }));
    expect(sub.response.headers['cache-control']).toContain('private');
    await post(
      hub.url,
      [
        ['topic', topic],
        ['data', 'p'],
        ['private', ''],
      ],
      await publisher(),
    );
    expect((await sub.events.count(1))[0]!.data).toBe('p');
  });

  it('reads the __Secure-mercure_access_token cookie when mercureAuthorization is absent', async () => {
    const sub = track(
      await subscribe(hub.url, [topic], { cookie: `__Secure-mercure_access_token=${await token({ subscribe: [topic] })}` }),
    );
    await post(
      hub.url,
      [
        ['topic', topic],
        ['data', 'cookie'],
        ['private', 'on'],
      ],
      await publisher(),
    );
    expect((await sub.events.count(1))[0]!.data).toBe('cookie');
  });

  it('answers bad requests with exact statuses', async () => {
    const jwt = await publisher();
    expect((await post(hub.url, [['data', 'x']], jwt)).status).toBe(400);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'a'],
            ['id', '#1'],
          ],
          jwt,
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'a'],
            ['retry', 'soon'],
          ],
          jwt,
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'a'],
            ['type', 'a\nb'],
          ],
          jwt,
        )
      ).status,
    ).toBe(400);
    expect((await post(hub.url, [['topic', 'x'.repeat(300)]], jwt)).status).toBe(400);
    // The hub's own namespace (subscription events) and the wildcard cannot be published to.
    for (const reserved of [
      '*',
      '/.well-known/mercure/subscriptions/a/b',
      'https://evil.example/.well-known/%6Dercure/x',
      '/x/../.well-known/mercure',
    ])
      expect((await post(hub.url, [['topic', reserved]], jwt)).status).toBe(400);
    expect((await post(hub.url, [['topic', '/.well-known/mercurey']], jwt)).status).toBe(200);
    const json = await fetch(`${hub.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
      body: '{}',
    });
    expect(json.status).toBe(400);
    const none = await post(hub.url, [['topic', 'a']], undefined);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await post(hub.url, [['topic', 'a']], 'not.a.jwt')).status).toBe(401);
    expect((await post(hub.url, [['topic', 'a']], await token({ publish: ['*'] }, 'another-key-0123456789-0123456789'))).status).toBe(401);
    expect((await post(hub.url, [['topic', 'a']], await token({ publish: ['*'] }, undefined, -10))).status).toBe(401);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'a'],
            ['topic', 'b'],
          ],
          await token({ publish: ['a'] }),
        )
      ).status,
    ).toBe(403);
    expect((await post(hub.url, [['topic', 'a']], await token({ subscribe: ['*'] }))).status).toBe(403);
    const noTopic = track(await SseTestClient.connect(`${hub.url}/.well-known/mercure`));
    expect(noTopic.response.statusCode).toBe(400);
    const badJwt = track(await SseTestClient.connect(subscribeUrl(hub.url, ['a']), { authorization: 'Bearer nope' }));
    expect(badJwt.response.statusCode).toBe(401);
    expect(badJwt.response.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses anonymous subscribers unless anonymous is true', async () => {
    const closed = await startMercureHub();
    try {
      const refused = track(await SseTestClient.connect(subscribeUrl(closed.url, ['a'])));
      expect(refused.response.statusCode).toBe(401);
      const ok = track(await subscribe(closed.url, ['a'], { authorization: `Bearer ${await token({ subscribe: [] })}` }));
      expect(ok.response.statusCode).toBe(200);
    } finally {
      await Promise.all(opened.splice(0).map((c) => c.close()));
      await closed.close();
    }
  });
});
