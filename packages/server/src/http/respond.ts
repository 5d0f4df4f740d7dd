import type { ServerResponse } from 'node:http';
import { ErrorCode, type WireError } from '@herald/protocol';

/** The HTTP status for a wire error code. */
export function statusFor(code: number): number {
  switch (code) {
    case ErrorCode.TooLarge:
      return 413;
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.MethodNotAllowed:
      return 405;
    case ErrorCode.Unauthorized:
    case ErrorCode.TokenExpired:
      return 401;
    case ErrorCode.Forbidden:
    case ErrorCode.Disconnected:
      return 403;
    case ErrorCode.RateLimited:
      return 429;
    case ErrorCode.Unavailable:
    case ErrorCode.HookUnavailable:
      return 503;
    case ErrorCode.Internal:
      return 500;
    default:
      return code >= 1000 && code < 2000 ? 400 : 500;
  }
}

/** Sends a JSON body (already serialised) with no caching. */
export function sendJsonText(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Sends `value` as JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(value), headers);
}

/** Seconds to wait before retrying (`Retry-After`) a 503 (the engine or the hub is busy) and a 429 (a connection limit). */
export const RETRY_AFTER = { unavailable: 1, rateLimited: 5 } as const;

/** Sends `{"error": {"code", "message"}}` with the status its code maps to (and `Retry-After` on 503 and 429). */
export function sendError(res: ServerResponse, error: WireError, headers: Record<string, string> = {}): void {
  const status = statusFor(error.code);
  const retryAfter = status === 503 ? RETRY_AFTER.unavailable : status === 429 ? RETRY_AFTER.rateLimited : undefined;
  const extra = retryAfter === undefined ? headers : { 'Retry-After': String(retryAfter), ...headers };
  sendJsonText(res, status, JSON.stringify({ error }), extra);
}
