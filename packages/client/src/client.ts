import {
  checkChannelName,
  ErrorCode,
  needsNewToken,
  parseCursor,
  shouldReconnect,
  type CursorEntry,
  type DeltaPush,
  type Envelope,
  type Gap,
  type Position,
  type PresenceMember,
  type PublishResult,
} from '@herald/protocol';
import { AckQueue, DEFAULT_ACK_INTERVAL } from './ack-queue.js';
import { backoffDelay, type ReconnectOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { HeraldClientError } from './errors.js';
import { handedOut } from './handed-out.js';
import type { OutboxHandle, OutboxPlugin } from './outbox-contract.js';
import { pinPositions } from './pin.js';
import { raceTransports } from './race.js';
import { Subscription, type SubscribeOptions } from './subscription.js';
import { PollingTransport } from './transports/polling.js';
import { SseTransport } from './transports/sse.js';
import type { Link, Transport } from './transports/transport.js';
import { rpcOverHttp } from './transports/http.js';
import { WebSocketTransport } from './transports/websocket.js';
import type { WireFormat } from './wire-format.js';
import type {
  ChannelMap,
  ClientState,
  HistoryPage,
  OutboxEvent,
  PresenceChange,
  PublishOptions,
  RpcOptions,
  Since,
  TransportName,
} from './types.js';

/** Options of {@link createClient}. Durations in milliseconds unless noted. */
export interface ClientOptions {
  /** The hub's base URL, e.g. `https://hub.example.com` (the WebSocket URL is derived from it). */
  readonly url: string;
  /** Transports to try, in order; a list of one forces it. @default ['websocket', 'sse', 'polling'] */
  readonly transports?: readonly TransportName[];
  /** A static token sent with every connection and request. */
  readonly token?: string;
  /** Called before every connection and again before the token expires; a rejection stops the client. */
  readonly getToken?: () => Promise<string>;
  /** Reconnect policy, or `false` to stay closed after the first loss. */
  readonly reconnect?: ReconnectOptions | false;
  /** How long a transport may take to connect (SSE: to deliver its first event). @default 5000 */
  readonly timeout?: number;
  /**
   * How long a transport may take to prove itself (open, and for SSE deliver its first event)
   * before the next one in `transports` starts beside it; the first to work is kept. A transport
   * that fails outright hands over at once. @default 1000
   */
  readonly fallbackDelay?: number;
  /** Seconds the hub holds a long poll. @default 25 */
  readonly pollWait?: number;
  /**
   * Node (`@herald/client/node`, `ws`): offer WebSocket permessage-deflate, so the hub sends
   * messages of 256 bytes and more compressed (docs/client.md#compression). Browsers always offer
   * it, whatever this says; SSE and polling take gzip/br from the runtime's `Accept-Encoding`.
   * @default false
   */
  readonly compression?: boolean;
  /** WebSocket implementation. @default globalThis.WebSocket */
  readonly WebSocket?: unknown;
  /** EventSource implementation. @default globalThis.EventSource */
  readonly EventSource?: unknown;
  /** fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * The frame format: `compact` from `@herald/client/compact` (about 40 % fewer bytes per small
   * message on every transport) or `msgpack` from `@herald/client/msgpack` (MessagePack on the
   * WebSocket, compact over SSE and polling). The app receives the same messages in every format.
   * @default plain JSON
   */
  readonly format?: WireFormat;
  /**
   * Milliseconds between two acks of one channel (subscriptions with `ack`): the acks of every
   * message processed meanwhile go as one, the latest position. @default 1000
   */
  readonly ackInterval?: number;
  /**
   * Pass `applyDelta` (exported by this package; a separate export so that clients without deltas
   * do not carry it) to ask the hub for deltas: on channels of namespaces with deltas on, a message
   * after the first may come as a delta against the previous one, which the client applies
   * (handlers still get the full message). A delta that does not apply makes the client reconnect
   * and resume from the last message it delivered. Costs a `JSON.stringify` of each message
   * received in full. @default none (no deltas)
   */
  readonly delta?: (base: string, delta: string) => string;
  /**
   * Keeps publishes made while offline (or while the connection is down) and sends them once, in
   * order, when connected: `outbox()` from `@herald/client/outbox` (see docs/client.md#offline-outbox).
   * @default none: a publish waits for the connection and rejects when it is lost
   */
  readonly outbox?: OutboxPlugin;
  /**
   * One connection for every tab of the origin (same `url` and credentials, or the same `name`):
   * the tab that wins a Web Lock holds it and the others talk to it over BroadcastChannel; with
   * `worker` (a module of the page's origin that calls `shareWorker`), a SharedWorker holds it where
   * the browser has one. Without BroadcastChannel and Web Locks (Node, old browsers) the client
   * connects as usual. @default false
   */
  readonly share?: boolean | { readonly name?: string; readonly worker?: string };
}

/** Events of a {@link HeraldClient}. */
export type ClientEvents = {
  state: [ClientState];
  error: [HeraldClientError];
  transport: [TransportName];
  /** With `outbox`: a queued publish was stored or given up (whichever page queued it). */
  outbox: [OutboxEvent];
};

interface ChannelEntry {
  readonly subs: Set<Subscription>;
  /** Where the channel resumes from: with the hub's signature when the hub signs this client's positions. */
  position: CursorEntry | undefined;
  /** Whether the current transport has confirmed the subscription. */
  subscribed: boolean;
  /** With `delta`: the data of the message at `position` as JSON text, the base of the next delta. */
  base?: string | undefined;
  /** `performance.now()` of the `subscribe()` call, while the start position is not pinned yet. */
  calledAt: number | undefined;
  /** The pin in flight (see {@link pinPositions}); `undefined` when none is. */
  pin: Promise<void> | undefined;
  /** Pins tried and failed; after two the transport's own start ("now") is used. */
  pinFailures: number;
  /** Temporary refusals (`3xxx`) of the subscribe in a row, for the backoff of the next attempt. */
  refusals?: number;
  /** The subscribe sent again after a temporary refusal, while it waits for its backoff. */
  retry?: ReturnType<typeof setTimeout> | undefined;
}

/** The backoff after a subscribe refused with a temporary code (`3xxx`): 0.5 s doubling to 30 s, as the outbox's. */
const RESUBSCRIBE_MIN_DELAY = 500;
const RESUBSCRIBE_MAX_DELAY = 30_000;

const remembered = new Map<string, string>();
const STORAGE_KEY = 'herald:transport:';
/** How long a remembered fallback is preferred before the full order is probed again (one hour). */
const REMEMBER_MS = 3_600_000;

function recall(url: string, now: number): TransportName | undefined {
  let entry: string | null | undefined;
  try {
    entry = globalThis.localStorage?.getItem(STORAGE_KEY + url);
  } catch {
    // Storage may be unavailable (private mode, SSR): the in-memory choice still holds.
  }
  const [name, at] = (entry ?? remembered.get(url) ?? '').split('|');
  return now - Number(at) < REMEMBER_MS ? (name as TransportName) : undefined;
}

function remember(url: string, name: TransportName, now: number): void {
  const entry = `${name}|${now}`;
  remembered.set(url, entry);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY + url, entry);
  } catch {
    // See recall().
  }
}

/** Seconds until a JWT's `exp`, or undefined when it is not a JWT with one. */
function secondsToExpiry(token: string, now: number): number | undefined {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp - now / 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A connection to a Herald hub over the best transport that works, with reconnect, resume and
 * typed channels. Connects on the first subscription (or {@link HeraldClient.connect}).
 */
export class HeraldClient<M extends object = ChannelMap> extends Emitter<ClientEvents> {
  state: ClientState = 'idle';
  readonly #options: ClientOptions;
  readonly #url: string;
  readonly #order: readonly TransportName[];
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #link: Link;
  #transport: Transport | undefined;
  #token: string | undefined;
  #attempt = 0;
  #closedByUser = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #waiters: { resolve(t: Transport): void; reject(e: Error): void }[] = [];
  /** Channels to pin in the next batch, with their entries. */
  #toPin = new Map<string, ChannelEntry>();
  #pinBatch: Promise<void> | undefined;
  readonly #fallbackDelay: number;
  /** A shared transport waiting for its leader (see {@link ClientOptions.share}). */
  #opening: Transport | undefined;
  readonly #acks: AckQueue;
  readonly #outbox: OutboxHandle | undefined;

  constructor(options: ClientOptions) {
    super();
    if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) throw new TypeError('url must be an http:// or https:// URL');
    const order = options.transports ?? ['websocket', 'sse', 'polling'];
    if (order.length === 0 || order.some((t) => t !== 'websocket' && t !== 'sse' && t !== 'polling')) {
      throw new TypeError('transports must list one or more of "websocket", "sse", "polling"');
    }
    this.#options = options;
    this.#url = options.url.replace(/\/+$/, '');
    this.#order = order;
    this.#token = options.token;
    this.#fallbackDelay = options.fallbackDelay ?? 1000;
    if (!Number.isFinite(this.#fallbackDelay) || this.#fallbackDelay < 0) throw new RangeError('fallbackDelay must be a number of ms ≥ 0');
    const { format } = options;
    if (format !== undefined && typeof format.reader != 'function') throw new TypeError('format must be compact or msgpack');
    const ackInterval = options.ackInterval ?? DEFAULT_ACK_INTERVAL;
    if (!Number.isFinite(ackInterval) || ackInterval < 0) throw new RangeError('ackInterval must be a number of ms ≥ 0');
    this.#acks = new AckQueue(
      {
        send: () => {
          const transport = this.#transport;
          return transport === undefined ? undefined : (channel, position) => transport.ack(channel, position);
        },
        refused: (channel, error) => {
          for (const sub of this.#channels.get(channel)?.subs ?? []) if (sub.ackMode !== undefined) sub.fail(error);
        },
      },
      ackInterval,
    );
    const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#link = {
      url: this.#url,
      WebSocket: (options.WebSocket ?? globalThis.WebSocket) as typeof WebSocket | undefined,
      EventSource: (options.EventSource ?? globalThis.EventSource) as typeof EventSource | undefined,
      fetch: fetchImpl,
      timeout: options.timeout ?? 5000,
      format,
      pollWait: options.pollWait ?? 25,
      polling: { session: 'new' },
      token: () => this.#token,
      channels: () => new Map([...this.#channels].map(([channel, entry]) => [channel, entry.position])),
      pinned: () => this.#pinned(),
      start: (channel, position) => {
        const entry = this.#channels.get(channel);
        if (entry !== undefined) entry.position ??= position;
      },
      joinLeave: (channel) => [...(this.#channels.get(channel)?.subs ?? [])].some((s) => s.joinLeave),
      delta: options.delta !== undefined,
      held: (channel) => {
        const entry = this.#channels.get(channel);
        return entry?.base === undefined ? undefined : entry.position?.offset;
      },
      message: (envelope) => this.#onMessage(envelope),
      gap: (gap) => this.#onGap(gap),
      presence: (change) => this.#onPresence(change),
      presenceResync: (channel) => {
        for (const sub of this.#channels.get(channel)?.subs ?? []) if (sub.joinLeave) sub.presenceResync();
      },
      lost: (code, reason) => this.#onLost(code, reason),
      refused: (channel, error) => this.#refused(channel, error),
      status: (state, error) => {
        if (error !== undefined) this.#stop(error);
        else if (this.#transport !== undefined && this.state !== state) {
          this.#setState(state);
          if (state === 'connected') this.emit('transport', this.#transport.name);
        }
      },
    };
    this.#outbox = options.outbox?.(this.#url, {
      transport: () => this.#transport,
      token: () => this.#token,
      connect: () => this.state === 'idle' && this.connect(),
      report: (event) => this.emit('outbox', event),
    });
  }

  /** The transport in use, once connected. */
  get transport(): TransportName | undefined {
    return this.#transport?.name;
  }

  /**
   * Subscribes to a channel. `handler`, when given, receives every message. With `since`, the
   * messages after it are replayed first (or a `gap` event says they cannot be). With `ack`, what
   * the handler processed is acknowledged to the hub (see {@link SubscribeOptions.ack}).
   */
  subscribe<C extends keyof M & string>(
    channel: C,
    handler?: (message: Envelope<M[C]>) => unknown,
    options: SubscribeOptions = {},
  ): Subscription<M[C]> {
    let since: CursorEntry | undefined;
    if (typeof options.since === 'string') {
      const parsed = parseCursor(options.since);
      if (!parsed.ok) throw new TypeError(`since: ${parsed.error.message}`);
      since = parsed.value.get(channel);
    } else since = options.since;
    const sub = new Subscription<M[C]>(this.#host, channel, { ...options, since });
    if (handler !== undefined) sub.on('message', handler);
    const checked = checkChannelName(channel);
    if (!checked.ok) {
      // Refused before any network: a bad name must not take the connection of the others down.
      queueMicrotask(() => {
        sub.fail(new HeraldClientError(checked.error.code, checked.error.message));
        sub.unsubscribe();
      });
      return sub;
    }
    const existing = this.#channels.get(channel);
    const entry: ChannelEntry = existing ?? {
      subs: new Set(),
      position: since,
      subscribed: false,
      calledAt: undefined,
      pin: undefined,
      pinFailures: 0,
    };
    // A subscription starts now, whatever the transport does meanwhile: pin the channel's position.
    if (existing === undefined && since === undefined) this.#pin(channel, entry, performance.now());
    const addsJoinLeave = existing !== undefined && sub.joinLeave && ![...existing.subs].some((s) => s.joinLeave);
    entry.subs.add(sub as Subscription);
    if (existing === undefined) {
      this.#channels.set(channel, entry);
      if (this.#transport !== undefined) this.#subscribeOn(this.#transport, channel, entry);
      else this.connect();
    } else {
      if (entry.subscribed) {
        // Joins the channel where it is now: later messages reach it.
        if (since === undefined) sub.start(entry.position);
        sub.setState('subscribed');
      }
      if (since !== undefined) this.#backfill(sub as Subscription, since);
      if (addsJoinLeave && this.#transport !== undefined) {
        // The hub sends joins and leaves per subscription: subscribe again, asking for them,
        // resuming from the channel's position so nothing is lost or repeated.
        this.#transport.unsubscribe(channel);
        this.#subscribeOn(this.#transport, channel, entry);
      }
    }
    return sub;
  }

  /**
   * Publishes to a channel; resolves once the hub stored the message. With an `idempotencyKey`, a
   * retry of the same publish (after a lost answer or a failed node) stores nothing twice: the hub
   * answers the first position with `duplicate: true`.
   */
  publish<C extends keyof M & string>(channel: C, data: M[C], options: PublishOptions = {}): Promise<PublishResult> {
    return this.#host.publish(channel, data, options.idempotencyKey);
  }

  /** Reads a channel's retained messages. */
  history<C extends keyof M & string>(channel: C, options: { since?: Since; limit?: number } = {}): Promise<HistoryPage<M[C]>> {
    return this.#host.history(channel, options.since, options.limit) as Promise<HistoryPage<M[C]>>;
  }

  /** The members of a channel. */
  presence(channel: keyof M & string): Promise<PresenceMember[]> {
    return this.#host.presence(channel);
  }

  /**
   * Calls `method` (1–255 characters of letters, digits and `_ - . : /`) with `data` through the
   * app's rpc hook (see `docs/hooks.md`) and resolves with the app's answer. Sent as the `rpc`
   * command while the client is connected over WebSocket; otherwise (SSE, polling, or not
   * connected: this does not connect) as `POST /api/rpc` with the client's token. Rejects with a
   * {@link HeraldClientError}: `1005` bad method, `1010` no rpc hook serves it, `2001` the app
   * denied, `3003` the app could not answer, `'closed'` when the WebSocket closed before the
   * answer (not retried: the method may have run), `'timeout'` past `options.timeout`; with the
   * signal's reason when `options.signal` aborts.
   */
  async rpc<T = unknown>(method: string, data?: unknown, options: RpcOptions = {}): Promise<T> {
    const { timeout, signal } = options;
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) throw new RangeError('timeout must be a number of ms > 0');
    if (this.state === 'closed' && this.#closedByUser) throw new HeraldClientError('closed', 'the client is closed');
    const abort = new AbortController();
    const forward = (): void => abort.abort(signal!.reason);
    if (signal?.aborted === true) forward();
    else signal?.addEventListener('abort', forward, { once: true });
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => abort.abort(new HeraldClientError('timeout', `rpc ${method} got no answer within ${timeout} ms`)), timeout);
    try {
      const transport = this.#transport;
      if (transport?.name === 'websocket') return (await transport.rpc(method, data, abort.signal)) as T;
      // Not connected yet: the token getToken would give the connection.
      if (this.#token === undefined && this.#options.getToken !== undefined) {
        try {
          this.#token = await this.#options.getToken();
        } catch (error) {
          throw new HeraldClientError('token', `getToken failed: ${(error as Error).message}`);
        }
      }
      if (abort.signal.aborted) throw abort.signal.reason;
      return (await rpcOverHttp(this.#link, method, data, abort.signal)) as T;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }

  /** Connects now (otherwise the first subscription does). */
  connect(): void {
    // After close() the client stays closed; after a fatal error (state `closed` too) connect() retries.
    if (this.state === 'idle' || (this.state === 'closed' && !this.#closedByUser)) {
      this.#attempt = 0;
      void this.#run();
    }
  }

  /** Closes the connection for good; subscriptions end. */
  close(): void {
    this.#closedByUser = true;
    // What was processed is still told to the hub (best effort: sent before the connection closes).
    this.#acks.flush();
    this.#acks.close();
    this.#stop(undefined);
    this.#outbox?.close();
    for (const entry of this.#channels.values()) for (const sub of entry.subs) sub.unsubscribe();
  }

  readonly #host = {
    publish: async (channel: string, data: unknown, idempotencyKey?: string) => {
      if (this.#outbox === undefined) return (await this.#ready()).publish(channel, data, idempotencyKey);
      if (this.state === 'closed' && this.#closedByUser) throw new HeraldClientError('closed', 'the client is closed');
      // The outbox is keyed by user: the token tells who publishes.
      if (this.#token === undefined && this.#options.getToken !== undefined) {
        try {
          this.#token = await this.#options.getToken();
        } catch (error) {
          throw new HeraldClientError('token', `getToken failed: ${(error as Error).message}`);
        }
      }
      if (this.state === 'idle') this.connect();
      return this.#outbox.publish(channel, data, idempotencyKey);
    },
    history: async (channel: string, since: Since | undefined, limit: number | undefined) =>
      (await this.#ready()).history(channel, since, limit),
    presence: async (channel: string) => (await this.#ready()).presence(channel),
    ack: (channel: string, position: Position) => this.#acks.add(channel, position),
    remove: (sub: Subscription) => {
      const entry = this.#channels.get(sub.channel);
      if (entry?.subs.delete(sub) !== true || entry.subs.size > 0) return;
      clearTimeout(entry.retry);
      this.#channels.delete(sub.channel);
      this.#acks.forget(sub.channel);
      this.#transport?.unsubscribe(sub.channel);
    },
  };

  #setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  #ready(): Promise<Transport> {
    if (this.#transport !== undefined) return Promise.resolve(this.#transport);
    if (this.state === 'closed') return Promise.reject(new HeraldClientError('closed', 'the client is closed'));
    this.connect();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async #run(): Promise<void> {
    this.#timer = undefined;
    this.#setState(this.#attempt === 0 && this.state !== 'reconnecting' ? 'connecting' : 'reconnecting');
    if (this.#options.getToken !== undefined) {
      try {
        this.#token = await this.#options.getToken();
        this.#scheduleRefresh();
      } catch (error) {
        this.#stop(new HeraldClientError('token', `getToken failed: ${(error as Error).message}`));
        return;
      }
    }
    const preferred = recall(this.#url, Date.now());
    const order =
      preferred !== undefined && this.#order.includes(preferred) ? [preferred, ...this.#order.filter((t) => t !== preferred)] : this.#order;
    if (this.state === 'closed') return;
    if (this.#options.share && globalThis.BroadcastChannel && globalThis.navigator?.locks) {
      try {
        // Loaded only when asked, so that clients that do not share pay nothing for it.
        const { SharedTransport } = await import('./share/index.js');
        if ((this.state as ClientState) === 'closed') return;
        const shared = (this.#opening = new SharedTransport(this.#link, this.#url, this.#options));
        const opened = await shared.open();
        if ((this.state as ClientState) !== 'closed') this.#connected(shared, opened);
        return;
      } catch {
        // Closed meanwhile (open() rejects only then); else the share code could not be loaded: not shared.
        if ((this.state as ClientState) === 'closed') return;
      }
    }
    const outcome = await raceTransports({
      order,
      create: (name, link) =>
        name === 'websocket' ? new WebSocketTransport(link) : name === 'sse' ? new SseTransport(link) : new PollingTransport(link),
      link: this.#link,
      fallbackDelay: this.#fallbackDelay,
      closed: () => this.state === 'closed',
    });
    if ('transport' in outcome) {
      // close() may have been called while open() was pending.
      if ((this.state as ClientState) === 'closed') return outcome.transport.close();
      this.#connected(outcome.transport, outcome.opened);
      // What the winner received while it was proving itself follows, in order.
      outcome.gate.win();
      return;
    }
    if ((this.state as ClientState) === 'closed') return;
    const lastError = outcome.error;
    const failure = lastError instanceof HeraldClientError ? lastError : new HeraldClientError('unreachable', 'no transport could connect');
    // Refused credentials do not get better by retrying (an expired token does, with getToken).
    if (
      failure.code === ErrorCode.Unauthorized ||
      failure.code === ErrorCode.Forbidden ||
      (failure.code === ErrorCode.TokenExpired && this.#options.getToken === undefined)
    ) {
      this.#stop(failure);
      return;
    }
    this.#retry(failure);
  }

  #connected(transport: Transport, opened: ReadonlySet<string>): void {
    this.#transport = transport;
    this.#attempt = 0;
    // Only a real choice is worth remembering: a forced transport says nothing about the network.
    if (this.#order.length > 1) remember(this.#url, transport.name, Date.now());
    for (const [channel, entry] of this.#channels) {
      // Channels added while connecting were not part of open(): subscribe them now. One open()
      // left out because the hub refused it for now (3xxx) is subscribed again by its retry timer.
      if (opened.has(channel)) this.#confirmed(entry);
      else if (entry.retry === undefined) this.#subscribeOn(transport, channel, entry);
    }
    for (const channel of opened) if (!this.#channels.has(channel)) transport.unsubscribe(channel);
    this.#setState('connected');
    this.emit('transport', transport.name);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(transport);
    this.#outbox?.flush();
  }

  #subscribeOn(transport: Transport, channel: string, entry: ChannelEntry): void {
    // From the pinned start, once known (a failed pin leaves the transport's own start).
    (entry.pin ?? Promise.resolve())
      .then(() => transport.subscribe(channel, entry.position))
      .then(
        (position) => {
          // Refused meanwhile (an SSE `unsubscribed` event comes with the stream that opened it).
          if (this.#channels.get(channel) !== entry) return;
          if (position !== undefined) entry.position ??= position;
          this.#confirmed(entry);
        },
        (error: unknown) => {
          // Only this subscribe's own channel entry: a late refusal of a subscribe since unsubscribed
          // (and subscribed again) must not end or retry the new one.
          if (this.#channels.get(channel) === entry) this.#refused(channel, error);
        },
      );
  }

  /** Pins `channel`'s start as of `calledAt`, in a batch with every channel pinned in the same tick. */
  #pin(channel: string, entry: ChannelEntry, calledAt: number): void {
    entry.calledAt = calledAt;
    // No token yet (getToken runs before the first connection): pinned once it is there.
    if (this.#options.getToken !== undefined && this.#token === undefined) return;
    this.#toPin.set(channel, entry);
    const batch = (this.#pinBatch ??= Promise.resolve().then(() => this.#sendPins()));
    entry.pin = batch;
  }

  async #sendPins(): Promise<void> {
    const batch = this.#toPin;
    this.#toPin = new Map();
    this.#pinBatch = undefined;
    const calls = new Map<string, number>();
    for (const [channel, entry] of batch)
      if (entry.calledAt !== undefined && entry.position === undefined) calls.set(channel, entry.calledAt);
    if (calls.size === 0) return;
    let pinned: Map<string, CursorEntry> | undefined;
    try {
      pinned = await pinPositions(this.#link, calls);
    } catch {
      // Unreachable or refused: tried again before the next transport opens; the transport reports refusals.
    }
    for (const [channel, entry] of batch) {
      entry.pin = undefined;
      const position = pinned?.get(channel);
      if (position === undefined) {
        entry.pinFailures++;
        continue;
      }
      entry.calledAt = undefined;
      entry.position ??= position;
    }
  }

  /**
   * Settles the start of every subscription that has none yet (see {@link ClientOptions}): pins
   * again those whose pin failed, at most twice, then waits for every pin in flight.
   */
  #pinned(): Promise<void> {
    for (const [channel, entry] of this.#channels) {
      if (entry.position === undefined && entry.calledAt !== undefined && entry.pin === undefined && entry.pinFailures < 2)
        this.#pin(channel, entry, entry.calledAt);
    }
    const pins: Promise<void>[] = [];
    for (const entry of this.#channels.values()) if (entry.pin !== undefined) pins.push(entry.pin);
    return Promise.all(pins).then(() => undefined);
  }

  #confirmed(entry: ChannelEntry): void {
    entry.subscribed = true;
    entry.refusals = 0;
    for (const sub of entry.subs) {
      // Before any message: where the channel started (pinned, or the transport's start).
      sub.start(entry.position);
      sub.setState('subscribed');
    }
  }

  /** The hub refused a channel: its subscriptions fail and end; the connection and the others carry on. */
  #refused(channel: string, error: unknown): void {
    const failure = error instanceof HeraldClientError ? error : new HeraldClientError('internal', String(error));
    // A closed connection is not a refusal (the reconnect subscribes again), nor is a race between
    // an unsubscribe and a subscribe of the same channel on the hub.
    if (typeof failure.code !== 'number' || failure.code === ErrorCode.AlreadySubscribed || failure.code === ErrorCode.NotSubscribed)
      return;
    const entry = this.#channels.get(channel);
    if (entry === undefined) return;
    if (failure.code >= 3000 && failure.code < 4000) return this.#subscribeLater(channel, entry);
    clearTimeout(entry.retry);
    this.#channels.delete(channel);
    for (const sub of entry.subs) {
      sub.fail(failure);
      sub.unsubscribe();
    }
  }

  /**
   * A subscribe refused for now (`3xxx`: the engine unavailable, as during a Redis failover; the
   * hub rate-limiting or busy; a subscribe hook that did not answer): the hub holds no subscription,
   * so the channel is subscribed again after a backoff, from its position (a resume: nothing is
   * lost, a gap is reported as usual). Ending it instead would leave it silent for good. A new
   * connection meanwhile subscribes it anyway.
   */
  #subscribeLater(channel: string, entry: ChannelEntry): void {
    entry.subscribed = false;
    for (const sub of entry.subs) sub.setState('subscribing');
    clearTimeout(entry.retry);
    const attempt = entry.refusals ?? 0;
    entry.refusals = attempt + 1;
    entry.retry = setTimeout(
      () => {
        entry.retry = undefined;
        const transport = this.#transport;
        if (transport !== undefined && this.#channels.get(channel) === entry && !entry.subscribed)
          this.#subscribeOn(transport, channel, entry);
      },
      backoffDelay(attempt, RESUBSCRIBE_MIN_DELAY, RESUBSCRIBE_MAX_DELAY),
    );
  }

  #backfill(sub: Subscription, since: Position): void {
    this.#host.history(sub.channel, since, undefined).then(
      (page) => {
        for (const gap of page.gaps ?? []) sub.reportGap(gap);
        for (const message of page.messages) sub.deliver(message);
      },
      (error: unknown) => sub.fail(error as HeraldClientError),
    );
  }

  #retry(error: HeraldClientError): void {
    const policy = this.#options.reconnect;
    const max = policy === false ? 0 : (policy?.maxAttempts ?? Infinity);
    if (this.#attempt + 1 >= max) {
      this.#stop(error);
      return;
    }
    this.#setState('reconnecting');
    const delay = backoffDelay(this.#attempt++, policy ? (policy.minDelay ?? 500) : 500, policy ? (policy.maxDelay ?? 30_000) : 30_000);
    this.#timer = setTimeout(() => void this.#run(), delay);
  }

  #onLost(code: number, reason: string): void {
    const transport = this.#transport;
    if (transport === undefined) return;
    this.#transport = undefined;
    transport.close();
    for (const entry of this.#channels.values()) {
      entry.subscribed = false;
      for (const sub of entry.subs) sub.setState('subscribing');
    }
    if (!shouldReconnect(code) || (needsNewToken(code) && this.#options.getToken === undefined)) {
      this.#stop(new HeraldClientError(code, `the hub closed the connection: ${reason || code}`));
      return;
    }
    this.#retry(new HeraldClientError(code, reason || 'connection lost'));
  }

  #stop(error: HeraldClientError | undefined): void {
    clearTimeout(this.#timer);
    for (const entry of this.#channels.values()) clearTimeout(entry.retry);
    clearTimeout(this.#refresh);
    this.#opening?.close();
    this.#transport?.close();
    this.#transport = undefined;
    this.#setState('closed');
    const failure = error ?? new HeraldClientError('closed', 'the client is closed');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(failure);
    if (error !== undefined) this.emit('error', error);
  }

  #scheduleRefresh(): void {
    clearTimeout(this.#refresh);
    const left = this.#token === undefined ? undefined : secondsToExpiry(this.#token, Date.now());
    if (left === undefined || this.#options.getToken === undefined) return;
    // Refresh a little before expiry (30 s, or a fifth of a short lifetime).
    const at = Math.max(1, left - Math.min(30, left / 5)) * 1000;
    this.#refresh = setTimeout(() => {
      this.#options.getToken!().then(
        (token) => {
          this.#token = token;
          this.#scheduleRefresh();
          // A failed refresh is not fatal: the hub closes with 4100 at expiry and the client reconnects.
          this.#transport?.refresh?.(token).catch(() => undefined);
        },
        (error: unknown) => this.#stop(new HeraldClientError('token', `getToken failed: ${(error as Error).message}`)),
      );
    }, at);
  }

  #onMessage(frame: Envelope | DeltaPush): void {
    const entry = this.#channels.get(frame.channel);
    if (entry === undefined) return;
    const at = entry.position;
    if (at !== undefined && at.epoch === frame.epoch && frame.offset <= at.offset) return;
    let envelope = frame as Envelope;
    if (frame.type === 'delta') {
      // Sent to a subscription this one replaced (an unsubscribe and a new subscribe, the old one's
      // frames still on their way): the new one starts in full from its own position.
      if (entry.base === undefined && !entry.subscribed) return;
      // Applied only onto the message just before it; anything else resumes from the last good position.
      const { delta, ...rest } = frame;
      const base = entry.base;
      entry.base = undefined;
      try {
        if (base !== undefined && at?.epoch === frame.epoch && at.offset === frame.offset - 1)
          entry.base = this.#options.delta!(base, delta);
      } catch {
        // A wrong base or a damaged delta: resumed below, never delivered.
      }
      if (entry.base === undefined) return this.#onLost(1006, 'a delta did not apply');
      envelope = { ...rest, type: 'message', data: JSON.parse(entry.base) as unknown };
    } else if (this.#options.delta !== undefined) entry.base = JSON.stringify(frame.data);
    entry.position = handedOut(envelope.channel, envelope.cursor, envelope);
    for (const sub of entry.subs) sub.deliver(envelope);
  }

  #onGap(frame: Gap): void {
    const entry = this.#channels.get(frame.channel);
    if (entry === undefined) return;
    // Another start's gap (a shared connection's subscription made from another tab's older
    // position): it is behind this one and skips nothing it lacks.
    const at = entry.position;
    const { requested, resumed } = frame;
    if (
      at !== undefined &&
      requested.epoch === at.epoch &&
      resumed.epoch === at.epoch &&
      requested.offset < at.offset &&
      resumed.offset <= at.offset
    )
      return;
    // One shape on every transport (the WebSocket and SSE frames also carry `type`).
    const gap: Gap = {
      channel: frame.channel,
      reason: frame.reason,
      requested: frame.requested,
      resumed: frame.resumed,
      ...(frame.cursor !== undefined && { cursor: frame.cursor }),
    };
    entry.position = handedOut(gap.channel, frame.cursor, gap.resumed);
    entry.base = undefined;
    for (const sub of entry.subs) sub.reportGap(gap);
  }

  #onPresence(change: PresenceChange): void {
    for (const sub of this.#channels.get(change.channel)?.subs ?? []) if (sub.joinLeave) sub.presenceChange(change);
  }
}

/** Creates a client (see {@link ClientOptions}); nothing connects until the first subscription. */
export function createClient<M extends object = ChannelMap>(options: ClientOptions): HeraldClient<M> {
  return new HeraldClient<M>(options);
}
