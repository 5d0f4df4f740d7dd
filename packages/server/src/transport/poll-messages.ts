import type { Position } from '@herald/protocol';
import type { Hub } from '../hub/hub.js';
import type { HubMessage } from '../hub/hub-message.js';
import { MAX_DELTA_TEXT, messageDeltaFrom } from '../hub/message-delta.js';

/** Messages a {@link PollMessages} keeps at most; past it, the least recently used go first. */
export const MAX_POLL_MESSAGES = 1024;

/** UTF-16 code units of stored JSON a {@link PollMessages} keeps at most (4 Mi: about 850 dashboards of 4.9 KB). */
export const MAX_POLL_MESSAGE_UNITS = 4 * 1024 * 1024;

/**
 * The longest stored JSON kept: a longer one cannot be the base or the target of a delta (its data
 * text, where a `\uXXXX` escape of 6 units becomes 1, is still past {@link MAX_DELTA_TEXT}).
 */
const MAX_KEPT_JSON = 6 * MAX_DELTA_TEXT;

/**
 * The messages of delta channels that polls were recently answered with, one instance per position
 * (channel, epoch, offset), shared by every poll: a message read from the log is a new object per
 * read, and without this each poll would build its encodings and its delta anew. Keeps what a
 * batch's first item needs too: the message before it, which the client holds (its `base`) and the
 * hub served to it, or still holds live. Bounded by {@link MAX_POLL_MESSAGES} and
 * {@link MAX_POLL_MESSAGE_UNITS}, least recently used out first.
 */
export class PollMessages {
  readonly #hub: Hub;
  readonly #messages = new Map<string, HubMessage>();
  #units = 0;
  // The hub hands a live message to every held poll of its channel in turn: these answer the polls
  // after the first without a key string and a map lookup each. Valid while the map is unchanged.
  /** The live message {@link PollMessages.keepLive} last kept. */
  #live: HubMessage | undefined;
  /** The live message {@link PollMessages.followsLive} last answered for, and its answer. */
  #follows: { readonly message: HubMessage; readonly delta: boolean } | undefined;

  constructor(hub: Hub) {
    this.#hub = hub;
  }

  /**
   * The instance of `message` (read from the log) every poll shares: the one kept for its position
   * or the hub's live one, with the same stored JSON; else `message` itself, kept from now on.
   */
  share(message: HubMessage): HubMessage {
    const key = keyOf(message.channel, message);
    const kept = this.#messages.get(key);
    if (kept !== undefined && kept.json === message.json) {
      // Used again: last out.
      this.#changed();
      this.#messages.delete(key);
      this.#messages.set(key, kept);
      return kept;
    }
    const shared = this.#hub.liveMessage(message) ?? message;
    this.keep(shared);
    return shared;
  }

  /** Keeps `message` (live, or read) as the instance at its position, unless one with the same JSON is kept. */
  keep(message: HubMessage): void {
    const length = message.json.length;
    if (length > MAX_KEPT_JSON) return;
    const key = keyOf(message.channel, message);
    const kept = this.#messages.get(key);
    if (kept !== undefined) {
      if (kept.json === message.json) return;
      this.#changed();
      // Another message at a reused position (an engine that lost acknowledged messages): the newer counts.
      this.#messages.delete(key);
      this.#units -= kept.json.length;
    }
    this.#changed();
    this.#messages.set(key, message);
    this.#units += length;
    for (const [oldest, out] of this.#messages) {
      if (this.#messages.size <= MAX_POLL_MESSAGES && this.#units <= MAX_POLL_MESSAGE_UNITS) break;
      this.#messages.delete(oldest);
      this.#units -= out.json.length;
    }
  }

  /**
   * {@link PollMessages.keep} for a live message the hub hands to each held poll of its channel: once
   * per message, however many polls it wakes.
   */
  keepLive(message: HubMessage): void {
    if (message === this.#live) return;
    this.keep(message);
    this.#live = message;
  }

  /**
   * Whether the delta of live `message` against the message before it (offset − 1, same epoch: its
   * own base, or one kept here or live) is at hand, building it if need be: what a poll holding that
   * message's data is answered with. Looked up once per message, however many polls it wakes.
   */
  followsLive(message: HubMessage): boolean {
    if (this.#follows?.message === message) return this.#follows.delta;
    const before = { epoch: message.epoch, offset: message.offset - 1 };
    const delta = messageDeltaFrom(message, this.find(message.channel, before)) !== undefined;
    this.#follows = { message, delta };
    return delta;
  }

  /** The message of `channel` at `position` the hub has at hand (kept here, or live), if any. */
  find(channel: string, position: Position): HubMessage | undefined {
    return this.#messages.get(keyOf(channel, position)) ?? this.#hub.liveAt(channel, position);
  }

  /** The map is about to change: what {@link PollMessages.keepLive} and {@link PollMessages.followsLive} remember may no longer hold. */
  #changed(): void {
    this.#live = undefined;
    this.#follows = undefined;
  }

  /** Messages kept now. */
  get size(): number {
    return this.#messages.size;
  }
}

// '|' separates the fields of a cursor: no channel name or epoch holds one.
const keyOf = (channel: string, position: Position): string => `${channel}|${position.epoch}|${position.offset}`;
