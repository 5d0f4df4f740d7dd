import { Collector, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { sdkFor } from './api-helpers.js';
import { APP, clientOptions, PusherClients, startPusherHub, subscribed } from './pusher-fixtures.js';

describe('Pusher HTTP API: socket_id excludes that pusher-js connection', () => {
  let hub: TestHub | undefined;
  const clients = new PusherClients();
  const herald: WsTestClient[] = [];
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(herald.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  it('trigger(…, { socket_id }) from the pusher SDK reaches every subscriber but that one (Laravel toOthers)', async () => {
    hub = await startPusherHub();
    const excluded = await clients.connect(clientOptions(hub));
    const other = await clients.connect(clientOptions(hub));
    await subscribed(excluded, 'news');
    await subscribed(other, 'news');
    const watcher = await WsTestClient.connect(hub.wsUrl);
    herald.push(watcher);
    await watcher.request({ type: 'subscribe', channel: 'app1:news' });
    const gotExcluded = new Collector<[string, unknown]>();
    const gotOther = new Collector<[string, unknown]>();
    excluded.channel('news').bind_global((event: string, data: unknown) => gotExcluded.push([event, data]));
    other.channel('news').bind_global((event: string, data: unknown) => gotOther.push([event, data]));
    const sdk = sdkFor(hub, APP);
    await sdk.trigger('news', 'created', { id: 1 }, { socket_id: excluded.connection.socket_id });
    await sdk.trigger('news', 'done', { id: 2 });
    // The excluded connection gets the second event only; the order of delivery proves the first was skipped, not late.
    expect(await gotOther.count(2)).toEqual([
      ['created', { id: 1 }],
      ['done', { id: 2 }],
    ]);
    expect(await gotExcluded.count(1)).toEqual([['done', { id: 2 }]]);
    // Herald's own clients receive it, socket_id included (as a client event's sender).
    const messages = await watcher.waitForMessages(2, 'app1:news');
    expect(messages.map((m) => m.data)).toEqual([
      { socket_id: excluded.connection.socket_id, event: 'created', data: { id: 1 } },
      { event: 'done', data: { id: 2 } },
    ]);
  });

  it('triggerBatch with socket_id excludes it per event', async () => {
    hub = await startPusherHub();
    const excluded = await clients.connect(clientOptions(hub));
    const other = await clients.connect(clientOptions(hub));
    await subscribed(excluded, 'news');
    await subscribed(other, 'news');
    const gotExcluded = new Collector<string>();
    const gotOther = new Collector<string>();
    excluded.channel('news').bind_global((event: string) => gotExcluded.push(event));
    other.channel('news').bind_global((event: string) => gotOther.push(event));
    await sdkFor(hub, APP).triggerBatch([
      { channel: 'news', name: 'a', data: '1', socket_id: excluded.connection.socket_id },
      { channel: 'news', name: 'b', data: '2' },
    ]);
    expect(await gotOther.count(2)).toEqual(['a', 'b']);
    expect(await gotExcluded.count(1)).toEqual(['b']);
  });
});
