/**
 * Builds one unmasked, final WebSocket text frame (RFC 6455 §5.2) holding `text`, as the server
 * sends it. Built once per message, the same Buffer is written to every subscribed socket.
 */
export function wsTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const at = writeHeader(frame, 0x81, length); // FIN + text opcode
  frame.write(text, at, 'utf8');
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
