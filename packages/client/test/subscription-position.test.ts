import { createClient, type Envelope, type HeraldClient, type Subscription } from '@herald/client/node';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

// Subscription.position / .cursor hold where the subscription started until a message arrives, so
// a cursor saved from a channel where nothing arrived resumes with everything published after it.

describe('Subscription.position before any message', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  const client = (transport: 'websocket' | 'sse' | 'polling'): HeraldClient => {
    const c = createClient({ url: hub!.url, transports: [transport], pollWait: 5 });
    clients.push(c);
    return c;
  };
  const subscribed = (sub: Subscription): Promise<void> =>
    sub.state === 'subscribed' ? Promise.resolve() : new Promise((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));

  it.each(['websocket', 'sse', 'polling'] as const)(
    'over %s: is the start once subscribed, and its cursor resumes exactly after it',
    async (transport) => {
      hub = await startTestHub();
      const first = client(transport);
      const sub = first.subscribe('quiet');
      await subscribed(sub);
      expect(sub.position).toMatchObject({ epoch: expect.any(String), offset: 0 });
      const cursor = sub.cursor!;
      expect(cursor).toMatch(/^c1\./);
      // Another subscription to the same channel of that client starts where the channel is.
      const again = first.subscribe('quiet');
      await subscribed(again);
      expect(again.position).toEqual(sub.position);
      first.close();

      await hub.server.hub.publish('quiet', 'after');
      const got = new Collector<Envelope>();
      const resumed = client(transport).subscribe('quiet', (m) => got.push(m), { since: cursor });
      await got.count(1);
      await hub.server.hub.publish('quiet', 'live');
      await got.count(2);
      expect(got.items.map((m) => [m.offset, m.data])).toEqual([
        [1, 'after'],
        [2, 'live'],
      ]);
      expect(resumed.position).toMatchObject({ offset: 2 });
    },
  );
});
