import { createClient, type HeraldClient } from '@herald/client/node';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

describe('review: polling on a hub that hands out no session', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it('a channel subscribed while a poll is held is polled at once (pollPresenceGrace: 0)', async () => {
    hub = await startTestHub({ pollPresenceGrace: 0 });
    const c = createClient({ url: hub.url, transports: ['polling'], pollWait: 20 });
    clients.push(c);
    c.subscribe('first');
    // Let the long poll of `first` be held.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = c.subscribe('second');
    const messages = new Collector<unknown>();
    second.on('message', (m) => messages.push(m.data));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = performance.now();
    await hub.server.hub.publish('second', 'now');
    await messages.count(1, 15_000);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
