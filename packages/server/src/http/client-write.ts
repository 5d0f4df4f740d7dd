import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, exceedsJsonDepth, type WireError } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { CredentialSource, Security } from '../auth/security.js';
import { toWireError } from '../errors.js';
import type { HookContext } from '../hooks/proxy-hooks.js';
import { csrfSafe, identifyRequest } from './identify-request.js';
import { readBody } from './read-body.js';
import type { RequestLimiter } from './request-limiter.js';
import type { RequestKind } from './request-limits.js';
import { sendError, sendJson } from './respond.js';
import type { Route, RouteRequest } from './route.js';

/** Who sent a client write and how (see {@link admitClientWrite}). */
export interface ClientWriter {
  readonly identity: Identity;
  readonly source: CredentialSource;
}

/** What {@link admitClientWrite} checks a client's write request against. */
export interface ClientWriteOptions {
  readonly security: Security;
  readonly requests: RequestLimiter;
  /** The request limits the request counts against (per address, then per user). */
  readonly kind: RequestKind;
  /** What the connect hook is told. @default a plain API request with a new request id */
  readonly context?: HookContext;
  /**
   * A route's own refusal of the identified writer, asked after the cookie rule and before the
   * per-user limit (so a refused writer costs its user nothing). @default none
   */
  readonly refuse?: (who: ClientWriter) => WireError | undefined;
}

/**
 * Admits a client's write request (`POST /api/publish`, `/api/rpc`, `/api/ack`, `/api/ticket`), in
 * this order: the per-address request limit (429), the credentials (401, or 503 when the connect
 * hook cannot decide), the cookie rule for CSRF (a cookie-authenticated write must carry an
 * `Origin`: 403), `refuse`, then the per-user request limit (429, or 503 when its store fails).
 * Resolves with the writer, or `undefined` once the refusal is answered.
 */
export async function admitClientWrite(
  options: ClientWriteOptions,
  req: IncomingMessage,
  res: ServerResponse,
  { params, cors }: RouteRequest,
): Promise<ClientWriter | undefined> {
  const { security, requests, kind } = options;
  if (!requests.admitAddress(req, res, kind, cors)) return undefined;
  const who = await identifyRequest(security, req, res, params, cors, options.context);
  if (who === undefined || !csrfSafe(req, res, who.source, cors)) return undefined;
  const refusal = options.refuse?.(who);
  if (refusal !== undefined) {
    sendError(res, refusal, cors);
    return undefined;
  }
  if (!(await requests.admitUser(req, res, who.identity, kind, cors))) return undefined;
  return who;
}

/**
 * Reads a request body of at most `limit` bytes that must be a JSON object: resolves with its
 * fields, or `undefined` once the error is answered: `1005` (413, and `Connection: close` so the
 * rest of the body is not read) past `limit`, `1000` for JSON that does not parse or nests too
 * deeply, `1001` with the message `must be a JSON object ${expected}` for any other JSON value.
 */
export async function readJsonObject(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  cors: Record<string, string>,
  expected: string,
): Promise<Record<string, unknown> | undefined> {
  const body = await readBody(req, limit);
  if (!body.ok) {
    // Stop reading an oversized body and close the connection after answering.
    if (body.error.code === ErrorCode.TooLarge) res.setHeader('Connection', 'close');
    sendError(res, body.error, cors);
    return undefined;
  }
  if (exceedsJsonDepth(body.value)) {
    sendError(res, { code: ErrorCode.InvalidJson, message: 'JSON nests too deeply' }, cors);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(body.value);
  } catch {
    sendError(res, { code: ErrorCode.InvalidJson, message: 'body is not valid JSON' }, cors);
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    sendError(res, { code: ErrorCode.InvalidFrame, message: `body must be a JSON object ${expected}` }, cors);
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** A {@link clientJsonRoute}: how its request is admitted and read, and what it answers. */
export interface ClientJsonRouteOptions extends Omit<ClientWriteOptions, 'context' | 'refuse'> {
  /** Largest body in bytes. */
  readonly maxBodyBytes: number;
  /** The body's fields as the `1001` message names them, e.g. `{"method", "data"}`. */
  readonly expected: string;
  /**
   * Answers the admitted request: resolves with what to answer `200` with; a rejection is answered
   * as an error (a `HeraldError`'s code and message, else `3000`).
   */
  readonly answer: (who: ClientWriter, fields: Record<string, unknown>) => Promise<unknown>;
}

/**
 * A `POST` route for a client's JSON write: {@link admitClientWrite}, then {@link readJsonObject},
 * then `answer`, whose value is sent as `200` JSON.
 */
export function clientJsonRoute(options: ClientJsonRouteOptions): Route {
  return {
    methods: 'POST',
    async handle(req, res, request) {
      const { cors } = request;
      const who = await admitClientWrite(options, req, res, request);
      if (who === undefined) return;
      const fields = await readJsonObject(req, res, options.maxBodyBytes, cors, options.expected);
      if (fields === undefined) return;
      try {
        sendJson(res, 200, await options.answer(who, fields), cors);
      } catch (error) {
        sendError(res, toWireError(error), cors);
      }
    },
  };
}
