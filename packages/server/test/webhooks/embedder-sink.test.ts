import type { WebhookEvent } from '@herald/protocol';
import type { WebhookEventInput, WebhookSink } from '@herald/server';
import { Collector, eventually, startTestHub, type TestHub, type WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, connectAs, presenceOf, SECRET } from './helpers.js';
import { JwtAuthenticator } from '@herald/server';

/** An embedder's sink in its simplest form: `emit` and `wants` only (no `setConditionClaim`); records what it gets. */
function simpleSink(): { sink: WebhookSink; got: Collector<{ event: WebhookEventInput; held: boolean }> } {
  const got = new Collector<{ event: WebhookEventInput; held: boolean }>();
  const sink: WebhookSink = {
    wants: () => true,
    emit: (event, hold) => {
      got.push({ event, held: hold !== undefined });
      return Promise.resolve();
    },
  };
  return { sink, got };
}

const kinds = (got: Collector<{ event: WebhookEventInput }>, ...types: WebhookEvent['type'][]) =>
  got.items.map((g) => g.event).filter((e) => types.includes(e.type));

describe('an embedder webhookSink with only emit and wants', () => {
  let hub: TestHub | undefined;
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await hub?.close();
    hub = undefined;
  });
  const start = async (sink: WebhookSink, presenceDebounce: number): Promise<TestHub> =>
    (hub = await startTestHub({
      webhookSink: sink,
      presenceDebounce,
      security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
    }));
  const tab = async (user: string): Promise<WsTestClient> => {
    const client = await connectAs(hub!.wsUrl, user);
    clients.push(client);
    return client;
  };

  it('starts; gets leaves only after the debounce, never held; a reconnect within it gets neither leave nor join', async () => {
    const { sink, got } = simpleSink();
    const h = await start(sink, 400);
    const first = await tab('alice');
    await first.request({ type: 'subscribe', channel: 'room' });
    expect(kinds(got, 'presence_join', 'channel_occupied')).toHaveLength(2);

    // Leaves and comes back within the debounce: no leave, no second join.
    await first.close();
    await eventually(
      () => presenceOf(h.url, 'room'),
      (m) => m.length === 0,
      'alice gone',
    );
    const back = await tab('alice');
    await back.request({ type: 'subscribe', channel: 'room' });
    // A negative observation: wait past the debounce.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(kinds(got, 'presence_leave', 'channel_vacated', 'presence_join', 'channel_occupied').map((e) => e.type)).toEqual([
      'channel_occupied',
      'presence_join',
    ]);

    // Leaves for good: the leave and the vacate come after the debounce, with no hold.
    await back.close();
    await eventually(
      () => presenceOf(h.url, 'room'),
      (m) => m.length === 0,
      'alice gone again',
    );
    const left = Date.now();
    await got.until((all) => all.some((g) => g.event.type === 'channel_vacated'), 'vacated');
    expect(Date.now() - left).toBeGreaterThanOrEqual(300);
    expect(kinds(got, 'presence_leave', 'channel_vacated')).toMatchObject([
      { type: 'presence_leave', channel: 'room', user: 'alice' },
      { type: 'channel_vacated', channel: 'room' },
    ]);
    expect(got.items.every((g) => !g.held)).toBe(true);
  });

  it('a leave pending when the hub closes is emitted at once', async () => {
    const { sink, got } = simpleSink();
    const h = await start(sink, 60_000);
    const client = await tab('bob');
    await client.request({ type: 'subscribe', channel: 'room' });
    await client.close();
    clients.splice(0);
    await eventually(
      () => presenceOf(h.url, 'room'),
      (m) => m.length === 0,
      'bob gone',
    );
    expect(kinds(got, 'presence_leave')).toEqual([]);
    await h.close();
    hub = undefined;
    expect(kinds(got, 'presence_leave', 'channel_vacated').map((e) => e.type)).toEqual(['presence_leave', 'channel_vacated']);
  });
});
