import type { Position } from '@herald/protocol';
import {
  ackDecision,
  resolveAckLimits,
  type AckedPosition,
  type AckListOptions,
  type AckOutcome,
  type AckStore,
  type AckStoreLimits,
} from '../engine/ack-store.js';

/** Channels the memory store keeps at most; past it the channel acknowledged least recently is forgotten. */
export const MAX_MEMORY_ACK_CHANNELS = 10_000;

/**
 * Acknowledged positions in this process's memory: for a single node. Each channel's map is kept
 * in acknowledgement order (an ack moves its user to the end), so the oldest entries are first:
 * expiry and the per-channel bound drop from the front.
 */
export class MemoryAckStore implements AckStore {
  readonly #channels = new Map<string, Map<string, AckedPosition>>();
  readonly #ttl: number;
  readonly #maxPerChannel: number;

  /** Throws `RangeError` for limits out of range. */
  constructor(limits: AckStoreLimits = {}) {
    const resolved = resolveAckLimits(limits);
    this.#ttl = resolved.ttl * 1000;
    this.#maxPerChannel = resolved.maxPerChannel;
  }

  ack(user: string, channel: string, position: Position, now: number, replacing?: string): Promise<AckOutcome> {
    let users = this.#channels.get(channel);
    if (users !== undefined) this.#expire(users, now);
    const stored = users?.get(user);
    const decision = ackDecision(stored, position, replacing);
    // Another epoch's position stays untouched until the caller confirms the ack's epoch.
    if (decision === 'other-epoch')
      return Promise.resolve({ position: { epoch: stored!.epoch, offset: stored!.offset }, moved: false, otherEpoch: true });
    if (users === undefined) users = new Map();
    // The channel moves to the end: the least recently acknowledged channel is first.
    this.#channels.delete(channel);
    this.#channels.set(channel, users);
    const moved = decision === 'store';
    const kept = moved || stored === undefined ? position : stored;
    users.delete(user);
    users.set(user, { user, channel, epoch: kept.epoch, offset: kept.offset, time: now });
    for (const first of users.keys()) {
      if (users.size <= this.#maxPerChannel) break;
      users.delete(first);
    }
    for (const first of this.#channels.keys()) {
      if (this.#channels.size <= MAX_MEMORY_ACK_CHANNELS) break;
      this.#channels.delete(first);
    }
    return Promise.resolve({ position: { epoch: kept.epoch, offset: kept.offset }, moved });
  }

  list(channel: string, options: AckListOptions, now: number): Promise<AckedPosition[]> {
    const users = this.#channels.get(channel);
    if (users === undefined) return Promise.resolve([]);
    this.#expire(users, now);
    if (users.size === 0) this.#channels.delete(channel);
    if (options.user !== undefined) {
      const one = users.get(options.user);
      return Promise.resolve(one === undefined ? [] : [one]);
    }
    return Promise.resolve([...users.values()].reverse().slice(0, options.limit));
  }

  #expire(users: Map<string, AckedPosition>, now: number): void {
    for (const [user, entry] of users) {
      if (now - entry.time < this.#ttl) break;
      users.delete(user);
    }
  }
}
