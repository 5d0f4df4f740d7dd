import { ErrorCode } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendError } from './respond.js';
import type { Route } from './route.js';

/** `GET /metrics`: the Prometheus text; only with the API key when API keys are configured. */
export function metricsRoute(metrics: Metrics, security: Security): Route {
  return {
    methods: 'GET',
    async handle(req, res, { cors }) {
      if (security.hasApiKeys && !security.hasApiKey(req)) {
        return sendError(res, { code: ErrorCode.Unauthorized, message: '/metrics needs the API key (X-Herald-Key)' }, cors);
      }
      const text = await metrics.text();
      res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store', ...cors });
      res.end(text);
    },
  };
}
