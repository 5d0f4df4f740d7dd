import { encode } from '@msgpack/msgpack';
import { COMPACT_SUBPROTOCOL, decodeCommand, ErrorCode, MSGPACK_SUBPROTOCOL, type DecodeResult } from '@herald/protocol';
import type { HubMessage } from '../hub/hub-message.js';
import { compactDeltaWsFrame, compactWsFrame, msgpackDeltaWsFrame, msgpackWsFrame, variantOf } from './compact-encodings.js';
import { deltaFrames } from './delta-frames.js';
import { messagesJson } from './messages-json.js';
import { decodeMsgpackCommand } from './msgpack-command.js';
import type { SignedEncodings } from './signed-json.js';
import { wsBinaryFrame, wsTextFrame } from './ws-frame.js';

/** The WebSocket subprotocols the hub speaks, by the name a client offers. */
export const WS_SUBPROTOCOLS: ReadonlySet<string> = new Set([COMPACT_SUBPROTOCOL, MSGPACK_SUBPROTOCOL]);

/**
 * The subprotocol the hub picks from a `Sec-WebSocket-Protocol` offer: the client's first one the
 * hub speaks, or `undefined` when it speaks none of them (the upgrade is then refused with 400).
 */
export function chooseSubprotocol(offer: Iterable<string>): string | undefined {
  for (const name of offer) if (WS_SUBPROTOCOLS.has(name)) return name;
  return undefined;
}

/** Splits a `Sec-WebSocket-Protocol` header into the names offered, in order. */
export const offeredSubprotocols = (header: string): string[] => header.split(',').map((name) => name.trim());

/**
 * How one WebSocket session writes its frames and reads its commands: plain JSON (no subprotocol),
 * `herald.compact` or `herald.msgpack`. JSON is one object shared by every session; the compact
 * ones are made per session, since they hold the session's channel refs and the epoch each channel
 * last told the client.
 */
export interface WsWire {
  /** The subprotocol, or `undefined` for plain JSON. */
  readonly protocol: string | undefined;
  /**
   * The frame of a message push (see `Subscriber.message`; `signed`: the push carries a signed
   * cursor); `undefined` for a channel without a ref (never subscribed, or already released).
   */
  message(message: HubMessage, signed: boolean, encodings: SignedEncodings): Buffer | undefined;
  /**
   * The frame of a message push as a delta against the one before (see `messageDelta`);
   * `undefined` when the message has no delta (it then goes in full, through {@link WsWire.message})
   * or its channel has no ref.
   */
  delta(message: HubMessage, signed: boolean, encodings: SignedEncodings): Buffer | undefined;
  /** The frame holding `frame` (a reply, gap, join, leave, error, …: any object of the JSON protocol). */
  frame(frame: object): Buffer;
  /** A `history` reply: `head`'s fields and `messages` (full envelopes in every format). */
  history(head: object, messages: readonly HubMessage[]): Buffer;
  /** Decodes a frame the client sent. */
  decode(data: Buffer, isBinary: boolean): DecodeResult;
  /** Gives `channel` a ref (its subscription was made, the client was told `epoch`); `undefined` in JSON. */
  assign(channel: string, epoch: string): number | undefined;
  /** The client was told `channel`'s epoch (a gap). */
  told(channel: string, epoch: string): void;
  /** Frees `channel`'s ref (the subscription ended). */
  release(channel: string): void;
}

const encodeWsFrame = (message: HubMessage): Buffer => wsTextFrame(message.json);

/** JSON text frames and the full envelope: the hub's default, the same bytes as before subprotocols. */
export const JSON_WIRE: WsWire = {
  protocol: undefined,
  message: (message, signed, encodings) => (signed ? encodings.wsFrame(message) : message.encoded('ws', encodeWsFrame)),
  delta: (message, signed, encodings) => deltaFrames.wsFrame(message, signed ? encodings : undefined),
  frame: (frame) => wsTextFrame(JSON.stringify(frame)),
  history(head, messages) {
    // The stored envelopes are spliced in as they are: no parse and re-serialise per message.
    const text = JSON.stringify(head);
    return wsTextFrame(`${text.slice(0, -1)},"messages":${messagesJson(messages)}}`);
  },
  decode(data, isBinary) {
    if (isBinary) return refused('binary frames are not supported; send JSON text');
    return decodeCommand(data.toString('utf8'));
  },
  assign: () => undefined,
  told: () => undefined,
  release: () => undefined,
};

const refused = (message: string): DecodeResult => ({ ok: false, id: null, error: { code: ErrorCode.InvalidFrame, message } });

/** The session's channels by ref (`''` for a free ref) and the epoch each last told the client. */
abstract class CompactWire implements WsWire {
  abstract readonly protocol: string;
  readonly #channels: string[] = [];
  readonly #epochs: string[] = [];

  message(message: HubMessage, signed: boolean, encodings: SignedEncodings): Buffer | undefined {
    const ref = this.#channels.indexOf(message.channel);
    if (ref === -1) return undefined;
    // Epochs change rarely (a gap says so first): a push carries one only when the client was told another.
    const withEpoch = this.#epochs[ref] !== message.epoch;
    if (withEpoch) this.#epochs[ref] = message.epoch;
    return this.push(message, ref, variantOf(withEpoch, signed), encodings);
  }

  delta(message: HubMessage, signed: boolean, encodings: SignedEncodings): Buffer | undefined {
    const ref = this.#channels.indexOf(message.channel);
    if (ref === -1) return undefined;
    // The base (offset − 1, same epoch) went to this client, so its epoch is normally the one told.
    const withEpoch = this.#epochs[ref] !== message.epoch;
    const frame = this.pushDelta(message, ref, variantOf(withEpoch, signed), encodings);
    if (frame !== undefined && withEpoch) this.#epochs[ref] = message.epoch;
    return frame;
  }

  assign(channel: string, epoch: string): number {
    let ref = this.#channels.indexOf('');
    if (ref === -1) ref = this.#channels.length;
    this.#channels[ref] = channel;
    this.#epochs[ref] = epoch;
    return ref;
  }

  told(channel: string, epoch: string): void {
    const ref = this.#channels.indexOf(channel);
    if (ref !== -1) this.#epochs[ref] = epoch;
  }

  release(channel: string): void {
    const ref = this.#channels.indexOf(channel);
    if (ref === -1) return;
    this.#channels[ref] = '';
    this.#epochs[ref] = '';
  }

  protected abstract push(message: HubMessage, ref: number, variant: number, encodings: SignedEncodings): Buffer;
  protected abstract pushDelta(message: HubMessage, ref: number, variant: number, encodings: SignedEncodings): Buffer | undefined;
  abstract frame(frame: object): Buffer;
  abstract history(head: object, messages: readonly HubMessage[]): Buffer;
  abstract decode(data: Buffer, isBinary: boolean): DecodeResult;
}

/** `herald.compact`: JSON text frames; message pushes are compact arrays. */
class CompactJsonWire extends CompactWire {
  readonly protocol = COMPACT_SUBPROTOCOL;
  protected push(message: HubMessage, ref: number, variant: number, encodings: SignedEncodings): Buffer {
    return compactWsFrame(message, ref, variant, encodings);
  }
  protected pushDelta(message: HubMessage, ref: number, variant: number, encodings: SignedEncodings): Buffer | undefined {
    return compactDeltaWsFrame(message, ref, variant, encodings);
  }
  frame(frame: object): Buffer {
    return JSON_WIRE.frame(frame);
  }
  history(head: object, messages: readonly HubMessage[]): Buffer {
    return JSON_WIRE.history(head, messages);
  }
  decode(data: Buffer, isBinary: boolean): DecodeResult {
    return JSON_WIRE.decode(data, isBinary);
  }
}

const MESSAGES_KEY = encode('messages');
/** Fields set to `undefined` are left out, as `JSON.stringify` does. */
const AS_JSON = { ignoreUndefined: true } as const;
/** A stored envelope as MessagePack (history replies), converted once per message. */
const envelopeMsgpack = (message: HubMessage): Uint8Array => message.encoded('msgpack-envelope', (m) => encode(JSON.parse(m.json)));

/** `herald.msgpack`: every frame binary MessagePack; message pushes are compact arrays. */
class MsgpackWire extends CompactWire {
  readonly protocol = MSGPACK_SUBPROTOCOL;
  protected push(message: HubMessage, ref: number, variant: number, encodings: SignedEncodings): Buffer {
    return msgpackWsFrame(message, ref, variant, encodings);
  }
  protected pushDelta(message: HubMessage, ref: number, variant: number, encodings: SignedEncodings): Buffer | undefined {
    return msgpackDeltaWsFrame(message, ref, variant, encodings);
  }
  frame(frame: object): Buffer {
    return wsBinaryFrame(encode(frame, AS_JSON));
  }
  history(head: object, messages: readonly HubMessage[]): Buffer {
    const fields = Object.values(head).filter((value) => value !== undefined).length;
    if (fields >= 15) return this.frame({ ...head, messages: messages.map((m) => JSON.parse(m.json) as unknown) });
    // `head` encodes as a fixmap: one more entry (`messages`), spliced from each message's cached bytes.
    const start = encode(head, AS_JSON);
    const parts: Uint8Array[] = [start, MESSAGES_KEY, arrayHeader(messages.length)];
    for (const message of messages) parts.push(envelopeMsgpack(message));
    const bytes = Buffer.concat(parts);
    bytes[0] = 0x80 + fields + 1;
    return wsBinaryFrame(bytes);
  }
  decode(data: Buffer, isBinary: boolean): DecodeResult {
    if (!isBinary) return refused('text frames are not supported with herald.msgpack; send MessagePack binary frames');
    return decodeMsgpackCommand(data);
  }
}

/** A MessagePack array header for `length` elements. */
function arrayHeader(length: number): Uint8Array {
  if (length < 16) return Uint8Array.of(0x90 + length);
  if (length < 65_536) return Uint8Array.of(0xdc, length >> 8, length & 0xff);
  return Uint8Array.of(0xdd, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

/** The wire of a new session that negotiated `protocol` (`''` or undefined: plain JSON). */
export function wsWire(protocol: string | undefined): WsWire {
  if (protocol === COMPACT_SUBPROTOCOL) return new CompactJsonWire();
  if (protocol === MSGPACK_SUBPROTOCOL) return new MsgpackWire();
  return JSON_WIRE;
}
