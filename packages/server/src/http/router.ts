import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import type { Route, RouteTable } from './route.js';
import { sendError } from './respond.js';

/** Extra routes tried before the built-in ones (`HeraldServerOptions.routes`); true when handled. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

const PREFLIGHT = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Last-Event-ID, Authorization, Idempotency-Key',
  'Access-Control-Max-Age': '600',
};

interface Entry {
  readonly route: Route;
  readonly methods: ReadonlySet<string> | undefined;
}

/**
 * The request handler: parses the URL, tries the caller's `extra` routes, checks the origin (403),
 * answers CORS preflights (204), then finds the route by path (404) and checks its method (405).
 */
export function createRouter(
  table: RouteTable,
  security: Security,
  extra?: ExtraRoutes,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const entries = new Map<string, Entry>();
  for (const [path, route] of table)
    entries.set(path, { route, methods: route.methods === undefined ? undefined : new Set(route.methods.split(',')) });
  return async (req, res) => {
    const origin = req.headers.origin;
    const cors = security.corsHeaders(origin);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://herald.invalid');
    } catch {
      return sendError(res, { code: ErrorCode.InvalidField, message: 'malformed request URL' }, cors);
    }
    if (extra?.(req, res, url) === true) return;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (!security.originAllowed(origin)) {
      return sendError(res, { code: ErrorCode.Forbidden, message: `origin ${origin ?? ''} is not allowed` }, { Vary: 'Origin' });
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...cors, ...PREFLIGHT });
      res.end();
      return;
    }
    const entry = entries.get(path);
    if (entry === undefined) return sendError(res, { code: ErrorCode.NotFound, message: `no route for ${method} ${path}` }, cors);
    if (entry.methods !== undefined && !entry.methods.has(method)) {
      res.setHeader('Allow', entry.route.methods!);
      return sendError(res, { code: ErrorCode.MethodNotAllowed, message: `${path} accepts ${entry.route.methods!}` }, cors);
    }
    return entry.route.handle(req, res, { method, path, params: url.searchParams, cors });
  };
}
