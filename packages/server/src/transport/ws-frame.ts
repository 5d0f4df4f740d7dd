/** First byte of an unfragmented text frame: FIN + text opcode. */
const TEXT = 0x81;
/** First byte of an unfragmented text frame compressed with permessage-deflate: FIN + RSV1 + text opcode (RFC 7692 §6). */
const DEFLATED_TEXT = 0xc1;
/** The same for a binary frame (a `herald.msgpack` frame): FIN + RSV1 + binary opcode. */
const DEFLATED_BINARY = 0xc2;

/**
 * Builds one unmasked, final WebSocket text frame (RFC 6455 §5.2) holding `text`, as the server
 * sends it. Built once per message, the same Buffer is written to every subscribed socket.
 */
export function wsTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const at = writeHeader(frame, TEXT, length);
  frame.write(text, at, 'utf8');
  return frame;
}

/**
 * An unmasked, final frame whose payload is `payload`, compressed by permessage-deflate (RSV1 set):
 * a text frame, or a binary one when `binary`.
 */
export function wsDeflatedFrame(payload: Buffer, binary = false): Buffer {
  const frame = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
  const at = writeHeader(frame, binary ? DEFLATED_BINARY : DEFLATED_TEXT, payload.length);
  payload.copy(frame, at);
  return frame;
}

/** {@link wsTextFrame} for bytes: one unmasked, final binary frame (a `herald.msgpack` frame). */
export function wsBinaryFrame(bytes: Uint8Array): Buffer {
  const length = bytes.byteLength;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const at = writeHeader(frame, 0x82, length); // FIN + binary opcode
  frame.set(bytes, at);
  return frame;
}

const headerLength = (length: number): number => (length < 126 ? 2 : length < 65_536 ? 4 : 10);

/** Writes the frame header; returns where the payload starts. */
function writeHeader(frame: Buffer, first: number, length: number): number {
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
    return 2;
  }
  if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
    return 4;
  }
  frame[1] = 127;
  frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  frame.writeUInt32BE(length >>> 0, 6);
  return 10;
}
