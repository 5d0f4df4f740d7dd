import { encodePosition, type AckResult, type CursorEntry, type Position, type PresenceMember, type PublishResult } from '@herald/protocol';
import { HeraldClient, type ClientOptions } from '../client.js';
import { HeraldClientError } from '../errors.js';
import { HttpOperations } from '../transports/http.js';
import type { Link, Transport } from '../transports/transport.js';
import type { HistoryPage, Since, TransportName } from '../types.js';
import { Leader } from './leader.js';
import { shareName } from './share-name.js';
import type { Down, Op, Up } from './messages.js';

interface Pending {
  message: Up;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export function randomId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * A shared client's transport (`createClient({ share: true })`): talks to the tab that holds the
 * share's lock (the leader, maybe this one) over BroadcastChannel instead of to the hub. Queues for
 * the lock itself, so that when the leader's tab closes one of the waiting tabs takes over, and every
 * member subscribes again from the position of the last message it delivered (its client drops what
 * it already had by offset). See docs/architecture.md, "One connection per origin".
 */
export class SharedTransport implements Transport {
  /** The leader's transport. */
  name: TransportName = 'websocket';
  readonly #link: Link;
  readonly #name: string;
  readonly #m = randomId();
  readonly #abort = new AbortController();
  readonly #subs = new Set<string>();
  readonly #pending = new Map<number, Pending>();
  readonly #url: string;
  readonly #options: ClientOptions;
  /** How messages reach the leader: the share's BroadcastChannels, or the SharedWorker's port. */
  #bus: { post(message: Up): void; close(): void } | undefined;
  #leader: string | undefined;
  #connected: (() => void) | undefined;
  #release: (() => void) | undefined;
  #leading: Leader | undefined;
  #nextId = 1;
  #closed = false;

  constructor(link: Link, url: string, options: ClientOptions) {
    this.#link = link;
    this.#url = url;
    this.#options = options;
    this.#name = shareName(url, options);
  }

  async open(): Promise<ReadonlySet<string>> {
    const name = this.#name;
    // Held while this member lives: the leader learns that its tab is gone when it gets it.
    await new Promise<void>((granted) => {
      navigator.locks
        .request(`${name}:m:${this.#m}`, { signal: this.#abort.signal }, () => {
          granted();
          return new Promise<void>((release) => (this.#release = release));
        })
        .catch(() => undefined);
    });
    if (this.#closed) throw new HeraldClientError('closed', 'transport closed');
    const share = this.#options.share;
    const worker = typeof share === 'object' ? share.worker : undefined;
    await new Promise<void>((resolve) => {
      this.#connected = resolve;
      if (worker !== undefined && typeof SharedWorker === 'function') this.#viaWorker(worker);
      else this.#viaLock();
    });
    await this.#link.pinned();
    const channels = [...this.#link.channels()];
    await Promise.all(
      channels.map(async ([channel, since]) => {
        let position: CursorEntry | undefined;
        try {
          position = await this.subscribe(channel, since);
        } catch (error) {
          if (error instanceof HeraldClientError && typeof error.code === 'number') return this.#link.refused(channel, error);
          throw error;
        }
        if (position !== undefined) this.#link.start(channel, position);
      }),
    );
    return new Set(channels.map(([channel]) => channel));
  }

  subscribe(channel: string, since: CursorEntry | undefined): Promise<CursorEntry | undefined> {
    this.#subs.add(channel);
    return this.#send({
      t: 'sub',
      m: this.#m,
      id: 0,
      ch: channel,
      ...(since !== undefined && { since }),
      jl: this.#link.joinLeave(channel),
    }) as Promise<CursorEntry | undefined>;
  }

  unsubscribe(channel: string): void {
    this.#subs.delete(channel);
    this.#post({ t: 'unsub', m: this.#m, ch: channel });
    // A subscribe still unanswered is answered no more (the leader forgets it): settle it here.
    for (const [id, pending] of this.#pending) {
      if (pending.message.t !== 'sub' || pending.message.ch !== channel) continue;
      this.#pending.delete(id);
      pending.reject(new HeraldClientError('closed', 'unsubscribed'));
    }
  }

  publish(channel: string, data: unknown, idempotencyKey?: string): Promise<PublishResult> {
    // Always with a key: a publish the leader took but did not answer before its tab closed is
    // sent again to the next leader, and the hub stores it once.
    return this.#request('publish', [channel, data, idempotencyKey ?? randomId()]) as Promise<PublishResult>;
  }

  history(channel: string, since: Since | undefined, limit: number | undefined): Promise<HistoryPage<unknown>> {
    return this.#request('history', [channel, since, limit]) as Promise<HistoryPage<unknown>>;
  }

  presence(channel: string): Promise<PresenceMember[]> {
    return this.#request('presence', [channel]) as Promise<PresenceMember[]>;
  }

  rpc(method: string, data: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.#request('rpc', [method, data], signal);
  }

  /** Straight from this tab as `POST /api/ack` (acks are per user and channel, the same from any tab). */
  ack(channel: string, position: Position): Promise<AckResult> {
    return new HttpOperations(this.#link, encodePosition).ack(channel, position);
  }

  close(): void {
    if (this.#closed) return;
    this.#post({ t: 'bye', m: this.#m });
    this.#closed = true;
    this.#abort.abort();
    this.#release?.();
    this.#leading?.close();
    this.#bus?.close();
    for (const pending of this.#pending.values()) pending.reject(new HeraldClientError('closed', 'transport closed'));
    this.#pending.clear();
  }

  /**
   * Joins the share's SharedWorker (`share.worker`, a module of the page's origin that calls
   * `shareWorker`): it holds the connection for as long as any tab is open. Where it cannot start
   * (the script fails to load), falls back to the election.
   */
  #viaWorker(url: string): void {
    const worker = new SharedWorker(url, { type: 'module', name: this.#name });
    const port = worker.port;
    worker.onerror = () => {
      if (this.#leader !== undefined || this.#closed) return;
      port.close();
      this.#viaLock();
    };
    port.onmessage = (event: MessageEvent<Down>) => this.#receive(event.data);
    this.#bus = { post: (message) => port.postMessage(message), close: () => port.close() };
    port.start();
    const o = this.#options;
    this.#post({
      t: 'opts',
      m: this.#m,
      o: {
        url: this.#url,
        getToken: o.getToken !== undefined,
        ...(o.transports !== undefined && { transports: o.transports }),
        ...(o.token !== undefined && { token: o.token }),
        ...(o.reconnect !== undefined && { reconnect: o.reconnect }),
        ...(o.timeout !== undefined && { timeout: o.timeout }),
        ...(o.fallbackDelay !== undefined && { fallbackDelay: o.fallbackDelay }),
        ...(o.pollWait !== undefined && { pollWait: o.pollWait }),
      },
    });
    this.#post({ t: 'hello', m: this.#m });
  }

  /** Talks over the share's BroadcastChannels, and queues for leadership until this member closes. */
  #viaLock(): void {
    const name = this.#name;
    const down = new BroadcastChannel(`${name}:down`);
    const up = new BroadcastChannel(`${name}:up`);
    down.onmessage = (event: MessageEvent<Down>) => this.#receive(event.data);
    this.#bus = {
      post: (message) => up.postMessage(message),
      close: () => {
        up.close();
        down.close();
      },
    };
    navigator.locks
      .request(name, { signal: this.#abort.signal }, async () => {
        if (this.#closed) return;
        // The leader's own channel objects: a BroadcastChannel does not hear itself.
        const leaderUp = new BroadcastChannel(`${name}:up`);
        const leaderDown = new BroadcastChannel(`${name}:down`);
        const leader = (this.#leading = new Leader(
          randomId(),
          name,
          () => this.#make(),
          (message) => leaderDown.postMessage(message),
        ));
        leaderUp.onmessage = (event: MessageEvent<Up>) => leader.handle(event.data);
        await leader.done;
        leaderUp.close();
        leaderDown.close();
      })
      .catch(() => undefined);
    this.#post({ t: 'hello', m: this.#m });
  }

  /** The leader's connection: an unshared client with the same options (each tab keeps its own outbox, which publishes through it). */
  #make(): HeraldClient {
    const own: { -readonly [K in keyof ClientOptions]: ClientOptions[K] } = { ...this.#options, share: false };
    delete own.outbox;
    return new HeraldClient(own);
  }

  #post(message: Up): void {
    if (!this.#closed) this.#bus?.post(message);
  }

  /** A worker asks for a token: answered from this member's getToken, if it has one. */
  #token(id: number): void {
    const getToken = this.#options.getToken;
    if (getToken === undefined) return;
    getToken().then(
      (token) => this.#post({ t: 'tok', m: this.#m, id, token }),
      (error: unknown) => this.#post({ t: 'tok', m: this.#m, id, err: error instanceof Error ? error.message : String(error) }),
    );
  }

  #request(op: Op, args: readonly unknown[], signal?: AbortSignal): Promise<unknown> {
    return this.#send({ t: 'req', m: this.#m, id: 0, op, args }, signal);
  }

  /** Posts a request with a fresh id; settles with the leader's answer (or the next leader's). */
  #send(message: Up & { id: number }, signal?: AbortSignal): Promise<unknown> {
    if (this.#closed) return Promise.reject(new HeraldClientError('closed', 'not connected'));
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const id = this.#nextId++;
    const sent = { ...message, id };
    return new Promise((resolve, reject) => {
      const abandon = (): void => {
        this.#pending.delete(id);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', abandon, { once: true });
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T): void => {
          signal?.removeEventListener('abort', abandon);
          fn(value);
        };
      this.#pending.set(id, { message: sent, resolve: settle(resolve), reject: settle(reject) });
      try {
        this.#post(sent);
      } catch (error) {
        // Data a structured clone cannot copy (a function, for one).
        this.#pending.delete(id);
        reject(new HeraldClientError('internal', (error as Error).message));
      }
    });
  }

  #receive(message: Down): void {
    if (this.#closed) return;
    const link = this.#link;
    switch (message.t) {
      case 'leader':
      case 'state':
        this.#follow(message.l);
        if (message.tr !== undefined) this.name = message.tr;
        if (message.t === 'state' && message.err !== undefined) {
          link.status?.('closed', new HeraldClientError(message.err.code, message.err.message));
          return;
        }
        if (message.s === 'connected') {
          this.#connected?.();
          this.#connected = undefined;
        }
        link.status?.(message.s === 'connected' ? 'connected' : 'reconnecting');
        return;
      case 'res': {
        const pending = message.m === this.#m ? this.#pending.get(message.id) : undefined;
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        if (message.err === undefined) pending.resolve(message.ok);
        else pending.reject(new HeraldClientError(message.err.code, message.err.message));
        return;
      }
      case 'tok':
        return this.#token(message.id);
    }
    if (!Array.isArray(message.to) || !message.to.includes(this.#m)) return;
    switch (message.t) {
      case 'msg':
        if (this.#subs.has(message.e.channel)) link.message(message.e);
        return;
      case 'gap':
        if (this.#subs.has(message.g.channel)) link.gap(message.g);
        return;
      case 'pres':
        return link.presence(message.c);
      case 'ref':
        this.#subs.delete(message.ch);
        return link.refused(message.ch, new HeraldClientError(message.err.code, message.err.message));
    }
  }

  /**
   * A new leader knows nothing of this member: subscribe again from the position of the last
   * message delivered on each channel, and send again what the old one left unanswered (publishes
   * carry their idempotency key; an rpc is not sent twice: the app may have run it).
   */
  #follow(leader: string): void {
    const previous = this.#leader;
    this.#leader = leader;
    if (previous === undefined || previous === leader) return;
    const positions = this.#link.channels();
    const resent = new Set<string>();
    for (const [id, pending] of this.#pending) {
      const message = pending.message;
      if (message.t === 'req' && message.op === 'rpc') {
        this.#pending.delete(id);
        pending.reject(new HeraldClientError('closed', 'the tab holding the connection closed before the answer'));
        continue;
      }
      if (message.t === 'sub') {
        resent.add(message.ch);
        const since = positions.get(message.ch);
        pending.message = { t: 'sub', m: message.m, id: message.id, ch: message.ch, jl: message.jl, ...(since !== undefined && { since }) };
      }
      this.#post(pending.message);
    }
    for (const channel of this.#subs) {
      if (resent.has(channel)) continue;
      this.subscribe(channel, positions.get(channel)).catch((error: unknown) => {
        if (!this.#subs.has(channel)) return;
        this.#subs.delete(channel);
        this.#link.refused(channel, error);
      });
    }
  }
}
