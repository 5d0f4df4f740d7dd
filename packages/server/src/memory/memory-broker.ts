import type { Position } from '@herald/protocol';
import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  DuplicatePublish,
  PresenceEvent,
  PublishOptions,
  ReadOptions,
  ReadResult,
} from '../engine/broker.js';
import { serializeEnvelope } from '../engine/broker.js';
import { resolveHistoryPolicy, type HistoryOptions, type HistoryPolicy } from '../engine/history-policy.js';
import { systemClock, type Clock } from '../clock.js';
import { timerSeconds } from '../timer-delay.js';
import { ChannelLog } from './channel-log.js';
import { newEpoch } from '../engine/epoch.js';
import { IdempotencyKeys } from './idempotency-keys.js';

/** Options of {@link MemoryBroker}. */
export interface MemoryBrokerOptions extends HistoryOptions {
  /** @default the system clock */
  readonly clock?: Clock;
  /** Seconds between sweeps that drop expired messages of idle channels. @default 60 */
  readonly sweepInterval?: number;
}

/**
 * The reference engine: every channel's log in this process's memory. Nothing survives a restart;
 * each log gets a new random epoch when first used, so positions from an earlier process are
 * recognised as foreign (a gap), never matched against the new log.
 */
export class MemoryBroker implements Broker {
  #logs = new Map<string, ChannelLog>();
  #subscribed = new Set<string>();
  #keys = new IdempotencyKeys();
  #handler: BrokerHandler | undefined;
  #policy: (channel: string) => HistoryPolicy;
  #clock: Clock;
  #sweep: NodeJS.Timeout;

  constructor(options: MemoryBrokerOptions = {}) {
    this.#policy = resolveHistoryPolicy(options);
    this.#clock = options.clock ?? systemClock;
    const interval = timerSeconds('sweepInterval', options.sweepInterval, 60);
    this.#sweep = setInterval(() => this.#expireAll(), interval * 1000);
    this.#sweep.unref();
  }

  setHandler(handler: BrokerHandler): void {
    this.#handler = handler;
  }

  #log(channel: string): ChannelLog {
    let log = this.#logs.get(channel);
    if (log === undefined) {
      log = new ChannelLog(newEpoch());
      this.#logs.set(channel, log);
    }
    return log;
  }

  publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    const log = this.#log(channel);
    const policy = this.#policy(channel);
    const time = this.#clock.now();
    if (options !== undefined) {
      const first = this.#keys.find(channel, options.idempotencyKey, time);
      if (first !== undefined) return Promise.resolve({ duplicate: true, channel, ...first });
    }
    const offset = log.top + 1;
    const message: BrokerMessage = {
      channel,
      epoch: log.epoch,
      offset,
      time,
      json: serializeEnvelope(channel, log.epoch, offset, time, dataJson),
    };
    log.expire(time, policy);
    log.append(message, policy);
    if (options !== undefined)
      this.#keys.remember(channel, options.idempotencyKey, message, options.fingerprint, time + options.idempotencyTtl * 1000);
    if (this.#subscribed.has(channel)) this.#handler?.onMessage(message);
    return Promise.resolve(message);
  }

  read(channel: string, options: ReadOptions = {}): Promise<ReadResult> {
    const log = this.#log(channel);
    log.expire(this.#clock.now(), this.#policy(channel));
    const { since } = options;
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const oldest = log.oldest;
    const resumable = since !== undefined && since.epoch === log.epoch && since.offset >= oldest - 1 && since.offset <= log.top;
    const after = resumable ? since.offset : oldest - 1;
    return Promise.resolve({ messages: log.slice(after, limit), position: { epoch: log.epoch, offset: log.top }, oldest });
  }

  position(channel: string): Promise<Position> {
    const log = this.#log(channel);
    return Promise.resolve({ epoch: log.epoch, offset: log.top });
  }

  subscribe(channel: string): Promise<void> {
    this.#subscribed.add(channel);
    return Promise.resolve();
  }

  unsubscribe(channel: string): Promise<void> {
    this.#subscribed.delete(channel);
    return Promise.resolve();
  }

  publishPresenceEvent(event: PresenceEvent): Promise<void> {
    if (this.#subscribed.has(event.channel)) this.#handler?.onPresenceEvent(event);
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#subscribed.clear();
    return Promise.resolve();
  }

  #expireAll(): void {
    const now = this.#clock.now();
    this.#keys.sweep(now);
    for (const [channel, log] of this.#logs) {
      // A log nothing was ever published to, that no one listens to, holds nothing worth keeping:
      // reads and subscriptions to arbitrary names must not grow memory for good.
      if (log.top === 0 && !this.#subscribed.has(channel)) this.#logs.delete(channel);
      else log.expire(now, this.#policy(channel));
    }
  }
}
