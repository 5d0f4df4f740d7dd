import { parseCursor, type Position } from '@herald/protocol';
import type { Hub } from '../hub/hub.js';
import { decodedUpdate, UPDATES_CHANNEL } from './mercure-update.js';

/** The reserved last event id: every retained update. */
export const EARLIEST = 'earliest';

/** Most messages of the updates channel read while looking for a publisher's update id. */
const SCAN_LIMIT = 10_000;
const PAGE = 500;

/**
 * Where each channel of a stream starts for a `Last-Event-ID` (or `lastEventID`) value:
 * - `earliest`: every channel from its oldest retained message;
 * - a Herald cursor (the `id` of the events this door sends, or the id a POST answered when the
 *   publisher gave none): each channel it holds from its position there;
 * - a publisher's update id: the last update with that id still retained on the updates channel,
 *   and each topic channel it was stored on, from just after it;
 * - anything else (or a channel the id says nothing about): from now.
 * `undefined` for a channel: from now.
 */
export async function resumePoints(hub: Hub, lastEventId: string, channels: readonly string[]): Promise<Map<string, Position | undefined>> {
  const points = new Map<string, Position | undefined>();
  if (lastEventId === EARLIEST) {
    for (const channel of channels) {
      // Before the oldest retained message (the read's position is after what it returned).
      const { messages, position } = await hub.read(channel, undefined, 1);
      const oldest = messages[0];
      points.set(channel, oldest === undefined ? position : { epoch: oldest.epoch, offset: oldest.offset - 1 });
    }
    return points;
  }
  const cursor = parseCursor(lastEventId);
  if (cursor.ok) {
    for (const channel of channels) points.set(channel, cursor.value.get(channel));
    return points;
  }
  const found = await findUpdate(hub, lastEventId);
  for (const channel of channels) points.set(channel, found?.get(channel));
  return points;
}

/** The positions of the last retained update whose publisher gave it `id`: on the updates channel and its topics' channels. */
async function findUpdate(hub: Hub, id: string): Promise<Map<string, Position> | undefined> {
  let since: Position | undefined;
  let found: Map<string, Position> | undefined;
  for (let read = 0; read < SCAN_LIMIT; read += PAGE) {
    const page = await hub.read(UPDATES_CHANNEL, since, PAGE);
    for (const message of page.messages) {
      const meta = decodedUpdate(message).meta;
      if (meta?.id !== id) continue;
      found = new Map([[UPDATES_CHANNEL, { epoch: message.epoch, offset: message.offset }]]);
      for (const [channel, position] of Object.entries(meta.positions ?? {})) found.set(channel, position);
    }
    since = page.position;
    if (!page.more) break;
  }
  return found;
}
