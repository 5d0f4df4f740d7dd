import { applyDelta, createClient, type ClientState, type HeraldClient } from '@herald/client/node';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('review: deltas across an unsubscribe and a new subscribe', () => {
  let hub: TestHub | undefined;
  let client: HeraldClient | undefined;
  afterEach(async () => {
    client?.close();
    await hub?.close();
  });

  it('a delta of the old subscription still on its way does not cost the connection', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const c = (client = createClient({ url: hub.url, transports: ['websocket'], delta: applyDelta }));
    const states: ClientState[] = [];
    c.on('state', (s) => states.push(s));
    const channel = 'dash:resub';
    const state = (n: number): unknown => ({
      title: 'dashboard',
      rows: Array.from({ length: 50 }, (_, i) => ({ i, v: i === n % 50 ? n : 0 })),
    });
    const got: number[] = [];
    let sub = c.subscribe(channel, (m) => got.push((m.data as { rows: { v: number }[] }).rows.length));
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await hub.server.hub.publish(channel, state(++n));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await vi.waitFor(() => expect(got.length).toBeGreaterThan(20));
    for (let round = 0; round < 20; round++) {
      sub.unsubscribe();
      sub = c.subscribe(channel, (m) => got.push((m.data as { rows: { v: number }[] }).rows.length));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    publishing = false;
    await publisher;
    // On main: a delta sent to the old subscription reached the new one (no base): "a delta did not apply", reconnect.
    expect(states).not.toContain('reconnecting');
  }, 20_000);
});
