/* eslint-disable @typescript-eslint/no-unnecessary-type-arguments --
   `Channels` is `ChannelMap` until an application registers its map, so these only look redundant here. */
import type { ClientState, HeraldClient, TransportName } from '@herald/client';
import { useCallback, useSyncExternalStore } from 'react';
import type { Channels } from './channels.js';
import { useHeraldContext } from './context.js';

/** What {@link useConnectionState} returns. */
export interface ConnectionState {
  /** `'idle'` until something subscribes, then `'connecting'`, `'connected'`, `'reconnecting'`, `'closed'`. */
  readonly state: ClientState;
  /** The transport in use while connected, else undefined. */
  readonly transport: TransportName | undefined;
}

const snapshots = new WeakMap<object, ConnectionState>();

/** The client's state as one object, the same object for as long as nothing changed. */
function readState(client: HeraldClient<Channels>): ConnectionState {
  const cached = snapshots.get(client);
  if (cached !== undefined && cached.state === client.state && cached.transport === client.transport) return cached;
  const snapshot: ConnectionState = { state: client.state, transport: client.transport };
  snapshots.set(client, snapshot);
  return snapshot;
}

/**
 * The connection state of the provider's client and the transport it uses, re-rendering on every
 * change. It does not connect the client: a subscription does.
 *
 * @throws {Error} when there is no {@link HeraldProvider} above the component.
 */
export function useConnectionState(): ConnectionState {
  const { client } = useHeraldContext('useConnectionState');
  const subscribe = useCallback(
    (onChange: () => void) => {
      const offState = client.on('state', onChange);
      const offTransport = client.on('transport', onChange);
      return () => {
        offState();
        offTransport();
      };
    },
    [client],
  );
  const getSnapshot = useCallback(() => readState(client), [client]);
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}
