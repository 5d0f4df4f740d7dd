import type { Gap, Position } from '@herald/protocol';
import type { ReadResult } from '../engine/broker.js';

/**
 * A `since` whose signature the hub could not verify (see `Security.resumeFrom`): the reader starts
 * at the end of the log, after a `cursor` gap, and nothing is read from the position itself.
 */
export interface UnverifiedPosition extends Position {
  readonly unverified: true;
}

/** Whether `since` is an {@link UnverifiedPosition}. */
export function isUnverified(since: Position): since is UnverifiedPosition {
  return (since as Partial<UnverifiedPosition>).unverified === true;
}

/** The `cursor` gap from an unverified `since` to the end of the log, `top`. */
export function unverifiedGap(channel: string, since: Position, top: Position): Gap {
  return {
    channel,
    reason: 'cursor',
    requested: { epoch: since.epoch, offset: since.offset },
    resumed: { epoch: top.epoch, offset: top.offset },
  };
}

/**
 * The gap, if any, between a requested `since` position and what a read from it returned (see
 * `Broker.read`): `undefined` when the read continues exactly after `since`.
 *
 * The gap resumes at the oldest retained message, except with `fromEnd` (a client that may not read
 * the channel's history, which resumes only from positions the hub signed): when the log is in
 * another epoch or behind `since`, nothing tells which retained messages came after the client's
 * position (a log restored from a backup, one that lost its tail, another log sharing the cursor
 * key), so such a gap resumes at the current end and replays nothing.
 */
export function computeGap(channel: string, since: Position, read: ReadResult, fromEnd = false): Gap | undefined {
  const { position, oldest } = read;
  let reason: Gap['reason'];
  if (since.epoch !== position.epoch) reason = 'epoch';
  else if (since.offset > position.offset) reason = 'ahead';
  else if (since.offset < oldest - 1) reason = 'window';
  else return undefined;
  const offset = fromEnd && reason !== 'window' ? position.offset : oldest - 1;
  return { channel, reason, requested: { epoch: since.epoch, offset: since.offset }, resumed: { epoch: position.epoch, offset } };
}

/** The messages of a read from `since` that come after `gap.resumed` (all of them without a gap). */
export function afterGap<M extends Position>(messages: readonly M[], gap: Gap | undefined): readonly M[] {
  if (gap === undefined) return messages;
  const { epoch, offset } = gap.resumed;
  return messages.filter((m) => m.epoch === epoch && m.offset > offset);
}
