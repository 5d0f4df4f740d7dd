import { randomUUID } from 'node:crypto';
import type { PresenceMember } from '@herald/protocol';
import type { PresenceExpiry, PresenceMarker, PresenceStore } from '../engine/broker.js';
import type { Logger } from '../logger.js';
import type { WebhookEventInput, WebhookSink } from './webhook-sink.js';

/** Milliseconds a user's last leave (or a channel's vacate) waits for a return before it is emitted. */
export const DEFAULT_PRESENCE_DEBOUNCE = 5000;

/** Milliseconds a pending marker outlives its debounce in the engine, should its node never claim it. */
const MARKER_GRACE = 60_000;

/** The presence store with its counting methods (see {@link PresenceStore.addCounting}). */
type CountingStore = PresenceStore & Required<Pick<PresenceStore, 'addCounting' | 'removeCounting' | 'claimMarker'>>;

/** The key a member is counted under: its user, or the client itself when anonymous. */
export function userKeyOf(member: PresenceMember): string {
  return member.user === null ? `c:${member.client}` : `u:${member.user}`;
}

/** A removal whose leave and/or vacate waits out the debounce. */
interface Pending {
  readonly channel: string;
  readonly member: PresenceMember;
  readonly marker: PresenceMarker;
  /** The user's last member left: a `presence_leave` unless the user returns. */
  readonly leaving: boolean;
  /** The channel's last member left: a `channel_vacated` unless someone returns. */
  readonly vacating: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The presence and channel webhook events (`presence_join`, `presence_leave`, `channel_occupied`,
 * `channel_vacated`), exactly once across the nodes sharing the presence store: the hub adds and
 * removes its members through it instead of through the store directly.
 *
 * A join is a user's first member in a channel, an occupied the channel's first member. When a
 * user's last member leaves, the store keeps a pending-leave marker and this node waits `debounce`
 * ms: a return on any node deletes the marker (no leave, and the return is no join); otherwise this
 * node claims the marker and emits the leave. The channel's vacate works the same way.
 */
export class PresenceWebhooks {
  readonly #store: CountingStore;
  readonly #sink: WebhookSink;
  readonly #debounce: number;
  readonly #logger: Logger;
  readonly #pending = new Set<Pending>();
  #closed = false;

  private constructor(store: CountingStore, sink: WebhookSink, debounce: number, logger: Logger) {
    this.#store = store;
    this.#sink = sink;
    this.#debounce = debounce;
    this.#logger = logger;
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
    if (count.channelMembers === 1 && !count.channelReturned) this.#emit({ type: 'channel_occupied', channel });
    if (count.userMembers === 1 && !count.userReturned) this.#emit({ type: 'presence_join', channel, ...member });
  }

  /** Removes the member and, when it was the user's or the channel's last, starts the debounce. */
  async remove(channel: string, member: PresenceMember): Promise<void> {
    const marker = this.#debounce > 0 ? { token: randomUUID(), ttl: this.#debounce * 2 + MARKER_GRACE } : undefined;
    const count = await this.#store.removeCounting(channel, member.client, userKeyOf(member), marker);
    this.#expired(channel, count.expired);
    if (!count.removed) return;
    const leaving = count.userMembers === 0;
    const vacating = count.channelMembers === 0;
    if (!leaving && !vacating) return;
    if (marker === undefined) {
      if (leaving) this.#emit({ type: 'presence_leave', channel, ...member });
      if (vacating) this.#emit({ type: 'channel_vacated', channel });
      return;
    }
    const pending: Pending = { channel, member, marker, leaving, vacating, timer: undefined };
    this.#pending.add(pending);
    if (this.#closed) return void this.#settle(pending);
    pending.timer = setTimeout(() => void this.#settle(pending), this.#debounce);
    pending.timer.unref();
  }

  /**
   * Emits every pending leave and vacate now (unless a return already cancelled it): a closing node
   * emits what it owes rather than leave it unsent. Resolves once each is claimed or failed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending].map((pending) => this.#settle(pending)));
  }

  async #settle(pending: Pending): Promise<void> {
    if (!this.#pending.delete(pending)) return;
    clearTimeout(pending.timer);
    const { channel, member, marker } = pending;
    try {
      if (pending.leaving && (await this.#store.claimMarker(channel, userKeyOf(member), marker.token)))
        this.#emit({ type: 'presence_leave', channel, ...member });
      if (pending.vacating && (await this.#store.claimMarker(channel, undefined, marker.token)))
        this.#emit({ type: 'channel_vacated', channel });
    } catch (error) {
      // The marker expires in the engine: this leave is lost (docs/hooks.md says when).
      this.#logger.warn({ err: error, channel }, 'pending leave not settled');
    }
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

  #emit(event: WebhookEventInput): void {
    // The sink never rejects (it logs and counts a failure to store).
    if (this.#sink.wants(event.type)) void this.#sink.emit(event);
  }
}
