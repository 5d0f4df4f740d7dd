import { applyDelta as sdkApplyDelta, createClient, type Envelope, type HeraldClient } from '@herald/client/node';
import { compact as compactFormat } from '@herald/client/compact';
import { encodePosition } from '@herald/protocol';
import { CompactExpander, Collector, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { apply, states } from './delta-fixture.js';

/**
 * Rebuilds the data of poll items (`message` and `delta` objects) in order, from `base` (the data
 * the client holds before the first item), checking each delta follows the item before it.
 */
function rebuild(items: any[], base?: { offset: number; data: unknown }): unknown[] {
  const out: unknown[] = [];
  let previous = base;
  for (const item of items) {
    let data: unknown;
    if (item.type === 'delta') {
      expect(previous?.offset).toBe(item.offset - 1);
      data = apply(previous!.data, item.delta);
    } else data = item.data;
    out.push(data);
    previous = { offset: item.offset, data };
  }
  return out;
}

type Format = 'json' | 'compact';

/** One poll answer's items as `message` / `delta` objects, whatever the format. */
async function poll(hub: TestHub, format: Format, query: string): Promise<{ items: any[]; cursor: string }> {
  const res = await fetch(`${hub.url}/api/messages?channel=dash:b&delta=1${format === 'compact' ? '&format=compact' : ''}${query}`);
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { messages: any[]; cursor: string };
  if (format === 'json') return { items: answer.messages, cursor: answer.cursor };
  const expander = new CompactExpander();
  expander.bind(0, 'dash:b');
  const since = new URLSearchParams(query).get('since');
  if (since !== null) expander.toldCursor(since);
  return { items: answer.messages.map((item: unknown[]) => expander.expand(item)), cursor: answer.cursor };
}

const types = (items: any[]): string[] => items.map((item) => item.type);

describe.each<Format>(['json', 'compact'])('polling deltas in batches read from the log (%s)', (format) => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('first item in full, then each a delta against the item before; the next batch all deltas from the base the client holds', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const published = states(10);
    // Nobody listens while they are published: every answer below is read from the log.
    for (const data of published.slice(0, 6)) await hub.server.hub.publish('dash:b', data);
    const first = await poll(hub, format, '');
    expect(first.items.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(types(first.items)).toEqual(['message', 'delta', 'delta', 'delta', 'delta', 'delta']);
    expect(rebuild(first.items)).toEqual(published.slice(0, 6));
    // Another poll of the same batch gets the same deltas (computed once, shared).
    const again = await poll(hub, format, '');
    expect(again.items).toEqual(first.items);

    for (const data of published.slice(6)) await hub.server.hub.publish('dash:b', data);
    const next = await poll(hub, format, `&since=${first.cursor}&base=6`);
    expect(next.items.map((m) => m.offset)).toEqual([7, 8, 9, 10]);
    expect(types(next.items)).toEqual(['delta', 'delta', 'delta', 'delta']);
    expect(rebuild(next.items, { offset: 6, data: published[5] })).toEqual(published.slice(6));

    // A base that is not the offset asked from (wrong or stale) counts for nothing: the first item in full.
    for (const base of ['5', '7', '', 'x']) {
      const wrong = await poll(hub, format, `&since=${first.cursor}&base=${base}`);
      expect(types(wrong.items)).toEqual(['message', 'delta', 'delta', 'delta']);
      expect(rebuild(wrong.items)).toEqual(published.slice(6));
    }
    // Without delta=1, never a delta.
    const plain = (await (await fetch(`${hub.url}/api/messages?channel=dash:b&since=${first.cursor}&base=6`)).json()) as any;
    expect(plain.messages.every((m: any) => m.type === 'message')).toBe(true);
  });

  it('the first item goes in full when the hub does not have the base at hand (never served, not live)', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const published = states(5);
    for (const data of published) await hub.server.hub.publish('dash:b', data);
    const { epoch } = await hub.server.hub.position('dash:b');
    // The client says it holds message 2: no poll was answered with it and nobody listens.
    const cursor = cursorAt(epoch, 2);
    const read = await poll(hub, format, `&since=${cursor}&base=2`);
    expect(types(read.items)).toEqual(['message', 'delta', 'delta']);
    expect(rebuild(read.items)).toEqual(published.slice(2));
    // Once the hub has served message 2, a client holding it gets message 3 as a delta.
    await poll(hub, format, `&since=${cursorAt(epoch, 1)}&limit=1`);
    const after = await poll(hub, format, `&since=${cursor}&base=2`);
    expect(types(after.items)).toEqual(['delta', 'delta', 'delta']);
    expect(rebuild(after.items, { offset: 2, data: published[1] })).toEqual(published.slice(2));
  });
});

/** The cursor of `dash:b` at `offset` of `epoch`, as a poll answer hands it out. */
const cursorAt = (epoch: string, offset: number): string => encodeURIComponent(encodePosition('dash:b', { epoch, offset }));

describe.each<Format>(['json', 'compact'])('the SDK on polling rebuilds batches of deltas (%s)', (format) => {
  let hub: TestHub | undefined;
  let client: HeraldClient | undefined;
  afterEach(async () => {
    client?.close();
    await hub?.close();
    client = hub = undefined;
  });

  it('a replay and a batch that piled up while an answer was on its way: deltas, and exactly the published data', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const published = states(12);
    for (const data of published.slice(0, 4)) await hub.server.hub.publish('dash:b', data);
    const { epoch } = await hub.server.hub.position('dash:b');
    // Records each answer's item types; while `gate` is set, an answer waits for it before the SDK sees it.
    const answers: string[][] = [];
    let gate: Promise<void> | undefined;
    const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const res = await fetch(input, init);
      if (!(input instanceof Request ? input.url : input.toString()).includes('/api/messages') || !res.ok) return res;
      const text = await res.text();
      const items = (JSON.parse(text) as { messages: unknown[] }).messages;
      answers.push(items.map((item: any) => (Array.isArray(item) ? (item[0] < 0 ? 'delta' : 'message') : item.type)));
      await gate;
      return new Response(text, { status: res.status, headers: res.headers });
    };
    client = createClient({
      url: hub.url,
      transports: ['polling'],
      pollWait: 5,
      delta: sdkApplyDelta,
      fetch: recordingFetch,
      ...(format === 'compact' && { format: compactFormat }),
    });
    const got = new Collector<Envelope>();
    client.subscribe('dash:b', (m) => got.push(m), { since: { epoch, offset: 0 } });
    await got.count(4);
    // The replay: one batch, the first item in full (the client holds nothing), then deltas.
    expect(answers.filter((a) => a.length > 0)[0]).toEqual(['message', 'delta', 'delta', 'delta']);
    await expect.poll(() => hub!.server.stats().polling).toBeGreaterThan(0);
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    // Message 5 wakes the held poll; its answer waits while 6–12 are stored: the next poll reads them in one batch.
    for (const data of published.slice(4)) await hub.server.hub.publish('dash:b', data);
    open();
    gate = undefined;
    await got.count(12);
    expect(got.items.map((m) => m.data)).toEqual(published);
    expect(got.items.map((m) => m.offset)).toEqual(published.map((_, i) => i + 1));
    const later = answers.filter((a) => a.length > 0).slice(1);
    expect(later.flat()).toEqual(Array(8).fill('delta'));
    expect(later.some((a) => a.length > 1)).toBe(true);
  });
});
