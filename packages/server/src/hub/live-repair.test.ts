import type { Gap, Position } from '@herald/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serializeEnvelope, type BrokerMessage, type ReadOptions, type ReadResult } from '../engine/broker.js';
import { ChannelState } from './channel-state.js';
import type { RepairOutcome } from './hub-observer.js';
import { LiveRepair, type RepairBroker } from './live-repair.js';
import type { Subscriber } from './subscriber.js';
import { Subscription } from './subscription.js';

const CHANNEL = 'room';

/**
 * One channel's log, as an engine keeps it: the repair reads it; nothing reaches the live path
 * unless a test delivers it. `keep` bounds what it retains (older messages are trimmed).
 */
class FakeLog implements RepairBroker {
  epoch = 'e1';
  top = 0;
  messages: BrokerMessage[] = [];
  /** Reads that fail before one succeeds (Infinity: every read fails). */
  failReads = 0;
  reads: (Position | undefined)[] = [];
  renewed: Position[] = [];

  constructor(readonly keep = Infinity) {}

  append(data: unknown): BrokerMessage {
    this.top++;
    const message = {
      channel: CHANNEL,
      epoch: this.epoch,
      offset: this.top,
      time: 0,
      json: serializeEnvelope(CHANNEL, this.epoch, this.top, 0, JSON.stringify(data)),
    };
    this.messages.push(message);
    if (this.messages.length > this.keep) this.messages.shift();
    return message;
  }

  /** The log lost its messages after `offset` and kept its epoch (an engine restarted from an old snapshot). */
  lose(after: number): void {
    this.top = after;
    this.messages = this.messages.filter((m) => m.offset <= after);
  }

  read(_channel: string, options: ReadOptions = {}): Promise<ReadResult> {
    this.reads.push(options.since);
    if (this.failReads-- > 0) return Promise.reject(new Error('engine unreachable'));
    const oldest = this.messages[0]?.offset ?? this.top + 1;
    const since = options.since;
    const from =
      since !== undefined && since.epoch === this.epoch && since.offset >= oldest - 1 && since.offset <= this.top
        ? since.offset + 1
        : oldest;
    const messages = this.messages.filter((m) => m.offset >= from).slice(0, options.limit ?? Infinity);
    return Promise.resolve({ messages, position: { epoch: this.epoch, offset: this.top }, oldest });
  }

  position(): Promise<Position> {
    return Promise.resolve({ epoch: this.epoch, offset: this.top });
  }

  renewEpoch(_channel: string, seen: Position): Promise<void> {
    this.renewed.push(seen);
    return Promise.resolve();
  }
}

/** A live repair over `log` with one active channel and one live subscription recording what it gets. */
function setUp(log: FakeLog) {
  const state = new ChannelState(Promise.resolve());
  state.top = { epoch: log.epoch, offset: log.top };
  const channels = new Map([[CHANNEL, state]]);
  const got: (number | string)[] = [];
  const gaps: Gap[] = [];
  const subscriber: Subscriber = {
    client: 'c1',
    user: null,
    message: (message) => got.push(message.offset),
    gap: (gap) => {
      gaps.push(gap);
      got.push(`gap ${gap.reason}`);
    },
    presence: () => undefined,
  };
  const subscription = new Subscription(CHANNEL, subscriber, false);
  subscription.start(log.epoch, log.top, undefined, []);
  state.subscriptions.add(subscription);
  const repairs: RepairOutcome[] = [];
  let renewals = 0;
  const repair = new LiveRepair({
    broker: log,
    channels,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    observer: { published() {}, dispatched() {}, repaired: (outcome) => repairs.push(outcome), epochRenewed: () => renewals++ },
  });
  return { repair, state, channels, got, gaps, repairs, renewals: () => renewals };
}

/** Lets the pending reads and their continuations run (the fake log answers in a microtask). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LiveRepair', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fills a hole on the live path from the log, then lets through what was held meanwhile', async () => {
    const log = new FakeLog();
    const { repair, got, repairs } = setUp(log);
    const sent = [1, 2, 3, 4, 5, 6].map((i) => log.append(i));
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[1]!);
    // 3 and 4 are dropped on the live path; 5 reveals the hole, 6 arrives while it is repaired.
    repair.onBrokerMessage(sent[4]!);
    repair.onBrokerMessage(sent[5]!);
    expect(got).toEqual([1, 2]);
    await settle();
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.reads).toEqual([{ epoch: 'e1', offset: 2 }]);
    expect(repairs).toEqual(['filled']);
    expect(log.renewed).toEqual([]);
  });

  it('drops a repeat of a message already delivered without reading the log', async () => {
    const log = new FakeLog();
    const { repair, got, repairs } = setUp(log);
    const [one, two] = [log.append('a'), log.append('b')];
    repair.onBrokerMessage(one);
    repair.onBrokerMessage(two);
    repair.onBrokerMessage(two);
    repair.onBrokerMessage(one);
    await settle();
    expect(got).toEqual([1, 2]);
    expect(log.reads).toEqual([]);
    expect(repairs).toEqual([]);
    expect(log.renewed).toEqual([]);
  });

  it('reports a hole the log no longer holds as a gap, and delivers what the log still has', async () => {
    const log = new FakeLog(2);
    const { repair, got, gaps, repairs } = setUp(log);
    const sent = [1, 2, 3, 4, 5].map((i) => log.append(i));
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[1]!);
    // The log keeps only 4 and 5 now: 3 is gone everywhere.
    repair.onBrokerMessage(sent[4]!);
    await settle();
    expect(got).toEqual([1, 2, 'gap lost', 4, 5]);
    expect(gaps).toEqual([
      { channel: CHANNEL, reason: 'lost', requested: { epoch: 'e1', offset: 2 }, resumed: { epoch: 'e1', offset: 3 } },
    ]);
    expect(repairs).toEqual(['gap']);
  });

  it('lets the message that revealed the hole through after a gap when the log holds nothing before it', async () => {
    const log = new FakeLog(1);
    const { repair, state, got, repairs } = setUp(log);
    const sent = [1, 2, 3, 4].map((i) => log.append(i));
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[3]!);
    await settle();
    expect(got).toEqual([1, 'gap lost', 4]);
    expect(repairs).toEqual(['gap']);
    expect(state.top).toEqual({ epoch: 'e1', offset: 4 });
  });

  it('asks the engine for a new epoch when another message arrives at an offset already delivered', async () => {
    const log = new FakeLog();
    const { repair, got, renewals } = setUp(log);
    const [one, two] = [log.append('a'), log.append('b')];
    repair.onBrokerMessage(one);
    repair.onBrokerMessage(two);
    // The engine lost message 2 and stored another one at its offset.
    repair.onBrokerMessage({ ...two, json: serializeEnvelope(CHANNEL, 'e1', 2, 0, '"other"') });
    await settle();
    expect(got).toEqual([1, 2]);
    expect(log.renewed).toEqual([{ epoch: 'e1', offset: 2 }]);
    expect(renewals()).toBe(1);
  });

  it('asks the engine for a new epoch when the repair read finds the log behind the message that revealed the hole', async () => {
    const log = new FakeLog();
    const { repair, renewals } = setUp(log);
    const sent = [1, 2, 3, 4].map((i) => log.append(i));
    repair.onBrokerMessage(sent[0]!);
    log.lose(2);
    repair.onBrokerMessage(sent[3]!);
    await settle();
    expect(log.renewed).toEqual([{ epoch: 'e1', offset: 4 }]);
    expect(renewals()).toBe(1);
  });

  it('finds a dropped last message of a quiet channel with a position check, skipping a channel that was busy', async () => {
    const log = new FakeLog();
    const { repair, got, repairs } = setUp(log);
    const sent = [1, 2, 3].map((i) => log.append(i));
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[1]!);
    // Busy since the last check: its next message would reveal a hole, so the check waits a round.
    await repair.checkPositions();
    expect(got).toEqual([1, 2]);
    await repair.checkPositions();
    await settle();
    expect(got).toEqual([1, 2, 3]);
    expect(repairs).toEqual(['filled']);
  });

  it('asks the engine for a new epoch when a position check finds the log behind what was delivered', async () => {
    const log = new FakeLog();
    const { repair, renewals } = setUp(log);
    const sent = [1, 2, 3].map((i) => log.append(i));
    for (const message of sent) repair.onBrokerMessage(message);
    log.lose(1);
    await repair.checkPositions(true);
    expect(log.renewed).toEqual([{ epoch: 'e1', offset: 3 }]);
    expect(renewals()).toBe(1);
  });

  it('after a live-path reconnect, finds another message at the last delivered offset and asks for a new epoch', async () => {
    const log = new FakeLog();
    const { repair } = setUp(log);
    const sent = [1, 2].map((i) => log.append(i));
    for (const message of sent) repair.onBrokerMessage(message);
    log.lose(1);
    log.append('reused');
    await repair.checkPositions(true);
    expect(log.renewed).toEqual([{ epoch: 'e1', offset: 2 }]);
  });

  it('tries a failed repair read again while holding live messages, then delivers in order', async () => {
    vi.useFakeTimers();
    const log = new FakeLog();
    const { repair, got, repairs } = setUp(log);
    const sent = [1, 2, 3, 4].map((i) => log.append(i));
    log.failReads = 2;
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[2]!);
    repair.onBrokerMessage(sent[3]!);
    await vi.advanceTimersByTimeAsync(100);
    expect(got).toEqual([1]);
    expect(log.reads).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(log.reads).toHaveLength(3);
    expect(got).toEqual([1, 2, 3, 4]);
    expect(repairs).toEqual(['filled']);
  });

  it('reports the hole as a gap once every retry failed, and lets the held messages through', async () => {
    vi.useFakeTimers();
    const log = new FakeLog();
    const { repair, got, repairs } = setUp(log);
    const sent = [1, 2, 3].map((i) => log.append(i));
    log.failReads = Infinity;
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[2]!);
    await vi.advanceTimersByTimeAsync(100 + 300 + 1000);
    expect(got).toEqual([1]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(log.reads).toHaveLength(5);
    expect(got).toEqual([1, 'gap lost', 3]);
    expect(repairs).toEqual(['gap']);
  });

  it('stops retrying once closed', async () => {
    vi.useFakeTimers();
    const log = new FakeLog();
    const { repair, got } = setUp(log);
    const sent = [1, 2, 3].map((i) => log.append(i));
    log.failReads = Infinity;
    repair.onBrokerMessage(sent[0]!);
    repair.onBrokerMessage(sent[2]!);
    await vi.advanceTimersByTimeAsync(0);
    repair.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(log.reads).toHaveLength(1);
    expect(got).toEqual([1]);
    await repair.checkPositions(true);
    expect(log.reads).toHaveLength(1);
  });
});
