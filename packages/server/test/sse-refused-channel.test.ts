import { ErrorCode, parseCursor } from '@herald/protocol';
import { createClient } from '@herald/client/node';
import { Collector, SseTestClient, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { refusedChannelPermissions } from './refused-channel-permissions.js';

const permissions = refusedChannelPermissions();

describe('SSE: a refused channel among allowed ones', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('opens the stream for the allowed channels and ends the refused one with an unsubscribed event', async () => {
    hub = await startTestHub({ security: { permissions } });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=public:news&channel=secret:vault`);
    expect(sse.response.statusCode).toBe(200);
    await sse.ready();
    const cursor = parseCursor(sse.readyEvent!.cursor);
    expect(cursor.ok && [...cursor.value.keys()]).toEqual(['public:news']);
    await sse.events.until((es) => es.some((e) => e.event === 'unsubscribed'), 'the unsubscribed event');
    expect(sse.events.items.filter((e) => e.event === 'unsubscribed').map((e) => JSON.parse(e.data))).toEqual([
      {
        type: 'unsubscribed',
        channel: 'secret:vault',
        error: { code: ErrorCode.Forbidden, message: 'subscribe on secret:vault is not allowed' },
      },
    ]);
    await hub.server.hub.publish('secret:vault', 'classified');
    await hub.server.hub.publish('public:news', 'hello');
    expect((await sse.waitForMessages(1)).map((m) => m.data)).toEqual(['hello']);
    expect(sse.messages('secret:vault')).toEqual([]);
    await sse.close();
  });

  it('still refuses the request when no channel is allowed', async () => {
    hub = await startTestHub({ security: { permissions } });
    const res = await fetch(`${hub.url}/events?channel=secret:vault`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: { code: ErrorCode.Forbidden, message: 'subscribe on secret:vault is not allowed' } });
  });

  it('the SDK over SSE fails only the refused subscription', async () => {
    hub = await startTestHub({ security: { permissions } });
    const client = createClient({ url: hub.url, transports: ['sse'] });
    try {
      const errors = new Collector<{ code: unknown }>();
      const refused = client.subscribe('secret:vault');
      refused.on('error', (e) => errors.push(e));
      const received = new Collector<unknown>();
      const allowed = client.subscribe('public:news', (m) => received.push(m.data));
      await errors.count(1);
      expect(errors.items[0]).toMatchObject({ code: ErrorCode.Forbidden });
      expect(refused.state).toBe('unsubscribed');
      await expect.poll(() => allowed.state).toBe('subscribed');
      await hub.server.hub.publish('public:news', 'still flowing');
      await received.count(1);
      expect(received.items).toEqual(['still flowing']);
      expect(client.state).toBe('connected');
    } finally {
      client.close();
    }
  });

  it('the SDK over SSE fails a subscription whose channel is the only one, without retrying forever, and goes on', async () => {
    hub = await startTestHub({ security: { permissions } });
    const client = createClient({ url: hub.url, transports: ['sse'], reconnect: { minDelay: 10, maxDelay: 20 } });
    try {
      const errors = new Collector<{ code: unknown }>();
      const refused = client.subscribe('secret:vault');
      refused.on('error', (e) => errors.push(e));
      await errors.count(1);
      expect(errors.items[0]).toMatchObject({ code: ErrorCode.Forbidden });
      expect(refused.state).toBe('unsubscribed');
      const received = new Collector<unknown>();
      const allowed = client.subscribe('public:news', (m) => received.push(m.data));
      await expect.poll(() => allowed.state).toBe('subscribed');
      await hub.server.hub.publish('public:news', 'after the refusal');
      await received.count(1);
      expect(received.items).toEqual(['after the refusal']);
      expect(errors.items).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});
