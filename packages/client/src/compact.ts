import { compactReader } from './formats/compact-reader.js';
import type { WireFormat } from './wire-format.js';

/**
 * The compact envelope: pass it as the client's `format`, `createClient({ url, format: compact })`.
 * On the WebSocket the subprotocol `herald.compact` (JSON text frames, message pushes as compact
 * arrays), over SSE and polling `format=compact`. About 40 % fewer bytes per small message.
 */
export const compact: WireFormat = {
  protocol: 'herald.compact',
  encode: (frame) => JSON.stringify(frame),
  reader: (names, since) => compactReader(names, since, undefined),
};

export type { WireFormat } from './wire-format.js';
