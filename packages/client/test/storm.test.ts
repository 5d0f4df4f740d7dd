import { createClient, type HeraldClient } from '@herald/client/node';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

describe('no reconnect storm', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
  });

  it('spreads 1,000 clients dropped at once over the backoff window', async () => {
    hub = await startTestHub();
    // A window of a second: long enough that a busy event-loop turn of this shared machine (which
    // hosts the hub and the 1,000 clients) cannot bunch the arrivals by itself.
    const minDelay = 1000;
    const window = minDelay * 2; // attempt 0: uniform in [min, 2·min]
    const connected = new Collector<number>();
    for (let i = 0; i < 1000; i++) {
      const client = createClient({ url: hub.url, transports: ['websocket'], reconnect: { minDelay, maxDelay: 10_000 } });
      client.on('state', (s) => s === 'connected' && connected.push(performance.now()));
      client.subscribe('storm');
      clients.push(client);
    }
    await connected.count(1000, 30_000);
    const arrivals: number[] = [];
    hub.server.server.on('upgrade', () => arrivals.push(performance.now()));
    const droppedAt = performance.now();
    hub.server.dropConnections();
    await connected.count(2000, 30_000);

    const delays = arrivals.map((t) => t - droppedAt).sort((a, b) => a - b);
    expect(delays).toHaveLength(1000);
    // Nobody comes back before the floor.
    expect(delays[0]).toBeGreaterThanOrEqual(minDelay - 5);
    // Spread: the middle 80 % of clients span most of the window, not a burst.
    const p10 = delays[100]!;
    const p90 = delays[900]!;
    expect(p90 - p10).toBeGreaterThan((window - minDelay) * 0.6);
    // No fifth of the window takes more than 35 % of the clients (uniform: 20 %). Arrivals are
    // timed in the process that also hosts the hub and the 1,000 clients, where one busy event-loop
    // turn bunches timers that were due apart: finer slices measured that noise, not the jitter.
    const slice = (window - minDelay) / 5;
    const buckets = new Map<number, number>();
    for (const d of delays) buckets.set(Math.floor(d / slice), (buckets.get(Math.floor(d / slice)) ?? 0) + 1);
    expect(Math.max(...buckets.values())).toBeLessThan(350);
  }, 90_000);
});
