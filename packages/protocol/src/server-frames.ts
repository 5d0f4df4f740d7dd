import type { CommandId } from './commands.js';
import type { DeltaPush, Envelope, Gap } from './envelope.js';
import type { WireError } from './error-codes.js';
import type { Position } from './position.js';

/** A member of a channel's presence: one session, and the user behind it when known. */
export interface PresenceMember {
  /** The session id, unique per connection. */
  readonly client: string;
  /** The user id, or `null` for an anonymous session. */
  readonly user: string | null;
  /**
   * What the app said of this member (any JSON): the channel info the subscribe hook answered, else
   * the connection info the connect hook answered; absent when neither gave any.
   */
  readonly info?: unknown;
}

/** `subscribe` reply fields. */
export interface SubscribeResult {
  readonly channel: string;
  /** The channel's position when the subscription started. */
  readonly position: Position;
  /** A cursor for that position, accepted as `since` by every transport. */
  readonly cursor: string;
  /**
   * The channel's ref in compact message pushes (`herald.compact`, `herald.msgpack`): a small
   * non-negative integer, the lowest the session's other subscriptions do not hold. Absent in JSON.
   */
  readonly ref?: number;
  /** Present (true) when the client asked for deltas and the channel's namespace sends them. */
  readonly delta?: true;
}

/** `publish` reply fields (and the `POST /api/publish` body). */
export interface PublishResult {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  /** Present (true) when the idempotency key was already used: nothing was stored, the position is the first publish's. */
  readonly duplicate?: true;
}

/** The `GET /api/messages` and `GET /api/history` body; the `history` reply adds its channel and position. */
export interface HistoryResult {
  readonly messages: Envelope[];
  readonly cursor: string;
  readonly gaps?: Gap[];
  /** True when `limit` (or the hub's answer size) cut the answer short: ask again with the returned cursor. */
  readonly more?: boolean;
}

/** `history` reply fields: one channel's messages, and the channel's position when it was read. */
export interface HistoryReplyResult extends HistoryResult {
  readonly channel: string;
  readonly position: Position;
}

/** `unsubscribe` reply fields. */
export interface UnsubscribeResult {
  readonly channel: string;
}

/** `presence` reply fields (and the `GET /api/presence` body). */
export interface PresenceResult {
  readonly channel: string;
  readonly members: PresenceMember[];
}

/** `auth` and `refresh` reply fields: who the session is now, and when its token expires (ms since the Unix epoch). */
export interface AuthResult {
  readonly user: string | null;
  readonly expiresAt: number | null;
}

/**
 * `ping` reply fields: none (`{"type":"reply","id"}`). Spelled as the absent `error` of every
 * successful reply, not as `{}`, which any object would match.
 */
export interface PingResult {
  readonly error?: undefined;
}

/** `rpc` reply fields (and the `POST /api/rpc` body): what the app's rpc hook answered. */
export interface RpcResult {
  /** The app's `data` (any JSON value; `null` when the app answered none). */
  readonly data: unknown;
}

/**
 * `ack` reply fields (and the `POST /api/ack` body): the user's acknowledged position on the
 * channel after the ack, which is the one acked unless a higher offset of the same epoch was
 * acknowledged before (acks never move backwards within an epoch).
 */
export interface AckResult {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
}

/** One user's acknowledged position, as `GET /api/acks` lists it. */
export interface AckEntry {
  readonly user: string;
  readonly epoch: string;
  readonly offset: number;
  /** When it was last acknowledged, ms since the Unix epoch (the hub's clock). */
  readonly time: number;
}

/** The body of `GET /api/acks` (and `GET /api/admin/acks`): most recently acknowledged first. */
export interface AcksResult {
  readonly channel: string;
  readonly acks: AckEntry[];
}

/** The result fields of each command's reply, by command type. */
export interface CommandResults {
  readonly subscribe: SubscribeResult;
  readonly unsubscribe: UnsubscribeResult;
  readonly publish: PublishResult;
  readonly history: HistoryReplyResult;
  readonly presence: PresenceResult;
  readonly ping: PingResult;
  readonly auth: AuthResult;
  readonly refresh: AuthResult;
  readonly rpc: RpcResult;
  readonly ack: AckResult;
}

/** The result fields of any command's reply. */
export type CommandResult = CommandResults[keyof CommandResults];

/** A successful answer to a command of type `T`: the command's `id`, and its result fields. */
export type ResultFrame<T extends keyof CommandResults = keyof CommandResults> = T extends keyof CommandResults
  ? { readonly type: 'reply'; readonly id: CommandId; readonly error?: undefined } & CommandResults[T]
  : never;

/** A failed answer to a command: its `id` and why; the command had no effect. */
export interface ErrorReplyFrame {
  readonly type: 'reply';
  readonly id: CommandId;
  readonly error: WireError;
}

/** The answer to a command: same `id`; `error` on failure, else the command's result fields. */
export type ReplyFrame = ResultFrame | ErrorReplyFrame;

/** Pushed when a subscription must report a gap before the messages that follow it. */
export interface GapFrame extends Gap {
  readonly type: 'gap';
}

/** Pushed when a session joins or leaves a channel (only to subscriptions that asked for it). */
export interface PresenceEventFrame {
  readonly type: 'join' | 'leave';
  readonly channel: string;
  readonly member: PresenceMember;
}

/**
 * Pushed when the hub ends a subscription by itself: after `refresh` (or `auth`), for each channel
 * the new token no longer allows. Nothing more arrives for the channel.
 */
export interface UnsubscribedFrame {
  readonly type: 'unsubscribed';
  readonly channel: string;
  readonly error: WireError;
}

/** A frame with no command to answer (for example a non-JSON frame). */
export interface ErrorFrame {
  readonly type: 'error';
  readonly error: WireError;
}

/** Every frame the hub sends on the WebSocket. */
export type ServerFrame = Envelope | DeltaPush | ReplyFrame | GapFrame | PresenceEventFrame | UnsubscribedFrame | ErrorFrame;
