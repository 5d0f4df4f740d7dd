import type { Security } from '../auth/security.js';
import type { PollingTransport } from '../transport/polling-transport.js';
import { nextSessionId } from '../transport/session-id.js';
import { identifyRequest } from './identify-request.js';
import type { RequestLimiter } from './request-limiter.js';
import type { Route } from './route.js';

/**
 * `GET /api/messages` (`subscribe`: polling, `wait` holds the request) and `GET /api/history`
 * (`history`: a read of the retained log, never held), both answered by the polling transport
 * behind the `poll` or `history` rate limits (a held poll counts once, when it arrives).
 */
export function readRoute(polling: PollingTransport, security: Security, op: 'subscribe' | 'history', requests: RequestLimiter): Route {
  const kind = op === 'subscribe' ? 'poll' : 'history';
  return {
    methods: 'GET',
    async handle(req, res, { params, cors }) {
      if (!requests.admitAddress(req, res, kind, cors)) return;
      // Each poll is identified anew (polling keeps no session): the connect hook is told a request id.
      const context = { transport: op === 'subscribe' ? ('polling' as const) : ('http' as const), client: nextSessionId() };
      const who = await identifyRequest(security, req, res, params, cors, context);
      if (who === undefined || !(await requests.admitUser(req, res, who.identity, kind, cors))) return;
      if (op === 'history') params.delete('wait');
      return polling.handle(req, res, params, who.identity, op, cors, context.client);
    },
  };
}
