import { encodePosition, type CursorEntry, type Envelope, type Gap, type PresenceMember, type PublishResult } from '@herald/protocol';
import { Emitter } from './emitter.js';
import { handedOut } from './handed-out.js';
import type { HeraldClientError } from './errors.js';
import type { HistoryPage, PresenceChange, PublishOptions, Since } from './types.js';

/** State of one subscription. */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/** Events of a {@link Subscription}. */
export type SubscriptionEvents<T> = {
  message: [Envelope<T>];
  gap: [Gap];
  error: [HeraldClientError];
  state: [SubscriptionState];
  presence: [PresenceChange];
  /**
   * Joins or leaves of the channel were lost (a polling client fell too far behind): read the
   * member list again with `presence()`. Only with `joinLeave`.
   */
  presenceResync: [];
};

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  publish(channel: string, data: unknown, idempotencyKey?: string): Promise<PublishResult>;
  history(channel: string, since: Since | undefined, limit: number | undefined): Promise<HistoryPage<unknown>>;
  presence(channel: string): Promise<PresenceMember[]>;
  remove(subscription: Subscription): void;
}

/** Options of `client.subscribe`. */
export interface SubscribeOptions {
  /** Start after this position (a cursor from any transport, or `{epoch, offset}` from an envelope). */
  readonly since?: Since | undefined;
  /** Also receive `presence` events (joins and leaves). @default false */
  readonly joinLeave?: boolean | undefined;
}

/**
 * A subscription to one channel. Messages arrive in offset order, each once: after a reconnect the
 * subscription resumes from its last position, and duplicates are dropped by offset. Anything that
 * cannot be resumed is reported as a `gap` event, never skipped silently.
 */
export class Subscription<T = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly channel: string;
  readonly joinLeave: boolean;
  /**
   * Position of the last message received or, before any, where the subscription started: the
   * `since` given, else the position the client pinned at `subscribe()` (set at the latest when
   * the state becomes `subscribed`); `undefined` until then. Resuming from it (see
   * {@link Subscription.cursor}) loses nothing published after it, even on a channel where no
   * message arrived. Signed by the hub when this client may not read the channel's history.
   */
  position: CursorEntry | undefined;
  state: SubscriptionState = 'subscribing';
  readonly #host: SubscriptionHost;
  #queue: Envelope<T>[] = [];
  #waiting: ((result: IteratorResult<Envelope<T>>) => void) | undefined;
  #iterating = false;

  constructor(host: SubscriptionHost, channel: string, options: SubscribeOptions) {
    super();
    this.#host = host;
    this.channel = channel;
    this.joinLeave = options.joinLeave === true;
    // The client resolves a cursor to this channel's position before it gets here.
    if (typeof options.since === 'object') this.position = options.since;
  }

  /**
   * A cursor for {@link Subscription.position}: save it and pass it back as `since` to resume
   * later, on any transport, even where the hub only accepts the positions it signed.
   */
  get cursor(): string | undefined {
    return this.position === undefined ? undefined : encodePosition(this.channel, this.position);
  }

  /** Publishes to this channel; resolves with the stored position once the hub acknowledged it. */
  publish(data: T, options: PublishOptions = {}): Promise<PublishResult> {
    return this.#host.publish(this.channel, data, options.idempotencyKey);
  }

  /** Reads the channel's retained messages (after `since`, at most `limit`). */
  history(options: { since?: Since; limit?: number } = {}): Promise<HistoryPage<T>> {
    return this.#host.history(this.channel, options.since, options.limit) as Promise<HistoryPage<T>>;
  }

  /** The channel's current members. */
  presence(): Promise<PresenceMember[]> {
    return this.#host.presence(this.channel);
  }

  /** Stops the subscription; async iteration ends. */
  unsubscribe(): void {
    if (this.state === 'unsubscribed') return;
    this.setState('unsubscribed');
    this.#host.remove(this as Subscription);
    this.#waiting?.({ done: true, value: undefined });
    this.#waiting = undefined;
  }

  /** Iterates over messages as they arrive, until `unsubscribe()`. */
  [Symbol.asyncIterator](): AsyncIterator<Envelope<T>> {
    this.#iterating = true;
    return {
      next: () => {
        const value = this.#queue.shift();
        if (value !== undefined) return Promise.resolve({ done: false, value });
        if (this.state === 'unsubscribed') return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
      return: () => {
        this.unsubscribe();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** @internal Delivers an envelope unless it is a duplicate. */
  deliver(envelope: Envelope<T>): void {
    const at = this.position;
    if (this.state === 'unsubscribed' || (at !== undefined && at.epoch === envelope.epoch && envelope.offset <= at.offset)) return;
    this.position = handedOut(this.channel, envelope.cursor, envelope);
    this.emit('message', envelope);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) waiting({ done: false, value: envelope });
    // Only queue for an iterator in use, so handler-only subscriptions hold nothing.
    else if (this.#iterating) this.#queue.push(envelope);
  }

  /** @internal */
  reportGap(gap: Gap): void {
    this.position = handedOut(this.channel, gap.cursor, gap.resumed);
    this.emit('gap', gap);
  }

  /** @internal Where the subscription started, unless a position is known already. */
  start(position: CursorEntry | undefined): void {
    this.position ??= position;
  }

  /** @internal */
  setState(state: SubscriptionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** @internal */
  fail(error: HeraldClientError): void {
    this.emit('error', error);
  }

  /** @internal */
  presenceChange(change: PresenceChange): void {
    this.emit('presence', change);
  }

  /** @internal */
  presenceResync(): void {
    this.emit('presenceResync');
  }
}
