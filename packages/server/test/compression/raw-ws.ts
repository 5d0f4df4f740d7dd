import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { HeraldServerOptions } from '@herald/server';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach } from 'vitest';

/** One frame as it came off the wire. */
export interface RawFrame {
  /** The first byte: FIN, RSV1–3 and the opcode. */
  readonly first: number;
  /** The payload as sent (still compressed when RSV1 is set). */
  readonly payload: Buffer;
  /** The frame's bytes, header included. */
  readonly bytes: Buffer;
}

/**
 * A WebSocket client on a bare TCP socket: it sees the frames exactly as the hub wrote them, so a
 * test can check RSV1 and the compressed bytes. `extensions`: the `Sec-WebSocket-Extensions` offer.
 */
export class RawWs {
  readonly frames: RawFrame[] = [];
  /** The handshake response's headers (lower-case names). */
  headers: Record<string, string> = {};
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  closed = false;
  readonly #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static async connect(port: number, extensions?: string, protocol?: string): Promise<RawWs> {
    const socket = connect(port, '127.0.0.1');
    const client = new RawWs(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\n${extensions === undefined ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`}` +
        `${protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`}\r\n`,
    );
    await new Promise<void>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        const lines = head.subarray(0, end).toString().split('\r\n');
        if (!lines[0]!.includes(' 101 ')) return reject(new Error(lines[0]));
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          client.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        socket.on('data', (more: Buffer) => client.#read(more));
        socket.on('close', () => {
          client.closed = true;
          client.#wake();
        });
        client.#read(head.subarray(end + 4));
        resolve();
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
    return client;
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) break;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) break;
      this.frames.push({ first: b[0]!, payload: b.subarray(offset, offset + length), bytes: b.subarray(0, offset + length) });
      this.#buffer = b.subarray(offset + length);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once `test` holds for the frames received (or rejects after `timeoutMs`). */
  async until(test: (frames: RawFrame[]) => boolean, timeoutMs = 5000): Promise<RawFrame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.frames)) {
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${this.frames.length}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.frames;
  }

  /**
   * Sends a masked text frame; `compress`: deflate it and set RSV1; `payload` replaces the data's
   * bytes as sent; `binary`: a binary frame instead.
   */
  send(text: string, options: { compress?: boolean; payload?: Buffer; binary?: boolean } = {}): void {
    let payload: Buffer = Buffer.from(text);
    let first = options.binary === true ? 0x82 : 0x81;
    if (options.compress === true) {
      const compressed = deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH });
      payload = compressed.subarray(0, compressed.length - 4);
      first |= 0x40;
    }
    if (options.payload !== undefined) payload = options.payload;
    const mask = randomBytes(4);
    const header =
      payload.length < 126
        ? Buffer.from([first, 0x80 | payload.length])
        : Buffer.from([first, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    this.#socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Sends `text` compressed, as a first fragment (RSV1, no FIN) and a continuation (FIN). */
  sendFragmented(text: string): void {
    const compressed = deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH });
    const payload = compressed.subarray(0, compressed.length - 4);
    const half = Math.floor(payload.length / 2);
    this.#socket.write(Buffer.concat([maskedFrame(0x41, payload.subarray(0, half)), maskedFrame(0x80, payload.subarray(half))]));
  }

  /** Subscribes to `channel` (with the command's other fields in `fields`) and waits for the reply (the next data frame). */
  async subscribe(channel: string, fields: Record<string, unknown> = {}): Promise<void> {
    const before = dataFrames(this.frames).length;
    this.send(JSON.stringify({ id: 1, type: 'subscribe', channel, ...fields }));
    await this.until((frames) => dataFrames(frames).length > before);
  }

  /** The close frame's code, once one came. */
  closeCode(): number | undefined {
    const close = this.frames.find((f) => (f.first & 0x0f) === 0x8);
    return close === undefined ? undefined : close.payload.readUInt16BE(0);
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** A masked client frame (payload under 126 bytes) with first byte `first`. */
function maskedFrame(first: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([first, 0x80 | payload.length]), mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!))]);
}

/** The payload of a data frame: inflated when RSV1 is set (RFC 7692 §7.2.2: the tail `00 00 ff ff` put back). */
export function frameBytes(frame: RawFrame): Buffer {
  if ((frame.first & 0x40) === 0) return frame.payload;
  return inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
}

/** The text of a data frame, inflated when RSV1 is set. */
export const frameText = (frame: RawFrame): string => frameBytes(frame).toString('utf8');

/** Whether a frame is compressed (RSV1). */
export const isCompressed = (frame: RawFrame): boolean => (frame.first & 0x40) !== 0;
/** Data frames (text or binary), not control frames. */
export const dataFrames = (frames: RawFrame[]): RawFrame[] => frames.filter((f) => (f.first & 0x08) === 0);

/**
 * Publishes `messages` on `channel` in turn, waits until every client has one more data frame per
 * message, and returns those frames, client by client (in the order of `clients`).
 */
export async function publishTo(
  hub: TestHub,
  clients: readonly RawWs[],
  channel: string,
  messages: readonly unknown[],
): Promise<RawFrame[][]> {
  const before = clients.map((client) => dataFrames(client.frames).length);
  for (const data of messages) await hub.server.hub.publish(channel, data);
  return Promise.all(
    clients.map(async (client, i) => {
      const until = before[i]! + messages.length;
      await client.until((frames) => dataFrames(frames).length >= until);
      return dataFrames(client.frames).slice(before[i], until);
    }),
  );
}

/** The hubs and raw clients of a suite's tests, each closed after the test that opened it. */
export interface RawWsScope {
  /** Starts a hub (`startTestHub`), closed after the test. */
  start(options?: HeraldServerOptions): Promise<TestHub>;
  /** Opens a raw client (`RawWs.connect`), destroyed after the test. */
  connect(port: number, extensions?: string, protocol?: string): Promise<RawWs>;
}

/** Registers an `afterEach` in the calling suite that closes what its tests opened through the scope. */
export function rawWsScope(): RawWsScope {
  const hubs: TestHub[] = [];
  const clients: RawWs[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const hub of hubs.splice(0)) await hub.close();
  });
  return {
    async start(options) {
      const hub = await startTestHub(options);
      hubs.push(hub);
      return hub;
    },
    async connect(port, extensions, protocol) {
      const client = await RawWs.connect(port, extensions, protocol);
      clients.push(client);
      return client;
    },
  };
}
