import { createDelta } from 'fossil-delta';
import { envelopeData } from '../engine/broker.js';
import type { HubMessage } from './hub-message.js';

/**
 * The data of a message as deltas are taken over: its JSON text as ECMAScript `JSON.stringify`
 * writes it (no whitespace), which is what a client gets by stringifying the data it parsed. The
 * stored text may differ (an HTTP publish keeps the body's own spacing). Built once per message.
 */
export function deltaText(message: HubMessage): string {
  return message.encoded('delta-text', buildDeltaText);
}

const buildDeltaText = (message: HubMessage): string => JSON.stringify(JSON.parse(envelopeData(message.json)));

/**
 * The delta of `message` against the message before it (`message.base`: offset − 1, same epoch): a
 * Fossil delta over the UTF-16 code units of both {@link deltaText}s, as a string (what a compact or
 * MessagePack push carries as is). `undefined` when the hub no longer holds the base or when the
 * delta, as JSON text, is not shorter than the data's (then the full message goes). Computed once
 * per message, whoever asks.
 */
export function messageDelta(message: HubMessage): string | undefined {
  return message.encoded('delta', buildDelta);
}

/**
 * {@link messageDelta}, taken against `base` (the message at offset − 1, same epoch) when `message`
 * holds no base of its own and its delta is not built yet: how a message read from the log gets the
 * delta a live one gets from the hub. `undefined`, and nothing built, without any base at hand (so a
 * later call with one still computes it). `base` is not kept: no chain of messages holds memory.
 */
export function messageDeltaFrom(message: HubMessage, base: HubMessage | undefined): string | undefined {
  if (message.base !== undefined || message.has('delta')) return messageDelta(message);
  if (base === undefined) return undefined;
  message.base = base;
  try {
    return messageDelta(message);
  } finally {
    message.base = undefined;
  }
}

/** {@link messageDelta} as the JSON text of a string (what the JSON pushes carry), built once. */
export function messageDeltaJson(message: HubMessage): string | undefined {
  return message.encoded('delta-string-json', buildDeltaStringJson);
}

/**
 * The longest data text (UTF-16 code units, base and message alike) a delta is computed for: Fossil's
 * matcher may try up to 250 candidates per position, so crafted data (two letters, a length that
 * makes its hash table a power of two) costs about a second per 256 K units on the event loop. At
 * this size the worst case stays within a few milliseconds; larger messages go in full.
 */
export const MAX_DELTA_TEXT = 16 * 1024;

/**
 * A stored envelope longer than this holds data whose {@link deltaText} is past
 * {@link MAX_DELTA_TEXT} whatever its escapes (a `\uXXXX` escape of 6 units becomes 1; the
 * envelope's other fields take less than 4,096): no delta, and no parse to find that out.
 */
const MAX_DELTA_ENVELOPE = 6 * MAX_DELTA_TEXT + 4096;

function buildDelta(message: HubMessage): string | undefined {
  const base = message.base;
  if (base === undefined || base.epoch !== message.epoch || base.offset !== message.offset - 1) return undefined;
  if (message.json.length > MAX_DELTA_ENVELOPE || base.json.length > MAX_DELTA_ENVELOPE) return undefined;
  const target = deltaText(message);
  const source = deltaText(base);
  if (target.length > MAX_DELTA_TEXT || source.length > MAX_DELTA_TEXT) return undefined;
  const delta = textDelta(source, target);
  // Compared as carried in JSON (escapes included): the delta must save bytes.
  return JSON.stringify(delta).length < target.length ? delta : undefined;
}

const buildDeltaStringJson = (message: HubMessage): string | undefined => {
  const delta = messageDelta(message);
  return delta === undefined ? undefined : JSON.stringify(delta);
};

/** A Fossil delta from `source` to `target`, over their UTF-16 code units (so any string survives JSON). */
export function textDelta(source: string, target: string): string {
  const out = createDelta(codeUnits(source), codeUnits(target));
  let text = '';
  for (let i = 0; i < out.length; i += CHUNK) text += String.fromCharCode(...out.slice(i, i + CHUNK));
  return text;
}

/** Code units per `String.fromCharCode` call (bounded: arguments go on the stack). */
const CHUNK = 4096;

function codeUnits(text: string): number[] {
  const units = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return units;
}

/** The default JSON delta push of `message` (`type: 'delta'`), or `undefined` without a delta. */
export function deltaJson(message: HubMessage): string | undefined {
  return message.encoded('delta-json', buildDeltaJson);
}

function buildDeltaJson(message: HubMessage): string | undefined {
  const delta = messageDeltaJson(message);
  if (delta === undefined) return undefined;
  const { channel, offset, epoch, time } = message;
  return `{"type":"delta","channel":${JSON.stringify(channel)},"offset":${offset},"epoch":${JSON.stringify(epoch)},"time":${time},"delta":${delta}}`;
}
