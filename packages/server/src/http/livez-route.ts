import { sendJson } from './respond.js';
import type { Route } from './route.js';

/**
 * `GET /livez`: `200 {"status":"ok"}` whenever the process answers at all: while it drains and
 * while its engine is unreachable too, since restarting the process would not cure either. For an
 * orchestrator's liveness check (restart when it fails); `/readyz` is the one that says
 * whether to route traffic here. Reads no credentials.
 */
export const livezRoute: Route = {
  methods: 'GET,HEAD',
  handle(_req, res, { cors }) {
    sendJson(res, 200, { status: 'ok' }, cors);
  },
};
