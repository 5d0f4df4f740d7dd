import {
  encodePosition,
  parseCursor,
  type AckResult,
  type Command,
  type CommandId,
  type CursorEntry,
  type Position,
  type PresenceMember,
  type PublishResult,
  type ResultFrame,
  type ServerFrame,
} from '@herald/protocol';
import { HeraldClientError } from '../errors.js';
import type { HistoryPage, Since } from '../types.js';
import { ticketParam } from './http.js';
import type { Link, Transport } from './transport.js';

interface Pending {
  resolve(frame: ResultFrame): void;
  reject(error: Error): void;
}

type WithoutId<C> = C extends unknown ? Omit<C, 'id'> : never;
/** A command before `#request` gives it its id. */
type Request = WithoutId<Command>;

/** The WebSocket transport: one socket, every command answered by a reply with the same id. */
export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly #link: Link;
  #socket: WebSocket | undefined;
  #nextId = 1;
  #pending = new Map<CommandId, Pending>();
  #closed = false;
  /** Reads the frames of the current socket (their format's reader: it keeps the socket's channel refs). */
  #read: (data: unknown) => unknown = (data) => JSON.parse(String(data));

  constructor(link: Link) {
    this.#link = link;
  }

  async open(): Promise<ReadonlySet<string>> {
    const WS = this.#link.WebSocket;
    if (WS === undefined) throw new HeraldClientError('unsupported', 'no WebSocket implementation');
    const url = new URL(`${this.#link.url}/ws`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Only a token costs a round trip; without one the socket opens at once.
    if (this.#link.token() !== undefined) url.searchParams.set('ticket', (await ticketParam(this.#link))!);
    return new Promise((resolve, reject) => {
      let opened = false;
      const format = this.#link.format;
      // No protocols (`[]`): no Sec-WebSocket-Protocol header, the plain JSON protocol.
      const socket = new WS(url.toString(), format?.protocol ?? []);
      if (format !== undefined) {
        // Binary frames (MessagePack) as ArrayBuffer, read at once; text frames stay strings.
        socket.binaryType = 'arraybuffer';
        this.#read = format.reader();
      }
      this.#socket = socket;
      const timer = setTimeout(() => {
        reject(new HeraldClientError('timeout', 'WebSocket did not open in time'));
        this.close();
      }, this.#link.timeout);
      socket.onopen = () => {
        opened = true;
        clearTimeout(timer);
        // The channels the hub accepted: a refused one is not in the set open() resolves with
        // (the client has already handled its refusal, and must not report it subscribed).
        const accepted = new Set<string>();
        const subscribe = async ([channel, since]: [string, CursorEntry | undefined]): Promise<void> => {
          let position: CursorEntry | undefined;
          try {
            position = await this.subscribe(channel, since);
          } catch (error) {
            // One refused channel fails its own subscriptions, not the connection.
            if (error instanceof HeraldClientError && typeof error.code === 'number') return this.#link.refused(channel, error);
            throw error;
          }
          accepted.add(channel);
          // A subscription from now starts here: a loss before its first message resumes from this.
          if (position !== undefined) this.#link.start(channel, position);
        };
        this.#link
          .pinned()
          .then(async () => {
            await Promise.all([...this.#link.channels()].map(subscribe));
            resolve(accepted);
          })
          .catch(reject);
      };
      socket.onmessage = (event: MessageEvent) => this.#onFrame(event.data);
      // Failures are reported by the close event that follows.
      socket.onerror = () => undefined;
      socket.onclose = (event: CloseEvent) => {
        clearTimeout(timer);
        this.#fail(new HeraldClientError('closed', `connection closed (${event.code})`));
        if (!opened) reject(new HeraldClientError('unreachable', `WebSocket closed before opening (${event.code})`));
        else if (!this.#closed) this.#link.lost(event.code, event.reason);
        this.#closed = true;
      };
    });
  }

  async subscribe(channel: string, since: CursorEntry | undefined): Promise<CursorEntry | undefined> {
    // A signed position goes back as the cursor it came in: the hub checks its signature.
    const resume = since?.mac !== undefined ? encodePosition(channel, since) : since;
    const reply = await this.#request({
      type: 'subscribe',
      channel,
      ...(resume !== undefined && { since: resume }),
      ...(this.#link.joinLeave(channel) && { joinLeave: true }),
      ...(this.#link.delta && { delta: true }),
    });
    const cursor = parseCursor(reply.cursor);
    return (cursor.ok ? cursor.value.get(channel) : undefined) ?? reply.position;
  }

  /** Hands the session a fresh token before the old one expires. */
  async refresh(token: string): Promise<void> {
    await this.#request({ type: 'refresh', token });
  }

  unsubscribe(channel: string): void {
    this.#request({ type: 'unsubscribe', channel }).catch(() => undefined);
  }

  async publish(channel: string, data: unknown, idempotencyKey?: string): Promise<PublishResult> {
    const reply = await this.#request({ type: 'publish', channel, data, ...(idempotencyKey !== undefined && { idempotencyKey }) });
    return { channel, epoch: reply.epoch, offset: reply.offset, ...(reply.duplicate === true && { duplicate: true as const }) };
  }

  async history(channel: string, since: Since | undefined, limit: number | undefined): Promise<HistoryPage<unknown>> {
    // The same shape as the HTTP answer, whatever else the reply frame carries.
    const { messages, cursor, gaps, more } = await this.#request({
      type: 'history',
      channel,
      ...(since !== undefined && { since }),
      ...(limit !== undefined && { limit }),
    });
    return { messages, cursor, ...(gaps && { gaps }), ...(more && { more }) };
  }

  async presence(channel: string): Promise<PresenceMember[]> {
    return (await this.#request({ type: 'presence', channel })).members;
  }

  async ack(channel: string, position: Position): Promise<AckResult> {
    const { epoch, offset } = await this.#request({ type: 'ack', channel, epoch: position.epoch, offset: position.offset });
    return { channel, epoch, offset };
  }

  async rpc(method: string, data: unknown, signal?: AbortSignal): Promise<unknown> {
    return (await this.#request({ type: 'rpc', method, ...(data !== undefined && { data }) }, signal)).data;
  }

  close(): void {
    this.#closed = true;
    this.#socket?.close(1000);
    this.#fail(new HeraldClientError('closed', 'transport closed'));
  }

  /**
   * Sends a command of type `T`; resolves with its reply's result fields, rejects with its error.
   * `signal` abandons the wait (rejects with its reason; a late reply is dropped).
   */
  #request<T extends Request['type']>(command: Request & { readonly type: T }, signal?: AbortSignal): Promise<ResultFrame<T>> {
    const socket = this.#socket;
    if (socket?.readyState !== 1) return Promise.reject(new HeraldClientError('closed', 'not connected'));
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const abandon = (): void => {
        this.#pending.delete(id);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', abandon, { once: true });
      // The hub answers a command of type T with T's result fields (ResultFrame<T>).
      this.#pending.set(id, {
        resolve: (frame) => {
          signal?.removeEventListener('abort', abandon);
          (resolve as (frame: ResultFrame) => void)(frame);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', abandon);
          reject(error);
        },
      });
      const frame = { ...command, id };
      socket.send(this.#link.format?.encode(frame) ?? JSON.stringify(frame));
    });
  }

  #onFrame(data: unknown): void {
    let frame: ServerFrame;
    try {
      // Every frame the hub sends on the WebSocket is a ServerFrame (docs/protocol.md), once read in its format.
      frame = this.#read(data) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'message':
      case 'delta':
        this.#link.message(frame);
        return;
      case 'gap':
        this.#link.gap(frame);
        return;
      case 'join':
      case 'leave':
        this.#link.presence(frame);
        return;
      case 'unsubscribed':
        this.#link.refused(frame.channel, new HeraldClientError(frame.error.code, frame.error.message));
        return;
      case 'reply': {
        const pending = this.#pending.get(frame.id);
        if (pending === undefined) return;
        this.#pending.delete(frame.id);
        if (frame.error === undefined) pending.resolve(frame);
        else pending.reject(new HeraldClientError(frame.error.code, frame.error.message));
      }
    }
  }

  #fail(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
