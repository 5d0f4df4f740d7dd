import { eventually, RecordingSink, SseTestClient, type TestHub, type WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAs, presenceOf, startEventHub } from './helpers.js';

const PRESENCE = ['presence_join', 'presence_leave', 'channel_occupied', 'channel_vacated'] as const;

describe('webhook events: presence join/leave (debounced) and channel occupied/vacated, one node', () => {
  let hub: TestHub | undefined;
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await hub?.close();
    hub = undefined;
  });
  const tab = async (user?: string): Promise<WsTestClient> => {
    const client = await connectAs(hub!.wsUrl, user);
    clients.push(client);
    return client;
  };
  /** Closes a tab and waits until the hub has removed its presence member. */
  const closeTab = async (client: WsTestClient, channel: string, left: number): Promise<void> => {
    await client.close();
    await eventually(
      () => presenceOf(hub!.url, channel),
      (members) => members.length === left,
      `${left} members left`,
    );
  };

  it('a user with two tabs joins once and leaves once, after both closed and after the debounce', async () => {
    const sink = new RecordingSink();
    const debounce = 400;
    hub = await startEventHub(sink, { presenceDebounce: debounce });
    const first = await tab('alice');
    await first.request({ type: 'subscribe', channel: 'room' });
    const second = await tab('alice');
    await second.request({ type: 'subscribe', channel: 'room' });
    const members = await presenceOf(hub.url, 'room');
    expect(members).toHaveLength(2);
    expect(sink.of(...PRESENCE)).toEqual([
      { type: 'channel_occupied', channel: 'room' },
      { type: 'presence_join', channel: 'room', user: 'alice', client: expect.any(String) },
    ]);

    await closeTab(first, 'room', 1);
    await closeTab(second, 'room', 0);
    const lastClosed = Date.now();
    // The last member is gone, the debounce is running: nothing yet.
    expect(sink.of('presence_leave', 'channel_vacated')).toEqual([]);
    const events = await sink.events.until((es) => es.some((e) => e.type === 'channel_vacated'), 'vacated');
    const sentAt = Date.now();
    const leave = events.find((e) => e.type === 'presence_leave')!;
    // The leave's time is when it happened (the last tab's removal, before lastClosed); it is sent
    // once the debounce from then is over (a timer never fires early; 5 ms of slack for Date.now()).
    expect(leave.time).toBeLessThanOrEqual(lastClosed);
    expect(leave.time).toBeGreaterThan(lastClosed - debounce);
    expect(sentAt).toBeGreaterThanOrEqual(leave.time + debounce - 5);
    expect(sink.of(...PRESENCE).slice(2)).toEqual([
      { type: 'presence_leave', channel: 'room', user: 'alice', client: expect.any(String) },
      { type: 'channel_vacated', channel: 'room' },
    ]);
    // The leave names the member that left last.
    const seconds = sink.of('presence_join', 'presence_leave');
    expect(seconds[1]!['client']).not.toBe(seconds[0]!['client']);
  });

  it('a reconnect within the debounce gives no leave and no second join (nor vacated/occupied)', async () => {
    const sink = new RecordingSink();
    hub = await startEventHub(sink, { presenceDebounce: 1500 });
    const before = await tab('bob');
    await before.request({ type: 'subscribe', channel: 'lobby' });
    await closeTab(before, 'lobby', 0);
    const after = await tab('bob');
    await after.request({ type: 'subscribe', channel: 'lobby' });
    const rejoined = await presenceOf(hub.url, 'lobby');
    // The new session leaves for good: its leave (after the debounce) ends the test's observation.
    await closeTab(after, 'lobby', 0);
    await sink.events.until((es) => es.some((e) => e.type === 'channel_vacated'), 'vacated', 10_000);
    expect(sink.of(...PRESENCE)).toEqual([
      { type: 'channel_occupied', channel: 'lobby' },
      { type: 'presence_join', channel: 'lobby', user: 'bob', client: expect.any(String) },
      { type: 'presence_leave', channel: 'lobby', user: 'bob', client: rejoined[0]!.client },
      { type: 'channel_vacated', channel: 'lobby' },
    ]);
  });

  it('occupied on the first subscriber, vacated after the last; anonymous clients count one each (debounce 0: at once)', async () => {
    const sink = new RecordingSink();
    hub = await startEventHub(sink, { presenceDebounce: 0 });
    const alice = await tab('alice');
    await alice.request({ type: 'subscribe', channel: 'news' });
    const anon1 = await tab();
    await anon1.request({ type: 'subscribe', channel: 'news' });
    const anon2 = await tab();
    await anon2.request({ type: 'subscribe', channel: 'news' });
    await alice.request({ type: 'unsubscribe', channel: 'news' });
    await closeTab(anon1, 'news', 1);
    await closeTab(anon2, 'news', 0);
    await sink.events.until((es) => es.some((e) => e.type === 'channel_vacated'), 'vacated');
    const events = sink.of(...PRESENCE);
    expect(events.map((e) => [e['type'], e['user'] ?? null])).toEqual([
      ['channel_occupied', null],
      ['presence_join', 'alice'],
      ['presence_join', null],
      ['presence_join', null],
      ['presence_leave', 'alice'],
      ['presence_leave', null],
      ['presence_leave', null],
      ['channel_vacated', null],
    ]);
    // Each anonymous client is its own "user": its join and leave name it.
    expect(events[2]!['client']).toBe(events[5]!['client']);
    expect(events[3]!['client']).toBe(events[6]!['client']);
  });

  it('SSE streams are members too', async () => {
    const sink = new RecordingSink();
    hub = await startEventHub(sink, { presenceDebounce: 0 });
    const stream = await SseTestClient.connect(`${hub.url}/events?channel=feed`);
    await stream.ready();
    await sink.events.until((es) => es.some((e) => e.type === 'presence_join'), 'join');
    await stream.close();
    await sink.events.until((es) => es.some((e) => e.type === 'channel_vacated'), 'vacated');
    expect(sink.of(...PRESENCE).map((e) => e['type'])).toEqual(['channel_occupied', 'presence_join', 'presence_leave', 'channel_vacated']);
  });

  it('a closing hub sends its pending leaves and vacates at once', async () => {
    const sink = new RecordingSink();
    hub = await startEventHub(sink, { presenceDebounce: 600_000 });
    const carol = await tab('carol');
    await carol.request({ type: 'subscribe', channel: 'late' });
    await closeTab(carol, 'late', 0);
    expect(sink.of('presence_leave')).toEqual([]);
    const closing = hub;
    hub = undefined;
    await closing.close();
    expect(sink.of(...PRESENCE)).toEqual([
      { type: 'channel_occupied', channel: 'late' },
      { type: 'presence_join', channel: 'late', user: 'carol', client: expect.any(String) },
      { type: 'presence_leave', channel: 'late', user: 'carol', client: expect.any(String) },
      { type: 'channel_vacated', channel: 'late' },
    ]);
  });

  it('a sink that wants none of these events gets none (and members are stored as before)', async () => {
    const sink = new RecordingSink(['client_publish']);
    hub = await startEventHub(sink, { presenceDebounce: 0 });
    const dave = await tab('dave');
    await dave.request({ type: 'subscribe', channel: 'quiet' });
    expect(await presenceOf(hub.url, 'quiet')).toEqual([{ client: expect.any(String), user: 'dave' }]);
    await closeTab(dave, 'quiet', 0);
    expect(sink.events.items).toEqual([]);
  });
});
