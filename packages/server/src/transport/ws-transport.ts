import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '@herald/protocol';
import { WebSocketServer, type Server as WsServer } from 'ws';
import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { Clock } from '../clock.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { CompressionSettings } from './compression-options.js';
import { UNLIMITED, type ConnectionSlot } from './connection-limiter.js';
import { RateLimiter } from './rate-limiter.js';
import { SessionSocket } from './session-socket.js';
import { signedEncodings } from './signed-json.js';
import { matchesConnection, type ConnectionInfo, type ConnectionMatch, type Transport } from './transport.js';
import { chooseSubprotocol, wsWire } from './ws-wire.js';
import { acceptDeflateOffer, inflateSynchronously, PERMESSAGE_DEFLATE, WsDeflate } from './ws-deflate.js';
import { TakeoverDeflate, takeoverSupported } from './ws-deflate-takeover.js';
import type { Acks } from '../acks/acks.js';
import { WsSession, type UserClaim, type WsContext, type WsSessionLimits } from './ws-session.js';

/** Options of {@link WsTransport}. */
export interface WsTransportOptions extends WsSessionLimits {
  /** Largest client frame in bytes; bigger frames close the connection with 1009. */
  readonly maxMessageBytes: number;
  /** Milliseconds between pings; a session that has not answered the previous ping is dropped. */
  readonly pingInterval: number;
  /** Counts a session that authenticates after connecting against its user's connection limit. */
  readonly claimUser?: UserClaim;
  /** Told when a session is dropped as a slow consumer (metrics). */
  readonly onSlowConsumer?: () => void;
  /** permessage-deflate, when `compression.websocket` is on. @default off */
  readonly compression?: CompressionSettings | undefined;
  /** The hub's client acknowledgements (the `ack` command); without it `ack` is refused (1002). */
  readonly acks?: Acks | undefined;
}

/**
 * The WebSocket transport at `/ws`: upgrades with `ws`, then hands each connection to a
 * {@link WsSession} speaking the subprotocol it chose (plain JSON without one, `herald.compact` or
 * `herald.msgpack`, see `ws-wire.ts`). With compression on, the hub picks the client's
 * permessage-deflate offer ({@link acceptDeflateOffer}), `ws` answers it, the hub inflates
 * compressed commands ({@link inflateSynchronously}), and the session writes its own frames,
 * compressed once per message ({@link WsDeflate}).
 */
export class WsTransport implements Transport {
  readonly name = 'websocket';
  readonly #context: WsContext;
  readonly #wss: WsServer<typeof SessionSocket>;
  readonly #sessions = new Set<WsSession>();
  readonly #pinger: NodeJS.Timeout;
  readonly #deflate: boolean;
  /** With `compression.contextTakeover`: the window of a session's own compressor (else shared mode). */
  readonly #takeoverBits: number | undefined;
  readonly #compression: CompressionSettings | undefined;
  readonly #maxMessageBytes: number;

  constructor(hub: Hub, options: WsTransportOptions, logger: Logger, security: Security, clock: Clock) {
    const signed = signedEncodings(security.cursors);
    const compression = options.compression?.websocket === true ? options.compression : undefined;
    this.#deflate = compression !== undefined;
    this.#compression = compression;
    if (compression?.contextTakeover === true && !takeoverSupported) {
      logger.warn({}, 'compression.contextTakeover: this Node has no synchronous zlib handle; every session compresses in shared mode');
    }
    this.#takeoverBits = compression?.contextTakeover === true && takeoverSupported ? compression.windowBits : undefined;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#context = {
      hub,
      limits: options,
      logger,
      security,
      clock,
      sessions: this.#sessions,
      claimUser: options.claimUser ?? (() => UNLIMITED),
      slowConsumer: options.onSlowConsumer ?? (() => undefined),
      commands: new RateLimiter(options.commandsPerSecond, options.commandBurst),
      signed,
      deflate: compression === undefined ? undefined : new WsDeflate(compression, signed),
      acks: options.acks,
    };
    // handleProtocols: the client's first subprotocol the hub speaks (the upgrade refused offers of none with 400).
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      // Never used to compress (the sessions write their own frames) nor to inflate (see
      // inflateSynchronously): it answers the offer acceptDeflateOffer picked and reads RSV1.
      // With context takeover, ws echoes the offer acceptDeflateOffer rewrote (server_no_context_takeover
      // and server_max_window_bits as the hub is to use them).
      perMessageDeflate:
        compression !== undefined &&
        (this.#takeoverBits === undefined
          ? { serverNoContextTakeover: true, clientNoContextTakeover: true }
          : { clientNoContextTakeover: true }),
      clientTracking: false,
      handleProtocols: (offered: Set<string>) => chooseSubprotocol(offered) ?? false,
      WebSocket: SessionSocket,
    });
    this.#pinger = setInterval(() => this.#pingAll(), options.pingInterval);
    this.#pinger.unref();
  }

  /** Open sessions (not counting those closing). */
  get size(): number {
    let open = 0;
    for (const session of this.#sessions) if (session.open) open++;
    return open;
  }

  /**
   * Upgrades an authorised request; `slot` is released once the session ends, or once the socket
   * closes when the handshake fails. `client`: the session id the connect hook was told (else a new one).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, identity: Identity, slot: ConnectionSlot, client?: string): void {
    const upgraded = { session: false };
    // Kept only on a hub with a connect hook: a later `auth` is sent to it with these.
    const forwarded = this.#context.security.forwarded(req);
    let windowBits: number | undefined;
    if (this.#deflate) {
      const offer = acceptDeflateOffer(req.headers['sec-websocket-extensions'], this.#takeoverBits);
      if (offer === undefined) delete req.headers['sec-websocket-extensions'];
      else req.headers['sec-websocket-extensions'] = offer.header;
      windowBits = offer?.windowBits;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded.session = true;
      if (this.#deflate) inflateSynchronously(ws, this.#maxMessageBytes);
      const wire = wsWire(ws.protocol);
      // A session's own compressor, created on its first compressed frame and freed when it closes.
      const deflate =
        windowBits !== undefined && ws.extensions.includes(PERMESSAGE_DEFLATE)
          ? new TakeoverDeflate(this.#compression!, windowBits, this.#context.signed)
          : undefined;
      this.#sessions.add(new WsSession(ws, socket, this.#context, identity, slot, { client, forwarded, wire, deflate }));
    });
    // ws calls back at once, or refuses the handshake (a bad key or version: an answer, then the
    // socket is destroyed) and never calls back. Only that socket needs a close listener for its
    // slot; one on every socket would cost memory for as long as each session lasts.
    if (!upgraded.session && slot !== UNLIMITED) socket.once('close', () => slot.release());
  }

  /** Closes the sessions of a user or with a session id with {@link CloseCode.Disconnected}; returns how many. */
  disconnect(match: ConnectionMatch): number {
    let count = 0;
    for (const session of this.#sessions) {
      if (matchesConnection(match, session.user, session.client)) {
        session.close(CloseCode.Disconnected, 'disconnected by the server');
        count++;
      }
    }
    return count;
  }

  /** The open sessions (not those closing). */
  list(): ConnectionInfo[] {
    const open: ConnectionInfo[] = [];
    for (const session of this.#sessions) if (session.open) open.push(session.describe());
    return open;
  }

  /** Nothing to do: the upgrade refuses new sessions (503) while the node is not ready; open ones go on until {@link close}. */
  drain(): void {}

  /** Closes every session with {@link CloseCode.ServerShutdown} and stops pinging. */
  close(): void {
    clearInterval(this.#pinger);
    for (const session of this.#sessions) session.close(CloseCode.ServerShutdown, 'server shutting down');
    this.#wss.close();
  }

  /** Drops every session at once without a close handshake (forced shutdown, tests of abrupt loss). */
  dropAll(): void {
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
