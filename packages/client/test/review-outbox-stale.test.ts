import { createClient, type HeraldClient, type OutboxEvent } from '@herald/client/node';
import { outbox, type OutboxItem, type OutboxStore } from '@herald/client/outbox';
import { eventually, startTcpProxy, startTestHub, type TcpProxy, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Two clients of one persistent store (two tabs of one origin and their IndexedDB): an item one of
 * them holds in memory but the other sent (and deleted from the store) must not be sent again
 * later, when the hub's idempotency window no longer covers it.
 */
describe('review: the outbox and items another client of the store sent', () => {
  let hub: TestHub | undefined;
  let proxy: TcpProxy | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy?.close();
    await hub?.close();
  });

  it('an item another client sent and removed from the store is not sent a second time', async () => {
    // The hub remembers idempotency keys for 1 s.
    hub = await startTestHub({ idempotencyTtl: 1 });
    proxy = await startTcpProxy(hub.port);
    const channel = 'outbox:stale';
    const kept = new Map<string, OutboxItem>();
    const store: OutboxStore = {
      persistent: true,
      load: () => Promise.resolve([...kept.values()].map((item) => ({ ...item }))),
      put: (item) => Promise.resolve(void kept.set(item.id, { ...item })),
      delete: (id) => Promise.resolve(void kept.delete(id)),
    };
    const make = (minDelay: number): HeraldClient => {
      const c = createClient({
        url: proxy!.url,
        transports: ['websocket'],
        outbox: outbox({ store, idempotencyTtl: 1000 }),
        reconnect: { minDelay, maxDelay: minDelay },
      });
      clients.push(c);
      return c;
    };
    proxy.cut();
    // Tab B queues a publish while offline; its next attempt is 3 s away.
    const b = make(3000);
    const published = b.publish(channel, 'once');
    published.catch(() => undefined);
    await eventually(() => kept.size === 1 && b.state === 'reconnecting', 'the item to be kept, and tab B waiting to reconnect');
    // Tab A (opened meanwhile) finds it in the store and sends it while the network is briefly back.
    const a = make(20);
    const events: OutboxEvent[] = [];
    a.on('outbox', (e) => events.push(e));
    proxy.restore();
    await eventually(() => events.length === 1, 'tab A to send it');
    proxy.cut();
    expect(events[0]).toMatchObject({ type: 'sent', data: 'once' });
    expect(kept.size).toBe(0);
    a.close();
    // Past the hub's idempotency window, tab B gets its connection back.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    proxy.restore();
    // Tab B learns that another tab took the item (on main: it sent it again and the hub stored it twice).
    await expect(published).rejects.toMatchObject({ code: 'outbox-unconfirmed' });
    const res = await fetch(`${hub.url}/api/history?channel=${channel}&limit=10`);
    const body = (await res.json()) as { messages: { data: unknown }[] };
    expect(body.messages.map((m) => m.data)).toEqual(['once']);
  }, 20_000);
});
