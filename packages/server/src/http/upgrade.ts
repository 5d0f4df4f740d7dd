import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import { toWireError } from '../errors.js';
import { nextSessionId } from '../transport/session-id.js';
import type { Logger } from '../logger.js';
import type { ConnectionLimiter } from '../transport/connection-limiter.js';
import type { WsTransport } from '../transport/ws-transport.js';
import { chooseSubprotocol, offeredSubprotocols } from '../transport/ws-wire.js';
import type { Readiness } from './readiness.js';
import { headTooLargeBody, tooManyHeaders } from './request-head.js';
import { RETRY_AFTER } from './respond.js';

/** What {@link upgradeListener} checks an upgrade against before handing it to the WebSocket transport. */
export interface UpgradeParts {
  readonly ws: WsTransport;
  /** False: every upgrade answers 404, as `/ws` does. */
  readonly enabled: boolean;
  readonly readiness: Readiness;
  readonly security: Security;
  readonly connections: ConnectionLimiter;
  /** Reported in a 431; undefined when mounted (the app server's `maxHeaderSize` applies). */
  readonly maxHeaderBytes: number | undefined;
  readonly logger: Logger;
}

const NO_SUBPROTOCOL =
  'the hub speaks only the WebSocket subprotocols herald.compact and herald.msgpack: offer one of them or send no Sec-WebSocket-Protocol header';

/** An HTTP answer written to a socket that never became a response (upgrades), closing it. */
const rawResponse = (status: string, body = '', retryAfter?: number): string =>
  `HTTP/1.1 ${status}\r\nConnection: close\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** Shared by every upgraded socket: an error ends it (no closure per connection). */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/**
 * Answers an upgrade the hub took (its `/ws`, or another path under its mount path: `isWs` false).
 * In order: head too large (431), not `/ws` or WebSocket disabled (404), node not ready (503), a
 * only subprotocols the hub does not speak offered (400), origin not allowed (403), credentials refused or the connect hook
 * denied (401), the connect hook unable to decide (503), connection limits (429, or 503 when the
 * hub is full); then the WebSocket transport takes the socket.
 */
export function upgradeHandler(parts: UpgradeParts): (req: IncomingMessage, socket: Duplex, head: Buffer, isWs: boolean) => void {
  const { ws, readiness, security, connections, maxHeaderBytes } = parts;
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer, isWs: boolean): Promise<void> => {
    if (tooManyHeaders(req)) return void socket.end(rawResponse('431 Request Header Fields Too Large', headTooLargeBody(maxHeaderBytes)));
    if (!isWs || !parts.enabled) return void socket.end(rawResponse('404 Not Found'));
    const url = req.url ?? '';
    const query = url.indexOf('?');
    if (!readiness.ready) return void socket.end(rawResponse('503 Service Unavailable'));
    // A client that needs a subprotocol the hub does not speak (mqtt, …) must not be told it got it.
    const offer = req.headers['sec-websocket-protocol'];
    if (offer !== undefined && chooseSubprotocol(offeredSubprotocols(offer)) === undefined)
      return void socket.end(
        rawResponse('400 Bad Request', JSON.stringify({ error: { code: ErrorCode.InvalidField, message: NO_SUBPROTOCOL } })),
      );
    // Cross-site WebSocket hijacking: a foreign page gets 403 before any 101.
    if (!security.originAllowed(req.headers.origin))
      return void socket.end(
        rawResponse('403 Forbidden', JSON.stringify({ error: { code: ErrorCode.Forbidden, message: 'origin is not allowed' } })),
      );
    let identity: Identity;
    // The session's id, allocated now: the connect hook is told it.
    const client = nextSessionId();
    try {
      // The query alone, parsed only when there is one (most upgrades have none): a whole URL parse per upgrade costs more.
      const params = new URLSearchParams(query === -1 ? '' : url.slice(query + 1).split('#', 1)[0]);
      ({ identity } = await security.identify(req, params, { transport: 'websocket', client }));
    } catch (error) {
      const wire = toWireError(error);
      if (wire.code === ErrorCode.HookUnavailable)
        return void socket.end(rawResponse('503 Service Unavailable', JSON.stringify({ error: wire }), RETRY_AFTER.unavailable));
      return void socket.end(rawResponse('401 Unauthorized', JSON.stringify({ error: wire })));
    }
    const slot = connections.acquire(req.socket, identity.user);
    if ('refused' in slot) {
      const [status, retryAfter] =
        slot.code === ErrorCode.Unavailable
          ? ['503 Service Unavailable', RETRY_AFTER.unavailable]
          : ['429 Too Many Requests', RETRY_AFTER.rateLimited];
      return void socket.end(rawResponse(status, JSON.stringify({ error: { code: slot.code, message: slot.refused } }), retryAfter));
    }
    if (socket.destroyed) return slot.release();
    ws.handleUpgrade(req, socket, head, identity, slot, client);
  };
  return (req, socket, head, isWs) => {
    socket.on('error', destroySocket);
    upgrade(req, socket, head, isWs).catch((error: unknown) => {
      parts.logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  };
}
