import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkChannelName, ErrorCode, MAX_CURSOR_CHANNELS, type WireError } from '@herald/protocol';
import { idempotencyScope, type Identity } from '../auth/identity.js';
import { Security, type CredentialSource, type SecurityOptions } from '../auth/security.js';
import { ticketHolder, TicketRefusedError } from '../auth/ticket-limits.js';
import { systemClock, type Clock } from '../clock.js';
import { timerMs, timerSeconds } from '../timer-delay.js';
import type { Broker, PresenceStore } from '../engine/broker.js';
import { DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_TTL, type HistoryOptions } from '../engine/history-policy.js';
import { HeraldError, toWireError } from '../errors.js';
import { Hub } from '../hub/hub.js';
import { Metrics } from '../metrics/metrics.js';
import { silentLogger, type Logger } from '../logger.js';
import { MemoryBroker } from '../memory/memory-broker.js';
import { MemoryPresenceStore } from '../memory/memory-presence-store.js';
import { ConnectionLimiter, UNLIMITED } from '../transport/connection-limiter.js';
import { DEFAULT_SEND_QUEUE_BYTES } from '../transport/outbox.js';
import { PollingTransport } from '../transport/polling-transport.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../transport/read-cap.js';
import { SseTransport } from '../transport/sse-transport.js';
import { WsTransport } from '../transport/ws-transport.js';
import { admitRequest } from './connection-budget.js';
import { defaultMaxConnections } from './connection-capacity.js';
import { handlePublish } from './publish-route.js';
import { readBody } from './read-body.js';
import { answerClientError, headTooLargeBody, MAX_REQUEST_HEADERS, requestHeadBytes, tooManyHeaders } from './request-head.js';
import { RETRY_AFTER, sendError, sendJson, sendJsonText } from './respond.js';

/** Options of {@link createHeraldServer}. Sizes in bytes, durations in milliseconds unless noted. */
export interface HeraldServerOptions extends HistoryOptions {
  /** The engine. @default a new {@link MemoryBroker} with the history options (and per-namespace retention) */
  readonly broker?: Broker;
  /** @default a new {@link MemoryPresenceStore} */
  readonly presence?: PresenceStore;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Authentication, permissions, API keys, origins. @default open: anyone may do anything */
  readonly security?: SecurityOptions;
  /** Largest `POST /api/publish` body. @default 1048576 (1 MiB) */
  readonly maxBodyBytes?: number;
  /** Largest WebSocket frame from a client. @default 65536 (64 KiB) */
  readonly maxMessageBytes?: number;
  /** Channels per WebSocket session, SSE stream or polling request; at most 128 (a cursor's channels). @default 128 */
  readonly maxChannels?: number;
  /**
   * Largest request head (request line and headers); a bigger one gets `431` with code 1006. The
   * default fits the largest valid SSE or polling request for `maxChannels` channels (see
   * {@link requestHeadBytes}); it is also what one unauthenticated connection can make the hub buffer.
   * @default requestHeadBytes(maxChannels): 262912 for 128 channels
   */
  readonly maxHeaderBytes?: number;
  /**
   * Bytes a session may have waiting before it is dropped as a slow consumer; also the bytes of
   * answers one HTTP connection may have waiting (pipelined requests) before it is cut. @default 1048576
   */
  readonly sendQueueBytes?: number;
  /**
   * Bytes of message JSON in one answer to a read (`GET /api/messages`, `GET /api/history`, the
   * WebSocket `history` reply): fewer messages and `more: true` past it, but always at least one.
   * @default 1048576
   */
  readonly maxResponseBytes?: number;
  /** WebSocket commands per second per session, on average. @default 100 */
  readonly commandsPerSecond?: number;
  /** WebSocket commands a session may send at once. @default 200 */
  readonly commandBurst?: number;
  /** Open WebSocket sessions, SSE streams and held long polls per client IP. @default Infinity */
  readonly connectionsPerIp?: number;
  /** Open WebSocket sessions, SSE streams and held long polls per user. @default Infinity */
  readonly connectionsPerUser?: number;
  /**
   * Open WebSocket sessions, SSE streams and held long polls on the whole hub; past it they are
   * refused with 503, so the descriptors left serve health checks, publishes and short requests.
   * @default the process's open-file limit (Linux `/proc/self/limits`) minus 10 % (at least 64); Infinity where unknown
   */
  readonly maxConnections?: number;
  /** Time allowed to receive a request's headers (slowloris). @default 10000 */
  readonly headersTimeout?: number;
  /** WebSocket ping interval; a session that missed the previous pong is dropped. @default 25000 */
  readonly pingInterval?: number;
  /** SSE heartbeat interval. @default 15000 */
  readonly heartbeatInterval?: number;
  /** SSE `retry:` hint. @default 2000 */
  readonly sseRetry?: number;
  /** Longest long-poll `wait`, in seconds. @default 60 */
  readonly maxWait?: number;
  /** Transports to serve; a disabled one answers 404 (the WebSocket upgrade is refused). @default all enabled */
  readonly transports?: { readonly websocket?: boolean; readonly sse?: boolean; readonly polling?: boolean };
  /** HTML served at `GET /`; `undefined` answers 404 there. */
  readonly landingPage?: string;
  /** How often (ms) the hub checks quiet channels for messages the engine's live path dropped; 0 = never. @default 5000 */
  readonly positionCheckInterval?: number;
  /** Seconds a publish's idempotency key is remembered per channel. @default 300 */
  readonly idempotencyTtl?: number;
  /**
   * Serve Prometheus metrics at `GET /metrics` (only with the API key when API keys are configured).
   * @default true
   */
  readonly metrics?: boolean;
  /** Extra routes tried before the built-in ones; return true when handled. */
  readonly routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;
}

/** A running Herald HTTP server. */
export interface HeraldServer {
  readonly hub: Hub;
  readonly server: Server;
  readonly security: Security;
  /** Listens; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /** The bound port (after `listen`). */
  readonly port: number;
  /** Counts of open sessions per transport. */
  stats(): { websocket: number; sse: number; polling: number };
  /** Closes the WebSocket sessions and SSE streams of a user or a session id; returns how many. */
  disconnect(match: { user?: string; client?: string }): number;
  /** Drops every WebSocket and SSE connection abruptly, without close codes (for tests of connection loss). */
  dropConnections(): void;
  /**
   * Marks the node not ready: `/healthz` and new WebSocket upgrades answer `503`, everything else
   * keeps working. Call it some time before {@link close} so a load balancer stops routing here
   * while requests already on their way are still served.
   */
  drain(): void;
  /**
   * Graceful stop: WebSocket sessions are closed with 4001, SSE streams end (clients reconnect after
   * `retry`), held polls are answered, then the engine is closed.
   */
  close(): Promise<void>;
}

function limit(name: string, value: number | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  if (value === Infinity && fallback === Infinity) return value;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} > 0`);
  }
  return value;
}

/** Shared by every upgraded socket: an error ends it (no closure per connection). */
function destroySocket(this: Duplex): void {
  this.destroy();
}

const NO_SUBPROTOCOL = 'the hub speaks no WebSocket subprotocol: send no Sec-WebSocket-Protocol header';

const rawResponse = (status: string, body = '', retryAfter?: number): string =>
  `HTTP/1.1 ${status}\r\nConnection: close\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/**
 * Creates the hub and its HTTP server: `/healthz`, `/api/publish`, `/api/messages`, `/api/history`,
 * `/api/presence`, `/api/ticket`, `/api/disconnect`, `/events`, `/ws`.
 */
export function createHeraldServer(options: HeraldServerOptions = {}): HeraldServer {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const security = new Security(options.security ?? {}, clock);
  const permissions = security.permissions;
  const broker: Broker =
    options.broker ??
    new MemoryBroker({
      ...options,
      clock,
      historyFor:
        options.historyFor ??
        permissions.historyFor({ size: options.historySize ?? DEFAULT_HISTORY_SIZE, ttl: options.historyTtl ?? DEFAULT_HISTORY_TTL }),
    });
  const presence: PresenceStore = options.presence ?? new MemoryPresenceStore();
  let ready = false;
  let draining = false;
  const engineAvailable = (): boolean => broker.isAvailable?.() !== false && presence.isAvailable?.() !== false;
  const metrics: Metrics | undefined =
    options.metrics === false
      ? undefined
      : new Metrics({
          connections: () => ({ websocket: ws.size, sse: sse.size, polling: polling.size }),
          activeChannels: () => hub.activeChannels,
          ready: () => ready,
          engineAvailable: () => engineAvailable(),
        });
  const hub: Hub = new Hub({
    broker,
    presence,
    logger,
    ...(metrics && { observer: metrics.observer }),
    ...(options.positionCheckInterval !== undefined && { positionCheckInterval: options.positionCheckInterval }),
    ...(options.idempotencyTtl !== undefined && { idempotencyTtl: options.idempotencyTtl }),
  });
  const maxBodyBytes = limit('maxBodyBytes', options.maxBodyBytes, 1024 * 1024);
  const maxChannels = limit('maxChannels', options.maxChannels, MAX_CURSOR_CHANNELS);
  // An SSE stream's cursor covers all its channels; past this a reconnect could not resume.
  if (maxChannels > MAX_CURSOR_CHANNELS) throw new RangeError(`maxChannels must be at most ${MAX_CURSOR_CHANNELS} (the channels a cursor holds)`);
  const maxHeaderBytes = limit('maxHeaderBytes', options.maxHeaderBytes, requestHeadBytes(maxChannels));
  const sendQueueBytes = limit('sendQueueBytes', options.sendQueueBytes, DEFAULT_SEND_QUEUE_BYTES);
  const maxResponseBytes = limit('maxResponseBytes', options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES);
  const connections = new ConnectionLimiter(
    limit('connectionsPerIp', options.connectionsPerIp, Infinity),
    limit('connectionsPerUser', options.connectionsPerUser, Infinity),
    options.maxConnections === Infinity ? Infinity : limit('maxConnections', options.maxConnections, defaultMaxConnections()),
  );

  const ws = new WsTransport(
    hub,
    {
      maxChannels,
      sendQueueBytes,
      maxResponseBytes,
      maxMessageBytes: limit('maxMessageBytes', options.maxMessageBytes, 64 * 1024),
      pingInterval: timerMs('pingInterval', options.pingInterval, 25_000),
      commandsPerSecond: limit('commandsPerSecond', options.commandsPerSecond, 100, false),
      commandBurst: limit('commandBurst', options.commandBurst, 200),
      claimUser: (user) => connections.acquireUser(user),
      ...(metrics && { onSlowConsumer: () => metrics.slowConsumer('websocket') }),
    },
    logger,
    security,
    clock,
  );
  const sse = new SseTransport(
    hub,
    {
      maxChannels,
      sendQueueBytes,
      heartbeatInterval: timerMs('heartbeatInterval', options.heartbeatInterval, 15_000),
      // A browser's reconnect timer: past 2³¹ − 1 ms it fires at once, as Node's would.
      retry: timerMs('sseRetry', options.sseRetry, 2000),
      ...(metrics && { onSlowConsumer: () => metrics.slowConsumer('sse') }),
    },
    logger,
    security,
    clock,
  );
  const polling = new PollingTransport(
    hub,
    {
      maxChannels,
      maxWait: timerSeconds('maxWait', options.maxWait, 60),
      maxResponseBytes,
      sendQueueBytes,
      clock,
      hold: (req, identity) => connections.acquire(req.socket.remoteAddress ?? 'unknown', identity.user),
    },
    security,
  );
  const nodeId = randomBytes(9).toString('base64url');
  hub.onControl((payload) => {
    const message = parseControl(payload);
    if (message === undefined || message.node === nodeId) return;
    const n = ws.disconnect(message.target) + sse.disconnect(message.target);
    if (n > 0) logger.info({ ...message.target, sessions: n }, 'sessions disconnected on request of another node');
  });
  const enabled = {
    websocket: options.transports?.websocket !== false,
    sse: options.transports?.sse !== false,
    polling: options.transports?.polling !== false,
  };

  /** Who sent the request, or an error answer (then `undefined`). */
  const identify = async (
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    cors: Record<string, string>,
  ): Promise<{ identity: Identity; source: CredentialSource } | undefined> => {
    try {
      const who = await security.identify(req, params);
      if (security.requireAuth && !who.identity.authenticated) throw new HeraldError(ErrorCode.Unauthorized, 'this hub needs a token');
      return who;
    } catch (error) {
      sendError(res, toWireError(error), cors);
      return undefined;
    }
  };
  /** Browsers send cookies unasked: a cookie-authenticated write must name its (allowed) origin. */
  const csrfSafe = (req: IncomingMessage, res: ServerResponse, source: CredentialSource, cors: Record<string, string>): boolean => {
    if (source !== 'cookie' || req.headers.origin !== undefined) return true;
    sendError(res, { code: ErrorCode.Forbidden, message: 'a cookie-authenticated request must carry an Origin header' }, cors);
    return false;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const origin = req.headers.origin;
    const cors = security.corsHeaders(origin);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://herald.invalid');
    } catch {
      return sendError(res, { code: ErrorCode.InvalidField, message: 'malformed request URL' }, cors);
    }
    if (options.routes?.(req, res, url) === true) return;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (!security.originAllowed(origin)) {
      return sendError(res, { code: ErrorCode.Forbidden, message: `origin ${origin ?? ''} is not allowed` }, { Vary: 'Origin' });
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Last-Event-ID, Authorization, Idempotency-Key',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const allow = (methods: string): boolean => {
      if (methods.split(',').includes(method)) return true;
      res.setHeader('Allow', methods);
      sendError(res, { code: ErrorCode.MethodNotAllowed, message: `${path} accepts ${methods}` }, cors);
      return false;
    };
    const params = url.searchParams;
    switch (path) {
      case '/healthz':
        if (!allow('GET,HEAD')) return;
        if (!ready) return sendError(res, { code: ErrorCode.Unavailable, message: draining ? 'shutting down' : 'not ready' }, cors);
        if (!engineAvailable()) return sendError(res, { code: ErrorCode.Unavailable, message: 'the engine is unreachable' }, cors);
        return sendJson(res, 200, { status: 'ok' }, cors);
      case '/metrics': {
        if (metrics === undefined) break;
        if (!allow('GET')) return;
        if (security.hasApiKeys && !security.hasApiKey(req)) {
          return sendError(res, { code: ErrorCode.Unauthorized, message: '/metrics needs the API key (X-Herald-Key)' }, cors);
        }
        const text = await metrics.text();
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store', ...cors });
        res.end(text);
        return;
      }
      case '/api/publish': {
        if (!allow('POST')) return;
        const who = await identify(req, res, params, cors);
        if (who === undefined || !csrfSafe(req, res, who.source, cors)) return;
        return handlePublish(hub, req, res, maxBodyBytes, cors, (channel) => permissions.check(who.identity, 'publish', channel), idempotencyScope(who.identity));
      }
      case '/api/ticket': {
        if (!allow('POST')) return;
        const who = await identify(req, res, params, cors);
        if (who === undefined || !csrfSafe(req, res, who.source, cors)) return;
        // Without an authenticator (dev profile) tickets are anonymous, so clients work the same way.
        if ((security.authenticates && !who.identity.authenticated) || who.source === 'ticket' || who.identity.server === true) {
          return sendError(res, { code: ErrorCode.Unauthorized, message: 'a ticket needs a token (Authorization header or cookie)' }, cors);
        }
        try {
          return sendJson(res, 200, await security.tickets.issue(who.identity, ticketHolder(who.identity, req.socket.remoteAddress)), cors);
        } catch (error) {
          if (error instanceof TicketRefusedError) return sendError(res, error.toWire(), { ...cors, 'Retry-After': String(error.retryAfter) });
          logger.error({ err: error }, 'ticket not issued');
          return sendError(res, { code: ErrorCode.Unavailable, message: 'tickets are unavailable' }, cors);
        }
      }
      case '/api/messages':
      case '/api/history': {
        if (path === '/api/messages' && !enabled.polling) break;
        if (!allow('GET')) return;
        const who = await identify(req, res, params, cors);
        if (who === undefined) return;
        if (path === '/api/history') params.delete('wait');
        return polling.handle(req, res, params, who.identity, path === '/api/history' ? 'history' : 'subscribe', cors);
      }
      case '/api/presence': {
        if (!allow('GET')) return;
        const who = await identify(req, res, params, cors);
        if (who === undefined) return;
        const channel = checkChannelName(params.get('channel') ?? '');
        if (!channel.ok) return sendError(res, channel.error, cors);
        try {
          permissions.check(who.identity, 'presence', channel.value);
          return sendJson(res, 200, { channel: channel.value, members: await hub.presence(channel.value) }, cors);
        } catch (error) {
          return sendError(res, toWireError(error), cors);
        }
      }
      case '/api/disconnect': {
        if (!allow('POST')) return;
        if (!security.hasApiKey(req))
          return sendError(res, { code: ErrorCode.Unauthorized, message: '/api/disconnect needs the API key (X-Herald-Key)' }, cors);
        const body = await readBody(req, 4096);
        const target = body.ok ? parseDisconnect(body.value) : body.error;
        if ('code' in target) return sendError(res, target, cors);
        const disconnected = ws.disconnect(target) + sse.disconnect(target);
        if (!hub.clustered) return sendJson(res, 200, { disconnected }, cors);
        try {
          // The other nodes close their sessions of the target when the message reaches them.
          await hub.broadcast(JSON.stringify({ type: 'disconnect', node: nodeId, ...target }));
        } catch (error) {
          return sendError(res, toWireError(error), cors);
        }
        return sendJson(res, 200, { disconnected, nodes: 'all' }, cors);
      }
      case '/events': {
        if (!enabled.sse) break;
        if (!allow('GET')) return;
        const who = await identify(req, res, params, cors);
        if (who === undefined) return;
        const slot = connections.acquire(req.socket.remoteAddress ?? 'unknown', who.identity.user);
        if ('refused' in slot) return sendError(res, { code: slot.code, message: slot.refused }, { ...cors, Connection: 'close' });
        return sse.handle(req, res, params, who.identity, slot.release, cors);
      }
      case '/':
        if (options.landingPage !== undefined && allow('GET,HEAD')) {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
          res.end(options.landingPage);
          return;
        }
        break;
      case '/ws':
        if (!enabled.websocket) break;
        res.setHeader('Upgrade', 'websocket');
        return sendError(res, { code: ErrorCode.InvalidField, message: '/ws expects a WebSocket upgrade' }, cors);
    }
    return sendError(res, { code: ErrorCode.NotFound, message: `no route for ${method} ${path}` }, cors);
  };

  const server = createServer(
    // Node refuses a headersTimeout above the requestTimeout.
    { headersTimeout: timerMs('headersTimeout', options.headersTimeout, 10_000, 1, 30_000), requestTimeout: 30_000, connectionsCheckingInterval: 1000, maxHeaderSize: maxHeaderBytes },
    (req, res) => {
      if (tooManyHeaders(req)) return sendJsonText(res, 431, headTooLargeBody(maxHeaderBytes), { 'Access-Control-Allow-Origin': '*', Connection: 'close' });
      if (!admitRequest(req, res)) return;
      route(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'request failed');
        if (!res.headersSent) sendError(res, { code: ErrorCode.Internal, message: 'internal error' });
        else res.destroy();
      });
    },
  );

  server.maxHeadersCount = MAX_REQUEST_HEADERS;

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    if (tooManyHeaders(req)) return void socket.end(rawResponse('431 Request Header Fields Too Large', headTooLargeBody(maxHeaderBytes)));
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/ws' || !enabled.websocket) return void socket.end(rawResponse('404 Not Found'));
    if (!ready) return void socket.end(rawResponse('503 Service Unavailable'));
    // The hub speaks no subprotocol: a client that needs one (mqtt, …) must not be told it got it.
    if (req.headers['sec-websocket-protocol'] !== undefined)
      return void socket.end(rawResponse('400 Bad Request', JSON.stringify({ error: { code: ErrorCode.InvalidField, message: NO_SUBPROTOCOL } })));
    // Cross-site WebSocket hijacking: a foreign page gets 403 before any 101.
    if (!security.originAllowed(req.headers.origin))
      return void socket.end(
        rawResponse('403 Forbidden', JSON.stringify({ error: { code: ErrorCode.Forbidden, message: 'origin is not allowed' } })),
      );
    let identity: Identity;
    try {
      ({ identity } = await security.identify(req, new URL(req.url ?? '/', 'http://herald.invalid').searchParams));
    } catch (error) {
      return void socket.end(rawResponse('401 Unauthorized', JSON.stringify({ error: toWireError(error) })));
    }
    const slot = connections.acquire(req.socket.remoteAddress ?? 'unknown', identity.user);
    if ('refused' in slot) {
      const [status, retryAfter] = slot.code === ErrorCode.Unavailable ? ['503 Service Unavailable', RETRY_AFTER.unavailable] : ['429 Too Many Requests', RETRY_AFTER.rateLimited];
      return void socket.end(rawResponse(status, JSON.stringify({ error: { code: slot.code, message: slot.refused } }), retryAfter));
    }
    if (socket.destroyed) return slot.release();
    // Released when the socket goes, even if the handshake itself fails (release is idempotent).
    if (slot !== UNLIMITED) socket.once('close', slot.release);
    ws.handleUpgrade(req, socket, head, identity, slot.release);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroySocket);
    upgrade(req, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  });
  server.on('clientError', (error: Error, socket: Duplex) => answerClientError(error, socket, maxHeaderBytes));

  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
    security,
    get port() {
      return (server.address() as AddressInfo | null)?.port ?? 0;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          ready = true;
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    stats: () => ({ websocket: ws.size, sse: sse.size, polling: polling.size }),
    disconnect: (match) => ws.disconnect(match) + sse.disconnect(match),
    dropConnections() {
      ws.terminateAll();
      sse.destroyAll();
    },
    drain() {
      draining = true;
      ready = false;
    },
    close() {
      closing ??= (async () => {
        draining = true;
        ready = false;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        ws.close();
        sse.close();
        polling.close();
        server.closeIdleConnections();
        await hub.close();
        await broker.close();
        await presence.close();
        await security.tickets.close?.();
        metrics?.close();
        // Connections that finished their last response meanwhile are idle now.
        server.closeIdleConnections();
        // Connections that do not finish within a second are cut (upgraded sockets too: a peer that
        // never answers the close frame must not hold the shutdown for ws's 30 s close timeout).
        const force = setTimeout(() => {
          server.closeAllConnections();
          ws.terminateAll();
        }, 1000);
        await stopped;
        clearTimeout(force);
      })();
      return closing;
    },
  };
}

/** Reads a control message of another node (`{"type":"disconnect","node","user"|"client"}`). */
function parseControl(payload: string): { node: string; target: { user?: string; client?: string } } | undefined {
  try {
    const message = JSON.parse(payload) as Record<string, unknown>;
    if (message['type'] !== 'disconnect' || typeof message['node'] !== 'string') return undefined;
    const { user, client } = message;
    const target = {
      ...(typeof user === 'string' && user !== '' && { user }),
      ...(typeof client === 'string' && client !== '' && { client }),
    };
    return target.user === undefined && target.client === undefined ? undefined : { node: message['node'], target };
  } catch {
    return undefined;
  }
}

/** Reads `{"user"}` or `{"client"}` for `POST /api/disconnect`. */
function parseDisconnect(text: string): { user?: string; client?: string } | WireError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: ErrorCode.InvalidJson, message: 'body is not valid JSON' };
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const user = fields['user'];
  const client = fields['client'];
  if ((typeof user !== 'string' || user === '') && (typeof client !== 'string' || client === '')) {
    return new HeraldError(ErrorCode.InvalidField, 'body must name a user or a client: {"user": "…"} or {"client": "…"}').toWire();
  }
  return { ...(typeof user === 'string' && user !== '' && { user }), ...(typeof client === 'string' && client !== '' && { client }) };
}
