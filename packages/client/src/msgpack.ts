import { decode, encode } from '@msgpack/msgpack';
import { compactReader } from './formats/compact-reader.js';
import type { WireFormat } from './wire-format.js';

/**
 * MessagePack on the WebSocket: pass it as the client's `format`, `createClient({ url, format:
 * msgpack })`. Every WebSocket frame is binary MessagePack (subprotocol `herald.msgpack`, message
 * pushes as compact arrays); over SSE and polling the client uses the compact envelope (JSON).
 */
export const msgpack: WireFormat = {
  protocol: 'herald.msgpack',
  encode: (frame) => encode<ArrayBuffer>(frame),
  reader: (names, since) => compactReader(names, since, (data) => decode(data)),
};

export type { WireFormat } from './wire-format.js';
