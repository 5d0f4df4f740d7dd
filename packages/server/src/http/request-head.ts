import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, MAX_CHANNEL_LENGTH, MAX_CURSOR_LENGTH, MAX_TOKEN_LENGTH } from '@herald/protocol';

/**
 * Raw characters budgeted per channel in a cursor (`name|epoch|offset;`): a 255-character name, a
 * 64-character epoch, a 16-digit offset and 46 to spare (a per-channel signature). 128 channels of
 * it, base64url, are exactly {@link MAX_CURSOR_LENGTH}.
 */
export const CURSOR_CHARS_PER_CHANNEL = 384;
/** Headers one request may carry; a request that reaches it is refused with 431. */
export const MAX_REQUEST_HEADERS = 200;

/** One `channel=` query parameter at its longest: 255 characters, each percent-encoded, and the `&`. */
const CHANNEL_PARAM_BYTES = 'channel='.length + 3 * MAX_CHANNEL_LENGTH + 1;
/** The rest of a head: a token (in `Authorization` or a cookie) and as much again for other headers. */
const OTHER_HEAD_BYTES = 2 * MAX_TOKEN_LENGTH;

/** The longest cursor over `channels` channels. */
function cursorChars(channels: number): number {
  return Math.min(MAX_CURSOR_LENGTH, 'c1.'.length + Math.ceil((channels * CURSOR_CHARS_PER_CHANNEL * 4) / 3));
}

/**
 * Bytes of request head (request line and headers) that a valid SSE stream or poll over
 * `maxChannels` channels may need: every channel in the URL at 255 characters, percent-encoded; its
 * cursor twice (an `EventSource` opened with `?since=` sends the same URL plus `Last-Event-ID` when
 * it reconnects); a 16 KiB token; 16 KiB of other headers. 262,912 for 128 channels.
 */
export function requestHeadBytes(maxChannels: number): number {
  return maxChannels * CHANNEL_PARAM_BYTES + 2 * cursorChars(maxChannels) + OTHER_HEAD_BYTES;
}

/**
 * The JSON body of a 431: code 1006 (`TooLarge`). `maxHeaderBytes` is undefined for a hub mounted
 * on a server of the app's, whose own `maxHeaderSize` limits the head's bytes.
 */
export function headTooLargeBody(maxHeaderBytes: number | undefined): string {
  const bytes = maxHeaderBytes === undefined ? 'the server allows' : `${maxHeaderBytes} bytes`;
  return JSON.stringify({
    error: { code: ErrorCode.TooLarge, message: `request head larger than ${bytes} or ${MAX_REQUEST_HEADERS} headers` },
  });
}

/** Whether a parsed request reached {@link MAX_REQUEST_HEADERS} (Node drops the headers past it). */
export function tooManyHeaders(req: IncomingMessage): boolean {
  return req.rawHeaders.length >= 2 * MAX_REQUEST_HEADERS;
}

/**
 * Answers a request Node could not parse: `431` with a JSON body for a head over the size limit
 * (readable by any page, since the body says nothing about the hub: a browser SDK can tell it from
 * a network failure), a bare `400` otherwise.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex, maxHeaderBytes: number): void {
  if (!socket.writable) return void socket.destroy();
  if (error.code !== 'HPE_HEADER_OVERFLOW')
    return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  const body = headTooLargeBody(maxHeaderBytes);
  socket.end(
    `HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
