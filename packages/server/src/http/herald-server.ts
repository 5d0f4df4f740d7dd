import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkChannelName, ErrorCode } from '@herald/protocol';
import type { Broker, PresenceStore } from '../engine/broker.js';
import type { HistoryOptions } from '../engine/history-policy.js';
import { toWireError } from '../errors.js';
import { Hub } from '../hub/hub.js';
import { silentLogger, type Logger } from '../logger.js';
import { MemoryBroker } from '../memory/memory-broker.js';
import { MemoryPresenceStore } from '../memory/memory-presence-store.js';
import { DEFAULT_SEND_QUEUE_BYTES } from '../transport/outbox.js';
import { PollingTransport } from '../transport/polling-transport.js';
import { SseTransport } from '../transport/sse-transport.js';
import { WsTransport } from '../transport/ws-transport.js';
import { handlePublish } from './publish-route.js';
import { sendError, sendJson } from './respond.js';

/** Options of {@link createHeraldServer}. Sizes in bytes, durations in milliseconds unless noted. */
export interface HeraldServerOptions extends HistoryOptions {
  /** The engine. @default a new {@link MemoryBroker} with the history options */
  readonly broker?: Broker;
  /** @default a new {@link MemoryPresenceStore} */
  readonly presence?: PresenceStore;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** Largest `POST /api/publish` body. @default 1048576 (1 MiB) */
  readonly maxBodyBytes?: number;
  /** Largest WebSocket frame from a client. @default 65536 (64 KiB) */
  readonly maxMessageBytes?: number;
  /** Channels per WebSocket session, SSE stream or polling request. @default 128 */
  readonly maxChannels?: number;
  /** Bytes a session may have waiting before it is dropped as a slow consumer. @default 1048576 */
  readonly sendQueueBytes?: number;
  /** WebSocket ping interval; a session that missed the previous pong is dropped. @default 25000 */
  readonly pingInterval?: number;
  /** SSE heartbeat interval. @default 15000 */
  readonly heartbeatInterval?: number;
  /** SSE `retry:` hint. @default 2000 */
  readonly sseRetry?: number;
  /** Longest long-poll `wait`, in seconds. @default 60 */
  readonly maxWait?: number;
  /** `Access-Control-Allow-Origin` for the HTTP API and SSE; `undefined` sends no CORS headers. @default undefined */
  readonly allowOrigin?: string;
  /** Transports to serve; a disabled one answers 404 (the WebSocket upgrade is refused). @default all enabled */
  readonly transports?: { readonly websocket?: boolean; readonly sse?: boolean; readonly polling?: boolean };
  /** HTML served at `GET /`; `undefined` answers 404 there. */
  readonly landingPage?: string;
  /** Extra routes tried before the built-in ones; return true when handled. */
  readonly routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;
}

/** A running Herald HTTP server. */
export interface HeraldServer {
  readonly hub: Hub;
  readonly server: Server;
  /** Listens; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /** The bound port (after `listen`). */
  readonly port: number;
  /** Counts of open sessions per transport. */
  stats(): { websocket: number; sse: number; polling: number };
  /** Drops every WebSocket and SSE connection abruptly, without close codes (for tests of connection loss). */
  dropConnections(): void;
  /**
   * Graceful stop: WebSocket sessions are closed with 4001, SSE streams end (clients reconnect after
   * `retry`), held polls are answered, then the engine is closed.
   */
  close(): Promise<void>;
}

function positive(name: string, value: number | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} > 0`);
  }
  return value;
}

/** Creates the hub and its HTTP server: `/healthz`, `/api/publish`, `/api/messages`, `/events`, `/ws`. */
export function createHeraldServer(options: HeraldServerOptions = {}): HeraldServer {
  const logger = options.logger ?? silentLogger;
  const broker = options.broker ?? new MemoryBroker(options);
  const presence = options.presence ?? new MemoryPresenceStore();
  const hub = new Hub({ broker, presence, logger });
  const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, 1024 * 1024);
  const maxChannels = positive('maxChannels', options.maxChannels, 128);
  const sendQueueBytes = positive('sendQueueBytes', options.sendQueueBytes, DEFAULT_SEND_QUEUE_BYTES);
  const allowOrigin = options.allowOrigin;
  const corsHeaders: Record<string, string> = allowOrigin === undefined ? {} : { 'Access-Control-Allow-Origin': allowOrigin, Vary: 'Origin' };
  const headers = (): Record<string, string> => corsHeaders;

  const ws = new WsTransport(
    hub,
    {
      maxChannels,
      sendQueueBytes,
      maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, 64 * 1024),
      pingInterval: positive('pingInterval', options.pingInterval, 25_000),
    },
    logger,
  );
  const sse = new SseTransport(
    hub,
    {
      maxChannels,
      sendQueueBytes,
      heartbeatInterval: positive('heartbeatInterval', options.heartbeatInterval, 15_000),
      retry: positive('sseRetry', options.sseRetry, 2000),
      headers,
    },
    logger,
  );
  const polling = new PollingTransport(hub, { maxChannels, maxWait: positive('maxWait', options.maxWait, 60, false), headers });
  const enabled = { websocket: options.transports?.websocket !== false, sse: options.transports?.sse !== false, polling: options.transports?.polling !== false };
  let ready = false;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://herald.invalid');
    } catch {
      return sendError(res, { code: ErrorCode.InvalidField, message: 'malformed request URL' }, corsHeaders);
    }
    if (options.routes?.(req, res, url) === true) return;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (method === 'OPTIONS' && allowOrigin !== undefined) {
      res.writeHead(204, {
        ...corsHeaders,
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Last-Event-ID, Authorization',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const allow = (methods: string): boolean => {
      if (methods.split(',').includes(method)) return true;
      res.setHeader('Allow', methods);
      sendError(res, { code: ErrorCode.MethodNotAllowed, message: `${path} accepts ${methods}` }, corsHeaders);
      return false;
    };
    switch (path) {
      case '/healthz':
        if (!allow('GET,HEAD')) return;
        if (!ready) return sendError(res, { code: ErrorCode.Unavailable, message: 'not ready' }, corsHeaders);
        return sendJson(res, 200, { status: 'ok' }, corsHeaders);
      case '/api/publish':
        if (!allow('POST')) return;
        return handlePublish(hub, req, res, maxBodyBytes, corsHeaders);
      case '/api/messages':
        if (!enabled.polling) break;
        if (!allow('GET')) return;
        return polling.handle(req, res, url.searchParams);
      case '/api/presence': {
        if (!allow('GET')) return;
        const channel = checkChannelName(url.searchParams.get('channel') ?? '');
        if (!channel.ok) return sendError(res, channel.error, corsHeaders);
        try {
          return sendJson(res, 200, { channel: channel.value, members: await hub.presence(channel.value) }, corsHeaders);
        } catch (error) {
          return sendError(res, toWireError(error), corsHeaders);
        }
      }
      case '/events':
        if (!enabled.sse) break;
        if (!allow('GET')) return;
        return sse.handle(req, res, url.searchParams);
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
        return sendError(res, { code: ErrorCode.InvalidField, message: '/ws expects a WebSocket upgrade' }, corsHeaders);
    }
    return sendError(res, { code: ErrorCode.NotFound, message: `no route for ${method} ${path}` }, corsHeaders);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      if (!res.headersSent) sendError(res, { code: ErrorCode.Internal, message: 'internal error' }, corsHeaders);
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/ws' || !enabled.websocket || !ready) {
      socket.end(`HTTP/1.1 ${path !== '/ws' || !enabled.websocket ? '404 Not Found' : '503 Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    ws.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
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
    dropConnections() {
      ws.terminateAll();
      sse.destroyAll();
    },
    close() {
      closing ??= (async () => {
        ready = false;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        ws.close();
        sse.close();
        polling.close();
        server.closeIdleConnections();
        await hub.close();
        await broker.close();
        await presence.close();
        // Connections that finished their last response meanwhile are idle now.
        server.closeIdleConnections();
        // Connections that do not finish within a second are cut.
        const force = setTimeout(() => server.closeAllConnections(), 1000);
        await stopped;
        clearTimeout(force);
      })();
      return closing;
    },
  };
}
