import type { Envelope, Gap, HeraldClient, HeraldClientError, Since, Subscription, SubscriptionState } from '@herald/client';
import { PresenceTracker } from './presence-tracker.js';

/** A channel's messages and subscription state as a hook reads them. Replaced, never mutated, on every change. */
export interface ChannelSnapshot {
  /** The most recent messages, oldest first, in offset order. */
  readonly messages: readonly Envelope[];
  /** The most recent message, even when no message is kept. */
  readonly last: Envelope | undefined;
  readonly state: SubscriptionState;
  /** The last error the subscription reported (e.g. the hub refused the channel). */
  readonly error: HeraldClientError | undefined;
  /** The last gap reported: messages that could not be resumed. */
  readonly gap: Gap | undefined;
}

/** What a shared subscription is made of; two hooks with equal specs share one. */
export interface SubscriptionSpec {
  readonly channel: string;
  readonly since: Since | undefined;
  readonly joinLeave: boolean;
}

/** One hook instance using a shared subscription. */
export interface Consumer {
  /** Called after every snapshot change (the `useSyncExternalStore` callback). */
  onChange(): void;
  /** Called once for every message. */
  onMessage?(message: Envelope): void;
  /** How many messages this consumer wants kept. */
  keep(): number;
}

/**
 * One client subscription shared by every hook instance with the same {@link SubscriptionSpec},
 * released a delay after its last consumer leaves.
 */
export class SharedSubscription {
  snapshot: ChannelSnapshot;
  /** The member list, for subscriptions with `joinLeave`. */
  readonly presence: PresenceTracker | undefined;
  readonly #subscription: Subscription;
  readonly #consumers = new Set<Consumer>();
  readonly #off: (() => void)[] = [];
  #keep = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: HeraldClient, spec: SubscriptionSpec) {
    const subscription = client.subscribe(spec.channel, undefined, { since: spec.since, joinLeave: spec.joinLeave });
    this.#subscription = subscription;
    this.snapshot = { messages: [], last: undefined, state: subscription.state, error: undefined, gap: undefined };
    this.#off.push(
      subscription.on('message', (message) => this.#onMessage(message)),
      subscription.on('state', (state) => this.#update({ state })),
      subscription.on('error', (error) => this.#update({ error })),
      subscription.on('gap', (gap) => this.#update({ gap })),
    );
    if (!spec.joinLeave) {
      this.presence = undefined;
      return;
    }
    const tracker = new PresenceTracker(
      () => subscription.presence(),
      () => this.#notify(),
    );
    this.presence = tracker;
    // The list is read once the subscription is live (so no join or leave can fall between the
    // read and the events), and again after each reconnect, which may have missed some.
    let previous = client.state;
    this.#off.push(
      subscription.on('presence', (change) => tracker.change(change)),
      subscription.on('state', (state) => state === 'subscribed' && tracker.refresh()),
      client.on('state', (state) => {
        if (state === 'connected' && previous === 'reconnecting' && subscription.state === 'subscribed') tracker.refresh();
        previous = state;
      }),
    );
    // A channel the client already receives is live at once, before any listener was attached.
    if (subscription.state === 'subscribed') tracker.refresh();
  }

  /** Adds a consumer, cancelling a pending release. */
  add(consumer: Consumer): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#consumers.add(consumer);
  }

  /** Removes a consumer; `delay` ms after the last one leaves, unsubscribes and calls `onReleased`. */
  remove(consumer: Consumer, delay: number, onReleased: () => void): void {
    if (!this.#consumers.delete(consumer) || this.#consumers.size > 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#consumers.size > 0) return;
      for (const off of this.#off.splice(0)) off();
      this.presence?.stop();
      this.#subscription.unsubscribe();
      onReleased();
    }, delay);
  }

  #onMessage(message: Envelope): void {
    if (this.#consumers.size > 0) this.#keep = Math.max(0, ...[...this.#consumers].map((c) => c.keep()));
    const kept = this.snapshot.messages;
    const messages = this.#keep === 0 ? [] : [...kept.slice(Math.max(0, kept.length + 1 - this.#keep)), message];
    this.snapshot = { ...this.snapshot, messages, last: message };
    this.#notify();
    for (const consumer of this.#consumers) {
      try {
        consumer.onMessage?.(message);
      } catch (error) {
        // One component's failing handler must not keep the message from the others.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #update(change: Partial<ChannelSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    this.#notify();
  }

  #notify(): void {
    for (const consumer of this.#consumers) consumer.onChange();
  }
}
