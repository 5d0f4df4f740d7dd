import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type WireError } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import { HeraldError, toWireError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import type { ConnectionMatch } from '../transport/transport.js';
import type { TransportRegistry } from '../transport/transport-registry.js';
import { disconnectMessage } from './control-messages.js';
import { readBody } from './read-body.js';
import { sendError, sendJson } from './respond.js';
import type { Route } from './route.js';

/**
 * `POST /api/disconnect` with `{"user"}` or `{"client"}` (API key only): ends those connections on
 * every transport of this node, and on a cluster asks the other nodes to do the same.
 */
export function disconnectRoute(hub: Hub, security: Security, transports: TransportRegistry, nodeId: string): Route {
  return {
    methods: 'POST',
    async handle(req, res, { cors }) {
      if (!security.hasApiKey(req))
        return sendError(res, { code: ErrorCode.Unauthorized, message: '/api/disconnect needs the API key (X-Herald-Key)' }, cors);
      return answerDisconnect(req, res, cors, hub, transports, nodeId);
    },
  };
}

/**
 * Reads `{"user"}` or `{"client"}` from the request, ends those connections on this node and, on a
 * cluster, asks the other nodes to: answers `{disconnected}` (this node's count), plus
 * `nodes: "all"` on a cluster. Shared by `POST /api/disconnect` and `POST /api/admin/disconnect`.
 */
export async function answerDisconnect(
  req: IncomingMessage,
  res: ServerResponse,
  cors: Record<string, string>,
  hub: Hub,
  transports: TransportRegistry,
  nodeId: string,
): Promise<void> {
  const body = await readBody(req, 4096);
  const target = body.ok ? parseDisconnect(body.value) : body.error;
  if ('code' in target) return sendError(res, target, cors);
  const disconnected = transports.disconnect(target);
  if (!hub.clustered) return sendJson(res, 200, { disconnected }, cors);
  try {
    // The other nodes close their sessions of the target when the message reaches them.
    await hub.broadcast(disconnectMessage(nodeId, target));
  } catch (error) {
    return sendError(res, toWireError(error), cors);
  }
  return sendJson(res, 200, { disconnected, nodes: 'all' }, cors);
}

/** Reads `{"user"}` or `{"client"}`. */
function parseDisconnect(text: string): ConnectionMatch | WireError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: ErrorCode.InvalidJson, message: 'body is not valid JSON' };
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const user = fields['user'];
  const client = fields['client'];
  if ((typeof user !== 'string' || user === '') && (typeof client !== 'string' || client === '')) {
    return new HeraldError(ErrorCode.InvalidField, 'body must name a user or a client: {"user": "…"} or {"client": "…"}').toWire();
  }
  return { ...(typeof user === 'string' && user !== '' && { user }), ...(typeof client === 'string' && client !== '' && { client }) };
}
