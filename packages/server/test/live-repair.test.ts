import { Hub, MemoryBroker, MemoryPresenceStore, type BrokerHandler } from '@herald/server';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * A memory engine whose live path drops some messages, as Redis pub/sub or core NATS may between
 * nodes: the log keeps them, the live delivery does not.
 */
class LossyBroker extends MemoryBroker {
  readonly #drop: (offset: number) => boolean;
  handler: BrokerHandler | undefined;
  constructor(drop: (offset: number) => boolean, historySize: number) {
    super({ historySize });
    this.#drop = drop;
  }
  override setHandler(handler: BrokerHandler): void {
    this.handler = handler;
    super.setHandler({
      onMessage: (message) => {
        if (!this.#drop(message.offset)) handler.onMessage(message);
      },
      onPresenceEvent: (event) => handler.onPresenceEvent(event),
    });
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('live path: a hole between nodes is repaired from the log, or reported', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
  });

  it('repairs dropped live messages from the log: every subscriber sees every offset once, in order', async () => {
    hub = await startTestHub({ broker: new LossyBroker((offset) => offset % 3 === 0 || offset % 7 === 0, 1000) });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'lossy' });
    for (let i = 1; i <= 100; i++) await hub.server.hub.publish('lossy', i);
    // The last message is dropped too; the next one reveals the hole.
    await hub.server.hub.publish('lossy', 101);
    const got = await ws.waitForMessages(100);
    expect(got.map((m) => m.offset).slice(0, 100)).toEqual(range(1, 100));
    expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await ws.close();
  });

  it('reports a gap of reason "lost" when the log no longer holds the dropped message', async () => {
    hub = await startTestHub({ broker: new LossyBroker((offset) => offset === 3, 1) });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'gone' });
    for (let i = 1; i <= 5; i++) await hub.server.hub.publish('gone', i);
    await ws.waitForMessages(4);
    const epoch = ws.messages()[0].epoch as string;
    expect(ws.frames.items.filter((f) => f.type !== 'reply').map((f) => (f.type === 'gap' ? `gap ${f.reason}` : f.offset))).toEqual([
      1,
      2,
      'gap lost',
      4,
      5,
    ]);
    expect(ws.frames.items.find((f) => f.type === 'gap')).toEqual({
      type: 'gap',
      channel: 'gone',
      reason: 'lost',
      requested: { epoch, offset: 2 },
      resumed: { epoch, offset: 3 },
    });
    await ws.close();
  });

  it('repairs a hole even before the first live message reached the node', async () => {
    hub = await startTestHub({ broker: new LossyBroker((offset) => offset === 1, 1000) });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'first' });
    for (let i = 1; i <= 3; i++) await hub.server.hub.publish('first', i);
    expect((await ws.waitForMessages(3)).map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await ws.close();
  });

  it('finds a dropped last message of a quiet channel with the periodic position check', async () => {
    hub = await startTestHub({ broker: new LossyBroker((offset) => offset >= 4, 1000), positionCheckInterval: 50 });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'quiet' });
    for (let i = 1; i <= 6; i++) await hub.server.hub.publish('quiet', i);
    // 4, 5 and 6 never arrive live and nothing follows them: only the check can find them.
    expect((await ws.waitForMessages(6, 'quiet', 5000)).map((m) => m.offset)).toEqual(range(1, 6));
    expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await ws.close();
  });

  it('checks every channel at once when the engine reports that its live path reconnected', async () => {
    const broker = new LossyBroker((offset) => offset >= 3, 1000);
    hub = await startTestHub({ broker, positionCheckInterval: 0 });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'reset-a' });
    await ws.request({ type: 'subscribe', channel: 'reset-b' });
    for (let i = 1; i <= 4; i++) {
      await hub.server.hub.publish('reset-a', i);
      await hub.server.hub.publish('reset-b', i);
    }
    await ws.waitForMessages(2, 'reset-b');
    expect(ws.messages().length).toBe(4);
    broker.handler!.onLiveReset!();
    await ws.waitForMessages(8);
    expect(ws.messages('reset-a').map((m) => m.offset)).toEqual(range(1, 4));
    expect(ws.messages('reset-b').map((m) => m.offset)).toEqual(range(1, 4));
    expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await ws.close();
  });

  it('refuses a bad positionCheckInterval', () => {
    expect(() => new Hub({ broker: new MemoryBroker(), presence: new MemoryPresenceStore(), positionCheckInterval: -1 })).toThrow(
      RangeError,
    );
  });

  it('a position-check repair whose read fails is tried again by the next check', async () => {
    const broker = new LossyBroker((offset) => offset >= 3, 1000);
    let failures = 1;
    const read = broker.read.bind(broker);
    broker.read = (channel, options) => (failures-- > 0 ? Promise.reject(new Error('engine hiccup')) : read(channel, options));
    hub = await startTestHub({ broker, positionCheckInterval: 50 });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'retry' });
    for (let i = 1; i <= 5; i++) await hub.server.hub.publish('retry', i);
    expect((await ws.waitForMessages(5, 'retry', 5000)).map((m) => m.offset)).toEqual(range(1, 5));
    expect(failures).toBeLessThan(0);
    expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await ws.close();
  });

  it('delivers what the log still holds after a hole it cannot fill, after a gap', async () => {
    hub = await startTestHub({ broker: new LossyBroker((offset) => offset >= 2, 2), positionCheckInterval: 50 });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'trimmed' });
    for (let i = 1; i <= 5; i++) await hub.server.hub.publish('trimmed', i);
    await ws.waitForMessages(3, 'trimmed', 5000);
    const epoch = ws.messages()[0].epoch as string;
    expect(
      ws.frames.items.filter((f) => f.type !== 'reply').map((f) => (f.type === 'gap' ? `gap ${f.reason} ${f.resumed.offset}` : f.offset)),
    ).toEqual([1, 'gap lost 3', 4, 5]);
    expect(ws.frames.items.find((f) => f.type === 'gap').requested).toEqual({ epoch, offset: 1 });
    await ws.close();
  });

  it('retries a repair read that fails while the live path already delivers again: no gap', async () => {
    const broker = new LossyBroker((offset) => offset === 3, 1000);
    let failures = 2;
    const read = broker.read.bind(broker);
    broker.read = (channel, options) =>
      failures-- > 0 ? Promise.reject(new Error('command connection not back yet')) : read(channel, options);
    hub = await startTestHub({ broker, positionCheckInterval: 0 });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'flaky' });
    for (let i = 1; i <= 6; i++) await hub.server.hub.publish('flaky', i);
    expect((await ws.waitForMessages(6, 'flaky', 5000)).map((m) => m.offset)).toEqual(range(1, 6));
    expect(ws.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
    await ws.close();
  });
});
