import { ErrorCode, type WireError } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import { ticketHolder, TicketRefusedError } from '../auth/ticket-limits.js';
import type { Logger } from '../logger.js';
import { admitClientWrite, type ClientWriter } from './client-write.js';
import { sendError, sendJson } from './respond.js';
import type { RequestLimiter } from './request-limiter.js';
import type { Route } from './route.js';

/**
 * `POST /api/ticket`: a single-use ticket for the caller's token (`{ticket, expiresIn}`), for a
 * browser to put in a WebSocket or SSE URL instead of the token; 429/503 with `Retry-After` past
 * the `ticket` request rate limits and the ticket limits.
 */
export function ticketRoute(security: Security, logger: Logger, requests: RequestLimiter): Route {
  // Without an authenticator (dev profile) tickets are anonymous, so clients work the same way.
  const needsToken = (who: ClientWriter): WireError | undefined =>
    (security.authenticates && !who.identity.authenticated) || who.source === 'ticket' || who.identity.server === true
      ? { code: ErrorCode.Unauthorized, message: 'a ticket needs a token (Authorization header or cookie)' }
      : undefined;
  return {
    methods: 'POST',
    async handle(req, res, request) {
      const { cors } = request;
      const who = await admitClientWrite({ security, requests, kind: 'ticket', refuse: needsToken }, req, res, request);
      if (who === undefined) return;
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
