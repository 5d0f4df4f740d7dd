import { Permissions } from '@herald/server';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { states } from './delta-fixture.js';

// A poller that may not read a channel's history starts at the end of its log, so it never
// received the message at its start position. Its `base=` claim must not get it a delta against that
// message: the delta's copy commands say where the data it does receive sat in the message before,
// which a client without `history` may not read.

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const restricted = (): Promise<TestHub> =>
  startTestHub({
    deltaNamespaces: ['dash'],
    historySize: 100,
    security: {
      apiKeys: ['review-delta-api-key-0123456789'],
      permissions: new Permissions({ dash: { subscribe: 'anonymous', publish: 'none', history: 'none', presence: 'none' } }),
    },
  });

describe('polling deltas for a client without history', () => {
  it('base= naming the message before its start gets no delta against it (held poll and stored batch)', async () => {
    hub = await restricted();
    const url = hub.url;
    const published = states(4);
    // Published before the client came: it may never read it.
    await hub.server.hub.publish('dash:s', published[0]);
    const start = (await (await fetch(`${url}/api/messages?channel=dash:s&since=now&delta=1`)).json()) as any;
    expect(start.messages).toEqual([]);
    expect(start.cursor).toMatch(/^c1\./);
    const cursor = encodeURIComponent(start.cursor);

    // A held poll claiming to hold message 1.
    const held = fetch(`${url}/api/messages?channel=dash:s&delta=1&wait=5&since=${cursor}&base=1`).then((r) => r.json());
    await expect.poll(() => hub!.server.stats().polling).toBeGreaterThan(0);
    await hub.server.hub.publish('dash:s', published[1]);
    const woken = (await held) as any;
    expect(woken.messages.map((m: any) => [m.offset, m.type])).toEqual([[2, 'message']]);
    expect(woken.messages[0].data).toEqual(published[1]);

    // A poll that reads stored messages: the first in full, the later one against the item before it.
    await hub.server.hub.publish('dash:s', published[2]);
    const batch = (await (await fetch(`${url}/api/messages?channel=dash:s&delta=1&since=${cursor}&base=1`)).json()) as any;
    expect(batch.messages.map((m: any) => [m.offset, m.type])).toEqual([
      [2, 'message'],
      [3, 'delta'],
    ]);
  });
});
