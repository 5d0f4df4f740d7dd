import { encodePosition } from '@herald/protocol';
import { encode } from '@msgpack/msgpack';
import { envelopeData } from '../engine/broker.js';
import type { HubMessage } from '../hub/hub-message.js';
import { messageDelta, messageDeltaJson } from '../hub/message-delta.js';
import type { SignedEncodings } from './signed-json.js';
import { wsBinaryFrame, wsTextFrame } from './ws-frame.js';

/**
 * The compact envelope (`[ref, offset, time, data, epoch?, cursor?]`, see `CompactMessage` in
 * `@herald/protocol`) of a message, in JSON and in MessagePack, and the frames and events that carry
 * it. Every encoding is built once per message and variant (ref, epoch or not, signed or not) and
 * cached on the message, so subscribers that share a variant share the bytes.
 */

/** Variant bit: the push carries the epoch (it differs from the last one the client was told). */
export const WITH_EPOCH = 1;
/** Variant bit: the push carries the hub-signed cursor (the client may not read the history). */
export const WITH_CURSOR = 2;

/** The variant bits of a push. */
export const variantOf = (withEpoch: boolean, signed: boolean): number => (withEpoch ? WITH_EPOCH : 0) | (signed ? WITH_CURSOR : 0);

// Cache keys, made once per kind, variant and ref: a template literal per delivery would allocate.
const keys = new Map<string, string[]>();
function cacheKey(kind: string, variant: number, ref: number): string {
  let table = keys.get(kind);
  if (table === undefined) keys.set(kind, (table = []));
  const slot = ref * 4 + variant;
  if (slot >= 4096) return `${kind}:${variant}:${ref}`;
  return (table[slot] ??= `${kind}:${variant}:${ref}`);
}

/** The data of a message as JSON text (the stored bytes, not re-serialised). */
export const dataJson = (message: HubMessage): string => message.encoded('data-json', (m) => envelopeData(m.json));

/** The data of a message as MessagePack, converted from its JSON once per message. */
const dataMsgpack = (message: HubMessage): Uint8Array => message.encoded('msgpack-data', (m) => encode(JSON.parse(dataJson(m)) as unknown));

/** The compact envelope of `message` as JSON text (`signed` is needed for a {@link WITH_CURSOR} variant only). */
export function compactJson(message: HubMessage, ref: number, variant: number, signed: SignedEncodings | undefined): string {
  return message.encoded(cacheKey('cj', variant, ref), (m) => compactArrayJson(m, ref, dataJson(m), variant, signed));
}

/**
 * The compact delta push of `message` as JSON text: the compact array with `ref` written as
 * `-ref-1` and the delta (a string, see `messageDelta`) in place of the data; `undefined` when the
 * message has no delta (it then goes in full).
 */
export function compactDeltaJson(
  message: HubMessage,
  ref: number,
  variant: number,
  signed: SignedEncodings | undefined,
): string | undefined {
  return message.encoded(cacheKey('cdj', variant, ref), (m) => {
    const delta = messageDeltaJson(m);
    return delta === undefined ? undefined : compactArrayJson(m, -ref - 1, delta, variant, signed);
  });
}

/** `[ref, offset, time, payload, epoch?, cursor?]` as JSON text, `payload` already JSON. */
function compactArrayJson(m: HubMessage, ref: number, payload: string, variant: number, signed: SignedEncodings | undefined): string {
  const head = `[${ref},${m.offset},${m.time},${payload}`;
  const epoch = (variant & WITH_EPOCH) !== 0 ? JSON.stringify(m.epoch) : 'null';
  if ((variant & WITH_CURSOR) === 0) return (variant & WITH_EPOCH) !== 0 ? `${head},${epoch}]` : `${head}]`;
  return `${head},${epoch},${JSON.stringify(signed!.cursor(m))}]`;
}

const NIL = Uint8Array.of(0xc0);

/** The compact envelope of `message` as MessagePack (an array of 4 to 6 elements). */
export function compactMsgpack(message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Uint8Array {
  return message.encoded(cacheKey('cm', variant, ref), (m) => compactArrayMsgpack(m, ref, dataMsgpack(m), variant, signed));
}

/** The compact delta push of `message` as MessagePack (the delta a string); `undefined` without a delta. */
export function compactDeltaMsgpack(message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Uint8Array | undefined {
  return message.encoded(cacheKey('cdm', variant, ref), (m) => {
    const delta = messageDelta(m);
    return delta === undefined ? undefined : compactArrayMsgpack(m, -ref - 1, encode(delta), variant, signed);
  });
}

/** `[ref, offset, time, payload, epoch?, cursor?]` as MessagePack, `payload` already encoded. */
function compactArrayMsgpack(m: HubMessage, ref: number, data: Uint8Array, variant: number, signed: SignedEncodings): Uint8Array {
  const head = encode([ref, m.offset, m.time]);
  const cursor = (variant & WITH_CURSOR) !== 0;
  const epoch = (variant & WITH_EPOCH) !== 0 ? encode(m.epoch) : cursor ? NIL : undefined;
  const tail = cursor ? encode(signed.cursor(m)) : undefined;
  const out = Buffer.allocUnsafe(head.length + data.length + (epoch?.length ?? 0) + (tail?.length ?? 0));
  out.set(head, 0);
  // `head` is a fixarray of 3: patched to the whole array's length (4 to 6 elements).
  out[0] = 0x94 + (epoch === undefined ? 0 : 1) + (tail === undefined ? 0 : 1);
  out.set(data, head.length);
  if (epoch !== undefined) out.set(epoch, head.length + data.length);
  if (tail !== undefined) out.set(tail, out.length - tail.length);
  return out;
}

/** A `herald.compact` WebSocket text frame holding the compact envelope. */
export const compactWsFrame = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Buffer =>
  message.encoded(cacheKey('wsc', variant, ref), (m) => wsTextFrame(compactJson(m, ref, variant, signed)));

/** A `herald.msgpack` WebSocket binary frame holding the compact envelope. */
export const msgpackWsFrame = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Buffer =>
  message.encoded(cacheKey('wsm', variant, ref), (m) => wsBinaryFrame(compactMsgpack(m, ref, variant, signed)));

/**
 * A compact SSE event: `data:` (no space, one byte less) holding the compact envelope, no `id:` line
 * (the stream sends its cursor as an `id:`-only event at each heartbeat instead, see `SseStream`).
 */
export const compactSseEvent = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Buffer =>
  message.encoded(cacheKey('ssec', variant, ref), (m) => Buffer.from(`data:${compactJson(m, ref, variant, signed)}\n\n`));

/** The answer to a long poll woken by exactly this message (`messages` holds its compact envelope). */
export const compactPollNext = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings | undefined): Buffer =>
  message.encoded(cacheKey('pollc', variant, ref), (m) => {
    const cursor = (variant & WITH_CURSOR) !== 0 ? signed!.cursor(m) : encodePosition(m.channel, m);
    return Buffer.from(`{"messages":[${compactJson(m, ref, variant, signed)}],"cursor":"${cursor}"}`);
  });

/** A `herald.compact` WebSocket text frame holding the compact delta push; `undefined` without a delta. */
export const compactDeltaWsFrame = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Buffer | undefined =>
  message.encoded(cacheKey('wscd', variant, ref), (m) => {
    const json = compactDeltaJson(m, ref, variant, signed);
    return json === undefined ? undefined : wsTextFrame(json);
  });

/** A `herald.msgpack` WebSocket binary frame holding the compact delta push; `undefined` without a delta. */
export const msgpackDeltaWsFrame = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Buffer | undefined =>
  message.encoded(cacheKey('wsmd', variant, ref), (m) => {
    const bytes = compactDeltaMsgpack(m, ref, variant, signed);
    return bytes === undefined ? undefined : wsBinaryFrame(bytes);
  });

/** A compact SSE event holding the compact delta push (as {@link compactSseEvent}); `undefined` without a delta. */
export const compactDeltaSseEvent = (message: HubMessage, ref: number, variant: number, signed: SignedEncodings): Buffer | undefined =>
  message.encoded(cacheKey('sscd', variant, ref), (m) => {
    const json = compactDeltaJson(m, ref, variant, signed);
    return json === undefined ? undefined : Buffer.from(`data:${json}\n\n`);
  });

/** As {@link compactPollNext}, `messages` holding the compact delta push; `undefined` without a delta. */
export const compactDeltaPollNext = (
  message: HubMessage,
  ref: number,
  variant: number,
  signed: SignedEncodings | undefined,
): Buffer | undefined =>
  message.encoded(cacheKey('pollcd', variant, ref), (m) => {
    const json = compactDeltaJson(m, ref, variant, signed);
    if (json === undefined) return undefined;
    const cursor = (variant & WITH_CURSOR) !== 0 ? signed!.cursor(m) : encodePosition(m.channel, m);
    return Buffer.from(`{"messages":[${json}],"cursor":"${cursor}"}`);
  });
