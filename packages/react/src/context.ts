/* eslint-disable @typescript-eslint/no-unnecessary-type-arguments --
   `Channels` is `ChannelMap` until an application registers its map, so these only look redundant here. */
import type { HeraldClient } from '@herald/client';
import { createContext, useContext } from 'react';
import type { Channels } from './channels.js';

/** What {@link HeraldProvider} shares with the hooks below it. */
export interface HeraldContextValue {
  readonly client: HeraldClient<Channels>;
  readonly releaseDelay: number;
}

/** @internal */
export const HeraldContext = createContext<HeraldContextValue | undefined>(undefined);
HeraldContext.displayName = 'HeraldContext';

/** @internal The provider's value; throws when `hook` is used outside a provider. */
export function useHeraldContext(hook: string): HeraldContextValue {
  const value = useContext(HeraldContext);
  if (value === undefined) throw new Error(`${hook} must be used inside a <HeraldProvider>`);
  return value;
}
