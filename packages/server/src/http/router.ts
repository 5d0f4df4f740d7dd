import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import type { Route, RouteTable } from './route.js';
import { shownPath } from './mount-path.js';
import { sendError } from './respond.js';

/**
 * Extra routes tried before the built-in ones (`HeraldServerOptions.routes`); true when handled.
 * `url.pathname` is the path under the mount path (`/sdk/x.js` for a request to `/realtime/sdk/x.js`).
 */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

/** The hub's request handling once a request is known to be its own (see {@link createRouter}). */
export interface Router {
  /** Whether `path` (under the mount path) is one of the built-in routes. */
  owns(path: string): boolean;
  /** Answers a request for `path` (under the mount path); `url` is the whole request URL. */
  route(req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<void>;
}

const PREFLIGHT = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Last-Event-ID, Authorization, Idempotency-Key, Cache-Control',
  'Access-Control-Max-Age': '600',
};

interface Entry {
  readonly route: Route;
  readonly methods: ReadonlySet<string> | undefined;
}

/**
 * The request handler of the built-in routes: checks the origin (403, unless the route takes any or
 * has its own rule), answers CORS preflights
 * (204), then finds the route by path (404) and checks its method (405). Error messages name the
 * whole request path, so a client of a mounted hub sees the path it asked for.
 */
export function createRouter(table: RouteTable, security: Security): Router {
  const entries = new Map<string, Entry>();
  // `/apps/*` → ['/apps/', entry], longest first: the longest matching prefix wins.
  const prefixes: [string, Entry][] = [];
  for (const [path, route] of table) {
    const entry = { route, methods: route.methods === undefined ? undefined : new Set(route.methods.split(',')) };
    if (path.endsWith('/*')) prefixes.push([path.slice(0, -1), entry]);
    else entries.set(path, entry);
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  const find = (path: string): Entry | undefined => entries.get(path) ?? prefixes.find(([prefix]) => path.startsWith(prefix))?.[1];
  const route = async (req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<void> => {
    const origin = req.headers.origin;
    const method = req.method ?? 'GET';
    const shown = shownPath(req);
    const entry = find(path);
    const own = entry?.route.corsFor;
    const cors = own === undefined ? security.corsHeaders(origin) : own(req);
    if (cors === undefined || (own === undefined && entry?.route.anyOrigin !== true && !security.originAllowed(origin))) {
      return sendError(res, { code: ErrorCode.Forbidden, message: `origin ${origin ?? ''} is not allowed` }, { Vary: 'Origin' });
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...cors, ...PREFLIGHT });
      res.end();
      return;
    }
    if (entry === undefined) return sendError(res, { code: ErrorCode.NotFound, message: `no route for ${method} ${shown}` }, cors);
    if (entry.methods !== undefined && !entry.methods.has(method)) {
      res.setHeader('Allow', entry.route.methods!);
      return sendError(res, { code: ErrorCode.MethodNotAllowed, message: `${shown} accepts ${entry.route.methods!}` }, cors);
    }
    return entry.route.handle(req, res, { method, path, params: url.searchParams, cors });
  };
  return { owns: (path) => find(path) !== undefined, route };
}
