/* eslint-disable @typescript-eslint/no-unnecessary-type-arguments, @typescript-eslint/no-unnecessary-type-assertion --
   `Channels` is `ChannelMap` until an application registers its map, so these only look redundant here. */
import type { Envelope, Gap, HeraldClientError, PublishResult, Since, SubscriptionState } from '@herald/client';
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type { ChannelName, Channels } from './channels.js';
import { useHeraldContext } from './context.js';
import { registryFor, subscriptionKey } from './registry.js';
import type { ChannelSnapshot, Consumer } from './shared-subscription.js';

/** How many messages {@link useChannel} keeps unless told otherwise. */
export const DEFAULT_KEEP = 100;

/** Options of {@link useChannel}. */
export interface UseChannelOptions {
  /**
   * Replay the messages after this position first (a cursor, or `{epoch, offset}` copied from an
   * envelope). Read when the subscription starts: hooks with different `since` values use
   * different client subscriptions, and changing it subscribes anew.
   */
  readonly since?: Since;
  /** Subscribe only while true. @default true */
  readonly enabled?: boolean;
  /** How many of the most recent messages `messages` holds (0: none, `last` still works). @default DEFAULT_KEEP */
  readonly keep?: number;
}

/** What {@link useChannel} returns. */
export interface UseChannelResult<T> {
  /** The last `keep` messages received, oldest first, in offset order, each once. */
  readonly messages: readonly Envelope<T>[];
  /** The most recent message, or undefined before the first one. */
  readonly last: Envelope<T> | undefined;
  /** `'subscribing'` until the hub confirmed, then `'subscribed'`; `'unsubscribed'` when disabled or the client closed. */
  readonly state: SubscriptionState;
  /** The last error the subscription reported, e.g. the hub refusing the channel (`code` 1003). */
  readonly error: HeraldClientError | undefined;
  /** The last gap reported: messages that could not be resumed and were skipped. */
  readonly gap: Gap | undefined;
  /** Publishes to this channel; resolves with the stored position once the hub acknowledged it. */
  readonly publish: (data: T) => Promise<PublishResult>;
}

const SUBSCRIBING: ChannelSnapshot = { messages: [], last: undefined, state: 'subscribing', error: undefined, gap: undefined };
const DISABLED: ChannelSnapshot = { ...SUBSCRIBING, state: 'unsubscribed' };
const NONE: readonly Envelope[] = [];

/**
 * Subscribes the component to `channel` and re-renders it with each message.
 *
 * Every component using the same channel (and the same `since`) shares one client subscription,
 * which outlives its last component by the provider's `releaseDelay`: StrictMode's double mount
 * subscribes once, and an unmount unsubscribes after the delay. `onMessage` is called once per
 * message, in order; the latest function passed is used without subscribing again.
 *
 * @throws {RangeError} `keep must be a non-negative integer` when it is not.
 * @throws {Error} when there is no {@link HeraldProvider} above the component.
 */
export function useChannel<C extends ChannelName>(
  channel: C,
  onMessage?: (message: Envelope<Channels[C]>) => void,
  options?: UseChannelOptions,
): UseChannelResult<Channels[C]>;
/** {@link useChannel} without a message handler. */
export function useChannel<C extends ChannelName>(channel: C, options?: UseChannelOptions): UseChannelResult<Channels[C]>;
export function useChannel<C extends ChannelName>(
  channel: C,
  second?: ((message: Envelope<Channels[C]>) => void) | UseChannelOptions,
  third?: UseChannelOptions,
): UseChannelResult<Channels[C]> {
  const { client, releaseDelay } = useHeraldContext('useChannel');
  const onMessage = typeof second === 'function' ? second : undefined;
  const options = (typeof second === 'object' ? second : third) ?? {};
  const keep = options.keep ?? DEFAULT_KEEP;
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError('keep must be a non-negative integer');
  const enabled = options.enabled !== false;
  const { since } = options;

  const handler = useRef(onMessage);
  const kept = useRef(keep);
  useEffect(() => {
    handler.current = onMessage;
    kept.current = keep;
  });

  const registry = registryFor(client);
  const key = enabled ? subscriptionKey({ channel, since, joinLeave: false }) : undefined;
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (key === undefined) return () => undefined;
      const consumer: Consumer = {
        onChange,
        onMessage: (message) => handler.current?.(message as Envelope<Channels[C]>),
        keep: () => kept.current,
      };
      return registry.acquire({ channel, since, joinLeave: false }, consumer, releaseDelay);
    },
    // `key` stands for channel and since: a new `since` object with the same position is no change.
    [registry, key, releaseDelay],
  );
  const getSnapshot = useCallback(() => (key === undefined ? DISABLED : (registry.peek(key)?.snapshot ?? SUBSCRIBING)), [registry, key]);
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);

  const all = snapshot.messages as readonly Envelope<Channels[C]>[];
  const messages = useMemo(
    () => (keep === 0 ? (NONE as readonly Envelope<Channels[C]>[]) : all.length > keep ? all.slice(all.length - keep) : all),
    [all, keep],
  );
  const publish = useCallback((data: Channels[C]) => client.publish(channel, data), [client, channel]);
  return {
    messages,
    last: snapshot.last as Envelope<Channels[C]> | undefined,
    state: snapshot.state,
    error: snapshot.error,
    gap: snapshot.gap,
    publish,
  };
}
