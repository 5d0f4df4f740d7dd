import type { BrokerMessage } from '../engine/broker.js';

/**
 * A message on its way through the hub. Transports cache their wire encoding on it with
 * {@link HubMessage.encoded}, so each format is built once and the same bytes go to every subscriber.
 */
export class HubMessage implements BrokerMessage {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  readonly time: number;
  readonly json: string;
  /**
   * On a channel with deltas (see `HubOptions.deltaNamespaces`), the message dispatched live just
   * before this one (offset − 1, same epoch), until the next one is dispatched: what its delta is
   * taken against (see `messageDelta`). Never a chain: the hub drops the base's own base.
   */
  base: HubMessage | undefined;
  #cache: Record<string, unknown> | undefined;

  constructor(message: BrokerMessage) {
    this.channel = message.channel;
    this.epoch = message.epoch;
    this.offset = message.offset;
    this.time = message.time;
    this.json = message.json;
    this.base = undefined;
  }

  /** Whether the encoding named `key` was built already (by {@link HubMessage.encoded}). */
  has(key: string): boolean {
    return this.#cache !== undefined && key in this.#cache;
  }

  /** The encoding named `key`, built by `encode` on first use and reused afterwards. */
  encoded<T>(key: string, encode: (message: HubMessage) => T): T {
    const cache = (this.#cache ??= Object.create(null) as Record<string, unknown>);
    if (key in cache) return cache[key] as T;
    const value = encode(this);
    cache[key] = value;
    return value;
  }
}
