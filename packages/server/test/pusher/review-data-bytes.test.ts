import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { eventData } from '../../src/doors/door-event.js';
import { sdkFor } from './api-helpers.js';
import { APP, startPusherHub } from './pusher-fixtures.js';

describe('Pusher HTTP API: event data reaches subscribers as the backend sent it', () => {
  let hub: TestHub | undefined;
  const raw: WsTestClient[] = [];
  afterEach(async () => {
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  it('data that does not serialise back to the same text (big integers, 1.10, duplicate keys, spaces) is kept as a string', async () => {
    hub = await startPusherHub();
    // A non-JS Pusher client: it reads the data string itself.
    const pusher = await WsTestClient.connect(`ws://127.0.0.1:${hub.port}/app/${APP.key}?protocol=7`);
    raw.push(pusher);
    await pusher.frames.count(1);
    pusher.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'news' } }));
    await pusher.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'subscribed');
    const herald = await WsTestClient.connect(hub.wsUrl);
    raw.push(herald);
    await herald.request({ type: 'subscribe', channel: 'app1:news' });
    const texts = ['{"id":9007199254740993,"v":1.10,"k":"a","k":"b"}', '{ "a": 1 }', '{"a":1}', 'plain', '"quoted"', '12'];
    const sdk = sdkFor(hub, APP);
    for (const text of texts) await sdk.trigger('news', 'e', text);
    const frames = await pusher.frames.until((fs) => fs.filter((f) => f.event === 'e').length === texts.length, 'the events');
    expect(frames.filter((f) => f.event === 'e').map((f) => f.data)).toEqual(texts);
    // Herald clients get canonical JSON parsed (a JSON string excepted), anything else as the string.
    const messages = await herald.waitForMessages(texts.length, 'app1:news');
    expect(messages.map((m) => m.data.data)).toEqual([texts[0], texts[1], { a: 1 }, 'plain', '"quoted"', 12]);
  });

  it('eventData never parses a JSON string (it would lose its quotes), in either mode', () => {
    expect(eventData('e', '"hi"')).toEqual({ event: 'e', data: '"hi"' });
    expect(eventData('e', '"hi"', true)).toEqual({ event: 'e', data: '"hi"' });
    expect(eventData('e', '{"a": 1}')).toEqual({ event: 'e', data: { a: 1 } });
    expect(eventData('e', '{"a": 1}', true)).toEqual({ event: 'e', data: '{"a": 1}' });
  });
});
