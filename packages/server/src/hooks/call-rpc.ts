import { ErrorCode } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import { HeraldError } from '../errors.js';
import type { HookContext, ProxyHooks } from './proxy-hooks.js';

/**
 * Runs an rpc call (WebSocket `rpc` command, `POST /api/rpc`) through the app's rpc hook and
 * resolves with the app's `data` (`null` when it answered none). Every identity is sent on,
 * the API key's too (as `user: null` with `backend: true`): rpc has no static rule that could answer instead of the app.
 * @throws HeraldError 1005 for a bad method name, 1010 when no rpc hook serves the method (or the hub
 * has no hooks at all), 2001 when the app denies; HookFailure 3003 when the app cannot answer
 */
export async function callRpc(
  hooks: ProxyHooks | undefined,
  identity: Identity,
  context: HookContext,
  method: string,
  data: unknown,
): Promise<unknown> {
  if (hooks === undefined) throw new HeraldError(ErrorCode.NotFound, `no rpc hook serves method ${method}`);
  return hooks.rpc(identity, context, method, data);
}
