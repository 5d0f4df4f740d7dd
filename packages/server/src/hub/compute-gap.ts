import type { Gap, Position } from '@herald/protocol';
import type { ReadResult } from '../engine/broker.js';

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
