import { createClient, type Envelope, type Gap, type HeraldClient, type SubscriptionState } from '@herald/client/node';
import { encodePosition, type PresenceMember } from '@herald/protocol';
import { MemoryBroker, MemoryPresenceStore } from '@herald/server';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * A presence store that fails the next `refusals[channel]` adds of a channel, as a Redis link does
 * while it still sends to a shard's failed primary: the hub refuses the subscribe with `3001`.
 */
class FlakyPresenceStore extends MemoryPresenceStore {
  readonly refusals = new Map<string, number>();
  refused = 0;

  override add(channel: string, entry: PresenceMember): Promise<void> {
    const left = this.refusals.get(channel) ?? 0;
    if (left > 0) {
      this.refusals.set(channel, left - 1);
      this.refused++;
      return Promise.reject(new Error('The client is offline'));
    }
    return super.add(channel, entry);
  }
}

describe('a subscribe the hub refuses for now (3xxx) is sent again, not ended', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it.each(['on the connection that opens', 'on a connection already open'])(
    'websocket, %s: refused with 3001 twice, then subscribed, with every message from its cursor and the live ones',
    async (when) => {
      const presence = new FlakyPresenceStore();
      hub = await startTestHub({ broker: new MemoryBroker(), presence });
      const { hub: core } = hub.server;
      let cursor = '';
      for (let n = 1; n <= 5; n++) {
        const stored = await core.publish('news', { n });
        if (n === 2) cursor = encodePosition('news', stored);
      }
      const client = createClient({ url: hub.url, transports: ['websocket'], reconnect: { minDelay: 50, maxDelay: 400 } });
      clients.push(client);
      if (when === 'on a connection already open') {
        const other = client.subscribe('other');
        await new Promise<void>((resolve) => other.on('state', (s) => s === 'subscribed' && resolve()));
      }
      presence.refusals.set('news', 2);
      const got = new Collector<Envelope>();
      const gaps: Gap[] = [];
      const states: SubscriptionState[] = [];
      const sub = client.subscribe('news', (m) => got.push(m), { since: cursor });
      sub.on('gap', (g) => gaps.push(g));
      sub.on('state', (s) => states.push(s));
      await got.count(3, 10_000);
      for (let n = 6; n <= 7; n++) await core.publish('news', { n });
      await got.count(5, 5000);
      expect(presence.refused).toBe(2);
      expect(got.items.map((m) => (m.data as { n: number }).n)).toEqual([3, 4, 5, 6, 7]);
      expect(gaps).toEqual([]);
      // Never reported subscribed while refused (on an opening connection, open() leaves it out).
      expect(states).toEqual(['subscribed']);
      expect(sub.state).toBe('subscribed');
      expect(client.state).toBe('connected');
    },
  );

  it('a late 3001 answer to an unsubscribed subscribe does not touch a new subscription of the same channel', async () => {
    // The first add of `news` is held, then refused (the hub answers that subscribe 3001 late).
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let adds = 0;
    let refusal: Promise<void> | undefined;
    class SlowFirstAdd extends MemoryPresenceStore {
      override add(channel: string, entry: PresenceMember): Promise<void> {
        if (channel === 'news' && adds++ === 0) {
          refusal = held.then(() => {
            throw new Error('The client is offline');
          });
          return refusal;
        }
        return super.add(channel, entry);
      }
    }
    hub = await startTestHub({ broker: new MemoryBroker(), presence: new SlowFirstAdd() });
    const client = createClient({ url: hub.url, transports: ['websocket'] });
    clients.push(client);
    const other = client.subscribe('other');
    await new Promise<void>((resolve) => other.on('state', (s) => s === 'subscribed' && resolve()));
    const first = client.subscribe('news');
    await expect.poll(() => adds).toBe(1);
    first.unsubscribe();
    const got = new Collector<Envelope>();
    const second = client.subscribe('news', (m) => got.push(m));
    const states: SubscriptionState[] = [];
    second.on('state', (s) => states.push(s));
    await expect.poll(() => second.state).toBe('subscribed');
    release();
    // The add failed: the hub answers that subscribe 3001 without waiting on any I/O, so before it
    // reads a later command of this client; replies come in order, so once the answer to that command
    // is in, the client has read the late refusal.
    await refusal?.catch(() => undefined);
    await client.presence('other');
    // Then a message proves the second subscription still receives.
    await hub.server.hub.publish('news', { n: 1 });
    await got.count(1, 5000);
    expect(second.state).toBe('subscribed');
    expect(states).toEqual(['subscribed']);
  });
});
