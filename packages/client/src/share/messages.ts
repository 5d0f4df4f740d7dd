import type { CursorEntry, Envelope, Gap, Position } from '@herald/protocol';
import type { ReconnectOptions } from '../backoff.js';
import type { ClientState, PresenceChange, TransportName } from '../types.js';

/**
 * What the tabs of one origin say to each other over the share's two BroadcastChannels (see
 * docs/architecture.md, "One connection per origin"). Members post {@link Up} on `<name>:up`,
 * which only the leader reads; the leader posts {@link Down} on `<name>:down`, which every member
 * reads. `m` is a member id (one per client, random), `to` lists the members a push is for.
 */
export type Up =
  | { readonly t: 'hello'; readonly m: string }
  | { readonly t: 'sub'; readonly m: string; readonly id: number; readonly ch: string; readonly since?: CursorEntry; readonly jl: boolean }
  | { readonly t: 'unsub'; readonly m: string; readonly ch: string }
  | { readonly t: 'req'; readonly m: string; readonly id: number; readonly op: Op; readonly args: readonly unknown[] }
  | { readonly t: 'bye'; readonly m: string }
  /** A worker's options, from the first member (a worker has none of its own). */
  | { readonly t: 'opts'; readonly m: string; readonly o: WorkerOptions }
  /** A member's answer to a token request: the token, or getToken's error. */
  | { readonly t: 'tok'; readonly m: string; readonly id: number; readonly token?: string; readonly err?: string };

/** The options a SharedWorker's connection takes from its first member (functions cannot cross). */
export interface WorkerOptions {
  readonly url: string;
  readonly transports?: readonly TransportName[];
  readonly token?: string;
  readonly reconnect?: ReconnectOptions | false;
  readonly timeout?: number;
  readonly fallbackDelay?: number;
  readonly pollWait?: number;
  /** The member has a getToken: the worker asks the members for tokens. */
  readonly getToken: boolean;
}

/** A request the leader runs on its connection: publish, history, presence, rpc. */
export type Op = 'publish' | 'history' | 'presence' | 'rpc';

/** An error as it crosses the channel (a structured clone drops an Error's own fields). */
export interface WireError {
  readonly code: number | string;
  readonly message: string;
}

export type Down =
  /** A leader announces itself when elected and answers every `hello`; `s`/`tr`: its connection. */
  | { readonly t: 'leader'; readonly l: string; readonly s: ClientState; readonly tr: TransportName | undefined }
  | { readonly t: 'state'; readonly l: string; readonly s: ClientState; readonly tr: TransportName | undefined; readonly err?: WireError }
  | { readonly t: 'res'; readonly m: string; readonly id: number; readonly ok?: unknown; readonly err?: WireError }
  | { readonly t: 'msg'; readonly to: readonly string[]; readonly e: Envelope }
  | { readonly t: 'gap'; readonly to: readonly string[]; readonly g: Gap }
  | { readonly t: 'pres'; readonly to: readonly string[]; readonly c: PresenceChange }
  | { readonly t: 'ref'; readonly to: readonly string[]; readonly ch: string; readonly err: WireError }
  /** A worker asks for a token: the members with a getToken answer with `tok`. */
  | { readonly t: 'tok'; readonly id: number };

/** `a` is at or after `b` on the same epoch. */
export function atOrAfter(a: Position, b: Position | undefined): boolean {
  return b !== undefined && a.epoch === b.epoch && a.offset >= b.offset;
}
