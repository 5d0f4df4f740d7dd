import type { Security } from '../auth/security.js';
import type { ConnectionLimiter } from '../transport/connection-limiter.js';
import type { SseTransport } from '../transport/sse-transport.js';
import { nextSessionId } from '../transport/session-id.js';
import { identifyRequest } from './identify-request.js';
import { sendError } from './respond.js';
import type { Route } from './route.js';

/** `GET /events`: an SSE stream, counted against the connection limits (429/503 past them). */
export function eventsRoute(sse: SseTransport, security: Security, connections: ConnectionLimiter): Route {
  return {
    methods: 'GET',
    async handle(req, res, { params, cors }) {
      // The stream's id, allocated now: the connect hook is told it.
      const client = nextSessionId();
      const who = await identifyRequest(security, req, res, params, cors, { transport: 'sse', client });
      if (who === undefined) return;
      const slot = connections.acquire(req.socket, who.identity.user);
      if ('refused' in slot) return sendError(res, { code: slot.code, message: slot.refused }, { ...cors, Connection: 'close' });
      return sse.handle(req, res, params, who.identity, slot, cors, client);
    },
  };
}
