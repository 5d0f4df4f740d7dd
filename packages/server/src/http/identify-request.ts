import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { CredentialSource, Security } from '../auth/security.js';
import { HeraldError, toWireError } from '../errors.js';
import type { HookContext } from '../hooks/proxy-hooks.js';
import { nextSessionId } from '../transport/session-id.js';
import { sendError } from './respond.js';

/**
 * Who sent the request and how, or an error answer already sent (then `undefined`: 401 for bad
 * credentials or a connect hook's denial, 503 with `Retry-After` when the connect hook cannot
 * decide). `context`: what the connect hook is told; by default a plain API request with a new
 * request id.
 */
export async function identifyRequest(
  security: Security,
  req: IncomingMessage,
  res: ServerResponse,
  params: URLSearchParams,
  cors: Record<string, string>,
  context?: HookContext,
): Promise<{ identity: Identity; source: CredentialSource } | undefined> {
  try {
    const who = await security.identify(req, params, context ?? { transport: 'http', client: nextSessionId() });
    if (security.requireAuth && !who.identity.authenticated) throw new HeraldError(ErrorCode.Unauthorized, 'this hub needs a token');
    return who;
  } catch (error) {
    sendError(res, toWireError(error), cors);
    return undefined;
  }
}

/**
 * Browsers send cookies unasked: a cookie-authenticated write must name its (allowed) origin. False
 * when the request is refused (the answer is sent).
 */
export function csrfSafe(req: IncomingMessage, res: ServerResponse, source: CredentialSource, cors: Record<string, string>): boolean {
  if (source !== 'cookie' || req.headers.origin !== undefined) return true;
  sendError(res, { code: ErrorCode.Forbidden, message: 'a cookie-authenticated request must carry an Origin header' }, cors);
  return false;
}
