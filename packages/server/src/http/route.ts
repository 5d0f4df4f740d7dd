import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the router read from a request before handing it to a {@link Route}. */
export interface RouteRequest {
  readonly method: string;
  /** The URL's path, e.g. `/api/messages`. */
  readonly path: string;
  /** The query; a route may change it (`/api/history` drops `wait`). */
  readonly params: URLSearchParams;
  /** CORS headers for the request's origin, to send with every answer. */
  readonly cors: Record<string, string>;
}

/** One HTTP route of the hub: a path's handler, behind the router's origin check and CORS preflight. */
export interface Route {
  /** Methods it answers, as in an `Allow` header (`GET,HEAD`); others get 405 with code 1011. `undefined`: every method. */
  readonly methods?: string;
  /** True: answered whatever the request's `Origin` (a public asset such as the SDK bundle); otherwise a disallowed origin gets 403. */
  readonly anyOrigin?: boolean;
  /**
   * The route's own origin rule, instead of `allowedOrigins` and `anyOrigin`: the CORS headers for
   * the request (preflight included), or undefined to refuse its origin with 403 (code 2001).
   */
  readonly corsFor?: (req: IncomingMessage) => Record<string, string> | undefined;
  /** Answers the request; a rejection is logged and answered 500 by the server. */
  handle(req: IncomingMessage, res: ServerResponse, request: RouteRequest): void | Promise<void>;
}

/**
 * The hub's routes by exact path, or by prefix when the key ends in `/*` (`/apps/*` answers every path
 * under `/apps/`; an exact path wins, then the longest prefix). A path missing from it (or a
 * disabled transport's) answers 404.
 */
export type RouteTable = ReadonlyMap<string, Route>;
