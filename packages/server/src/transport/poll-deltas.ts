import type { Position } from '@herald/protocol';
import type { Hub } from '../hub/hub.js';
import type { HubMessage } from '../hub/hub-message.js';
import { deltaFrames } from './delta-frames.js';
import type { SignedEncodings } from './signed-json.js';

/** What a poll that asked for deltas (`delta=1`) may be answered with. */
export interface PollDeltas {
  readonly hub: Hub;
  /** Channels whose messages may go as deltas: the client asked, and their namespace sends them. */
  readonly channels: ReadonlySet<string>;
  /** Per channel, the position whose data the client holds (its cursor's, when `base` named it). */
  readonly held: ReadonlyMap<string, Position>;
}

/**
 * The poll's channels that may get deltas and where the client holds data: `delta=1` (or `true`)
 * asks for deltas; `base`, a comma-separated list of offsets in the order of the `channel`
 * parameters (an entry left empty: none), says the client holds the data of the message at that
 * offset, which counts only where it is the offset of the channel's resume position (`since`).
 */
export function pollDeltas(
  hub: Hub,
  params: URLSearchParams,
  channels: readonly string[],
  since: ReadonlyMap<string, Position>,
): PollDeltas | undefined {
  const asked = params.get('delta');
  if (asked !== '1' && asked !== 'true') return undefined;
  const on = new Set(channels.filter((channel) => hub.deltaFor(channel)));
  if (on.size === 0) return undefined;
  const held = new Map<string, Position>();
  const bases = (params.get('base') ?? '').split(',', channels.length);
  for (let i = 0; i < bases.length; i++) {
    const channel = channels[i]!;
    const at = since.get(channel);
    if (at === undefined || !on.has(channel) || bases[i] === '' || String(at.offset) !== bases[i]) continue;
    held.set(channel, at);
  }
  return { hub, channels: on, held };
}

/**
 * One channel's messages as the items of a poll answer's `messages` (no brackets): each in full,
 * or as a delta push where the message before it is the one the client holds (the position it asked
 * from, or the previous item) and the hub still has the live message with its delta at hand (built
 * once for every subscriber; a poll never computes one of its own).
 */
export function pollItems(
  channel: string,
  messages: readonly HubMessage[],
  deltas: PollDeltas,
  signed: SignedEncodings | undefined,
): string {
  let previous: Position | undefined = deltas.held.get(channel);
  let out = '';
  for (const message of messages) {
    const live = deltaSource(deltas, previous, message);
    let item = live === undefined ? undefined : deltaFrames.json(live, signed);
    item ??= signed === undefined ? message.json : signed.json(message);
    out += (out === '' ? '' : ',') + item;
    previous = message;
  }
  return out;
}

/**
 * The live message whose delta a poll item of `message` may carry: the client holds `previous`
 * (offset − 1, same epoch) and the hub still has `message` live (its delta built once for every
 * subscriber); `undefined` otherwise (the item goes in full).
 */
export function deltaSource(deltas: PollDeltas, previous: Position | undefined, message: HubMessage): HubMessage | undefined {
  if (previous === undefined || previous.epoch !== message.epoch || previous.offset !== message.offset - 1) return undefined;
  return deltas.hub.liveMessage(message);
}
