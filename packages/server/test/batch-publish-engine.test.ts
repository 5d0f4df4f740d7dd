import { request } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { MemoryBroker, type BrokerMessage, type DuplicatePublish, type PublishOptions } from '@herald/server';
import { eventually, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, expect, it } from 'vitest';

/**
 * A real memory engine whose publishes the test steers: stored in reverse order of arrival within
 * one macrotask, refused as by an unreachable engine, or held until released.
 */
class SteeredBroker extends MemoryBroker {
  /** The data of every publish call, in call order. */
  readonly calls: unknown[] = [];
  /** Publishes arriving in the same macrotask are stored last-arrived first. */
  reverse = false;
  /** Data (as JSON) whose publish is refused with an engine error. */
  readonly failing = new Set<string>();
  /** Data (as JSON) whose publish waits for {@link release}. */
  readonly holding = new Set<string>();
  #held: (() => void)[] = [];
  #turn: (() => void)[] = [];

  override publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  override publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  override async publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    this.calls.push(JSON.parse(dataJson));
    if (this.holding.has(dataJson)) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.reverse) {
      await new Promise<void>((resolve) => {
        if (this.#turn.push(resolve) === 1) {
          setImmediate(() => {
            for (const release of this.#turn.splice(0).reverse()) release();
          });
        }
      });
    }
    if (this.failing.has(dataJson)) throw new Error('connection lost');
    return options === undefined ? super.publish(channel, dataJson) : super.publish(channel, dataJson, options);
  }

  /** Lets the held publishes go on. */
  release(): void {
    for (const release of this.#held.splice(0)) release();
  }
}

const hubs: TestHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

async function start(broker: SteeredBroker): Promise<TestHub> {
  const hub = await startTestHub({ broker });
  hubs.push(hub);
  return hub;
}

async function post(hub: TestHub, messages: unknown[]): Promise<any> {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: unknown[] }).results;
}

async function stored(hub: TestHub, channel: string): Promise<unknown[]> {
  const res = await fetch(`${hub.url}/api/history?channel=${channel}`);
  return ((await res.json()) as { messages: { data: unknown }[] }).messages.map((m) => m.data);
}

it("stores a channel's messages in array order even when the engine completes publishes out of call order", async () => {
  const broker = new SteeredBroker();
  broker.reverse = true;
  const hub = await start(broker);
  const messages = Array.from({ length: 12 }, (_, i) => ({ channel: ['a', 'b', 'c'][i % 3]!, data: i }));
  const results = await post(hub, messages);
  expect(results.map((r: { channel: string; offset: number }) => [r.channel, r.offset])).toEqual(
    messages.map((m, i) => [m.channel, Math.floor(i / 3) + 1]),
  );
  expect(await stored(hub, 'a')).toEqual([0, 3, 6, 9]);
  expect(await stored(hub, 'b')).toEqual([1, 4, 7, 10]);
  expect(await stored(hub, 'c')).toEqual([2, 5, 8, 11]);
});

it("after an engine error, the channel's later messages are not attempted; other channels go on", async () => {
  const broker = new SteeredBroker();
  broker.failing.add('"a2"');
  const hub = await start(broker);
  const messages = ['a1', 'a2', 'a3', 'b1', 'a4', 'b2'].map((data) => ({ channel: data[0]!, data }));
  const results = await post(hub, messages);
  const earlier = { code: ErrorCode.Unavailable, message: 'not published: an earlier message of this channel in the batch failed' };
  expect(results).toEqual([
    { channel: 'a', epoch: expect.any(String), offset: 1 },
    { index: 1, error: { code: ErrorCode.Unavailable, message: 'the engine is unavailable' } },
    { index: 2, error: earlier },
    { channel: 'b', epoch: expect.any(String), offset: 1 },
    { index: 4, error: earlier },
    { channel: 'b', epoch: expect.any(String), offset: 2 },
  ]);
  expect(broker.calls).not.toContain('a3');
  expect(broker.calls).not.toContain('a4');
  // Resending the failed entries, in order, keeps the channel's order.
  broker.failing.clear();
  await post(hub, [messages[1], messages[2], messages[4]]);
  expect(await stored(hub, 'a')).toEqual(['a1', 'a2', 'a3', 'a4']);
  expect(await stored(hub, 'b')).toEqual(['b1', 'b2']);
});

it('once the request connection closes, entries not yet started are not started', async () => {
  const broker = new SteeredBroker();
  broker.holding.add('"a1"');
  const hub = await start(broker);
  const sockets: Socket[] = [];
  hub.server.server.on('connection', (socket: Socket) => sockets.push(socket));
  // node:http, so that giving up closes the connection at once (fetch may keep the socket a while).
  const body = JSON.stringify({ messages: ['a1', 'a2', 'a3'].map((data) => ({ channel: 'a', data })) });
  const client = request(`${hub.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  const gone = new Promise((resolve) => client.on('error', resolve));
  client.end(body);
  await eventually(() => broker.calls.length === 1, 'the first publish reached the engine');
  client.destroy();
  await gone;
  await eventually(() => sockets.length > 0 && sockets.every((s) => s.destroyed), 'the hub saw the connection close');
  // The socket's close reaches the response one macrotask later.
  await new Promise((resolve) => setImmediate(resolve));
  broker.release();
  await eventually(async () => (await stored(hub, 'a')).length === 1, 'the started publish was stored');
  // The rest of the batch runs in microtasks after the first publish resolved: one macrotask is enough.
  await new Promise((resolve) => setImmediate(resolve));
  expect(broker.calls).toEqual(['a1']);
  expect(await stored(hub, 'a')).toEqual(['a1']);
});
