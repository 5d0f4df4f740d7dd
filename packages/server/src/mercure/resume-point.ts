import { parseCursor, type Position } from '@herald/protocol';
import type { Hub } from '../hub/hub.js';
import { decodedUpdate, UPDATES_CHANNEL, type UpdateMeta } from './mercure-update.js';

/** The reserved last event id: every retained update. */
export const EARLIEST = 'earliest';

/** Most messages read while looking for a publisher's update id, or for a time on a channel. */
const SCAN_LIMIT = 10_000;
const PAGE = 500;

/** Where each channel of a stream starts (`undefined`: from now), and whether the id was one the hub could resume from. */
export interface ResumePlan {
  readonly since: Map<string, Position | undefined>;
  readonly resolved: boolean;
  /** For a publisher's id: the update it names (its topics, whether it is private). */
  readonly update?: UpdateMeta;
}

/**
 * Where each channel of a stream starts for a `Last-Event-ID` (or `lastEventID`) value:
 * - `earliest`: every channel from its oldest retained message;
 * - an event id the hub generated (`#` + a Herald cursor of one position), or any Herald cursor
 *   (with or without `#`): each channel it holds exactly after its position there;
 * - a publisher's update id: the last update with that id still retained on the updates channel
 *   (the last {@link SCAN_LIMIT} are searched), exactly after it on the updates channel and its
 *   topics' channels;
 * - a channel the id does not cover, when the id names one event: from the event's store time
 *   (every message stored in the same millisecond or later is sent: a message of that millisecond
 *   may come twice, none is lost);
 * - anything else: every channel from now (`resolved` false).
 */
export async function resumePoints(hub: Hub, lastEventId: string, channels: readonly string[]): Promise<ResumePlan> {
  const since = new Map<string, Position | undefined>();
  if (lastEventId === EARLIEST) {
    for (const channel of channels) {
      // Before the oldest retained message (the read's position is after what it returned).
      const { messages, position } = await hub.read(channel, undefined, 1);
      const oldest = messages[0];
      since.set(channel, oldest === undefined ? position : { epoch: oldest.epoch, offset: oldest.offset - 1 });
    }
    return { since, resolved: true };
  }
  let known: Map<string, Position> | undefined;
  let anchor: { channel: string; position: Position } | undefined;
  let update: UpdateMeta | undefined;
  const cursor = parseCursor(lastEventId.startsWith('#') ? lastEventId.slice(1) : lastEventId);
  if (cursor.ok) {
    known = new Map([...cursor.value].map(([channel, { epoch, offset }]) => [channel, { epoch, offset }]));
    if (known.size === 1) {
      const [channel, position] = [...known][0]!;
      anchor = { channel, position };
    }
  } else {
    const found = await findUpdate(hub, lastEventId);
    known = found?.positions;
    update = found?.meta;
    const position = known?.get(UPDATES_CHANNEL);
    if (position !== undefined) anchor = { channel: UPDATES_CHANNEL, position };
  }
  if (known === undefined) return { since, resolved: false };
  const time = anchor === undefined ? undefined : await storedAt(hub, anchor.channel, anchor.position);
  for (const channel of channels) {
    const position = known.get(channel);
    if (position !== undefined) since.set(channel, position);
    else if (time !== undefined) since.set(channel, await positionBefore(hub, channel, time));
  }
  return { since, resolved: true, ...(update !== undefined && { update }) };
}

/** When the message at `position` of `channel` was stored, if it is still retained. */
async function storedAt(hub: Hub, channel: string, position: Position): Promise<number | undefined> {
  if (position.offset < 1) return undefined;
  const { messages } = await hub.read(channel, { epoch: position.epoch, offset: position.offset - 1 }, 1);
  const message = messages[0];
  return message !== undefined && message.offset === position.offset ? message.time : undefined;
}

/** The position just before the first retained message of `channel` stored at `time` or later (the end when none is). */
async function positionBefore(hub: Hub, channel: string, time: number): Promise<Position> {
  let since: Position | undefined;
  for (let read = 0; read < SCAN_LIMIT; read += PAGE) {
    const page = await hub.read(channel, since, PAGE);
    for (const message of page.messages) {
      if (message.time >= time) return { epoch: message.epoch, offset: message.offset - 1 };
    }
    since = page.position;
    if (!page.more) break;
  }
  return since ?? (await hub.position(channel));
}

/** The positions of the last retained update whose publisher gave it `id`: on the updates channel and its topics' channels. */
async function findUpdate(hub: Hub, id: string): Promise<{ positions: Map<string, Position>; meta: UpdateMeta } | undefined> {
  let since: Position | undefined;
  let found: { positions: Map<string, Position>; meta: UpdateMeta } | undefined;
  // The id as it is written in a stored update (JSON text): only a message holding it is decoded.
  const needle = JSON.stringify(id);
  for (let read = 0; read < SCAN_LIMIT; read += PAGE) {
    const page = await hub.read(UPDATES_CHANNEL, since, PAGE);
    for (const message of page.messages) {
      if (!message.json.includes(needle)) continue;
      const meta = decodedUpdate(message).meta;
      if (meta?.id !== id) continue;
      const positions = new Map([[UPDATES_CHANNEL, { epoch: message.epoch, offset: message.offset }]]);
      for (const [channel, position] of Object.entries(meta.positions ?? {})) positions.set(channel, position);
      found = { positions, meta };
    }
    since = page.position;
    if (!page.more) break;
  }
  return found;
}

/** The id of the last update on the updates channel (`earliest` when there is none retained). */
export async function latestEventId(hub: Hub): Promise<string> {
  const position = await hub.position(UPDATES_CHANNEL);
  if (position.offset === 0) return EARLIEST;
  const { messages } = await hub.read(UPDATES_CHANNEL, { epoch: position.epoch, offset: position.offset - 1 }, 1);
  const last = messages[0];
  return last === undefined ? EARLIEST : decodedUpdate(last).id;
}

/**
 * Whether `~mercure` no longer holds everything ever stored on it (its retention dropped some), so an
 * id it cannot find may be one it dropped.
 */
export async function updatesDropped(hub: Hub): Promise<boolean> {
  const { messages, position } = await hub.read(UPDATES_CHANNEL, undefined, 1);
  const oldest = messages[0];
  return oldest === undefined ? position.offset > 0 : oldest.offset > 1;
}
