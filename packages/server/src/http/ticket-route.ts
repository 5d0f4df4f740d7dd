import { ErrorCode } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import { ticketHolder, TicketRefusedError } from '../auth/ticket-limits.js';
import type { Logger } from '../logger.js';
import { csrfSafe, identifyRequest } from './identify-request.js';
import { sendError, sendJson } from './respond.js';
import type { RequestLimiter } from './request-limiter.js';
import type { Route } from './route.js';

/**
 * `POST /api/ticket`: a single-use ticket for the caller's token (`{ticket, expiresIn}`), for a
 * browser to put in a WebSocket or SSE URL instead of the token; 429/503 with `Retry-After` past
 * the `ticket` request rate limits and the ticket limits.
 */
export function ticketRoute(security: Security, logger: Logger, requests: RequestLimiter): Route {
  return {
    methods: 'POST',
    async handle(req, res, { params, cors }) {
      if (!requests.admitAddress(req, res, 'ticket', cors)) return;
      const who = await identifyRequest(security, req, res, params, cors);
      if (who === undefined || !csrfSafe(req, res, who.source, cors)) return;
      // Without an authenticator (dev profile) tickets are anonymous, so clients work the same way.
      if ((security.authenticates && !who.identity.authenticated) || who.source === 'ticket' || who.identity.server === true) {
        return sendError(res, { code: ErrorCode.Unauthorized, message: 'a ticket needs a token (Authorization header or cookie)' }, cors);
      }
      if (!(await requests.admitUser(req, res, who.identity, 'ticket', cors))) return;
      try {
        return sendJson(res, 200, await security.tickets.issue(who.identity, ticketHolder(who.identity, req.socket.remoteAddress)), cors);
      } catch (error) {
        if (error instanceof TicketRefusedError)
          return sendError(res, error.toWire(), { ...cors, 'Retry-After': String(error.retryAfter) });
        logger.error({ err: error }, 'ticket not issued');
        return sendError(res, { code: ErrorCode.Unavailable, message: 'tickets are unavailable' }, cors);
      }
    },
  };
}
