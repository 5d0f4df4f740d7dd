import type { CommandId } from './commands.js';
import type { Envelope, Gap } from './envelope.js';
import type { WireError } from './error-codes.js';
import type { Position } from './position.js';

/** A member of a channel's presence: one session, and the user behind it when known. */
export interface PresenceMember {
  /** The session id, unique per connection. */
  readonly client: string;
  /** The user id, or `null` for an anonymous session. */
  readonly user: string | null;
}

/** The answer to a command: same `id`; `error` on failure, else the command's result fields. */
export interface ReplyFrame {
  readonly type: 'reply';
  readonly id: CommandId | null;
  readonly error?: WireError;
  readonly [field: string]: unknown;
}

/** `subscribe` reply fields. */
export interface SubscribeResult {
  readonly channel: string;
  /** The channel's position when the subscription started. */
  readonly position: Position;
  /** A cursor for that position, accepted as `since` by every transport. */
  readonly cursor: string;
}

/** `publish` reply fields (and the `POST /api/publish` body). */
export interface PublishResult {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  /** Present (true) when the idempotency key was already used: nothing was stored, the position is the first publish's. */
  readonly duplicate?: true;
}

/** `history` reply fields (and the `GET /api/messages` body). */
export interface HistoryResult {
  readonly messages: Envelope[];
  readonly cursor: string;
  readonly gaps?: Gap[];
  /** True when `limit` cut the answer short: ask again with the returned cursor. */
  readonly more?: boolean;
}

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
export type ServerFrame = Envelope | ReplyFrame | GapFrame | PresenceEventFrame | UnsubscribedFrame | ErrorFrame;
