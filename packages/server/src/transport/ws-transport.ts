import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '@herald/protocol';
import { WebSocketServer } from 'ws';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import { WsSession, type WsSessionLimits } from './ws-session.js';

/** Options of {@link WsTransport}. */
export interface WsTransportOptions extends WsSessionLimits {
  /** Largest client frame in bytes; bigger frames close the connection with 1009. */
  readonly maxMessageBytes: number;
  /** Milliseconds between pings; a session that has not answered the previous ping is dropped. */
  readonly pingInterval: number;
}

/**
 * The WebSocket transport at `/ws`: upgrades with `ws` (no per-message deflate), then hands each
 * connection to a {@link WsSession}.
 */
export class WsTransport {
  readonly #hub: Hub;
  readonly #logger: Logger;
  readonly #options: WsTransportOptions;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Set<WsSession>();
  readonly #pinger: NodeJS.Timeout;

  constructor(hub: Hub, options: WsTransportOptions, logger: Logger) {
    this.#hub = hub;
    this.#options = options;
    this.#logger = logger;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    this.#pinger = setInterval(() => this.#pingAll(), options.pingInterval);
    this.#pinger.unref();
  }

  /** Open sessions (not counting those closing). */
  get size(): number {
    let open = 0;
    for (const session of this.#sessions) if (session.open) open++;
    return open;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WsSession(ws, socket, this.#hub, this.#options, this.#logger);
      this.#sessions.add(session);
      ws.once('close', () => this.#sessions.delete(session));
    });
  }

  /** Closes every session with {@link CloseCode.ServerShutdown} and stops pinging. */
  close(): void {
    clearInterval(this.#pinger);
    for (const session of this.#sessions) session.close(CloseCode.ServerShutdown, 'server shutting down');
    this.#wss.close();
  }

  /** Drops every session at once without a close handshake (forced shutdown, tests of abrupt loss). */
  terminateAll(): void {
    for (const session of this.#sessions) session.terminate();
  }

  #pingAll(): void {
    for (const session of this.#sessions) {
      if (!session.open) continue;
      if (!session.alive) session.pingTimeout();
      else session.ping();
    }
  }
}
