import type { ChannelMap, HeraldClient } from '@herald/client';

/**
 * Augment this interface once in the application to type every hook with the client's channel map:
 *
 * ```ts
 * declare module '@herald/react' {
 *   interface Register {
 *     channels: MyChannels; // the same map as createClient<MyChannels>()
 *   }
 * }
 * ```
 *
 * Without it, {@link HeraldProvider} takes a client of any map, any channel name is accepted, and
 * payloads are `unknown`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the application's declaration merging
export interface Register {}

/** The registered channel map (see {@link Register}), or `ChannelMap` when none is registered. */
export type Channels = Register extends { channels: infer M extends object } ? M : ChannelMap;

/** The client {@link HeraldProvider} takes: one of the registered map, or of any map when none is registered. */
export type RegisteredClient = Register extends { channels: infer M extends object } ? HeraldClient<M> : HeraldClient<object>;

/** A channel name of the registered map. */
// eslint-disable-next-line @typescript-eslint/no-duplicate-type-constituents -- `string` only until a map is registered
export type ChannelName = keyof Channels & string;
