import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@herald/protocol';
import type { FrontDoor, FrontDoorFactory, FrontDoorParts } from '../http/front-door.js';
import type { FrontDoorContext } from '../http/front-doors.js';
import { headTooLargeBody, tooManyHeaders } from '../http/request-head.js';
import { RETRY_AFTER } from '../http/respond.js';
import { PusherCode, utf8Prefix } from './pusher-close-codes.js';
import { resolvePusherOptions, type PusherApp } from './pusher-door-options.js';
import type { PusherOptions } from './pusher-options.js';
import { PusherTransport, type PusherRefusal } from './pusher-transport.js';

/** Frames beyond `maxChannels` a client may send at once: a sign-in, a ping, an unsubscribe or two. */
const FRAME_BURST_HEADROOM = 8;

/** The path prefix of Pusher WebSocket connections: `/app/{key}`. */
export const PUSHER_WS_PREFIX = '/app/';

/** The Pusher protocol versions the door speaks (pusher-js 8 sends 7; 5 and 6 differ only in what the server may omit). */
const PROTOCOLS = new Set(['5', '6', '7']);

/** An HTTP answer on a socket that never became a response (a refused upgrade), closing it. */
const rawResponse = (status: string, body = '', retryAfter?: number | string): string =>
  `HTTP/1.1 ${status}\r\nConnection: close\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const errorBody = (code: string | number, message: string): string => JSON.stringify({ error: { code, message } });

/** Whether `path` (under the mount path) is `/app/{key}`. */
function isPusherPath(path: string): boolean {
  return path.startsWith(PUSHER_WS_PREFIX) && path.length > PUSHER_WS_PREFIX.length && !path.includes('/', PUSHER_WS_PREFIX.length);
}

/**
 * The Pusher Channels protocol 7 WebSocket door: `/app/{key}` (see `docs/pusher.md`). Checks the
 * options now (a bad one throws before anything starts); its transport `pusher` joins the server's.
 */
export function pusherWsDoor(options: PusherOptions, context: FrontDoorContext): FrontDoorFactory {
  const resolved = resolvePusherOptions(options);
  const byKey = new Map(resolved.apps.map((app) => [app.key, app]));
  context.logger.debug({ apps: resolved.apps.map((app) => app.id) }, 'pusher door configured');
  return {
    build(parts: FrontDoorParts): FrontDoor {
      const { limits, readiness, security, connections } = parts;
      const transport = parts.transports.add(
        new PusherTransport(
          parts.hub,
          {
            pusher: resolved,
            maxChannels: limits.maxChannels,
            sendQueueBytes: limits.sendQueueBytes,
            maxMessageBytes: limits.maxMessageBytes,
            // Never below what a well-behaved client needs: the client-event rate an app allows
            // (4301 limits those), and a burst that (re)subscribes every channel at once.
            framesPerSecond: Math.max(limits.commandsPerSecond, ...resolved.apps.map((app) => app.clientEventsPerSecond)),
            frameBurst: Math.max(
              limits.commandBurst,
              limits.maxChannels + FRAME_BURST_HEADROOM,
              ...resolved.apps.map((app) => Math.ceil(app.clientEventsPerSecond)),
            ),
            ...(parts.metrics && { onSlowConsumer: () => parts.metrics?.slowConsumer('pusher') }),
          },
          parts.logger,
          parts.clock,
        ),
      );
      const take = (req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void => {
        // In Herald's order (see http/upgrade.ts): too many headers (431), not ready (503), origin (403), connection limits (429/503).
        if (tooManyHeaders(req)) return void socket.end(rawResponse('431 Request Header Fields Too Large', headTooLargeBody(undefined)));
        if (!readiness.ready) return void socket.end(rawResponse('503 Service Unavailable', '', RETRY_AFTER.unavailable));
        if (!security.originAllowed(req.headers.origin))
          return void socket.end(rawResponse('403 Forbidden', errorBody(ErrorCode.Forbidden, 'origin is not allowed')));
        const slot = connections.acquire(req.socket, null);
        if ('refused' in slot) {
          const [status, retryAfter] =
            slot.code === ErrorCode.Unavailable
              ? ['503 Service Unavailable', RETRY_AFTER.unavailable]
              : ['429 Too Many Requests', RETRY_AFTER.rateLimited];
          return void socket.end(rawResponse(status, errorBody(slot.code, slot.refused), retryAfter));
        }
        let key: string;
        try {
          key = decodeURIComponent(path.slice(PUSHER_WS_PREFIX.length));
        } catch {
          key = '';
        }
        const url = req.url ?? '';
        const query = url.indexOf('?');
        const protocol = new URLSearchParams(query === -1 ? '' : url.slice(query + 1).split('#', 1)[0]).get('protocol');
        const app: PusherApp | PusherRefusal =
          byKey.get(key) ??
          ({ code: PusherCode.AppNotFound, message: `App key ${utf8Prefix(key, 80)} does not exist` } satisfies PusherRefusal);
        const target: PusherApp | PusherRefusal =
          'code' in app
            ? app
            : protocol === null
              ? { code: PusherCode.NoProtocol, message: 'No protocol version supplied (protocol=7)' }
              : !PROTOCOLS.has(protocol)
                ? { code: PusherCode.UnsupportedProtocol, message: `Unsupported protocol version ${utf8Prefix(protocol, 20)}: 5 to 7` }
                : app;
        if (socket.destroyed) return slot.release();
        transport.handleUpgrade(req, socket, head, target, slot);
      };
      return {
        routes: [],
        ownsUpgrade: isPusherPath,
        upgrade(req, socket, head, path) {
          if (!isPusherPath(path)) return false;
          socket.on('error', () => socket.destroy());
          try {
            take(req, socket, head, path);
          } catch (error) {
            parts.logger.error({ err: error }, 'pusher upgrade failed');
            socket.destroy();
          }
          return true;
        },
      };
    },
  };
}
