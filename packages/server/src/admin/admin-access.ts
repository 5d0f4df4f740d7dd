import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import { ANONYMOUS, SERVER, type Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import { HeraldError, toWireError } from '../errors.js';
import { sendError } from '../http/respond.js';

/** The refusal of a request that presents neither credential. */
export const ADMIN_CREDENTIALS_NEEDED =
  'the admin API needs the API key (X-Herald-Key) or an admin token (Authorization: Bearer, with "herald": {"admin": true})';

/** The refusal of every request on a hub with restrictive permissions but no credential to check. */
export const ADMIN_NEEDS_CREDENTIALS =
  'the admin API needs apiKeys or an authenticator: this hub has neither, and its permissions or proxy hooks restrict clients';

/**
 * The scheme and host the request was sent to, as a browser writes an `Origin`: `https` on a TLS
 * socket or when a proxy says so in `X-Forwarded-Proto` (a TLS-terminating proxy), else `http`.
 * Undefined without a (valid) `Host` header.
 */
export function ownOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (host === undefined || host === '') return undefined;
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',', 1)[0]?.trim().toLowerCase();
  const scheme =
    proto === 'https' || proto === 'http' ? proto : (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  try {
    // As a browser writes it: lower case, no default port.
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * The CORS headers of an admin API answer, or undefined when the request's origin may not call
 * the admin API (answered 403). Allowed: no `Origin` (not a browser page), the hub's own origin
 * (scheme and host, see {@link ownOrigin}: the console at `/admin`), or an origin listed in
 * `allowedOrigins`. Never `Access-Control-Allow-Origin: *`: `allowedOrigins: '*'` (the dev
 * profile) does not let other sites' pages read or change the admin API, whose answers list users
 * and addresses and whose POSTs disconnect and publish.
 */
export function adminCors(security: Security, req: IncomingMessage): Record<string, string> | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return { Vary: 'Origin' };
  if (security.originListed(origin)) return security.corsHeaders(origin);
  let normalized: string;
  try {
    normalized = new URL(origin).origin;
  } catch {
    return undefined;
  }
  return normalized === ownOrigin(req) ? { Vary: 'Origin' } : undefined;
}

/**
 * Who may use the admin API: the API key's holder, or an operator whose token (with
 * `"herald": {"admin": true}`) comes in the `Authorization` header; never a cookie (a browser
 * sends it unasked) or a ticket. On an open hub ({@link Security.open}: no API key, no token
 * verification, no proxy hook deciding for clients and permissions that allow everything, the dev
 * profile) everyone. A hub with neither API keys nor an authenticator but with restrictive
 * permissions or such a hook refuses every request
 * ({@link ADMIN_NEEDS_CREDENTIALS}): nobody could prove being its operator. Otherwise answers 401
 * (2000: no or bad credentials) or 403 (2001: a valid token without the admin claim) and resolves
 * undefined.
 */
export async function authorizeAdmin(
  security: Security,
  req: IncomingMessage,
  res: ServerResponse,
  cors: Record<string, string>,
): Promise<Identity | undefined> {
  try {
    if (req.headers['x-herald-key'] !== undefined) {
      if (security.hasApiKey(req)) return SERVER;
      throw new HeraldError(ErrorCode.Unauthorized, 'the API key is not valid');
    }
    const authorization = req.headers.authorization;
    if (authorization !== undefined && security.authenticates) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (match === null) throw new HeraldError(ErrorCode.Unauthorized, 'Authorization must be "Bearer <token>"');
      const identity = await security.verify(match[1]!);
      if (identity.admin !== true)
        throw new HeraldError(ErrorCode.Forbidden, 'this token is not an admin token ("herald": {"admin": true})');
      return identity;
    }
    if (security.open) return OPEN_HUB_ADMIN;
    if (!security.hasApiKeys && !security.authenticates) throw new HeraldError(ErrorCode.Unauthorized, ADMIN_NEEDS_CREDENTIALS);
    throw new HeraldError(ErrorCode.Unauthorized, ADMIN_CREDENTIALS_NEEDED);
  } catch (error) {
    sendError(res, toWireError(error), cors);
    return undefined;
  }
}

/** Anyone on an open hub. */
const OPEN_HUB_ADMIN: Identity = { ...ANONYMOUS, admin: true };
