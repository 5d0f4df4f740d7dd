import { encodePosition, type CursorEntry, type Gap, type Position } from '@herald/protocol';
import type { CursorSigner } from '../auth/cursor-signer.js';
import type { HubMessage } from '../hub/hub-message.js';
import { wsTextFrame } from './ws-frame.js';

/**
 * The wire encodings of a message for clients that may not read the channel's history (they resume
 * only from positions the hub signed): each is built once per message, cached on it, and shared by
 * every such subscriber, like the plain encodings. One object per signer ({@link signedEncodings}),
 * so the per-delivery call allocates nothing.
 */
export interface SignedEncodings {
  readonly signer: CursorSigner;
  /** The message's position with the hub's signature. */
  position(message: HubMessage): CursorEntry;
  /** The signed cursor of the message's position (one channel). */
  cursor(message: HubMessage): string;
  /** The envelope with the signed cursor of its position added as `cursor`. */
  json(message: HubMessage): string;
  /** {@link SignedEncodings.json} as one WebSocket text frame. */
  wsFrame(message: HubMessage): Buffer;
  /** A one-channel SSE event: the signed cursor as `id:`, {@link SignedEncodings.json} as `data:`. */
  sseSingle(message: HubMessage): Buffer;
  /** The `data:` part of an SSE event of a stream of several channels (its `id:` is the stream's). */
  sseData(message: HubMessage): Buffer;
  /** The answer to a long poll woken by exactly this message. */
  pollNext(message: HubMessage): Buffer;
}

const bySigner = new WeakMap<CursorSigner, SignedEncodings>();

/** The {@link SignedEncodings} of `signer`, made on first use. */
export function signedEncodings(signer: CursorSigner): SignedEncodings {
  let encodings = bySigner.get(signer);
  if (encodings !== undefined) return encodings;
  const sign = (m: HubMessage): CursorEntry => signer.sign(m.channel, m);
  const position = (m: HubMessage): CursorEntry => m.encoded('signed-position', sign);
  const buildCursor = (m: HubMessage): string => encodePosition(m.channel, position(m));
  const cursor = (m: HubMessage): string => m.encoded('signed-cursor', buildCursor);
  const buildJson = (m: HubMessage): string => `${m.json.slice(0, -1)},"cursor":"${cursor(m)}"}`;
  const json = (m: HubMessage): string => m.encoded('signed-json', buildJson);
  const buildWs = (m: HubMessage): Buffer => wsTextFrame(json(m));
  const buildSseSingle = (m: HubMessage): Buffer => Buffer.from(`id: ${cursor(m)}\ndata: ${json(m)}\n\n`);
  const buildSseData = (m: HubMessage): Buffer => Buffer.from(`data: ${json(m)}\n\n`);
  const buildPollNext = (m: HubMessage): Buffer => Buffer.from(`{"messages":[${json(m)}],"cursor":"${cursor(m)}"}`);
  encodings = {
    signer,
    position,
    cursor,
    json,
    wsFrame: (m) => m.encoded('ws-signed', buildWs),
    sseSingle: (m) => m.encoded('sse1-signed', buildSseSingle),
    sseData: (m) => m.encoded('sse-signed', buildSseData),
    pollNext: (m) => m.encoded('poll-signed', buildPollNext),
  };
  bySigner.set(signer, encodings);
  return encodings;
}

/** The JSON of a gap push (`type: 'gap'`), with the signed cursor of `resumed` when `signer` is given. */
export function gapJson(gap: Gap, signer: CursorSigner | undefined): string {
  return JSON.stringify({ type: 'gap', ...gapFields(gap, signer) });
}

/** A gap as sent to one client: with the signed cursor of `resumed` when `signer` is given. */
export function gapFields(gap: Gap, signer: CursorSigner | undefined): Gap {
  return signer === undefined ? gap : { ...gap, cursor: signedCursor(gap.channel, gap.resumed, signer) };
}

/** The signed one-channel cursor of `position`. */
export function signedCursor(channel: string, position: Position, signer: CursorSigner): string {
  return encodePosition(channel, signer.sign(channel, position));
}
