import type { Gap, Position } from '@herald/protocol';
import type { ReadResult } from '../engine/broker.js';

/**
 * The gap, if any, between a requested `since` position and what a read from it returned (see
 * `Broker.read`): `undefined` when the read continues exactly after `since`.
 */
export function computeGap(channel: string, since: Position, read: ReadResult): Gap | undefined {
  const { position, oldest } = read;
  let reason: Gap['reason'];
  if (since.epoch !== position.epoch) reason = 'epoch';
  else if (since.offset > position.offset) reason = 'ahead';
  else if (since.offset < oldest - 1) reason = 'window';
  else return undefined;
  return { channel, reason, requested: { epoch: since.epoch, offset: since.offset }, resumed: { epoch: position.epoch, offset: oldest - 1 } };
}
