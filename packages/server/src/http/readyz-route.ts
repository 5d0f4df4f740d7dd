import { ErrorCode } from '@herald/protocol';
import type { Readiness } from './readiness.js';
import { sendError, sendJson } from './respond.js';
import type { Route } from './route.js';

/**
 * `GET /readyz` (and `/healthz`, its older name): `200 {"status":"ok"}` while the node takes new
 * work (it listens, does not drain) and its engine is reachable; else `503` with code `3001` and the
 * reason as the message: `not ready` (not listening yet), `shutting down` (draining) or `the engine
 * is unreachable`. For a load balancer's or an orchestrator's readiness check. Reads no credentials.
 */
export function readyzRoute(readiness: Readiness, engineAvailable: () => boolean): Route {
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
