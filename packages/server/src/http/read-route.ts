import type { Security } from '../auth/security.js';
import type { PollingTransport } from '../transport/polling-transport.js';
import { identifyRequest } from './identify-request.js';
import type { Route } from './route.js';

/**
 * `GET /api/messages` (`subscribe`: polling, `wait` holds the request) and `GET /api/history`
 * (`history`: a read of the retained log, never held), both answered by the polling transport.
 */
export function readRoute(polling: PollingTransport, security: Security, op: 'subscribe' | 'history'): Route {
  return {
    methods: 'GET',
    async handle(req, res, { params, cors }) {
      const who = await identifyRequest(security, req, res, params, cors);
      if (who === undefined) return;
      if (op === 'history') params.delete('wait');
      return polling.handle(req, res, params, who.identity, op, cors);
    },
  };
}
