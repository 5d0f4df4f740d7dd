import type { Position } from '@herald/protocol';
import type { Broker, BrokerMessage } from '../engine/broker.js';
import type { Logger } from '../logger.js';
import type { ChannelState } from './channel-state.js';
import { computeGap } from './compute-gap.js';
import { HubMessage } from './hub-message.js';
import type { HubObserver } from './hub-observer.js';

/** Waits (ms) before each new try of a failed repair read; then the hole is reported as a gap. */
const REPAIR_RETRY_DELAYS = [100, 300, 1000, 2000];
/** Live messages a channel may hold while its repair read is retried; past it the hole is a gap. */
export const MAX_HELD_DURING_REPAIR = 10_000;

/** What the repair needs of the engine: its log, and a new epoch when the log lost acknowledged messages. */
export type RepairBroker = Pick<Broker, 'read' | 'position' | 'renewEpoch'>;

/** What {@link LiveRepair} works on. */
export interface LiveRepairOptions {
  readonly broker: RepairBroker;
  /** The hub's active channels; a channel missing from it (or replaced) is no longer repaired. */
  readonly channels: ReadonlyMap<string, ChannelState>;
  readonly logger: Logger;
  readonly observer: HubObserver;
}

/**
 * The live path of every active channel: messages from the broker go to the channel's
 * subscriptions and listeners in offset order, without repeats. A hole (a message the engine's
 * live path dropped, as Redis pub/sub may) is filled from the log before the messages after it;
 * when the log no longer has it, subscriptions report a gap. A log found behind what was delivered
 * makes the engine start a new epoch. Knows nothing of sockets; {@link Hub} feeds it.
 */
export class LiveRepair {
  readonly #broker: RepairBroker;
  readonly #channels: ReadonlyMap<string, ChannelState>;
  readonly #logger: Logger;
  readonly #observer: HubObserver;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(options: LiveRepairOptions) {
    this.#broker = options.broker;
    this.#channels = options.channels;
    this.#logger = options.logger;
    this.#observer = options.observer;
  }

  /** A live message from the broker: dispatched, held during a repair, dropped as a repeat, or the trigger of a repair. */
  onBrokerMessage(message: BrokerMessage): void {
    const state = this.#channels.get(message.channel);
    if (state === undefined) return;
    if (state.repairQueue !== undefined) {
      state.repairQueue.push(message);
      if (state.repairQueue.length > MAX_HELD_DURING_REPAIR) state.abandonRepair?.();
      return;
    }
    const top = state.top;
    if (top !== undefined && top.epoch === message.epoch) {
      if (message.offset <= top.offset) {
        // A repeat of the last message is normal (a repair and the live path overlap); another
        // message at its offset means the log lost it and reused the offset.
        const last = state.last;
        if (message.offset === top.offset && last !== undefined && last.offset === top.offset && last.json !== message.json)
          this.#renewEpoch(message.channel, top);
        return;
      }
      if (message.offset > top.offset + 1) {
        this.#repair(message.channel, state, top, message);
        return;
      }
    } else if (top !== undefined && message.offset > 1) {
      // A new epoch (the engine lost its log) whose first messages the live path missed.
      this.#repair(message.channel, state, { epoch: message.epoch, offset: 0 }, message);
      return;
    }
    this.#dispatch(state, message);
  }

  /**
   * Compares active channels' positions in the engine with the last message delivered live, and
   * fetches from the log what the live path missed. Periodically only channels that received nothing
   * since the previous check (a busy channel's next message reveals a hole); every channel when the
   * engine reports that its live path reconnected (`all`). Resolves once every check has finished.
   */
  async checkPositions(all = false): Promise<void> {
    if (this.#closed) return;
    const checks = [...this.#channels].map(async ([channel, state]) => {
      const seen = state.top;
      if (seen === undefined || state.repairQueue !== undefined) return;
      if (state.busy && !all) {
        state.busy = false;
        return;
      }
      const last = state.last;
      let current: Position;
      let replaced = false;
      try {
        if (all && last !== undefined && last.epoch === seen.epoch && last.offset === seen.offset && seen.offset > 0) {
          // After a reconnect, also compare the last message delivered with what the log now holds
          // at its offset: a log that lost it and reused the offset for another message since.
          const result = await this.#broker.read(channel, { since: { epoch: seen.epoch, offset: seen.offset - 1 }, limit: 1 });
          current = result.position;
          const atSeen = result.messages[0];
          replaced = current.epoch === seen.epoch && atSeen?.offset === seen.offset && atSeen.json !== last.json;
        } else {
          current = await this.#broker.position(channel);
        }
      } catch (error) {
        this.#logger.debug({ err: error, channel }, 'position check failed');
        return;
      }
      // Only if nothing arrived meanwhile: otherwise the live path is moving and repairs itself.
      if (this.#channels.get(channel) !== state || state.top !== seen || state.repairQueue !== undefined) return;
      if (replaced) return this.#renewEpoch(channel, seen);
      if (current.epoch === seen.epoch && current.offset > seen.offset) this.#repair(channel, state, seen);
      else if (current.epoch !== seen.epoch && current.offset > 0) this.#repair(channel, state, { epoch: current.epoch, offset: 0 });
      // The engine lost acknowledged messages and kept the epoch (e.g. Redis restarted from an AOF
      // written every second): its next offsets would repeat ones already delivered.
      else if (current.epoch === seen.epoch && current.offset < seen.offset) this.#renewEpoch(channel, seen);
    });
    await Promise.all(checks);
  }

  /** Stops: repairs in progress are dropped and their retries cancelled. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #dispatch(state: ChannelState, stored: BrokerMessage): void {
    const message = new HubMessage(stored);
    const previous = state.last;
    if (state.delta && previous instanceof HubMessage) {
      // The delta base is the message before, if it is exactly offset − 1; the base's own base goes
      // (its delta, if anyone needed it, was built while it was dispatched).
      previous.base = undefined;
      if (previous.epoch === stored.epoch && previous.offset === stored.offset - 1) message.base = previous;
    }
    state.top = { epoch: stored.epoch, offset: stored.offset };
    // Kept as the HubMessage only where deltas need it (with its cached encodings: two messages per channel).
    state.last = state.delta ? message : stored;
    state.busy = true;
    this.#observer.dispatched(stored.channel);
    for (const subscription of state.subscriptions) subscription.receive(message);
    for (const listener of state.listeners) listener(message);
  }

  /**
   * Fills a hole on the live path from the log (the messages after `from`, up to `trigger` when a
   * live message revealed the hole), then delivers what was held meanwhile. A failed read is tried
   * again a few times (the engine's live path often comes back before its command path) while live
   * messages keep being held, up to a bound.
   */
  #repair(channel: string, state: ChannelState, from: Position, trigger?: BrokerMessage): void {
    const queue: BrokerMessage[] = trigger === undefined ? [] : [trigger];
    state.repairQueue = queue;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const current = (): boolean => !done && !this.#closed && this.#channels.get(channel) === state;
    /** Ends the repair: held messages go through the live path again (or are dropped with the state). */
    const finish = (keep: (held: BrokerMessage) => boolean): void => {
      done = true;
      clearTimeout(timer);
      if (timer !== undefined) this.#timers.delete(timer);
      if (state.repairQueue === queue) state.repairQueue = undefined;
      if (state.abandonRepair === abandon) state.abandonRepair = undefined;
      if (this.#closed || this.#channels.get(channel) !== state) return;
      for (const held of queue) if (keep(held)) this.onBrokerMessage(held);
    };
    /** Lets what is held through; each subscription reports the hole as a gap. */
    const giveUp = (): void => {
      this.#observer.repaired(queue.length > MAX_HELD_DURING_REPAIR ? 'abandoned' : 'gap');
      if (queue.length > 0) state.top = undefined;
      finish(() => true);
    };
    const abandon = (): void => {
      if (done) return;
      this.#logger.warn({ channel, held: queue.length }, 'live repair given up: too many messages held');
      giveUp();
    };
    state.abandonRepair = abandon;
    const attempt = (retry: number): void => {
      timer = undefined;
      if (!current()) return finish(() => false);
      this.#broker
        .read(channel, { since: from })
        .then(
          (result) => {
            if (!current()) return;
            const logEpoch = result.position.epoch;
            // Everything the log still holds after `from`, in order. When it no longer holds all of it
            // (trimmed, or a new epoch), each subscription sees the jump and reports it as a gap first.
            for (const missed of result.messages) {
              if (trigger !== undefined && trigger.epoch === logEpoch && missed.offset >= trigger.offset) break;
              this.#dispatch(state, missed);
            }
            if (trigger !== undefined && trigger.epoch === logEpoch) {
              const top = state.top;
              // The log could not fill the whole hole: the trigger passes anyway and subscriptions
              // report what is missing as a gap (another repair could not do better).
              if (top === undefined || top.epoch !== logEpoch || top.offset < trigger.offset - 1) state.top = undefined;
              // The log is behind a message this node received: it lost acknowledged messages.
              if (result.position.offset < trigger.offset) this.#renewEpoch(channel, { epoch: trigger.epoch, offset: trigger.offset });
            }
            this.#observer.repaired(state.top === undefined || computeGap(channel, from, result) !== undefined ? 'gap' : 'filled');
            // A held message of another epoch belongs to a log the engine no longer has.
            finish((held) => held.epoch === logEpoch);
          },
          (error: unknown) => {
            if (!current()) return;
            this.#logger.warn({ err: error, channel, retry }, 'live repair read failed');
            const delay = REPAIR_RETRY_DELAYS[retry];
            if (delay === undefined) return giveUp();
            timer = setTimeout(() => {
              this.#timers.delete(timer!);
              attempt(retry + 1);
            }, delay);
            timer.unref();
            this.#timers.add(timer);
          },
        )
        .catch((error: unknown) => this.#logger.error({ err: error, channel }, 'live repair failed'));
    };
    attempt(0);
  }

  /** The engine's log is behind `seen` in the same epoch: have it start a new epoch (see `Broker.renewEpoch`). */
  #renewEpoch(channel: string, seen: Position): void {
    this.#logger.warn({ channel, delivered: seen.offset }, 'the engine lost acknowledged messages: starting a new epoch');
    this.#observer.epochRenewed();
    this.#broker.renewEpoch?.(channel, seen).catch((error: unknown) => this.#logger.warn({ err: error, channel }, 'new epoch not started'));
  }
}
