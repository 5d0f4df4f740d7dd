/**
 * The baselines send the same envelope Herald does (`{"type":"message","channel","offset","epoch",
 * "time","data"}`), so every target moves the same bytes per message and only the server differs.
 */
export const EPOCH = 'e1a2b3c4d5e6';

export function envelope(channel, offset, dataJson) {
  return `{"type":"message","channel":${JSON.stringify(channel)},"offset":${offset},"epoch":"${EPOCH}","time":${Date.now()},"data":${dataJson}}`;
}

/**
 * One unmasked final WebSocket text frame (RFC 6455 §5.2), as a server sends it. Written by hand in
 * the coalescing baseline so the frame is built once per message rather than once per socket.
 */
export function wsTextFrame(text) {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
