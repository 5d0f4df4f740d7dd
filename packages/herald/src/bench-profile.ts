/** The transports `herald bench` measures, in the order it runs them. */
export const BENCH_TRANSPORTS = ['websocket', 'sse', 'long-polling', 'short-polling'] as const;

/** One of {@link BENCH_TRANSPORTS}. */
export type BenchTransport = (typeof BENCH_TRANSPORTS)[number];

/** A workload `herald bench` runs over every transport. */
export interface BenchProfile {
  /** Subscribing clients; client `i` subscribes to channel `i % channels`. */
  readonly clients: number;
  /** Channels the clients spread over. */
  readonly channels: number;
  /** Messages the publisher sends per channel per second (over the HTTP API). */
  readonly publishRate: number;
  /** Bytes of padding in each published message (the envelope adds about 120 bytes). */
  readonly messageSize: number;
  /** Messages each client sends to the hub per second (0 = none). */
  readonly clientRate: number;
  /** Seconds the publisher runs per transport. */
  readonly duration: number;
  /** Milliseconds between two requests of a short-polling client. */
  readonly pollInterval: number;
}

/** The presets of `--preset`, one per use case, small enough that a preset runs in well under two minutes. */
export const BENCH_PRESETS = {
  chat: { clients: 20, channels: 4, publishRate: 2, messageSize: 200, clientRate: 0.2, duration: 5, pollInterval: 1000 },
  notifications: { clients: 40, channels: 40, publishRate: 0.4, messageSize: 300, clientRate: 0, duration: 5, pollInterval: 1000 },
  dashboard: { clients: 20, channels: 2, publishRate: 2, messageSize: 400, clientRate: 0, duration: 5, pollInterval: 1000 },
  'flash-sale': { clients: 50, channels: 1, publishRate: 5, messageSize: 100, clientRate: 0.05, duration: 5, pollInterval: 1000 },
  feed: { clients: 30, channels: 3, publishRate: 1, messageSize: 800, clientRate: 0, duration: 5, pollInterval: 1000 },
  game: { clients: 10, channels: 2, publishRate: 20, messageSize: 120, clientRate: 20, duration: 5, pollInterval: 1000 },
  collab: { clients: 10, channels: 2, publishRate: 5, messageSize: 200, clientRate: 2, duration: 5, pollInterval: 1000 },
} as const satisfies Record<string, BenchProfile>;

/** A name of {@link BENCH_PRESETS}. */
export type BenchPresetName = keyof typeof BENCH_PRESETS;

/** The preset used when `--preset` is absent. @default 'chat' */
export const DEFAULT_BENCH_PRESET: BenchPresetName = 'chat';

/** Whether `name` is a preset's name. */
export function isBenchPreset(name: string): name is BenchPresetName {
  return Object.hasOwn(BENCH_PRESETS, name);
}

/** The preset `name` with every field given in `overrides` replaced. */
export function benchProfile(name: BenchPresetName, overrides: Partial<BenchProfile>): BenchProfile {
  const merged: Record<string, number> = { ...BENCH_PRESETS[name] };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) merged[key] = value;
  return merged as unknown as BenchProfile;
}
