import type { Position } from '@herald/protocol';
import {
  newEpoch,
  resolveHistoryPolicy,
  serializeEnvelope,
  silentLogger,
  systemClock,
  timerMs,
  type Broker,
  type BrokerHandler,
  type BrokerMessage,
  type Clock,
  type DuplicatePublish,
  type HistoryOptions,
  type HistoryPolicy,
  type Logger,
  type PresenceEvent,
  type PublishOptions,
  type ReadOptions,
  type ReadResult,
} from '@herald/server';
import { RedisLink } from './redis-link.js';
import { Keys } from './keys.js';
import { POSITION, PUBLISH, READ, RENEW_EPOCH } from './scripts.js';

/** Options of {@link RedisBroker.connect}. */
export interface RedisBrokerOptions extends HistoryOptions {
  /** `redis://host:port[/db]`, `redis-cluster://host:port,…` or `redis-sentinel://host:port,…/<master-name>` (see `checkRedisUrl`). */
  readonly url: string;
  /** Prefix of every key and pub/sub channel, so deployments can share a Redis. @default "herald:" */
  readonly prefix?: string;
  /** A command that gets no reply within this many ms fails (the hub answers 503). @default 5000 */
  readonly commandTimeout?: number;
  /** How long the first connection may take. @default 10000 */
  readonly connectTimeout?: number;
  /** How often (ms) the node checks that Redis answers (a frozen Redis keeps its sockets open). @default 1000 */
  readonly healthInterval?: number;
  /** Seconds a channel nobody published to keeps its epoch. @default 86400 */
  readonly emptyChannelTtl?: number;
  /** @default the system clock */
  readonly clock?: Clock;
  readonly logger?: Logger;
}

type Entry = [id: string, fields: string[]];

/**
 * The Redis engine: each channel's log is a Redis stream next to a hash holding its epoch and last
 * offset; a Lua script appends and fans out in one step; every node receives live messages over
 * Redis pub/sub.
 *
 * Pub/sub is at-most-once: a node that was cut off from Redis misses messages. The hub repairs a
 * hole from the stream when the next message shows it, checks idle channels' positions periodically,
 * and checks every channel at once when this broker reports a reconnect (`onLiveReset`).
 */
export class RedisBroker implements Broker {
  readonly #client: RedisLink;
  readonly #subscriber: RedisLink;
  readonly #keys: Keys;
  readonly #policy: (channel: string) => HistoryPolicy;
  readonly #clock: Clock;
  readonly #emptyTtl: string;
  readonly #subscribed = new Set<string>();
  #handler: BrokerHandler | undefined;
  #closed = false;
  /** The subscriber reconnected and the hub has not been told yet. */
  #liveReset = false;
  /** The last health probe got no timely answer (Redis frozen, or a network black hole). */
  #unresponsive = false;
  readonly #probe: NodeJS.Timeout;
  #probing = false;

  private constructor(client: RedisLink, subscriber: RedisLink, options: RedisBrokerOptions, policy: (channel: string) => HistoryPolicy) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#keys = new Keys(options.prefix ?? 'herald:', client.mode === 'cluster');
    this.#policy = policy;
    this.#clock = options.clock ?? systemClock;
    this.#emptyTtl = String((options.emptyChannelTtl ?? 86_400) * 1000);
    // Every reconnect of the subscriber after the first may have lost pub/sub messages: ask the hub
    // to check, once both connections are up (the check reads positions over the command one, which
    // may come back later than the subscriber).
    subscriber.onReady(() => {
      this.#liveReset = true;
      this.#reportLiveReset();
    });
    client.onReady(() => this.#reportLiveReset());
    // A connection that looks open to a Redis that stopped answering: only a timed request shows it.
    this.#probe = setInterval(() => void this.#checkHealth(), options.healthInterval ?? 1000);
    this.#probe.unref();
  }

  async #checkHealth(): Promise<void> {
    if (this.#probing || this.#closed || !this.#client.isReady) return;
    this.#probing = true;
    try {
      await this.#client.ping();
      if (this.#unresponsive) {
        this.#unresponsive = false;
        // Whatever the live path held back may have been dropped by Redis meanwhile.
        this.#liveReset = true;
        this.#reportLiveReset();
      }
    } catch {
      this.#unresponsive = true;
    } finally {
      this.#probing = false;
    }
  }

  #reportLiveReset(): void {
    if (!this.#liveReset || !this.#client.isReady || !this.#subscriber.isReady) return;
    this.#liveReset = false;
    this.#handler?.onLiveReset?.();
  }

  /** Connects a command client and a pub/sub client; rejects when Redis cannot be reached. */
  static async connect(options: RedisBrokerOptions): Promise<RedisBroker> {
    const policy = resolveHistoryPolicy(options);
    const emptyTtl = options.emptyChannelTtl ?? 86_400;
    if (!Number.isFinite(emptyTtl) || emptyTtl <= 0) throw new RangeError('emptyChannelTtl must be a number of seconds > 0');
    timerMs('healthInterval', options.healthInterval, 1000);
    const prefix = options.prefix ?? 'herald:';
    if (typeof prefix !== 'string') throw new RangeError('prefix must be a string');
    const settings = { ...options, logger: options.logger ?? silentLogger };
    const client = await RedisLink.open(settings, 'commands');
    let subscriber: RedisLink;
    try {
      subscriber = await RedisLink.open(settings, 'pubsub');
    } catch (error) {
      await client.close();
      throw error;
    }
    const broker = new RedisBroker(client, subscriber, options, policy);
    try {
      // Plain pub/sub (on a cluster, broadcast to every node): control messages reach every node.
      await subscriber.subscribe(broker.#keys.control, broker.#onControl, false);
    } catch (error) {
      await broker.close();
      throw error;
    }
    return broker;
  }

  setHandler(handler: BrokerHandler): void {
    this.#handler = handler;
  }

  /**
   * Whether both connections to Redis are up and Redis answered the last health probe in time (the
   * node reports not ready otherwise).
   */
  isAvailable(): boolean {
    return !this.#closed && !this.#unresponsive && this.#client.isReady && this.#subscriber.isReady;
  }

  publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  async publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    const policy = this.#policy(channel);
    const time = this.#clock.now();
    const log = this.#keys.log(channel);
    const keyTtl = options === undefined ? 0 : Math.max(1, Math.round(options.idempotencyTtl * 1000));
    const reply = (await PUBLISH.run(
      this.#client,
      [this.#keys.meta(channel), log, options === undefined ? log : this.#keys.idempotency(channel, options.idempotencyKey)],
      [
        newEpoch(),
        String(time),
        String(policy.size),
        String(policy.ttl * 1000),
        JSON.stringify(channel),
        dataJson,
        this.#keys.live(channel),
        this.#emptyTtl,
        String(keyTtl),
        String(time + keyTtl),
        options?.fingerprint ?? '-',
        this.#client.mode === 'cluster' ? 'SPUBLISH' : 'PUBLISH',
        // Fencing against a promoted replica that lacks acknowledged messages (see PUBLISH).
        this.#client.mode === 'single' ? '0' : this.#client.mode === 'sentinel' ? '1' : '2',
      ],
    )) as [string, number, number, string?];
    const [epoch, offset, duplicate, fingerprint] = reply;
    if (duplicate === 1) return { duplicate: true, channel, epoch, offset, fingerprint: fingerprint ?? '' };
    // The script built the envelope and every node (this one too) receives it over pub/sub; the
    // publisher only needs the position, so the same text is rebuilt here only if someone reads it.
    return {
      channel,
      epoch,
      offset,
      time,
      get json() {
        return serializeEnvelope(channel, epoch, offset, time, dataJson);
      },
    };
  }

  async read(channel: string, options: ReadOptions = {}): Promise<ReadResult> {
    const { since } = options;
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const policy = this.#policy(channel);
    const reply = (await READ.run(
      this.#client,
      [this.#keys.meta(channel), this.#keys.log(channel)],
      [
        newEpoch(),
        String(this.#clock.now()),
        String(policy.ttl * 1000),
        since?.epoch ?? '',
        String(since?.offset ?? 0),
        String(Math.min(limit, policy.size)),
        this.#emptyTtl,
      ],
    )) as [string, number, number, Entry[]];
    const [epoch, top, oldest, entries] = reply;
    const messages = entries.map(([id, fields]): BrokerMessage => ({
      channel,
      epoch,
      offset: parseInt(id, 10),
      time: Number(fields[1]),
      json: fields[3]!,
    }));
    return { messages, position: { epoch, offset: top }, oldest };
  }

  async position(channel: string): Promise<Position> {
    const [epoch, offset] = (await POSITION.run(
      this.#client,
      [this.#keys.meta(channel), this.#keys.log(channel)],
      [newEpoch(), this.#emptyTtl],
    )) as [string, number];
    return { epoch, offset };
  }

  async subscribe(channel: string): Promise<void> {
    if (this.#subscribed.has(channel)) return;
    try {
      await this.#subscriber.subscribe(this.#keys.live(channel), this.#onLive, true);
    } catch (error) {
      // A late reply would leave Redis sending this channel to a node that ignores it.
      this.#subscriber.unsubscribe(this.#keys.live(channel), this.#onLive, true).catch(() => undefined);
      throw error;
    }
    this.#subscribed.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (!this.#subscribed.delete(channel)) return;
    await this.#subscriber.unsubscribe(this.#keys.live(channel), this.#onLive, true);
  }

  async publishPresenceEvent(event: PresenceEvent): Promise<void> {
    await this.#client.publish(this.#keys.live(event.channel), `p${JSON.stringify(event)}`, true);
  }

  async renewEpoch(channel: string, seen: Position): Promise<void> {
    await RENEW_EPOCH.run(this.#client, [this.#keys.meta(channel), this.#keys.log(channel)], [seen.epoch, String(seen.offset), newEpoch()]);
  }

  async publishControl(payload: string): Promise<void> {
    await this.#client.publish(this.#keys.control, payload, false);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probe);
    this.#subscribed.clear();
    await Promise.all([this.#subscriber.close(), this.#client.close()]);
  }

  readonly #onControl = (payload: string): void => {
    if (!this.#closed) this.#handler?.onControl?.(payload);
  };

  /** One listener for every channel: `<offset> <epoch> <time> <envelope>`, or `p<presence event JSON>`. */
  readonly #onLive = (payload: string, name: string): void => {
    const handler = this.#handler;
    if (handler === undefined || this.#closed) return;
    const channel = this.#keys.channelOfLive(name);
    if (channel === undefined || !this.#subscribed.has(channel)) return;
    if (payload.startsWith('p')) {
      const event = parsePresenceEvent(payload.slice(1));
      if (event !== undefined && event.channel === channel) handler.onPresenceEvent(event);
      return;
    }
    const a = payload.indexOf(' ');
    const b = payload.indexOf(' ', a + 1);
    const c = payload.indexOf(' ', b + 1);
    if (a <= 0 || b <= a || c <= b) return;
    const offset = Number(payload.slice(0, a));
    const time = Number(payload.slice(b + 1, c));
    if (!Number.isSafeInteger(offset) || !Number.isFinite(time)) return;
    handler.onMessage({ channel, epoch: payload.slice(a + 1, b), offset, time, json: payload.slice(c + 1) });
  };
}

function parsePresenceEvent(text: string): PresenceEvent | undefined {
  try {
    const event = JSON.parse(text) as Partial<PresenceEvent>;
    if ((event.type !== 'join' && event.type !== 'leave') || typeof event.channel !== 'string' || typeof event.client !== 'string')
      return undefined;
    const user = typeof event.user === 'string' ? event.user : null;
    return event.info === undefined
      ? { type: event.type, channel: event.channel, client: event.client, user }
      : { type: event.type, channel: event.channel, client: event.client, user, info: event.info };
  } catch {
    return undefined;
  }
}
