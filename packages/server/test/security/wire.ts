import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Collector } from '@herald/testkit';

/** An HTTP answer read in full. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  readonly json: any;
}

/**
 * One HTTP request over `node:http` (any header may be set, `Origin` and `Cookie` included), from
 * `localAddress` when given (any 127.x address: a client IP of its own, on a connection of its own).
 */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<HttpAnswer> {
  const from = options.localAddress === undefined ? {} : { localAddress: options.localAddress, agent: false };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, ...from }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** `POST /api/publish` with headers; resolves with the answer. */
export function publishWith(url: string, channel: string, data: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return httpRequest(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ channel, data }),
  });
}

/** A frame from the server, as read off a raw socket. */
export interface RawFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** The outcome of a hand-made WebSocket handshake. */
export interface RawUpgrade {
  /** The HTTP status (101 on success). */
  readonly status: number;
  /** The raw response head (status line and headers). */
  readonly head: string;
  /** The body of a refusal (empty after a 101). */
  readonly body: string;
  readonly socket: Socket;
  /** Frames the server sent after a 101. */
  readonly frames: Collector<RawFrame>;
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
}

/** Parses unmasked server frames from `buffer`; returns the frames and the unparsed rest. */
function parseFrames(buffer: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const b0 = buffer[at]!;
    let length = buffer[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (buffer.length - at < 4) break;
      length = buffer.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (buffer.length - at < 10) break;
      length = Number(buffer.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (buffer.length - at < header + length) break;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload: buffer.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

/**
 * Opens a raw TCP connection and sends a WebSocket upgrade request for `path` with `headers`. On a
 * 101 the socket stays open and server frames are collected; on a refusal the body is read to the
 * end of the connection.
 */
export function rawUpgrade(port: number, path = '/ws', headers: Record<string, string> = {}): Promise<RawUpgrade> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const frames = new Collector<RawFrame>();
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let buffer: Buffer = Buffer.alloc(0);
    let head: string | undefined;
    let status = 0;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (head === undefined) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        head = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 4);
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        if (status === 101) resolve({ status, head, body: '', socket, frames, closed });
      }
      if (status === 101) {
        const parsed = parseFrames(buffer);
        buffer = parsed.rest;
        for (const frame of parsed.frames) frames.push(frame);
      }
    });
    socket.once('close', () => {
      if (status !== 101) {
        if (head === undefined) reject(new Error('connection closed before any response'));
        else resolve({ status, head, body: buffer.toString('utf8'), socket, frames, closed });
      }
    });
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** Builds a client frame (masked unless told otherwise), with any opcode and reserved bits. */
export function clientFrame(
  opcode: number,
  payload: Buffer | string,
  options: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = options.mask ?? true;
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  const lengthBytes = data.length < 126 ? 0 : data.length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  header[0] = b0;
  header[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? data.length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(data.length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(data.length), 2);
  if (!mask) return Buffer.concat([header, data]);
  const key = randomBytes(4);
  key.copy(header, 2 + lengthBytes);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ key[i % 4]!;
  return Buffer.concat([header, masked]);
}

/** The close code in a close frame's payload (`undefined` when it has none). */
export const closeCodeOf = (frame: RawFrame): number | undefined => (frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined);

/** Resolves with the close code the server sent on a raw socket (waits for its close frame). */
export async function serverCloseCode(upgrade: RawUpgrade, timeoutMs = 5000): Promise<number | undefined> {
  const frames = await upgrade.frames.until((fs) => fs.some((f) => f.opcode === 0x8), 'a close frame', timeoutMs);
  return closeCodeOf(frames.find((f) => f.opcode === 0x8)!);
}
