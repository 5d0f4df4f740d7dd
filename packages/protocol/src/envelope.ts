/**
 * A message as every transport delivers it: the WebSocket `message` push, the SSE event's `data:` and
 * each item of a polling response are all this same JSON object, serialised once per message.
 */
export interface Envelope<T = unknown> {
  readonly type: 'message';
  readonly channel: string;
  /** Offset in the channel's log: 1 for the first message, +1 for each next one. */
  readonly offset: number;
  /** The log instance the offset belongs to. */
  readonly epoch: string;
  /** When the hub stored the message, in milliseconds since the Unix epoch. */
  readonly time: number;
  readonly data: T;
  /**
   * The hub-signed cursor of this message's position: present only for a client that may subscribe
   * to the channel but not read its history, which resumes only from positions the hub signed.
   */
  readonly cursor?: string;
}

/** Why a resume could not continue from the requested position. */
export type GapReason = 'window' | 'epoch' | 'ahead' | 'lost' | 'cursor';

/**
 * An explicit gap: the requested position could not be resumed from. Messages after `resumed`
 * follow; whatever lay between `requested` and `resumed` is lost to this client.
 *
 * - `window`: the position has left the retained window (history size or age).
 * - `epoch`: the position belongs to an earlier log instance (the log was lost or rebuilt).
 * - `ahead`: the position is beyond the end of the log (the log lost acknowledged messages).
 * - `lost`: live messages were lost between nodes and could not be recovered from the log.
 * - `cursor`: the position's signature could not be verified (a client without the channel's
 *   history, after the hub's cursor key changed): it starts at the end of the log.
 */
export interface Gap {
  readonly channel: string;
  readonly reason: GapReason;
  readonly requested: { readonly epoch: string; readonly offset: number };
  readonly resumed: { readonly epoch: string; readonly offset: number };
  /** The hub-signed cursor of `resumed`, for a client without history on the channel (see `Envelope.cursor`). */
  readonly cursor?: string;
}

/**
 * A message sent as a delta (namespaces with deltas on, to a client that asked for them): the
 * message at `offset` whose data is the result of applying `delta` to the data of the message at
 * `offset - 1` of the same channel and epoch, which this client received last on the channel. The
 * delta is a Fossil delta over the data's JSON text as ECMAScript `JSON.stringify` writes it (no
 * whitespace), taken over UTF-16 code units, carried as a JSON string (see docs/protocol.md).
 */
export interface DeltaPush {
  readonly type: 'delta';
  readonly channel: string;
  readonly offset: number;
  readonly epoch: string;
  readonly time: number;
  readonly delta: string;
  /** As {@link Envelope.cursor}. */
  readonly cursor?: string;
}
