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
  /**
   * Whether the ack moved it (false: the same or a higher offset of the epoch was already
   * acknowledged, or `otherEpoch`).
   */
  readonly moved: boolean;
  /**
   * The stored position is of another epoch than the ack's and the ack did not name it in
   * `replacing`: nothing was written. The caller checks that the ack's epoch is still the
   * channel's current one and, if so, acks again with `replacing` set to `position.epoch`.
   * @default false
   */
  readonly otherEpoch?: boolean;
}

/**
 * What an ack does to a stored position (see {@link ackDecision}): `store` it, `keep` the stored one
 * (acknowledged again: its time is refreshed), or write nothing because the stored one is of
 * `other-epoch` than the ack's and not the one it replaces.
 */
export type AckDecision = 'store' | 'keep' | 'other-epoch';

/**
 * The acknowledged position per user and channel, shared by every node of the hub (in the engine).
 * Within an epoch a position never moves backwards. An ack of another epoch replaces it only when
 * it names the stored epoch (`replacing`), atomically: the hub names it only after checking, once it
 * saw the stored position, that the ack's epoch is the channel's current one. A delayed ack of a
 * dead epoch (checked before the channel's epoch changed, stored after) can so never replace a
 * position of the newer epoch. See docs/architecture.md, "Acknowledged positions across epochs".
 *
 * Bounded: a position not acknowledged again within the store's `ttl` is forgotten, and a channel
 * keeps at most `maxPerChannel` users (the least recently acknowledged is forgotten first).
 */
export interface AckStore {
  /**
   * Stores `position` for `user` on `channel` at `now` as {@link ackDecision} decides, in one atomic
   * step: unless it is behind the stored one of the same epoch, or the stored one is of another
   * epoch than `replacing` (then nothing is written and the outcome says `otherEpoch`).
   */
  ack(user: string, channel: string, position: Position, now: number, replacing?: string): Promise<AckOutcome>;
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

/**
 * What an ack of `next` does to the `stored` position (`undefined`: none, or expired): `store` it
 * when nothing is stored, when it is a higher offset of the stored epoch, or when the stored epoch
 * is `replacing`; `keep` the stored one for the same or a lower offset of its epoch; `other-epoch`
 * for an ack of another epoch that does not name the stored one.
 */
export function ackDecision(stored: Position | undefined, next: Position, replacing?: string): AckDecision {
  if (stored === undefined) return 'store';
  if (stored.epoch === next.epoch) return next.offset > stored.offset ? 'store' : 'keep';
  return replacing === stored.epoch ? 'store' : 'other-epoch';
}
