import type { Position } from '@herald/protocol';
import type { Hub } from '../hub/hub.js';
import type { HubMessage } from '../hub/hub-message.js';
import { messageDeltaFrom } from '../hub/message-delta.js';
import { deltaFrames } from './delta-frames.js';
import type { PollMessages } from './poll-messages.js';
import type { SignedEncodings } from './signed-json.js';

/** What a poll that asked for deltas (`delta=1`) may be answered with. */
export interface PollDeltas {
  /** The messages polls share, with their deltas. */
  readonly messages: PollMessages;
  /** Channels whose messages may go as deltas: the client asked, and their namespace sends them. */
  readonly channels: ReadonlySet<string>;
  /** Per channel, the position whose data the client holds (its cursor's, when `base` named it). */
  readonly held: ReadonlyMap<string, Position>;
}

/**
 * The poll's channels that may get deltas and where the client holds data: `delta=1` (or `true`)
 * asks for deltas; `base`, a comma-separated list of offsets in the order of the `channel`
 * parameters (an entry left empty: none), says the client holds the data of the message at that
 * offset, which counts only where it is the offset of the channel's resume position (`since`), and
 * never on a channel in `restricted` (the client may not read its history: its first position is the
 * end of the log, whose message it never received, and a delta against it would tell where the data
 * it does receive sat in that message).
 */
export function pollDeltas(
  hub: Hub,
  messages: PollMessages,
  params: URLSearchParams,
  channels: readonly string[],
  since: ReadonlyMap<string, Position>,
  restricted: ReadonlySet<string>,
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
    if (at === undefined || !on.has(channel) || restricted.has(channel) || bases[i] === '' || String(at.offset) !== bases[i]) continue;
    held.set(channel, at);
  }
  return { messages, channels: on, held };
}

/**
 * One channel's messages of a poll answer, each as the instance every poll shares (see
 * {@link PollMessages}: its encodings and its delta are built once, whoever polls) and whether its
 * item goes as a delta: the client holds the message before it (offset − 1, same epoch: the position
 * it asked from, named by `base`, or the item before in this answer, which it applies first) and
 * the delta against that message is at hand (built already, or computed now from the base the hub
 * has: the item before, or for the first item a message kept or live).
 */
export function pollSequence(
  channel: string,
  messages: readonly HubMessage[],
  deltas: PollDeltas,
): { readonly message: HubMessage; readonly delta: boolean }[] {
  const out: { message: HubMessage; delta: boolean }[] = [];
  let holds: Position | undefined = deltas.held.get(channel);
  let previous: HubMessage | undefined;
  for (const read of messages) {
    const message = deltas.messages.share(read);
    const follows = holds !== undefined && holds.epoch === message.epoch && holds.offset === message.offset - 1;
    const base = !follows ? undefined : (previous ?? deltas.messages.find(channel, holds!));
    out.push({ message, delta: follows && messageDeltaFrom(message, base) !== undefined });
    holds = previous = message;
  }
  return out;
}

/** One channel's messages as the items of a poll answer's `messages` (no brackets): deltas as {@link pollSequence} says, else in full. */
export function pollItems(
  channel: string,
  messages: readonly HubMessage[],
  deltas: PollDeltas,
  signed: SignedEncodings | undefined,
): string {
  let out = '';
  for (const { message, delta } of pollSequence(channel, messages, deltas)) {
    const item = (delta ? deltaFrames.json(message, signed) : undefined) ?? (signed === undefined ? message.json : signed.json(message));
    out += (out === '' ? '' : ',') + item;
  }
  return out;
}
