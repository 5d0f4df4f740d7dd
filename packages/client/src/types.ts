import type { Envelope, Gap, PresenceMember, Position, PublishResult } from '@herald/protocol';

export type { Envelope, Gap, PresenceMember, Position, PublishResult };

/** The transports, in the default order of preference. */
export type TransportName = 'websocket' | 'sse' | 'polling';

/** Channel names mapped to their payload types (any object type or interface); `createClient<MyChannels>()` types every call. */
export type ChannelMap = Record<string, unknown>;

/** Connection state of a client. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A join or leave on a channel. */
export interface PresenceChange {
  readonly type: 'join' | 'leave';
  readonly channel: string;
  readonly member: PresenceMember;
}

/** The answer to a history read. */
export interface HistoryPage<T> {
  readonly messages: Envelope<T>[];
  /** Pass back as `since` to read on. */
  readonly cursor: string;
  readonly gaps?: Gap[];
  readonly more?: boolean;
}

/** `since` as the hub takes it: a cursor from any transport, or a position copied from an envelope. */
export type Since = string | Position;

/** Options of `publish`. */
export interface PublishOptions {
  /**
   * Your key for this message (1–128 printable ASCII characters, e.g. a UUID): publishing again
   * with the same key on the same channel within the hub's `idempotencyTtl` (5 min) stores nothing
   * and answers the first position with `duplicate: true`. Retry a publish whose answer was lost
   * with the same key.
   */
  readonly idempotencyKey?: string;
}

/** Options of `rpc`. */
export interface RpcOptions {
  /** Abandons the call: `rpc` rejects with the signal's reason (the app may still have run the method). */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds to wait for the answer before rejecting with code `'timeout'` (the app may still
   * have run the method). @default none: the hub answers within its hook timeout (`3003` past it)
   */
  readonly timeout?: number;
}
