import { checkRpcMethod, ErrorCode, exceedsJsonDepth } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import { toWireError } from '../errors.js';
import { callRpc } from '../hooks/call-rpc.js';
import { nextSessionId } from '../transport/session-id.js';
import { csrfSafe, identifyRequest } from './identify-request.js';
import { readBody } from './read-body.js';
import type { RequestLimiter } from './request-limiter.js';
import { sendError, sendJson } from './respond.js';
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
  return {
    methods: 'POST',
    async handle(req, res, { params, cors }) {
      if (!requests.admitAddress(req, res, 'publish', cors)) return;
      const who = await identifyRequest(security, req, res, params, cors);
      if (who === undefined || !csrfSafe(req, res, who.source, cors)) return;
      if (!(await requests.admitUser(req, res, who.identity, 'publish', cors))) return;
      const body = await readBody(req, maxBodyBytes);
      if (!body.ok) {
        // Stop reading an oversized body and close the connection after answering.
        if (body.error.code === ErrorCode.TooLarge) res.setHeader('Connection', 'close');
        return sendError(res, body.error, cors);
      }
      if (exceedsJsonDepth(body.value)) return sendError(res, { code: ErrorCode.InvalidJson, message: 'JSON nests too deeply' }, cors);
      let value: unknown;
      try {
        value = JSON.parse(body.value);
      } catch {
        return sendError(res, { code: ErrorCode.InvalidJson, message: 'body is not valid JSON' }, cors);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return sendError(res, { code: ErrorCode.InvalidFrame, message: 'body must be a JSON object {"method", "data"}' }, cors);
      }
      const fields = value as Record<string, unknown>;
      const method = checkRpcMethod(fields['method']);
      if (!method.ok) return sendError(res, method.error, cors);
      // As on the WebSocket, an absent `data` is `null`.
      const data = Object.prototype.hasOwnProperty.call(fields, 'data') ? (fields['data'] ?? null) : null;
      try {
        const answer = await callRpc(security.hooks, who.identity, { transport: 'http', client: nextSessionId() }, method.value, data);
        sendJson(res, 200, { data: answer }, cors);
      } catch (error) {
        sendError(res, toWireError(error), cors);
      }
    },
  };
}
