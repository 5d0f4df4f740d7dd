import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type CursorEntry, type Position, type WireError } from '@herald/protocol';
import { signedEncodings, type SignedEncodings } from './signed-json.js';
import type { CursorSigner } from '../auth/cursor-signer.js';
import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { Clock } from '../clock.js';
import { toWireError } from '../errors.js';
import { HookFailure } from '../hooks/hook-caller.js';
import { EarlyRefresh } from '../hooks/early-refresh.js';
import { boundedMap, HOOK_CALLS_PER_REQUEST } from '../hooks/bounded-map.js';
import { checkUnlessHooked, subscribeInfo } from '../hooks/client-decisions.js';
import type { Hub, SubscribeOutcome } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import { readChannelQuery } from '../http/channel-query.js';
import { readFormatQuery } from '../http/format-query.js';
import { sendError } from '../http/respond.js';
import { UNLIMITED, type ConnectionSlot } from './connection-limiter.js';
import { nextSessionId } from './session-id.js';
import { SseGzip, SseStream, type SseStreamOwner } from './sse-stream.js';
import { pickCoding, varyOnEncoding } from './accept-encoding.js';
import type { CompressionSettings } from './compression-options.js';
import { matchesConnection, type ConnectionInfo, type ConnectionMatch, type Transport } from './transport.js';
import { emitConnectionClosed } from '../webhooks/client-events.js';

/** A stream whose identity expires: what its refresh needs, and the watch armed for it. */
interface StreamExpiry {
  readonly stream: SseStream;
  readonly res: ServerResponse;
  identity: Identity;
  readonly channels: readonly string[];
  /** Whether the stream pushes joins and leaves (then a refresh re-checks `presence`). */
  readonly joinLeave: boolean;
  timer: EarlyRefresh | undefined;
}

/** Options of {@link SseTransport}. */
export interface SseTransportOptions {
  readonly maxChannels: number;
  readonly sendQueueBytes: number;
  /** Milliseconds between heartbeat comments. */
  readonly heartbeatInterval: number;
  /** Milliseconds the browser should wait before reconnecting (the `retry:` field). */
  readonly retry: number;
  /** Told when a stream is dropped as a slow consumer (metrics). */
  readonly onSlowConsumer?: () => void;
  /** gzip for clients that accept it, when `compression.http` is on. @default off */
  readonly compression?: CompressionSettings | undefined;
}

/** A channel a stream may have: where it starts, whether its positions are signed, its presence info. */
interface Allowed {
  readonly channel: string;
  readonly since: Position | undefined;
  readonly signed: boolean;
  readonly info: unknown;
}

/**
 * Server-Sent Events at `GET /events?channel=…[&since=…][&format=compact]`. Resumes from `Last-Event-ID` (which wins
 * over `since`); without either, the stream starts live from the channels' current positions.
 */
export class SseTransport implements SseStreamOwner, Transport {
  readonly name = 'sse';
  readonly #hub: Hub;
  readonly #options: SseTransportOptions;
  readonly #logger: Logger;
  readonly #streams = new Map<SseStream, ServerResponse>();
  /** Who each open stream is (for its `connection_closed` webhook event). */
  readonly #identities = new WeakMap<SseStream, Identity>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #security: Security;
  readonly #clock: Clock;
  readonly cursors: CursorSigner;
  readonly signed: SignedEncodings;
  /** The shared gzip segments; `undefined` when HTTP compression is off. */
  readonly #gzip: SseGzip | undefined;

  constructor(hub: Hub, options: SseTransportOptions, logger: Logger, security: Security, clock: Clock) {
    this.#security = security;
    this.cursors = security.cursors;
    this.signed = signedEncodings(security.cursors);
    this.#gzip = options.compression?.http === true ? new SseGzip(options.compression, this.signed) : undefined;
    this.#clock = clock;
    this.#hub = hub;
    this.#options = options;
    this.#logger = logger;
    this.#heartbeat = setInterval(() => {
      for (const stream of this.#streams.keys()) stream.heartbeat();
    }, options.heartbeatInterval);
    this.#heartbeat.unref();
  }

  /** Open streams. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Serves one stream for `identity` (already authenticated by the caller); `slot` is released when
   * it ends. Every channel is checked for `subscribe` permission first, so a resume is re-checked too;
   * the channels a subscribe hook decides are asked of the app {@link HOOK_CALLS_PER_REQUEST} at a
   * time (each call also bounded by the hook's concurrency), once the hub's own checks passed. When the app cannot decide one of them
   * (3003), the whole stream is refused (HTTP 503 with `Retry-After`): the client retries it later
   * rather than go on without that channel.
   * `client`: the stream's session id (the one the connect hook was told), else a new one.
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    identity: Identity,
    slot: ConnectionSlot,
    headers: Record<string, string>,
    client?: string,
  ): Promise<void> {
    if (slot !== UNLIMITED) res.once('close', () => slot.release());
    const lastEventId = req.headers['last-event-id'];
    const query = readChannelQuery(params, this.#options.maxChannels, typeof lastEventId === 'string' ? lastEventId : undefined);
    if (!query.ok) {
      sendError(res, query.error, headers);
      return;
    }
    const { channels: asked, since } = query.value;
    const format = readFormatQuery(params);
    if (!format.ok) return sendError(res, format.error, headers);
    // Compact items name a channel by its index among the request's channels.
    const refs = format.value === 'compact' ? new Map(asked.map((channel, index) => [channel, index])) : undefined;
    const joinLeave = params.get('joinLeave') === '1' || params.get('joinLeave') === 'true';
    // The client applies `delta` events (channels of namespaces with deltas on; docs/protocol.md).
    // In compact, a delta is the compact delta item (`-ref-1`, the delta in place of the data).
    const delta = params.get('delta') === '1' || params.get('delta') === 'true';
    // A refused channel ends alone (an `unsubscribed` event after `ready`): EventSource cannot read
    // an error status, so failing the whole stream would hide which channel was refused. Only when
    // every channel is refused does the request fail with the error.
    const session = client ?? nextSessionId();
    const decisions = await boundedMap(
      asked,
      HOOK_CALLS_PER_REQUEST,
      (channel) => this.#decide(identity, session, channel, joinLeave, since?.get(channel)),
      (decision) => 'error' in decision && decision.error.code === ErrorCode.HookUnavailable,
    );
    const channels: Allowed[] = [];
    const refused: { channel: string; error: WireError }[] = [];
    for (const decision of decisions) {
      if (decision === undefined) continue;
      if ('error' in decision) {
        if (decision.error.code === ErrorCode.HookUnavailable) return sendError(res, decision.error, headers);
        refused.push(decision);
      } else channels.push(decision);
    }
    if (channels.length === 0) {
      sendError(res, refused[0]!.error, headers);
      return;
    }
    const positions = new Map<string, CursorEntry>();
    // gzip only: a stream is one gzip member built from shared segments (see sse-gzip.ts); br has no such form.
    const gzip = this.#gzip !== undefined && pickCoding(req.headers['accept-encoding'], false) === 'gzip' ? this.#gzip : undefined;
    const stream = new SseStream(
      res,
      identity.user,
      channels.length,
      positions,
      this.#options.sendQueueBytes,
      this,
      this.#clock.now(),
      session,
      refs,
      gzip,
    );
    const outcomes: SubscribeOutcome[] = [];
    try {
      for (const { channel, since: from, signed, info } of channels) {
        const outcome = await this.#hub.subscribe(stream, channel, { since: from, joinLeave, signed, info, delta });
        outcomes.push(outcome);
        stream.subscriptions.push(outcome.subscription);
        positions.set(channel, signed ? this.cursors.sign(channel, outcome.position) : outcome.position);
        // Gone while subscribing: closed() has unsubscribed what was there; finish the job.
        if (res.destroyed) return this.closed(stream);
      }
    } catch (error) {
      this.closed(stream);
      sendError(res, toWireError(error), headers);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...(gzip !== undefined && { 'Content-Encoding': 'gzip' }),
      ...(this.#gzip === undefined ? headers : varyOnEncoding(headers)),
    });
    // The `ready` event (ignored by onmessage) carries the starting cursor as its id, so a reconnect
    // before the first message still resumes from here, and tells a client the stream is not buffered.
    const cursor = stream.cursor;
    stream.write(
      Buffer.from(`retry: ${this.#options.retry}\nid: ${cursor}\nevent: ready\ndata: {"type":"ready","cursor":"${cursor}"}\n\n`),
    );
    for (const { channel, error } of refused) {
      stream.write(Buffer.from(`event: unsubscribed\ndata: ${JSON.stringify({ type: 'unsubscribed', channel, error })}\n\n`));
    }
    this.#streams.set(stream, res);
    this.#identities.set(stream, identity);
    for (const outcome of outcomes) outcome.start();
    if (identity.expiresAt !== undefined) {
      // One holder per stream for the timer a refresh replaces: one close listener, however many refreshes.
      const expiry: StreamExpiry = { stream, res, identity, channels: channels.map((c) => c.channel), joinLeave, timer: undefined };
      res.once('close', () => expiry.timer?.cancel());
      this.#armExpiry(expiry);
    }
  }

  /**
   * The stream ends when its token does (a `disconnect` event, 2002); the client reconnects with a
   * fresh one. A stream the app's hooks identified asks the refresh hook ahead of its expiry, when
   * one is configured (see {@link EarlyRefresh}): allowed, the stream goes on under the new expiry
   * (and ends with a `disconnect` carrying 2001 if the new grants no longer allow one of its
   * channels, or `presence` on one for a `joinLeave` stream); denied, or not decided before the
   * expiry, it ends with a `disconnect` carrying 2002. `previous`: the expiry before a refresh; an
   * answer that does not move it later is not refreshed again.
   */
  #armExpiry(expiry: StreamExpiry, previous?: number): void {
    const at = expiry.identity.expiresAt;
    if (at === undefined) return;
    const hooks = this.#security.hooks;
    const refreshes =
      expiry.identity.hooked === true &&
      hooks !== undefined &&
      hooks.endpoint('refresh') !== false &&
      (previous === undefined || at > previous);
    const { stream, res } = expiry;
    const before = expiry.identity;
    expiry.timer = new EarlyRefresh(this.#clock, at, refreshes, {
      refresh: async () => hooks?.refresh(before, { transport: 'sse', client: stream.client }),
      refreshed: (identity) => {
        if (res.destroyed || res.writableEnded) return;
        for (const channel of expiry.channels) {
          try {
            // A channel the subscribe hook allowed keeps the app's allow (the hook is not asked again).
            checkUnlessHooked(this.#security, identity, 'subscribe', channel);
            // Joins and leaves name the channel's members: the same right as reading its presence.
            if (expiry.joinLeave) this.#security.permissions.check(identity, 'presence', channel);
          } catch (error) {
            return this.#end(stream, res, toWireError(error));
          }
        }
        expiry.identity = identity;
        this.#identities.set(stream, identity);
        this.#armExpiry(expiry, at);
      },
      expired: (error) => {
        if (res.destroyed || res.writableEnded) return;
        const message =
          error === undefined
            ? 'token expired'
            : error instanceof HookFailure
              ? 'token expired: the refresh hook is unavailable'
              : 'token expired: the app refused to extend it';
        this.#end(stream, res, { code: ErrorCode.TokenExpired, message });
      },
    });
  }

  /** Whether `identity` may have `channel` on its stream: the hub's checks, then the subscribe hook. */
  async #decide(
    identity: Identity,
    client: string,
    channel: string,
    joinLeave: boolean,
    since: CursorEntry | undefined,
  ): Promise<Allowed | { channel: string; error: WireError }> {
    const security = this.#security;
    try {
      checkUnlessHooked(security, identity, 'subscribe', channel);
      // Joins and leaves name the channel's members: the same right as reading its presence.
      if (joinLeave) security.permissions.check(identity, 'presence', channel);
      const from = security.resumeFrom(identity, channel, since);
      const signed = security.signsFor(identity, channel);
      const info = await subscribeInfo(security, identity, { transport: 'sse', client }, channel);
      return { channel, since: from, signed, info };
    } catch (error) {
      return { channel, error: toWireError(error) };
    }
  }

  /** @internal A stream's response closed: forget it and end its subscriptions. */
  closed(stream: SseStream): void {
    if (this.#streams.delete(stream)) this.#reportClosed(stream);
    for (const subscription of stream.subscriptions) this.#hub.unsubscribe(subscription);
  }

  /** @internal */
  slowConsumer(stream: SseStream): void {
    this.#logger.warn({ client: stream.client }, 'slow SSE consumer disconnected');
    this.#options.onSlowConsumer?.();
  }

  /** Ends the streams of a user or with a session id (a `disconnect` event first); returns how many. */
  disconnect(match: ConnectionMatch): number {
    let count = 0;
    for (const [stream, res] of this.#streams) {
      if (matchesConnection(match, stream.user, stream.client)) {
        stream.reason ??= 'disconnected';
        this.#end(stream, res, { code: ErrorCode.Disconnected, message: 'disconnected by the server' });
        count++;
      }
    }
    return count;
  }

  /** Ends a stream with a `disconnect` event saying why (a named event: `onmessage` ignores it). */
  #end(stream: SseStream, res: ServerResponse, error: WireError): void {
    if (error.code === ErrorCode.TokenExpired) stream.reason ??= 'token_expired';
    stream.write(Buffer.from(`event: disconnect\ndata: ${JSON.stringify({ type: 'disconnect', error })}\n\n`));
    stream.end();
    res.end();
  }

  /** The open streams. */
  list(): ConnectionInfo[] {
    return [...this.#streams.keys()].map((stream) => stream.describe());
  }

  /** Nothing to do: open streams go on until {@link close}, which tells them to reconnect (to another node). */
  drain(): void {}

  /** Ends every stream with a `retry` hint; EventSource reconnects after it (to another node) and resumes. */
  close(): void {
    clearInterval(this.#heartbeat);
    const hint = Buffer.from(`retry: ${this.#options.retry}\n\n`);
    for (const [stream, res] of this.#streams) {
      stream.reason ??= 'shutdown';
      // Now, not when the response's close comes: the streams are forgotten here, before the hub closes.
      this.#reportClosed(stream);
      stream.write(hint);
      stream.end();
      res.end();
    }
    this.#streams.clear();
  }

  /** The stream's `connection_closed` webhook event. */
  #reportClosed(stream: SseStream): void {
    const identity = this.#identities.get(stream);
    if (identity !== undefined) emitConnectionClosed(this.#hub.webhooks, identity, stream.client, 'sse', stream.reason ?? 'client');
  }

  /** Drops every stream abruptly (tests of connection loss). */
  dropAll(): void {
    for (const res of this.#streams.values()) res.destroy();
  }
}
