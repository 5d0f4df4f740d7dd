import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { Security } from '../auth/security.js';
import { systemClock } from '../clock.js';
import type { Broker, PresenceStore } from '../engine/broker.js';
import { DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_TTL } from '../engine/history-policy.js';
import { Hub } from '../hub/hub.js';
import { silentLogger } from '../logger.js';
import { MemoryBroker } from '../memory/memory-broker.js';
import { MemoryPresenceStore } from '../memory/memory-presence-store.js';
import { Metrics } from '../metrics/metrics.js';
import { ConnectionLimiter } from '../transport/connection-limiter.js';
import { PollingTransport } from '../transport/polling-transport.js';
import { SseTransport } from '../transport/sse-transport.js';
import type { ConnectionMatch, TransportName } from '../transport/transport.js';
import { TransportRegistry } from '../transport/transport-registry.js';
import { WsTransport } from '../transport/ws-transport.js';
import { admitRequest } from './connection-budget.js';
import { followDisconnects } from './control-messages.js';
import { Readiness } from './readiness.js';
import { answerClientError, headTooLargeBody, MAX_REQUEST_HEADERS, tooManyHeaders } from './request-head.js';
import { sendError, sendJsonText } from './respond.js';
import { routeTable } from './route-table.js';
import { createRouter } from './router.js';
import { resolveLimits, type HeraldServerOptions } from './server-options.js';
import { upgradeListener } from './upgrade.js';

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
  disconnect(match: ConnectionMatch): number;
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

/**
 * Creates the hub and its HTTP server: `/healthz`, `/metrics`, `/api/publish`, `/api/messages`,
 * `/api/history`, `/api/presence`, `/api/ticket`, `/api/disconnect`, `/events`, `/ws`. The
 * composition root: the only place that picks concrete parts (engine, transports, routes) and wires
 * them; each part lives in its own file.
 */
export function createHeraldServer(options: HeraldServerOptions = {}): HeraldServer {
  const limits = resolveLimits(options);
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const security = new Security(options.security ?? {}, clock);
  const broker: Broker =
    options.broker ??
    new MemoryBroker({
      ...options,
      clock,
      historyFor:
        options.historyFor ??
        security.permissions.historyFor({
          size: options.historySize ?? DEFAULT_HISTORY_SIZE,
          ttl: options.historyTtl ?? DEFAULT_HISTORY_TTL,
        }),
    });
  const presence: PresenceStore = options.presence ?? new MemoryPresenceStore();
  const readiness = new Readiness();
  const engineAvailable = (): boolean => broker.isAvailable?.() !== false && presence.isAvailable?.() !== false;
  const transports = new TransportRegistry<TransportName>();
  const metrics: Metrics | undefined =
    options.metrics === false
      ? undefined
      : new Metrics({
          connections: () => transports.counts(),
          activeChannels: () => hub.activeChannels,
          ready: () => readiness.ready,
          engineAvailable,
        });
  const hub: Hub = new Hub({
    broker,
    presence,
    logger,
    ...(metrics && { observer: metrics.observer }),
    ...(options.positionCheckInterval !== undefined && { positionCheckInterval: options.positionCheckInterval }),
    ...(options.idempotencyTtl !== undefined && { idempotencyTtl: options.idempotencyTtl }),
  });
  const connections = new ConnectionLimiter(limits.connectionsPerIp, limits.connectionsPerUser, limits.maxConnections);
  const { maxChannels, sendQueueBytes, maxResponseBytes } = limits;
  const ws = transports.add(
    new WsTransport(
      hub,
      {
        maxChannels,
        sendQueueBytes,
        maxResponseBytes,
        maxMessageBytes: limits.maxMessageBytes,
        pingInterval: limits.pingInterval,
        commandsPerSecond: limits.commandsPerSecond,
        commandBurst: limits.commandBurst,
        claimUser: (user) => connections.acquireUser(user),
        ...(metrics && { onSlowConsumer: () => metrics.slowConsumer('websocket') }),
      },
      logger,
      security,
      clock,
    ),
  );
  const sse = transports.add(
    new SseTransport(
      hub,
      {
        maxChannels,
        sendQueueBytes,
        heartbeatInterval: limits.heartbeatInterval,
        retry: limits.sseRetry,
        ...(metrics && { onSlowConsumer: () => metrics.slowConsumer('sse') }),
      },
      logger,
      security,
      clock,
    ),
  );
  const polling = transports.add(
    new PollingTransport(
      hub,
      {
        maxChannels,
        maxWait: limits.maxWait,
        maxResponseBytes,
        sendQueueBytes,
        clock,
        hold: (req, identity) => connections.acquire(req.socket, identity.user),
      },
      security,
    ),
  );
  const nodeId = randomBytes(9).toString('base64url');
  followDisconnects(hub, transports, nodeId, logger);
  const enabled = {
    websocket: options.transports?.websocket !== false,
    sse: options.transports?.sse !== false,
    polling: options.transports?.polling !== false,
  };

  const route = createRouter(
    routeTable({
      hub,
      security,
      logger,
      readiness,
      engineAvailable,
      metrics,
      connections,
      transports,
      sse,
      polling,
      enabled,
      maxBodyBytes: limits.maxBodyBytes,
      nodeId,
      landingPage: options.landingPage,
    }),
    security,
    options.routes,
  );
  const { maxHeaderBytes } = limits;
  const server = createServer(
    { headersTimeout: limits.headersTimeout, requestTimeout: 30_000, connectionsCheckingInterval: 1000, maxHeaderSize: maxHeaderBytes },
    (req, res) => {
      if (tooManyHeaders(req))
        return sendJsonText(res, 431, headTooLargeBody(maxHeaderBytes), { 'Access-Control-Allow-Origin': '*', Connection: 'close' });
      if (!admitRequest(req, res)) return;
      route(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'request failed');
        if (!res.headersSent) sendError(res, { code: ErrorCode.Internal, message: 'internal error' });
        else res.destroy();
      });
    },
  );
  server.maxHeadersCount = MAX_REQUEST_HEADERS;
  server.on('upgrade', upgradeListener({ ws, enabled: enabled.websocket, readiness, security, connections, maxHeaderBytes, logger }));
  server.on('clientError', (error: Error, socket) => answerClientError(error, socket, maxHeaderBytes));

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
          readiness.listening();
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    stats: () => transports.counts(),
    disconnect: (match) => transports.disconnect(match),
    dropConnections: () => transports.dropAll(),
    drain() {
      readiness.drain();
      transports.drain();
    },
    close() {
      closing ??= (async () => {
        readiness.drain();
        transports.drain();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        transports.close();
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
          transports.dropAll();
        }, 1000);
        await stopped;
        clearTimeout(force);
      })();
      return closing;
    },
  };
}
