import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import { ANONYMOUS, SERVER, type Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import { HeraldError, toWireError } from '../errors.js';
import { sendError } from '../http/respond.js';

/** The refusal of a request that presents neither credential. */
export const ADMIN_CREDENTIALS_NEEDED =
  'the admin API needs the API key (X-Herald-Key) or an admin token (Authorization: Bearer, with "herald": {"admin": true})';

/**
 * Whether a browser page from `origin` may call the admin API: one the hub allows, or the hub's
 * own (the console at `/admin` on a production hub whose `allowedOrigins` do not list the hub).
 * No `Origin` header: not a cross-site browser request, allowed.
 */
export function adminOriginAllowed(security: Security, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (security.originAllowed(origin)) return true;
  try {
    return new URL(origin!).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Who may use the admin API: the API key's holder, or an operator whose token (with
 * `"herald": {"admin": true}`) comes in the `Authorization` header; never a cookie (a browser
 * sends it unasked) or a ticket. On an open hub (no API key and no token verification: the dev
 * profile) everyone. Otherwise answers 401 (2000: no or bad credentials) or 403 (2001: a valid
 * token without the admin claim) and resolves undefined.
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
    if (!security.hasApiKeys && !security.authenticates) return OPEN_HUB_ADMIN;
    throw new HeraldError(ErrorCode.Unauthorized, ADMIN_CREDENTIALS_NEEDED);
  } catch (error) {
    sendError(res, toWireError(error), cors);
    return undefined;
  }
}

/** Anyone on an open hub. */
const OPEN_HUB_ADMIN: Identity = { ...ANONYMOUS, admin: true };
