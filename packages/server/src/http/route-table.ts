import { adminPageRoute, adminRoutes, type AdminParts } from '../admin/admin-routes.js';
import type { Security } from '../auth/security.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ConnectionLimiter } from '../transport/connection-limiter.js';
import type { PollingTransport } from '../transport/polling-transport.js';
import type { SseTransport } from '../transport/sse-transport.js';
import type { TransportRegistry } from '../transport/transport-registry.js';
import type { Acks } from '../acks/acks.js';
import { ackRoute, acksRoute } from './ack-route.js';
import { disconnectRoute } from './disconnect-route.js';
import { eventsRoute } from './events-route.js';
import { landingRedirectRoute, landingRoute } from './landing-route.js';
import { livezRoute } from './livez-route.js';
import { metricsRoute } from './metrics-route.js';
import { presenceRoute } from './presence-route.js';
import { publishRoute } from './publish-route.js';
import type { Readiness } from './readiness.js';
import { readRoute } from './read-route.js';
import type { RequestLimiter } from './request-limiter.js';
import { readyzRoute } from './readyz-route.js';
import { rpcRoute } from './rpc-route.js';
import type { FrontDoor } from './front-door.js';
import type { Route, RouteTable } from './route.js';
import { sdkRoute } from './sdk-route.js';
import type { ClientBundles } from './server-options.js';
import { ticketRoute } from './ticket-route.js';
import { wsRoute } from './ws-route.js';

/** What the built-in routes are made of (see {@link routeTable}). */
export interface RouteTableParts {
  readonly hub: Hub;
  readonly security: Security;
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly engineAvailable: () => boolean;
  readonly metrics: Metrics | undefined;
  readonly connections: ConnectionLimiter;
  /** The HTTP request rate limits of publish (and rpc), poll, history and ticket requests. */
  readonly requests: RequestLimiter;
  readonly transports: TransportRegistry;
  readonly sse: SseTransport;
  readonly polling: PollingTransport;
  /** Which transports are served; a disabled one's paths are left out (404). */
  readonly enabled: { readonly websocket: boolean; readonly sse: boolean; readonly polling: boolean };
  readonly maxBodyBytes: number;
  /** Most messages in one `POST /api/publish` batch. */
  readonly maxBatchMessages: number;
  /** This node's id in control messages to the other nodes. */
  readonly nodeId: string;
  /** Client acknowledgements (`POST /api/ack`, `GET /api/acks`); undefined when off. */
  readonly acks?: Acks | undefined;
  readonly landingPage: string | undefined;
  readonly clientBundle: string | undefined;
  readonly clientShareBundle?: string | undefined;
  readonly clientBundles?: ClientBundles | undefined;
  /** The admin API's parts; undefined when it is off (`admin: false`). */
  readonly admin: AdminParts | undefined;
  /** The console's HTML (served at `/admin` when the admin API is on). */
  readonly adminPage: string | undefined;
  /** The front doors (Pusher, Mercure) configured: their routes join the table. */
  readonly doors?: readonly FrontDoor[] | undefined;
}

/** The built-in routes by path under the mount path: only those that are on (metrics, landing page, SDK bundle, enabled transports, admin API and console). */
export function routeTable(parts: RouteTableParts): RouteTable {
  const { hub, security, enabled } = parts;
  const routes: (readonly [string, Route | false | undefined])[] = [
    ['/livez', livezRoute],
    ['/readyz', readyzRoute(parts.readiness, parts.engineAvailable)],
    // The older name of /readyz, kept for the load balancers configured with it.
    ['/healthz', readyzRoute(parts.readiness, parts.engineAvailable)],
    ['/metrics', parts.metrics && metricsRoute(parts.metrics, security)],
    ['/api/publish', publishRoute(hub, security, parts.maxBodyBytes, parts.maxBatchMessages, parts.requests)],
    ['/api/rpc', rpcRoute(security, parts.maxBodyBytes, parts.requests)],
    ['/api/ticket', ticketRoute(security, parts.logger, parts.requests)],
    ['/api/messages', enabled.polling && readRoute(parts.polling, security, 'subscribe', parts.requests)],
    ['/api/history', readRoute(parts.polling, security, 'history', parts.requests)],
    ['/api/presence', presenceRoute(hub, security)],
    ['/api/ack', parts.acks && ackRoute(parts.acks, security, parts.requests)],
    ['/api/acks', parts.acks && acksRoute(parts.acks, security)],
    ['/api/disconnect', disconnectRoute(hub, security, parts.transports, parts.nodeId)],
    ['/events', enabled.sse && eventsRoute(parts.sse, security, parts.connections)],
    ['/', parts.landingPage !== undefined && landingRoute(parts.landingPage)],
    // The mount path itself (`/realtime`, never the root's `/`): the landing page is one slash further.
    ['', parts.landingPage !== undefined && landingRedirectRoute],
    ['/sdk/herald-client.js', parts.clientBundle !== undefined && sdkRoute(parts.clientBundle)],
    ['/sdk/herald-share.js', parts.clientShareBundle !== undefined && sdkRoute(parts.clientShareBundle)],
    ['/sdk/herald-compact.js', parts.clientBundles?.compact !== undefined && sdkRoute(parts.clientBundles.compact)],
    ['/sdk/herald-msgpack.js', parts.clientBundles?.msgpack !== undefined && sdkRoute(parts.clientBundles.msgpack)],
    ['/sdk/herald-outbox.js', parts.clientBundles?.outbox !== undefined && sdkRoute(parts.clientBundles.outbox)],
    ['/ws', enabled.websocket && wsRoute],
    ...(parts.admin === undefined ? [] : adminRoutes(parts.admin)),
    ['/admin', parts.admin !== undefined && parts.adminPage !== undefined && adminPageRoute(parts.adminPage)],
    ...(parts.doors ?? []).flatMap((door) => door.routes),
  ];
  const table = new Map<string, Route>();
  for (const [path, route] of routes) if (route !== undefined && route !== false) table.set(path, route);
  return table;
}
