/* eslint-disable @typescript-eslint/no-unnecessary-type-arguments --
   `Channels` is `ChannelMap` until an application registers its map, so these only look redundant here. */
import type { HeraldClient } from '@herald/client';
import { useMemo, type ReactElement, type ReactNode } from 'react';
import type { Channels, RegisteredClient } from './channels.js';
import { HeraldContext, useHeraldContext } from './context.js';

/**
 * Milliseconds a shared subscription outlives its last component. It lets StrictMode's
 * mount → unmount → mount, and a component moving in the tree, keep the subscription instead of
 * unsubscribing and subscribing again.
 */
export const DEFAULT_RELEASE_DELAY = 100;

/** Props of {@link HeraldProvider}. */
export interface HeraldProviderProps {
  /** The client the hooks below use. The application creates it, and closes it when done. */
  readonly client: RegisteredClient;
  /** Milliseconds before the last release of a channel unsubscribes it. @default DEFAULT_RELEASE_DELAY */
  readonly releaseDelay?: number | undefined;
  /** The components that use the hooks. */
  readonly children?: ReactNode;
}

/**
 * Makes `client` available to {@link useChannel}, {@link usePresence} and {@link useConnectionState}
 * below it. It neither connects nor closes the client: the first subscription connects it.
 *
 * @throws {RangeError} `releaseDelay must be a non-negative finite number` when it is not.
 */
export function HeraldProvider({ client, releaseDelay = DEFAULT_RELEASE_DELAY, children }: HeraldProviderProps): ReactElement {
  if (!Number.isFinite(releaseDelay) || releaseDelay < 0) throw new RangeError('releaseDelay must be a non-negative finite number');
  // Typed by the registered map (or untyped), which is what the hooks promise.
  const value = useMemo(() => ({ client: client as HeraldClient<Channels>, releaseDelay }), [client, releaseDelay]);
  return <HeraldContext.Provider value={value}>{children}</HeraldContext.Provider>;
}

/**
 * The client of the nearest {@link HeraldProvider}, for what the hooks do not cover (history,
 * one-off publishes).
 *
 * @throws {Error} when there is no provider above the component.
 */
export function useHeraldClient(): HeraldClient<Channels> {
  return useHeraldContext('useHeraldClient').client;
}
