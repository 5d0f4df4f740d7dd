import type { Envelope, Gap, PresenceMember, Position, PublishResult } from '@herald/protocol';
import type { HeraldClientError } from './errors.js';
import type { OutboxStore } from './outbox-store.js';

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

/** Options of the offline outbox (`outbox(options)` from `@herald/client/outbox`); durations in milliseconds. */
export interface OutboxOptions {
  /**
   * Where queued publishes are kept: `'auto'` is IndexedDB (database `herald-outbox`) where the
   * global `indexedDB` exists, else memory; `'memory'`; `'indexeddb'`; or your own store.
   * @default 'auto'
   */
  readonly store?: 'auto' | 'memory' | 'indexeddb' | OutboxStore;
  /** Items queued at most (per hub and user); one more rejects with `'outbox-full'`. @default 1000 */
  readonly maxItems?: number;
  /** Bytes of JSON `data` queued at most (per hub and user); past it `'outbox-full'`. @default 1048576 */
  readonly maxBytes?: number;
  /** How long an item may wait to be sent; then it fails with `'outbox-expired'`. @default 86400000 (one day) */
  readonly maxAge?: number;
  /**
   * The hub's `idempotencyTtl`: an item first sent longer ago than this without an answer fails
   * with `'outbox-unconfirmed'` rather than being sent again. @default 300000
   */
  readonly idempotencyTtl?: number;
  /**
   * The user the outbox belongs to, when the token is not a JWT with `sub` (the outbox reads
   * `sub`, unverified, to key itself; without a token the user is `anonymous`).
   */
  readonly user?: string;
}

/** A queued publish settled (`client.on('outbox', …)`): stored by the hub, or given up. */
export type OutboxEvent = {
  /** The item's id (random) and the idempotency key it was sent with. */
  readonly id: string;
  readonly key: string;
  readonly channel: string;
  readonly data: unknown;
} & ({ readonly type: 'sent'; readonly result: PublishResult } | { readonly type: 'failed'; readonly error: HeraldClientError });
