import type { Clock } from '../clock.js';
import type { HubObserver } from '../hub/hub-observer.js';
import type { TransportCounts } from '../transport/transport.js';

/** Milliseconds between two samples of the admin API's series and rates. */
export const DEFAULT_ADMIN_SAMPLE_INTERVAL = 2000;
/** Milliseconds of samples the admin API keeps (`GET /api/admin/series`). */
export const ADMIN_SERIES_WINDOW = 10 * 60 * 1000;

/** One point of the series: rates over the interval that ended at `t`, connections at `t`. */
export interface AdminSample {
  /** When it was taken, in milliseconds since the Unix epoch. */
  readonly t: number;
  /** Publishes this node stored, per second (duplicates of an idempotency key not counted). */
  readonly published: number;
  /** Live messages dispatched to this node's subscribers and held polls, per second. */
  readonly delivered: number;
  /** Open connections per transport (long polls held for `polling`). */
  readonly connections: Readonly<TransportCounts>;
}

/** Options of {@link AdminSampler}. */
export interface AdminSamplerOptions {
  readonly clock: Clock;
  /** Milliseconds between samples. @default {@link DEFAULT_ADMIN_SAMPLE_INTERVAL} */
  readonly interval?: number | undefined;
  /** Open connections per transport now. */
  readonly connections: () => Readonly<TransportCounts>;
  /** Called after each sample (the node's heartbeat to the cluster). */
  readonly onSample?: (sample: AdminSample) => void;
}

/** Rounds a rate to two decimals (the JSON stays short). */
const rate = (count: number, seconds: number): number => Math.round((count / seconds) * 100) / 100;

/**
 * Counts publishes and live deliveries (per channel too) through a {@link HubObserver} and samples
 * them with the connections every `interval` ms into a series of the last
 * {@link ADMIN_SERIES_WINDOW} ms. Counting is a field increment and one `Map` update per live
 * message; the per-channel counts are dropped at every sample, so the map holds only channels
 * that received something in the last interval.
 */
export class AdminSampler {
  readonly interval: number;
  readonly #clock: Clock;
  readonly #connections: () => Readonly<TransportCounts>;
  readonly #onSample: ((sample: AdminSample) => void) | undefined;
  readonly #samples: AdminSample[] = [];
  readonly #capacity: number;
  readonly #timer: NodeJS.Timeout;
  #published = 0;
  #delivered = 0;
  #perChannel = new Map<string, number>();
  #rates: ReadonlyMap<string, number> = new Map();
  #last: number;

  constructor(options: AdminSamplerOptions) {
    const interval = options.interval ?? DEFAULT_ADMIN_SAMPLE_INTERVAL;
    if (!Number.isInteger(interval) || interval < 10 || interval > 60_000)
      throw new RangeError('adminSampleInterval must be an integer number of milliseconds from 10 to 60000');
    this.interval = interval;
    this.#clock = options.clock;
    this.#connections = options.connections;
    this.#onSample = options.onSample;
    this.#capacity = Math.max(1, Math.ceil(ADMIN_SERIES_WINDOW / interval));
    this.#last = this.#clock.now();
    this.#timer = setInterval(() => this.sample(), interval);
    this.#timer.unref();
  }

  /** `inner` (the metrics' observer, or none) plus this sampler's counting. */
  observe(inner: HubObserver | undefined): HubObserver {
    return {
      published: (duplicate) => {
        if (!duplicate) this.#published++;
        inner?.published(duplicate);
      },
      dispatched: (channel) => {
        this.#delivered++;
        this.#perChannel.set(channel, (this.#perChannel.get(channel) ?? 0) + 1);
        inner?.dispatched(channel);
      },
      repaired: (outcome) => inner?.repaired(outcome),
      epochRenewed: () => inner?.epochRenewed(),
    };
  }

  /** Takes a sample now (the timer calls it every `interval`). */
  sample(): AdminSample {
    const now = this.#clock.now();
    const seconds = Math.max(now - this.#last, 1) / 1000;
    const rates = new Map<string, number>();
    for (const [channel, count] of this.#perChannel) rates.set(channel, rate(count, seconds));
    const sample: AdminSample = {
      t: now,
      published: rate(this.#published, seconds),
      delivered: rate(this.#delivered, seconds),
      connections: { ...this.#connections() },
    };
    this.#rates = rates;
    this.#perChannel = new Map();
    this.#published = 0;
    this.#delivered = 0;
    this.#last = now;
    this.#samples.push(sample);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
    this.#onSample?.(sample);
    return sample;
  }

  /** The samples of the last {@link ADMIN_SERIES_WINDOW} ms, oldest first. */
  samples(): readonly AdminSample[] {
    return this.#samples;
  }

  /** The latest sample, or undefined before the first. */
  get latest(): AdminSample | undefined {
    return this.#samples.at(-1);
  }

  /** Live messages per second of `channel` over the last interval (0 when none). */
  rateOf(channel: string): number {
    return this.#rates.get(channel) ?? 0;
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this.#timer);
  }
}
