import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkChannelName, ErrorCode } from '@herald/protocol';
import { idempotencyScope, type Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import { toWireError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import type { Acks } from '../acks/acks.js';
import { answerAcks } from '../http/ack-route.js';
import { answerDisconnect } from '../http/disconnect-route.js';
import { handlePublish } from '../http/publish-route.js';
import { sendError, sendJson } from '../http/respond.js';
import type { Route, RouteRequest } from '../http/route.js';
import type { ConnectionInfo, TransportName } from '../transport/transport.js';
import type { TransportRegistry } from '../transport/transport-registry.js';
import { adminCors, authorizeAdmin } from './admin-access.js';
import { ADMIN_SERIES_WINDOW, type AdminSampler } from './admin-sampler.js';
import type { NodeDirectory, NodeSummary } from './node-directory.js';
import { webhookAdminRoutes, type WebhookAdmin } from './webhook-admin-routes.js';

/** Rows a list answers unless `limit` says otherwise. */
export const DEFAULT_ADMIN_LIMIT = 500;
/** Most rows a list answers (`limit`). */
export const MAX_ADMIN_LIMIT = 5000;

/** What the admin API reads (see {@link adminRoutes}). */
export interface AdminParts {
  readonly hub: Hub;
  readonly security: Security;
  readonly transports: TransportRegistry<TransportName>;
  readonly sampler: AdminSampler;
  readonly nodes: NodeDirectory;
  /** This node's summary now. */
  readonly self: () => NodeSummary;
  readonly nodeId: string;
  readonly maxBodyBytes: number;
  readonly maxBatchMessages: number;
  /** The webhook queue's view (`GET`/`DELETE /api/admin/webhooks`, `POST /api/admin/webhooks/replay`); undefined when webhooks are off. */
  readonly webhooks?: WebhookAdmin | undefined;
  /** Client acknowledgements (`GET /api/admin/acks`); undefined when off. */
  readonly acks?: Acks | undefined;
}

type AdminHandler = (req: IncomingMessage, res: ServerResponse, request: RouteRequest, identity: Identity) => void | Promise<void>;

/**
 * A route of the admin API: its own origin rule ({@link adminCors}: no `Origin`, the hub's own, or
 * a listed one; never `*`), then {@link authorizeAdmin}, then `handle`.
 */
function adminRoute(security: Security, methods: string, handle: AdminHandler): Route {
  return {
    methods,
    corsFor: (req) => adminCors(security, req),
    async handle(req, res, request) {
      const identity = await authorizeAdmin(security, req, res, request.cors);
      if (identity !== undefined) return handle(req, res, request, identity);
    },
  };
}

/** Reads `limit` (1 to {@link MAX_ADMIN_LIMIT}); undefined when malformed (the answer is sent). */
function readLimit(params: URLSearchParams, res: ServerResponse, cors: Record<string, string>): number | undefined {
  const raw = params.get('limit');
  if (raw === null) return DEFAULT_ADMIN_LIMIT;
  const limit = Number(raw);
  if (/^\d+$/.test(raw) && limit >= 1 && limit <= MAX_ADMIN_LIMIT) return limit;
  sendError(res, { code: ErrorCode.InvalidField, message: `limit must be an integer from 1 to ${MAX_ADMIN_LIMIT}` }, cors);
  return undefined;
}

const zero = (): Partial<Record<TransportName, number>> & Record<'websocket' | 'sse' | 'polling', number> => ({
  websocket: 0,
  sse: 0,
  polling: 0,
});

/** This node's channels: subscribers per transport and live messages per second, busiest first. */
function channelRows(hub: Hub, connections: readonly ConnectionInfo[], sampler: AdminSampler) {
  const rows = new Map<string, ReturnType<typeof zero>>();
  for (const { channel, listeners } of hub.localChannels()) rows.set(channel, { ...zero(), polling: listeners });
  for (const connection of connections) {
    for (const channel of connection.channels) {
      let row = rows.get(channel);
      if (row === undefined) rows.set(channel, (row = zero()));
      row[connection.transport] = (row[connection.transport] ?? 0) + 1;
    }
  }
  const total = (s: Partial<Record<TransportName, number>>): number => Object.values(s).reduce((sum, n) => sum + n, 0);
  return [...rows]
    .map(([channel, subscribers]) => ({ channel, subscribers, messagesPerSecond: sampler.rateOf(channel) }))
    .sort(
      (a, b) =>
        total(b.subscribers) - total(a.subscribers) || b.messagesPerSecond - a.messagesPerSecond || (a.channel < b.channel ? -1 : 1),
    );
}

/**
 * The admin API by path (under the mount path): `GET /api/admin/nodes`, `/channels`,
 * `/connections`, `/presence`, `/series`; `POST /api/admin/disconnect` and `/publish`; with
 * webhooks, `GET` and `DELETE /api/admin/webhooks` and `POST /api/admin/webhooks/replay`. Every one
 * needs the API key or an admin token (see {@link authorizeAdmin}; on an open hub none); see
 * docs/protocol.md.
 */
export function adminRoutes(parts: AdminParts): [string, Route][] {
  const { hub, security, transports, sampler, nodeId } = parts;
  return [
    [
      '/api/admin/nodes',
      adminRoute(security, 'GET', (_req, res, { cors }) => {
        const nodes = parts.nodes.list(parts.self());
        const connections = zero();
        for (const node of nodes)
          for (const [name, open] of Object.entries(node.connections) as [TransportName, number][])
            connections[name] = (connections[name] ?? 0) + open;
        sendJson(res, 200, { node: nodeId, clustered: hub.clustered, nodes, totals: { connections } }, cors);
      }),
    ],
    [
      '/api/admin/channels',
      adminRoute(security, 'GET', (_req, res, { params, cors }) => {
        const limit = readLimit(params, res, cors);
        if (limit === undefined) return;
        const rows = channelRows(hub, transports.list(), sampler);
        sendJson(res, 200, { node: nodeId, total: rows.length, channels: rows.slice(0, limit) }, cors);
      }),
    ],
    [
      '/api/admin/connections',
      adminRoute(security, 'GET', (_req, res, { params, cors }) => {
        const limit = readLimit(params, res, cors);
        if (limit === undefined) return;
        const channel = params.get('channel');
        const user = params.get('user');
        const rows = transports
          .list()
          .filter((c) => (channel === null || c.channels.includes(channel)) && (user === null || c.user === user))
          .sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : 1));
        sendJson(res, 200, { node: nodeId, total: rows.length, connections: rows.slice(0, limit) }, cors);
      }),
    ],
    ...(parts.acks === undefined
      ? []
      : ([
          ['/api/admin/acks', adminRoute(security, 'GET', (_req, res, { params, cors }) => answerAcks(parts.acks!, res, params, cors))],
        ] as [string, Route][])),
    [
      '/api/admin/disconnect',
      adminRoute(security, 'POST', (req, res, { cors }) => answerDisconnect(req, res, cors, hub, transports, nodeId)),
    ],
    [
      '/api/admin/presence',
      adminRoute(security, 'GET', async (_req, res, { params, cors }) => {
        const channel = checkChannelName(params.get('channel') ?? '');
        if (!channel.ok) return sendError(res, channel.error, cors);
        try {
          sendJson(res, 200, { channel: channel.value, members: await hub.presence(channel.value) }, cors);
        } catch (error) {
          sendError(res, toWireError(error), cors);
        }
      }),
    ],
    [
      '/api/admin/series',
      adminRoute(security, 'GET', (_req, res, { cors }) => {
        sendJson(res, 200, { node: nodeId, interval: sampler.interval, window: ADMIN_SERIES_WINDOW, samples: sampler.samples() }, cors);
      }),
    ],
    [
      '/api/admin/publish',
      adminRoute(security, 'POST', (req, res, { cors }, identity) =>
        handlePublish(
          hub,
          req,
          res,
          parts.maxBodyBytes,
          cors,
          // An admin identity may publish anywhere; checked all the same, so no other one ever skips the namespaces' rules.
          (channel, data) => {
            security.permissions.check(identity, 'publish', channel);
            return Promise.resolve({ data, replaced: false });
          },
          idempotencyScope(identity),
          parts.maxBatchMessages,
        ),
      ),
    ],
    ...(parts.webhooks === undefined
      ? []
      : webhookAdminRoutes(parts.webhooks, (methods, handle) => adminRoute(security, methods, handle), readLimit, parts.maxBodyBytes)),
  ];
}

/**
 * `GET /admin`: the operations console (`HeraldOptions.adminPage`). The page holds no secret: it
 * asks for the API key or an admin token and sends it in a header to the admin API. Never framed
 * by another site (clickjacking), and sends no referrer.
 */
export function adminPageRoute(html: string): Route {
  return {
    methods: 'GET,HEAD',
    anyOrigin: true,
    handle(_req, res) {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': "frame-ancestors 'none'",
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'no-referrer',
      });
      res.end(html);
    },
  };
}
