import { decode, encode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { CompactExpander } from './compact-expander.js';
import { Collector } from './waiter.js';

/** The frame formats a {@link WsTestClient} speaks: plain JSON, or one of the hub's subprotocols. */
export type WsFormat = 'json' | 'compact' | 'msgpack';

/** Every {@link WsFormat}, for `describe.each`: a WebSocket contract test runs in each. */
export const WS_FORMATS: readonly WsFormat[] = ['json', 'compact', 'msgpack'];

/** One frame as it came off the socket. */
export interface RawFrame {
  readonly bytes: Buffer;
  readonly binary: boolean;
}

/**
 * A raw WebSocket test client speaking Herald's frames: JSON by default, or `herald.compact` /
 * `herald.msgpack` (commands sent as MessagePack, frames decoded, and compact message pushes
 * expanded back into the full envelopes, so the same assertions hold in every format).
 */
export class WsTestClient {
  readonly socket: WebSocket;
  readonly format: WsFormat;
  /** Every frame received, parsed (compact pushes as full envelopes). */
  readonly frames = new Collector<any>();
  /** Every frame received, as it came (for byte counts and exact wire checks). */
  readonly raw: RawFrame[] = [];
  /** Close code and reason, once closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #expander = new CompactExpander();
  #nextId = 1;

  private constructor(socket: WebSocket, format: WsFormat) {
    this.socket = socket;
    this.format = format;
    socket.on('message', (data: Buffer, binary: boolean) => {
      this.raw.push({ bytes: data, binary });
      this.frames.push(this.#parse(data, binary));
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a connection in `format` (offering its subprotocol) and waits until it is open. */
  static async connect(url: string, options?: WebSocket.ClientOptions, format: WsFormat = 'json'): Promise<WsTestClient> {
    const socket = format === 'json' ? new WebSocket(url, options) : new WebSocket(url, `herald.${format}`, options);
    const client = new WsTestClient(socket, format);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  #parse(data: Buffer, binary: boolean): any {
    const frame: any = binary ? decode(data) : JSON.parse(data.toString('utf8'));
    if (this.format === 'json') return frame;
    if (CompactExpander.isItem(frame)) return this.#expander.expand(frame);
    if (frame.type === 'reply' && typeof frame.ref === 'number') this.#expander.bind(frame.ref, frame.channel, frame.position?.epoch);
    if (frame.type === 'gap') this.#expander.told(frame.channel, frame.resumed.epoch);
    return frame;
  }

  /** Sends a command with a fresh id and resolves with the reply frame of that id. */
  async request(command: Record<string, unknown>, timeoutMs?: number): Promise<any> {
    const id = this.#nextId++;
    this.send({ id, ...command });
    const frames = await this.frames.until((fs) => fs.some((f) => f.type === 'reply' && f.id === id), `reply ${id}`, timeoutMs);
    return frames.find((f) => f.type === 'reply' && f.id === id);
  }

  /** Sends one frame in the client's format (MessagePack binary for `msgpack`, JSON text otherwise). */
  send(frame: unknown): void {
    this.socket.send(this.format === 'msgpack' ? encode(frame) : JSON.stringify(frame));
  }

  /** Sends raw text or bytes. */
  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Message pushes received so far for `channel` (in arrival order). */
  messages(channel?: string): any[] {
    return this.frames.items.filter((f) => f.type === 'message' && (channel === undefined || f.channel === channel));
  }

  /** Resolves once `n` messages (of `channel`, when given) have arrived. */
  async waitForMessages(n: number, channel?: string, timeoutMs?: number): Promise<any[]> {
    await this.frames.until(
      (fs) => fs.filter((f) => f.type === 'message' && (channel === undefined || f.channel === channel)).length >= n,
      `${n} messages`,
      timeoutMs,
    );
    return this.messages(channel);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await this.closed;
  }
}
