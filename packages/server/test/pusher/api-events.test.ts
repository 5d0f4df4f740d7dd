import { createHash, createHmac } from 'node:crypto';
import { poll, SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, OTHER_APP, postJson, refusal, sdkFor, startPusherHub } from './api-helpers.js';

describe('Pusher HTTP API: events', () => {
  let hub: TestHub | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await hub?.close();
    hub = undefined;
  });

  it('trigger on one channel reaches Herald WebSocket, SSE and polling clients on app1:C as {event, data} with offsets', async () => {
    hub = await startPusherHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    closers.push(() => ws.close());
    await ws.request({ type: 'subscribe', channel: 'app1:news' });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=app1:news`);
    closers.push(() => sse.close());
    await sse.ready();
    const pusher = sdkFor(hub);
    const res = await pusher.trigger('news', 'update', { title: 'hi' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    await pusher.trigger('news', 'plain', 'not json');
    const [first, second] = await ws.waitForMessages(2, 'app1:news');
    expect(first).toMatchObject({ channel: 'app1:news', offset: 1, data: { event: 'update', data: { title: 'hi' } } });
    expect(second).toMatchObject({ channel: 'app1:news', offset: 2, data: { event: 'plain', data: 'not json' } });
    const events = await sse.waitForMessages(2);
    expect(events.map((m) => [m.offset, m.data])).toEqual([
      [1, { event: 'update', data: { title: 'hi' } }],
      [2, { event: 'plain', data: 'not json' }],
    ]);
    const polled = await poll(hub.url, 'channel=app1:news');
    expect(polled.status).toBe(200);
    expect(polled.body.messages.map((m: { offset: number; data: unknown }) => [m.offset, m.data])).toEqual([
      [1, { event: 'update', data: { title: 'hi' } }],
      [2, { event: 'plain', data: 'not json' }],
    ]);
  });

  it('trigger on several channels publishes on each; another app’s channel of the same name is another channel', async () => {
    hub = await startPusherHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    closers.push(() => ws.close());
    for (const channel of ['app1:a', 'app1:b', 'app2:a', 'app1:x~3By']) await ws.request({ type: 'subscribe', channel });
    await sdkFor(hub).trigger(['a', 'b', 'x;y'], 'ev', '1');
    await sdkFor(hub, OTHER_APP).trigger('a', 'other', '2');
    await ws.waitForMessages(4);
    expect(ws.messages().map((m) => [m.channel, m.offset, m.data])).toEqual([
      ['app1:a', 1, { event: 'ev', data: 1 }],
      ['app1:b', 1, { event: 'ev', data: 1 }],
      ['app1:x~3By', 1, { event: 'ev', data: 1 }],
      ['app2:a', 1, { event: 'other', data: 2 }],
    ]);
  });

  it('triggerBatch publishes every event in order; info attributes come back per event', async () => {
    hub = await startPusherHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    closers.push(() => ws.close());
    await ws.request({ type: 'subscribe', channel: 'app1:c' });
    await ws.request({ type: 'subscribe', channel: 'app1:presence-room' });
    const pusher = sdkFor(hub);
    const res = await pusher.triggerBatch([
      { channel: 'c', name: 'one', data: { n: 1 } },
      { channel: 'c', name: 'two', data: '{"n":2}' },
      { channel: 'presence-room', name: 'three', data: 'x', info: 'user_count,subscription_count' },
    ]);
    expect(await res.json()).toEqual({ batch: [{}, {}, { user_count: 1, subscription_count: 1 }] });
    await ws.waitForMessages(3);
    expect(ws.messages().map((m) => [m.channel, m.offset, m.data])).toEqual([
      ['app1:c', 1, { event: 'one', data: { n: 1 } }],
      ['app1:c', 2, { event: 'two', data: { n: 2 } }],
      ['app1:presence-room', 1, { event: 'three', data: 'x' }],
    ]);
    const single = await pusher.trigger('c', 'four', 'y', { info: 'subscription_count,user_count' });
    expect(await single.json()).toEqual({ channels: { c: { subscription_count: 1 } } });
  });

  it('refuses a wrong secret, a wrong key, an unknown app, an expired timestamp and a bad body_md5 (401), publishing nothing', async () => {
    hub = await startPusherHub();
    const wrongSecret = await refusal(sdkFor(hub, { ...APP, secret: 'not-the-secret' }).trigger('c', 'e', 'x'));
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body).toMatch(/^Invalid signature/);
    const wrongKey = await refusal(sdkFor(hub, { ...APP, key: OTHER_APP.key }).trigger('c', 'e', 'x'));
    expect(wrongKey).toEqual({ status: 401, body: expect.stringMatching(/^Invalid auth_key/) });
    const unknown = await refusal(sdkFor(hub, { ...APP, id: 'nope' }).trigger('c', 'e', 'x'));
    // An unknown app is refused as a wrong key is: app ids cannot be enumerated without a signature.
    expect(unknown).toEqual({ status: 401, body: 'Invalid auth_key: the key is not this app’s' });

    // Hand-signed requests: a timestamp outside the window, a body whose MD5 is not body_md5.
    const body = JSON.stringify({ name: 'e', channel: 'c', data: 'x' });
    const signed = (timestamp: number, md5: string): string => {
      const query = `auth_key=${APP.key}&auth_timestamp=${timestamp}&auth_version=1.0&body_md5=${md5}`;
      const signature = createHmac('sha256', APP.secret).update(`POST\n/apps/app1/events\n${query}`).digest('hex');
      return `${hub!.url}/apps/app1/events?${query}&auth_signature=${signature}`;
    };
    const md5 = createHash('md5').update(body).digest('hex');
    const now = Math.floor(Date.now() / 1000);
    const post = (url: string): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const expired = await post(signed(now - 601, md5));
    expect(expired.status).toBe(401);
    expect(await expired.text()).toMatch(/^Timestamp expired: Given timestamp \(\d+\) not within 600s of server time/);
    const badMd5 = await post(signed(now, createHash('md5').update('other').digest('hex')));
    expect(badMd5.status).toBe(401);
    expect(await badMd5.text()).toMatch(/^Invalid body_md5/);
    const fine = await post(signed(now, md5));
    expect(fine.status).toBe(200);
    // Only the last one was published.
    const read = await poll(hub.url, 'channel=app1:c');
    expect(read.body.messages.map((m: { offset: number }) => m.offset)).toEqual([1]);
  });

  it('refuses bad bodies with 400 and data over 10 KB with 413', async () => {
    hub = await startPusherHub();
    const pusher = sdkFor(hub);
    expect((await refusal(pusher.trigger('c', 'e', 'x'.repeat(10_241)))).status).toBe(413);
    expect((await refusal(postJson(pusher, '/events', { name: 'e', channels: ['c'], data: { not: 'a string' } }))).status).toBe(400);
    expect((await refusal(postJson(pusher, '/events', { name: 'e', data: 'x' }))).status).toBe(400);
    expect((await refusal(postJson(pusher, '/events', { name: 'e', channel: 'bad channel', data: 'x' }))).status).toBe(400);
    expect((await refusal(postJson(pusher, '/events', { name: 'e', channel: 'c', data: 'x', socket_id: 'x' }))).status).toBe(400);
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ channel: 'c', name: `e${i}`, data: 'x' }));
    const batch = await refusal(pusher.triggerBatch(tooMany));
    expect(batch).toEqual({ status: 400, body: 'Batch too large: at most 10 events' });
    // A batch with one bad event publishes none of them.
    expect(
      (
        await refusal(
          pusher.triggerBatch([
            { channel: 'c', name: 'ok', data: 'x' },
            { channel: '', name: 'e', data: 'x' },
          ]),
        )
      ).status,
    ).toBe(400);
    expect((await poll(hub.url, 'channel=app1:c')).body.messages).toEqual([]);
    // 10 KB of data exactly is fine.
    expect((await pusher.trigger('c', 'e', 'x'.repeat(10_240))).status).toBe(200);
  });
});
