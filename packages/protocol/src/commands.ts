import type { CursorEntry } from './cursor.js';
import type { Position } from './position.js';

/** A command id: a non-negative safe integer or a string of at most 64 characters. */
export type CommandId = number | string;

/** Subscribe to a channel; replay from `since` first when given (cursor string or position). */
export interface SubscribeCommand {
  readonly type: 'subscribe';
  readonly id: CommandId;
  readonly channel: string;
  readonly since?: string | Position;
  /** Also push `join` and `leave` frames for this channel. @default false */
  readonly joinLeave?: boolean;
  /**
   * The client applies `delta` pushes: on a channel of a namespace with deltas on, a message may come
   * as a delta against the previous one it received (a `DeltaPush`). @default false
   */
  readonly delta?: boolean;
}

/** Stop receiving a channel. */
export interface UnsubscribeCommand {
  readonly type: 'unsubscribe';
  readonly id: CommandId;
  readonly channel: string;
}

/** Publish `data` (any JSON value) to a channel. */
export interface PublishCommand {
  readonly type: 'publish';
  readonly id: CommandId;
  readonly channel: string;
  readonly data: unknown;
  /** Repeated within its lifetime on the channel, the publish stores nothing and answers the first position. */
  readonly idempotencyKey?: string;
}

/** Read retained messages, after `since` when given, at most `limit`. */
export interface HistoryCommand {
  readonly type: 'history';
  readonly id: CommandId;
  readonly channel: string;
  readonly since?: string | Position;
  readonly limit?: number;
}

/** List the members currently subscribed to a channel. */
export interface PresenceCommand {
  readonly type: 'presence';
  readonly id: CommandId;
  readonly channel: string;
}

/**
 * Authenticates the session (`auth`), or replaces its token before it expires (`refresh`, same
 * user). Answered by `{user, expiresAt}`.
 */
export interface AuthCommand {
  readonly type: 'auth' | 'refresh';
  readonly id: CommandId;
  readonly token: string;
}

/** Application-level ping; answered by an empty reply. */
export interface PingCommand {
  readonly type: 'ping';
  readonly id: CommandId;
}

/**
 * Calls `method` through the app's rpc hook (see `docs/hooks.md`); answered by the app's `data`.
 * `method` is 1–255 characters of letters, digits and `_ - . : /`; its
 * namespace (the part before the first `:`) picks the hook's URL, as a channel's does.
 */
export interface RpcCommand {
  readonly type: 'rpc';
  readonly id: CommandId;
  readonly method: string;
  /** Any JSON value handed to the app. @default null */
  readonly data?: unknown;
}

/**
 * Acknowledges that the client processed the channel's messages up to `offset` of `epoch` (see
 * `docs/protocol.md`, "Acknowledgements"). Answered by the user's acknowledged position, which
 * never moves backwards within an epoch.
 */
export interface AckCommand {
  readonly type: 'ack';
  readonly id: CommandId;
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
}

/** Every command a client may send on the WebSocket. */
export type Command =
  | SubscribeCommand
  | UnsubscribeCommand
  | PublishCommand
  | HistoryCommand
  | PresenceCommand
  | PingCommand
  | AuthCommand
  | RpcCommand
  | AckCommand;

/** The command names, in the order documented in `docs/protocol.md`. */
export const COMMAND_TYPES = [
  'subscribe',
  'unsubscribe',
  'publish',
  'history',
  'presence',
  'ping',
  'auth',
  'refresh',
  'rpc',
  'ack',
] as const;

/**
 * A `subscribe` as `decodeCommand` returns it: `since` resolved for the command's channel
 * (a cursor is parsed once, by the decoder), with the hub's signature when the cursor carried one;
 * absent when none was given or the cursor does not cover the channel.
 */
export interface DecodedSubscribeCommand extends Omit<SubscribeCommand, 'since'> {
  readonly since?: CursorEntry;
}

/** A `history` as `decodeCommand` returns it: `since` resolved as for {@link DecodedSubscribeCommand}. */
export interface DecodedHistoryCommand extends Omit<HistoryCommand, 'since'> {
  readonly since?: CursorEntry;
}

/** An `rpc` as `decodeCommand` returns it: `data` always present (`null` when the command had none). */
export interface DecodedRpcCommand extends RpcCommand {
  readonly data: unknown;
}

/** A command as the hub runs it: what `decodeCommand` returns. */
export type DecodedCommand =
  | DecodedSubscribeCommand
  | UnsubscribeCommand
  | PublishCommand
  | DecodedHistoryCommand
  | PresenceCommand
  | PingCommand
  | AuthCommand
  | DecodedRpcCommand
  | AckCommand;
