import { encodePosition, type Position } from '@herald/protocol';
import { DEFAULT_EVENT, eventData, readEvent } from '../doors/door-event.js';
import { unescapeName } from '../doors/escaped-channel.js';
import { envelopeData } from '../engine/broker.js';
import type { HubMessage } from '../hub/hub-message.js';

/**
 * The Herald channel every update posted through the Mercure door is also appended to: subscribers
 * with a URI template or `*` selector tail it. No topic maps to it (`escapeName` always escapes `~`).
 */
export const UPDATES_CHANNEL = '~mercure';

/**
 * What the Mercure door keeps of an update beside Herald's `{event, data}`: the member `mercure` of
 * the Herald message data.
 */
export interface UpdateMeta {
  /** Every topic of the update, the canonical one first. */
  readonly topics: readonly string[];
  /** The publisher's `id`, when it gave one. */
  readonly id?: string;
  /** Present (true) on a private update. */
  readonly private?: true;
  /** The `retry` field, in milliseconds. */
  readonly retry?: number;
  /** On {@link UPDATES_CHANNEL} only: where the update was stored on each topic's channel. */
  readonly positions?: Readonly<Record<string, Position>>;
}

/** An update as posted: `type` undefined is an unnamed SSE event (Herald event `message`). */
export interface PostedUpdate {
  readonly topics: readonly string[];
  readonly data: string;
  readonly type: string | undefined;
  readonly id: string | undefined;
  readonly retry: number | undefined;
  readonly private: boolean;
}

/** The Herald data of a posted update: `{event: type ?? 'message', data, mercure: {topics, id?, private?, retry?, positions?}}`. */
export function updateData(update: PostedUpdate, positions?: Record<string, Position>): Record<string, unknown> {
  const meta: UpdateMeta = {
    topics: update.topics,
    ...(update.id !== undefined && { id: update.id }),
    ...(update.private && { private: true as const }),
    ...(update.retry !== undefined && { retry: update.retry }),
    ...(positions !== undefined && { positions }),
  };
  // A JSON string stays text: parsed, its quotes would be lost on the way back.
  const data = update.data.startsWith('"') ? update.data : eventData(DEFAULT_EVENT, update.data, true)['data'];
  return { mercure: meta, event: update.type ?? DEFAULT_EVENT, data };
}

/** A Herald message as the Mercure door reads it (decoded once per message, shared by every stream). */
export interface DecodedUpdate {
  /** The update's topics: its `mercure.topics`, or the channel's topic for any other message. */
  readonly topics: readonly string[];
  /** Whether it was posted through the Mercure door (it then also is on {@link UPDATES_CHANNEL}). */
  readonly posted: boolean;
  readonly private: boolean;
  readonly meta: UpdateMeta | undefined;
  /** The update's id: the publisher's, else {@link generatedId} of where the message is. */
  readonly id: string;
  /** The whole SSE event: `id:`, `event:`, `retry:`, `data:` lines and the blank line (the same bytes for every subscriber). */
  readonly chunk: Buffer;
  /** Whether a selector text matches one of {@link topics}: filled by the streams it is dispatched to, so each text is matched once. */
  readonly matches: Map<string, boolean>;
}

function readMeta(json: string): UpdateMeta | undefined {
  if (!json.includes('"mercure"')) return undefined;
  try {
    const value = JSON.parse(json) as { mercure?: unknown };
    if (typeof value !== 'object' || value === null) return undefined;
    const meta = value.mercure as UpdateMeta | undefined;
    if (typeof meta !== 'object' || meta === null || !Array.isArray(meta.topics)) return undefined;
    if (!meta.topics.every((t) => typeof t === 'string') || meta.topics.length === 0) return undefined;
    return meta;
  } catch {
    return undefined;
  }
}

/** The SSE lines of an event: `event:` unless it is `message`, `retry:`, one `data:` per line of `text`. */
export function sseFields(event: string, text: string, retry: number | undefined): string {
  let out = event === 'message' ? '' : `event: ${event}\n`;
  if (retry !== undefined) out += `retry: ${retry}\n`;
  for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

function decode(message: HubMessage): DecodedUpdate {
  const json = envelopeData(message.json);
  const meta = readMeta(json);
  const { event, text } = readEvent(json);
  const retry = typeof meta?.retry === 'number' ? meta.retry : undefined;
  const id = typeof meta?.id === 'string' && !/[\r\n]/.test(meta.id) ? meta.id : generatedId(message.channel, message);
  return {
    topics: meta?.topics ?? [unescapeName(message.channel)],
    posted: meta !== undefined,
    private: meta?.private === true,
    meta,
    id,
    chunk: Buffer.from(`id: ${id}\n${sseFields(event.replace(/[\r\n]/g, ' '), text, retry)}`),
    matches: new Map(),
  };
}

/**
 * The id the hub gives an event it has no publisher id for: `#` and the Herald cursor of its one
 * position (`#c1.…`), a fragment as the Mercure specification allows ("an offset or a sequence
 * unique for this hub"). The same for every subscriber; `Last-Event-ID` resumes from it.
 */
export function generatedId(channel: string, position: Position): string {
  return `#${encodePosition(channel, { epoch: position.epoch, offset: position.offset })}`;
}

/** The message as a Mercure update (decoded on first use, then cached on the message). */
export function decodedUpdate(message: HubMessage): DecodedUpdate {
  return message.encoded('mercure', decode);
}
