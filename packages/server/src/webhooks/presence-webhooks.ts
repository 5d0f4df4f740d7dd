import { randomUUID } from 'node:crypto';
import type { PresenceMember } from '@herald/protocol';
import type { PresenceExpiry, PresenceStore } from '../engine/broker.js';
import type { Logger } from '../logger.js';
import type { WebhookCondition, WebhookHold } from './webhook-condition.js';
import type { WebhookEventInput, WebhookSink } from './webhook-sink.js';

/** Milliseconds a user's last leave (or a channel's vacate) waits for a return before it is sent. */
export const DEFAULT_PRESENCE_DEBOUNCE = 5000;

/**
 * Milliseconds a pending marker outlives its debounce in the engine (Redis) unclaimed: its event
 * waits in the queue behind a backlog at most this long before a claim finds the marker gone.
 */
const MARKER_GRACE = 3_600_000;

/** The presence store with its counting methods (see {@link PresenceStore.addCounting}). */
type CountingStore = PresenceStore & Required<Pick<PresenceStore, 'addCounting' | 'removeCounting' | 'claimMarker'>>;

/** The key a member is counted under: its user, or the client itself when anonymous. */
export function userKeyOf(member: PresenceMember): string {
  return member.user === null ? `c:${member.client}` : `u:${member.user}`;
}

/** A pending leave or vacate of an in-process store, sent at once should the hub close first. */
interface Pending {
  readonly channel: string;
  /** The leaving user's member (a `presence_leave`), or undefined for the channel (a `channel_vacated`). */
  readonly member: PresenceMember | undefined;
  readonly token: string;
}

/**
 * The presence and channel webhook events (`presence_join`, `presence_leave`, `channel_occupied`,
 * `channel_vacated`), exactly once across the nodes sharing the presence store: the hub adds and
 * removes its members through it instead of through the store directly.
 *
 * A join is a user's first member in a channel, an occupied the channel's first member. When a
 * user's last member leaves, the store keeps a pending-leave marker and the `presence_leave` goes
 * to the webhook queue at once, with the leave's time, due `debounce` ms later, under the marker as
 * its condition: a return on any node deletes the marker (no leave, and the return is no join);
 * otherwise the dispatcher that takes the event when due (any node) claims the marker and sends
 * it. The channel's vacate works the same way. With a store whose markers are in this process
 * (memory, SQLite), a closing hub claims its pending markers and sends those events at once (the
 * queued copies then find their marker gone and are cancelled): the markers would not survive it.
 */
export class PresenceWebhooks {
  readonly #store: CountingStore;
  readonly #sink: WebhookSink;
  readonly #debounce: number;
  readonly #logger: Logger;
  /**
   * In-process stores only: the pending leaves (by marker: one per channel and user key, the last
   * token wins) and vacates, until claimed or returned; bounded by the distinct users that left.
   */
  readonly #pending: Map<string, Pending> | undefined;
  /**
   * A sink without `setConditionClaim` (an embedder's): the held leaves and vacates wait here (a
   * timer each, bounded like the markers by the distinct users that left), then are claimed and
   * emitted without a hold; the hub closing claims and emits them at once.
   */
  readonly #held: Map<NodeJS.Timeout, () => Promise<void>> | undefined;
  #closed = false;

  private constructor(store: CountingStore, sink: WebhookSink, debounce: number, logger: Logger) {
    this.#store = store;
    this.#sink = sink;
    this.#debounce = debounce;
    this.#logger = logger;
    this.#pending = store.sharedMarkers === true ? undefined : new Map();
    if (sink.setConditionClaim !== undefined) sink.setConditionClaim((condition, holdMs) => this.#claim(condition, holdMs));
    else this.#held = new Map();
    store.onExpired?.((channel, expiry) => this.#expired(channel, expiry));
  }

  /**
   * The events' source, or `undefined` when the sink wants none of them or the store cannot count
   * (then the hub adds and removes members as before, and no such event is emitted).
   */
  static create(store: PresenceStore, sink: WebhookSink | undefined, debounce: number, logger: Logger): PresenceWebhooks | undefined {
    if (sink === undefined || store.addCounting === undefined || store.removeCounting === undefined || store.claimMarker === undefined)
      return undefined;
    const wanted = ['presence_join', 'presence_leave', 'channel_occupied', 'channel_vacated'] as const;
    if (!wanted.some((type) => sink.wants(type))) return undefined;
    return new PresenceWebhooks(store as CountingStore, sink, debounce, logger);
  }

  /** Adds the member (see {@link PresenceStore.addCounting}) and emits `channel_occupied` and `presence_join` when they are. */
  async add(channel: string, member: PresenceMember): Promise<void> {
    const count = await this.#store.addCounting(channel, member, userKeyOf(member));
    this.#expired(channel, count.expired);
    if (!count.added) return;
    if (count.userReturned) this.#pending?.delete(markerKey(channel, userKeyOf(member)));
    if (count.channelReturned) this.#pending?.delete(markerKey(channel, undefined));
    if (count.channelMembers === 1 && !count.channelReturned) this.#emit({ type: 'channel_occupied', channel });
    if (count.userMembers === 1 && !count.userReturned) this.#emit({ type: 'presence_join', channel, ...member });
  }

  /** Removes the member and, when it was the user's or the channel's last, queues the pending leave and vacate. */
  async remove(channel: string, member: PresenceMember): Promise<void> {
    const marker = this.#debounce > 0 ? { token: randomUUID(), ttl: this.#debounce * 2 + MARKER_GRACE } : undefined;
    const userKey = userKeyOf(member);
    const count = await this.#store.removeCounting(channel, member.client, userKey, marker);
    this.#expired(channel, count.expired);
    if (!count.removed) return;
    const leaving = count.userMembers === 0;
    const vacating = count.channelMembers === 0;
    if (marker === undefined) {
      if (leaving) this.#emit({ type: 'presence_leave', channel, ...member });
      if (vacating) this.#emit({ type: 'channel_vacated', channel });
      return;
    }
    const { token } = marker;
    const delay = this.#debounce;
    const pending: Pending[] = [];
    if (leaving) {
      pending.push({ channel, member, token });
      this.#emit({ type: 'presence_leave', channel, ...member }, { delay, condition: { channel, userKey, token } });
    }
    if (vacating) {
      pending.push({ channel, member: undefined, token });
      this.#emit({ type: 'channel_vacated', channel }, { delay, condition: { channel, token } });
    }
    if (this.#pending === undefined) return;
    for (const entry of pending) this.#pending.set(markerKey(channel, entry.member && userKey), entry);
    // Removed after close began (a member closing late): its marker would not outlive the process.
    if (this.#closed) await this.#flush();
  }

  /**
   * An in-process store's pending leaves and vacates are sent now (unless a return cancelled
   * them): its markers die with the process. A shared store's stay in the queue, for any node.
   * Resolves once each is claimed and emitted, or failed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flush();
    const held = this.#held;
    if (held === undefined) return;
    const fires = [...held.entries()];
    held.clear();
    await Promise.allSettled(
      fires.map(([timer, fire]) => {
        clearTimeout(timer);
        return fire();
      }),
    );
  }

  async #flush(): Promise<void> {
    const pending = this.#pending;
    if (pending === undefined) return;
    const all = [...pending.values()];
    pending.clear();
    await Promise.allSettled(
      all.map(async ({ channel, member, token }) => {
        try {
          if (!(await this.#store.claimMarker(channel, member && userKeyOf(member), token))) return;
          if (member !== undefined) this.#emit({ type: 'presence_leave', channel, ...member });
          else this.#emit({ type: 'channel_vacated', channel });
        } catch (error) {
          this.#logger.warn({ err: error, channel }, 'pending leave not settled');
        }
      }),
    );
  }

  /** The dispatcher's claim of a queued leave's or vacate's marker, when it is due. */
  async #claim({ channel, userKey, token }: WebhookCondition, holdMs: number): Promise<boolean> {
    const key = markerKey(channel, userKey);
    if (this.#pending?.get(key)?.token === token) this.#pending.delete(key);
    return this.#store.claimMarker(channel, userKey, token, holdMs);
  }

  /** Members of dead nodes the store dropped: their users left, the channel maybe too. */
  #expired(channel: string, expiry: PresenceExpiry | undefined): void {
    if (expiry === undefined) return;
    for (const { userKey, client } of expiry.left) {
      const user = userKey.startsWith('u:') ? userKey.slice(2) : null;
      this.#emit({ type: 'presence_leave', channel, user, client });
    }
    if (expiry.vacated) this.#emit({ type: 'channel_vacated', channel });
  }

  #emit(event: WebhookEventInput, hold?: WebhookHold): void {
    if (!this.#sink.wants(event.type)) return;
    const held = this.#held;
    const condition = hold?.condition;
    if (held === undefined || hold === undefined || condition === undefined) {
      // The sink never rejects (it logs and counts a failure to store).
      void this.#sink.emit(event, hold);
      return;
    }
    const time = event.time ?? Date.now();
    const fire = async (): Promise<void> => {
      try {
        if (await this.#claim(condition, 0)) void this.#sink.emit({ ...event, time });
      } catch (error) {
        this.#logger.warn({ err: error, channel: condition.channel }, 'held webhook event not settled');
      }
    };
    const timer = setTimeout(() => {
      held.delete(timer);
      void fire();
    }, hold.delay);
    held.set(timer, fire);
  }
}

/** A pending marker's key in {@link PresenceWebhooks}' map: the user's, or (`undefined`) the channel's. */
function markerKey(channel: string, userKey: string | undefined): string {
  return `${channel}\n${userKey ?? ''}`;
}
