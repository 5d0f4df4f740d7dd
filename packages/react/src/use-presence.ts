import { useCallback, useSyncExternalStore } from 'react';
import type { ChannelName } from './channels.js';
import { useHeraldContext } from './context.js';
import { EMPTY_PRESENCE, type PresenceSnapshot } from './presence-tracker.js';
import { registryFor, subscriptionKey } from './registry.js';
import type { Consumer } from './shared-subscription.js';

/** Options of {@link usePresence}. */
export interface UsePresenceOptions {
  /** Track the channel only while true. @default true */
  readonly enabled?: boolean;
}

/** What {@link usePresence} returns: the members (`{client, user}`), whether they were read, and the last read error. */
export type UsePresenceResult = PresenceSnapshot;

/**
 * The current members of `channel` (this client's own session included), kept up to date: the
 * member list is read from the hub once the subscription is live and after every reconnect, and
 * join and leave events update it in between. Components on the same channel share one
 * subscription (with join and leave events), released like {@link useChannel}'s.
 *
 * Over the polling transport the hub keeps no presence: the list stays empty.
 *
 * @throws {Error} when there is no {@link HeraldProvider} above the component.
 */
export function usePresence(channel: ChannelName, options: UsePresenceOptions = {}): UsePresenceResult {
  const { client, releaseDelay } = useHeraldContext('usePresence');
  const registry = registryFor(client);
  const key = options.enabled === false ? undefined : subscriptionKey({ channel, since: undefined, joinLeave: true });
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (key === undefined) return () => undefined;
      const consumer: Consumer = { onChange, keep: () => 0 };
      return registry.acquire({ channel, since: undefined, joinLeave: true }, consumer, releaseDelay);
    },
    [registry, key, channel, releaseDelay],
  );
  const getSnapshot = useCallback(
    () => (key === undefined ? EMPTY_PRESENCE : (registry.peek(key)?.presence?.snapshot ?? EMPTY_PRESENCE)),
    [registry, key],
  );
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}
