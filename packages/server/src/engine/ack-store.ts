import type { Position } from '@herald/protocol';

/** Seconds an acknowledged position is kept after its last ack unless configured: 7 days. */
export const DEFAULT_ACK_TTL = 604_800;

/** Users whose positions one channel keeps unless configured; past it the least recently acked is forgotten. */
export const DEFAULT_MAX_ACKS_PER_CHANNEL = 10_000;

/** One user's acknowledged position on a channel. */
export interface AckedPosition {
  readonly user: string;
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  /** When it was last acknowledged (ms since the Unix epoch, the hub's clock). */
  readonly time: number;
}

/** Options of {@link AckStore.list}. */
export interface AckListOptions {
  /** Only this user's position. */
  readonly user?: string | undefined;
  /** At most this many, most recently acknowledged first. */
  readonly limit: number;
}

/** What {@link AckStore.ack} resolves to. */
export interface AckOutcome {
  /** The user's acknowledged position after the ack. */
  readonly position: Position;
  /** Whether the ack moved it (false: the same or a higher offset of the epoch was already acknowledged). */
  readonly moved: boolean;
}

/**
 * The acknowledged position per user and channel, shared by every node of the hub (in the engine).
 * Within an epoch a position never moves backwards; an ack in another epoch replaces it (the hub
 * accepts acks of the channel's current epoch only, so a new epoch is always the newer one).
 *
 * Bounded: a position not acknowledged again within the store's `ttl` is forgotten, and a channel
 * keeps at most `maxPerChannel` users (the least recently acknowledged is forgotten first).
 */
export interface AckStore {
  /** Stores `position` for `user` on `channel` at `now` unless it is behind the stored one of the same epoch. */
  ack(user: string, channel: string, position: Position, now: number): Promise<AckOutcome>;
  /** The channel's acknowledged positions (not expired at `now`), most recently acknowledged first. */
  list(channel: string, options: AckListOptions, now: number): Promise<AckedPosition[]>;
  close?(): Promise<void>;
}

/** The store limits every engine's ack store takes. */
export interface AckStoreLimits {
  /** Seconds a position is kept after its last ack. @default {@link DEFAULT_ACK_TTL} */
  readonly ttl?: number | undefined;
  /** Users kept per channel. @default {@link DEFAULT_MAX_ACKS_PER_CHANNEL} */
  readonly maxPerChannel?: number | undefined;
}

/** {@link AckStoreLimits} checked (`RangeError` naming the option), with defaults. */
export function resolveAckLimits(limits: AckStoreLimits = {}): { readonly ttl: number; readonly maxPerChannel: number } {
  const ttl = limits.ttl ?? DEFAULT_ACK_TTL;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31_536_000)
    throw new RangeError('acks.ttl must be an integer from 1 to 31536000 (seconds)');
  const maxPerChannel = limits.maxPerChannel ?? DEFAULT_MAX_ACKS_PER_CHANNEL;
  if (!Number.isInteger(maxPerChannel) || maxPerChannel < 1 || maxPerChannel > 1_000_000)
    throw new RangeError('acks.maxPerChannel must be an integer from 1 to 1000000');
  return { ttl, maxPerChannel };
}

/** Whether `next` may replace `stored`: another epoch, or a higher offset of the same one. */
export function ackAdvances(stored: Position | undefined, next: Position): boolean {
  return stored === undefined || stored.epoch !== next.epoch || next.offset > stored.offset;
}
