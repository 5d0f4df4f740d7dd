import { NatsBroker } from '@herald/nats';
import type { BrokerMessage } from '@herald/server';
import { eventually, startNatsServer, type TestNatsCluster } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('NatsBroker when its NATS server goes away', () => {
  it('reports unavailable while NATS is down, fails calls within the command timeout, then reconnects by itself, asks the hub to check (onLiveReset) and goes on with the same log', async () => {
    const nats: TestNatsCluster = await startNatsServer();
    cleanups.push(() => nats.close());
    const broker = await NatsBroker.connect({ url: nats.url, commandTimeout: 500, healthInterval: 100 });
    cleanups.push(() => broker.close());
    const live: BrokerMessage[] = [];
    let resets = 0;
    broker.setHandler({ onMessage: (m) => live.push(m), onPresenceEvent: () => undefined, onLiveReset: () => resets++ });
    await broker.subscribe('outage');
    const first = await broker.publish('outage', '1');
    expect(broker.isAvailable()).toBe(true);

    await nats.stop(0);
    await eventually(() => !broker.isAvailable(), 'unavailable while NATS is down');
    const started = Date.now();
    await expect(broker.publish('outage', '2')).rejects.toThrow();
    await expect(broker.read('outage')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);

    await nats.restart(0);
    await eventually(() => broker.isAvailable() && resets > 0, 'available again, with a live reset', { timeoutMs: 15_000 });
    const next = await broker.publish('outage', '3');
    expect(next.epoch).toBe(first.epoch);
    // The publish that failed may have been stored before the server went (it was not acknowledged).
    expect([2, 3]).toContain(next.offset);
    await eventually(() => live.some((m) => m.offset === next.offset), 'live delivery after the reconnect');
    expect((await broker.read('outage')).messages.at(-1)?.offset).toBe(next.offset);
  }, 60_000);
});
