import { ErrorCode } from '@herald/protocol';
import type { Readiness } from './readiness.js';
import { sendError, sendJson } from './respond.js';
import type { Route } from './route.js';

/**
 * `GET /healthz`: `200 {"status":"ok"}` while the node is ready and its engine reachable; `503`
 * before it listens, once it drains, and while the engine is unreachable.
 */
export function healthzRoute(readiness: Readiness, engineAvailable: () => boolean): Route {
  return {
    methods: 'GET,HEAD',
    handle(_req, res, { cors }) {
      if (!readiness.ready)
        return sendError(res, { code: ErrorCode.Unavailable, message: readiness.draining ? 'shutting down' : 'not ready' }, cors);
      if (!engineAvailable()) return sendError(res, { code: ErrorCode.Unavailable, message: 'the engine is unreachable' }, cors);
      return sendJson(res, 200, { status: 'ok' }, cors);
    },
  };
}
