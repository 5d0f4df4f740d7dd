import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionMatch, TransportCounts } from '../transport/transport.js';
import { composeHerald, type Herald } from './herald.js';
import { answerClientError, MAX_REQUEST_HEADERS } from './request-head.js';
import { resolveLimits, type HeraldServerOptions } from './server-options.js';

/** A running Herald HTTP server: a {@link Herald} on a `node:http` server of its own. */
export interface HeraldServer {
  readonly hub: Herald['hub'];
  readonly server: Server;
  readonly security: Herald['security'];
  /** The hub itself, e.g. to {@link Herald.attach} it to a second server or to `publish`. */
  readonly herald: Herald;
  /** Listens; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /** The bound port (after `listen`). */
  readonly port: number;
  /** Counts of open sessions per transport. */
  stats(): TransportCounts;
  /** Ends the WebSocket sessions, SSE streams and polling sessions of a user or a session id; returns how many. */
  disconnect(match: ConnectionMatch): number;
  /** Drops every WebSocket and SSE connection abruptly, without close codes (for tests of connection loss). */
  dropConnections(): void;
  /**
   * Marks the node not ready: `/readyz` (`/healthz`) and new WebSocket upgrades answer `503`,
   * everything else (`/livez` too) keeps working. Call it some time before {@link close} so a load balancer stops routing here
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
 * Creates the hub ({@link composeHerald}, as `createHerald` does) and a `node:http` server for it
 * alone: `/livez`, `/readyz`, `/healthz`, `/metrics`, `/api/publish`, `/api/messages`, `/api/history`, `/api/presence`,
 * `/api/ticket`, `/api/disconnect`, `/events`, `/ws` (under `path` when given; every other path
 * answers 404). The server is hardened for a hub facing the internet: `headersTimeout`,
 * `maxHeaderBytes` and at most 200 headers (431 with a JSON body), a 30 s `requestTimeout`,
 * unparseable requests answered 400. Ready (`/readyz` 200) once it listens.
 */
export function createHeraldServer(options: HeraldServerOptions = {}): HeraldServer {
  const limits = resolveLimits(options);
  const { maxHeaderBytes } = limits;
  const { herald, readiness, serveAll, upgradeAll, closeHub } = composeHerald(options, { maxHeaderBytes });
  const server = createServer(
    { headersTimeout: limits.headersTimeout, requestTimeout: 30_000, connectionsCheckingInterval: 1000, maxHeaderSize: maxHeaderBytes },
    serveAll,
  );
  server.maxHeadersCount = MAX_REQUEST_HEADERS;
  server.on('upgrade', upgradeAll);
  server.on('clientError', (error: Error, socket) => answerClientError(error, socket, maxHeaderBytes));

  let closing: Promise<void> | undefined;
  return {
    hub: herald.hub,
    server,
    security: herald.security,
    herald,
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
    stats: () => herald.stats(),
    disconnect: (match) => herald.disconnect(match),
    dropConnections: () => herald.dropConnections(),
    drain: () => herald.drain(),
    close() {
      closing ??= (async () => {
        herald.drain();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const hubClosed = closeHub();
        server.closeIdleConnections();
        await hubClosed;
        // Connections that finished their last response meanwhile are idle now.
        server.closeIdleConnections();
        // Connections that do not finish within a second are cut (upgraded sockets too: a peer that
        // never answers the close frame must not hold the shutdown for ws's 30 s close timeout).
        const force = setTimeout(() => {
          server.closeAllConnections();
          herald.dropConnections();
        }, 1000);
        await stopped;
        clearTimeout(force);
        // Leaves the servers the hub was attached to besides its own (the hub is closed already).
        await herald.close();
      })();
      return closing;
    },
  };
}
