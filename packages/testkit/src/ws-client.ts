import WebSocket from 'ws';
import { Collector } from './waiter.js';

/** A raw WebSocket test client speaking Herald's JSON frames. */
export class WsTestClient {
  readonly socket: WebSocket;
  /** Every frame received, parsed. */
  readonly frames = new Collector<any>();
  /** Close code and reason, once closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString('utf8'))));
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a connection and waits until it is open. */
  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<WsTestClient> {
    const socket = new WebSocket(url, options);
    const client = new WsTestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Sends a command with a fresh id and resolves with the reply frame of that id. */
  async request(command: Record<string, unknown>, timeoutMs?: number): Promise<any> {
    const id = this.#nextId++;
    this.socket.send(JSON.stringify({ id, ...command }));
    const frames = await this.frames.until((fs) => fs.some((f) => f.type === 'reply' && f.id === id), `reply ${id}`, timeoutMs);
    return frames.find((f) => f.type === 'reply' && f.id === id);
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
