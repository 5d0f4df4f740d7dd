import type { ChannelMap, HeraldClient } from '@herald/client';
import { SharedSubscription, type Consumer, type SubscriptionSpec } from './shared-subscription.js';

/** The shared subscriptions of one client, by {@link subscriptionKey}. */
export class ChannelRegistry {
  readonly #client: HeraldClient;
  readonly #entries = new Map<string, SharedSubscription>();

  constructor(client: HeraldClient) {
    this.#client = client;
  }

  /** The shared subscription for `key`, if one exists (also during its release delay). */
  peek(key: string): SharedSubscription | undefined {
    return this.#entries.get(key);
  }

  /**
   * Adds `consumer` to the subscription for `spec`, subscribing when there is none. Returns the
   * release function: `releaseDelay` ms after the last consumer released it, it unsubscribes.
   */
  acquire(spec: SubscriptionSpec, consumer: Consumer, releaseDelay: number): () => void {
    const key = subscriptionKey(spec);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = new SharedSubscription(this.#client, spec);
      this.#entries.set(key, entry);
    }
    entry.add(consumer);
    const shared = entry;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      shared.remove(consumer, releaseDelay, () => {
        if (this.#entries.get(key) === shared) this.#entries.delete(key);
      });
    };
  }
}

const registries = new WeakMap<object, ChannelRegistry>();

/** The registry of `client`: one per client, however many providers share it. */
export function registryFor<M extends ChannelMap>(client: HeraldClient<M>): ChannelRegistry {
  let registry = registries.get(client);
  if (registry === undefined) {
    registry = new ChannelRegistry(client);
    registries.set(client, registry);
  }
  return registry;
}

/** Equal for specs that can share one subscription. */
export function subscriptionKey(spec: SubscriptionSpec): string {
  const { since } = spec;
  const from = since === undefined ? '' : typeof since === 'string' ? `cursor:${since}` : `position:${since.epoch}:${since.offset}`;
  return JSON.stringify([spec.channel, from, spec.joinLeave]);
}
