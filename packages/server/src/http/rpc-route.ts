import { checkRpcMethod } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import { HeraldError } from '../errors.js';
import { callRpc } from '../hooks/call-rpc.js';
import { nextSessionId } from '../transport/session-id.js';
import { clientJsonRoute } from './client-write.js';
import type { RequestLimiter } from './request-limiter.js';
import type { Route } from './route.js';

/**
 * `POST /api/rpc` with `{"method", "data"?}`: calls the method through the app's rpc hook and
 * answers `200 {"data"}` with what the app answered. Identified as `POST /api/publish` is (the
 * cookie rule for CSRF included) and counted against the publish request limits: an rpc is a
 * client's write as a publish is, and one bucket keeps one knob. Errors: the body's (`1000`,
 * `1001`, `1005`, `1006`), `1010` (404) when no rpc hook serves the method, `2001` (403) when the
 * app denies, `3003` (503, `Retry-After: 1`) when it cannot answer. The hook is told
 * `transport: "http"` and a fresh request id as `client`.
 */
export function rpcRoute(security: Security, maxBodyBytes: number, requests: RequestLimiter): Route {
  return clientJsonRoute({
    security,
    requests,
    kind: 'publish',
    maxBodyBytes,
    expected: '{"method", "data"}',
    async answer(who, fields) {
      const method = checkRpcMethod(fields['method']);
      if (!method.ok) throw HeraldError.fromWire(method.error);
      // As on the WebSocket, an absent `data` is `null`.
      const data = Object.prototype.hasOwnProperty.call(fields, 'data') ? (fields['data'] ?? null) : null;
      const answer = await callRpc(security.hooks, who.identity, { transport: 'http', client: nextSessionId() }, method.value, data);
      return { data: answer };
    },
  });
}
