import { createClient, type Envelope, type HeraldClient } from '@herald/client/node';
import { Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// `share: true` where there is nothing to share with (Node: BroadcastChannel but no Web Locks; a
// browser without either): the client connects as usual, never throws. The sharing itself is
// tested in Chromium (packages/herald/test/share-browser.test.ts).
describe('createClient({ share: true }) without BroadcastChannel and Web Locks', () => {
  let hub: TestHub;
  const clients: HeraldClient[] = [];
  beforeEach(async () => {
    hub = await startTestHub({ historySize: 100 });
  });
  afterEach(async () => {
    vi.unstubAllGlobals();
    for (const c of clients.splice(0)) c.close();
    await hub.close();
  });

  async function receivesOverItsOwnConnection(share: boolean | { name: string }, channel: string): Promise<void> {
    const c = createClient({ url: hub.url, share });
    clients.push(c);
    const got = new Collector<Envelope>();
    const sub = c.subscribe(channel, (m) => got.push(m));
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    expect(c.transport).toBe('websocket');
    expect(await c.publish(channel, 1)).toMatchObject({ offset: 1 });
    await got.count(1);
    expect(got.items.map((m) => m.data)).toEqual([1]);
  }

  it('connects as usual in Node (no navigator.locks)', async () => {
    expect((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks).toBeUndefined();
    await receivesOverItsOwnConnection(true, 'node');
  });

  it('connects as usual where navigator has no locks, or BroadcastChannel is missing', async () => {
    vi.stubGlobal('navigator', {});
    await receivesOverItsOwnConnection({ name: 'app' }, 'no-locks');
    clients.splice(0).forEach((c) => c.close());
    vi.stubGlobal('navigator', { locks: { request: () => Promise.resolve() } });
    vi.stubGlobal('BroadcastChannel', undefined);
    await receivesOverItsOwnConnection(true, 'no-broadcast');
  });
});
