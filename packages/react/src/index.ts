export type { ChannelName, Channels, Register, RegisteredClient } from './channels.js';
export type { PresenceSnapshot } from './presence-tracker.js';
export { DEFAULT_RELEASE_DELAY, HeraldProvider, useHeraldClient, type HeraldProviderProps } from './provider.js';
export { DEFAULT_KEEP, useChannel, type UseChannelOptions, type UseChannelResult } from './use-channel.js';
export { useConnectionState, type ConnectionState } from './use-connection-state.js';
export { usePresence, type UsePresenceOptions, type UsePresenceResult } from './use-presence.js';
