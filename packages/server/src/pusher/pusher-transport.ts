import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type Server as WsServer } from 'ws';
import type { Clock } from '../clock.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import { UNLIMITED, type ConnectionSlot } from '../transport/connection-limiter.js';
import { RateLimiter } from '../transport/rate-limiter.js';
import { SessionSocket } from '../transport/session-socket.js';
import { matchesConnection, type ConnectionInfo, type ConnectionMatch, type Transport } from '../transport/transport.js';
import { PusherCode, utf8Prefix } from './pusher-close-codes.js';
import { PusherConnection, type PusherContext } from './pusher-connection.js';
import type { PusherApp, ResolvedPusherOptions } from './pusher-door-options.js';
import { nextSocketId } from './pusher-socket-id.js';

/** Options of {@link PusherTransport}. */
export interface PusherTransportOptions {
  readonly pusher: ResolvedPusherOptions;
  readonly maxChannels: number;
  readonly sendQueueBytes: number;
  /** Largest client frame in bytes; bigger frames close the connection with 1009. */
  readonly maxMessageBytes: number;
  /** Frames per second per connection, on average (Herald's `commandsPerSecond`). */
  readonly framesPerSecond: number;
  /** Frames a connection may send at once (Herald's `commandBurst`). */
  readonly frameBurst: number;
  /** Told when a connection is dropped as a slow consumer. */
  readonly onSlowConsumer?: () => void;
}

/** Why a connection is refused right after the WebSocket handshake (Pusher refuses in-band). */
export interface PusherRefusal {
  readonly code: number;
  readonly message: string;
}

/**
 * The Pusher protocol connections (transport `pusher`): upgrades with `ws`, one
 * {@link PusherConnection} each, the server-side keepalive, and the counting, listing and closing
 * every transport offers, plus {@link PusherTransport.terminateUser} for the HTTP API.
 */
export class PusherTransport implements Transport<'pusher'> {
  readonly name = 'pusher';
  readonly #context: PusherContext;
  readonly #connections = new Set<PusherConnection>();
  readonly #wss: WsServer<typeof SessionSocket>;
  readonly #keepAlive: NodeJS.Timeout;

  constructor(hub: Hub, options: PusherTransportOptions, logger: Logger, clock: Clock) {
    const { pusher } = options;
    this.#context = {
      hub,
      logger,
      clock,
      activityTimeout: pusher.activityTimeout,
      maxChannels: options.maxChannels,
      sendQueueBytes: options.sendQueueBytes,
      connections: this.#connections,
      frames: new RateLimiter(options.framesPerSecond, options.frameBurst),
      framesPerSecond: options.framesPerSecond,
      clientEvents: new Map(
        pusher.apps.map((app) => [app.id, new RateLimiter(app.clientEventsPerSecond, Math.max(1, Math.floor(app.clientEventsPerSecond)))]),
      ),
      slowConsumer: options.onSlowConsumer ?? (() => undefined),
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: () => false,
      WebSocket: SessionSocket,
    });
    const activityMs = pusher.activityTimeout * 1000;
    const pongMs = pusher.pongTimeout * 1000;
    // A quarter of the shorter timeout: a ping goes out at most 25% late, a dead peer is closed at most 25% late.
    const every = Math.max(250, Math.min(activityMs, pongMs) / 4);
    this.#keepAlive = setInterval(() => {
      const at = performance.now();
      for (const connection of this.#connections) if (connection.open) connection.keepAlive(at, activityMs, pongMs);
    }, every);
    this.#keepAlive.unref();
  }

  /** Open connections (not counting those closing). */
  get size(): number {
    let open = 0;
    for (const connection of this.#connections) if (connection.open) open++;
    return open;
  }

  /**
   * Upgrades a request the door checked: a connection of `app`, or, with `refusal` (unknown key,
   * protocol version), a socket that gets `pusher:error` and the close code at once (pusher-js reads
   * the code to decide whether to reconnect). `slot` is released when it closes.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, app: PusherApp | PusherRefusal, slot: ConnectionSlot): void {
    const upgraded = { done: false };
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded.done = true;
      if ('code' in app) {
        // The release first: nothing below may leave the slot counted.
        ws.once('close', () => slot.release());
        setTimeout(() => ws.terminate(), 1000).unref();
        try {
          ws.send(JSON.stringify({ event: 'pusher:error', data: { code: app.code, message: app.message } }));
          ws.close(app.code, utf8Prefix(app.message));
        } catch {
          ws.terminate();
        }
        return;
      }
      this.#connections.add(new PusherConnection(ws, socket, this.#context, app, slot, nextSocketId()));
    });
    if (!upgraded.done && slot !== UNLIMITED) socket.once('close', () => slot.release());
  }

  /** Closes the connections `match` names (`user`: the `pusher:signin` user, `client`: the socket_id) with 4009; returns how many. */
  disconnect(match: ConnectionMatch): number {
    let count = 0;
    for (const connection of this.#connections) {
      if (connection.open && matchesConnection(match, connection.user, connection.socketId)) {
        connection.close(PusherCode.Unauthorized, 'disconnected by the server');
        count++;
      }
    }
    return count;
  }

  /**
   * Ends app `appId`'s connections signed in as `userId` (Pusher's `terminate_connections`) with
   * 4009, which pusher-js does not reconnect from; returns how many. Only this node's: the HTTP API
   * tells the other nodes.
   */
  terminateUser(appId: string, userId: string): number {
    let count = 0;
    for (const connection of this.#connections) {
      if (connection.open && connection.app.id === appId && connection.user === userId) {
        connection.close(PusherCode.Unauthorized, 'connections of this user were terminated');
        count++;
      }
    }
    return count;
  }

  list(): ConnectionInfo[] {
    const open: ConnectionInfo[] = [];
    for (const connection of this.#connections) if (connection.open) open.push(connection.describe());
    return open;
  }

  /** Nothing to do: new upgrades are refused (503) while the node is not ready; open connections go on until {@link close}. */
  drain(): void {}

  /** Closes every connection with 4200, which pusher-js reconnects from at once (to another node), and stops the keepalive. */
  close(): void {
    clearInterval(this.#keepAlive);
    for (const connection of this.#connections) connection.close(PusherCode.ReconnectNow, 'server shutting down: reconnect');
    this.#wss.close();
  }

  dropAll(): void {
    for (const connection of this.#connections) connection.terminate();
  }
}
