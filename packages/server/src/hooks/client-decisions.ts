import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { HookContext } from './proxy-hooks.js';

/**
 * Whether the app's `op` hook, not the namespace's static rule, decides whether `identity` may
 * `op` on `channel`: a hook is configured for the channel's namespace (or at the top level) and the
 * identity is a client (a backend with the API key and an admin are never sent to a hook).
 */
export function hookDecides(security: Security, identity: Identity, op: 'subscribe' | 'publish', channel: string): boolean {
  const hooks = security.hooks;
  if (hooks === undefined || identity.server === true || identity.admin === true) return false;
  return hooks.endpoint(op, channel) !== false;
}

/**
 * The static check of a subscribe or publish, unless a hook decides it (see {@link hookDecides}):
 * then the hub asks the app later, once its own checks passed.
 * @throws HeraldError 2000 or 2001 when the static rule refuses
 */
export function checkUnlessHooked(security: Security, identity: Identity, op: 'subscribe' | 'publish', channel: string): void {
  if (!hookDecides(security, identity, op, channel)) security.permissions.check(identity, op, channel);
}

/**
 * Asks the subscribe hook (when one decides `channel`; else nothing is asked: the static check,
 * {@link checkUnlessHooked}, decided) and resolves with the info of the client's presence member
 * on the channel: the hook's channel info, else the connection info (`identity.info`), else
 * `undefined`.
 * @throws HeraldError 2001 when the app denies; HookFailure 3003 when it cannot decide
 */
export async function subscribeInfo(security: Security, identity: Identity, context: HookContext, channel: string): Promise<unknown> {
  const hooks = security.hooks;
  if (hooks === undefined || !hookDecides(security, identity, 'subscribe', channel)) return identity.info;
  const decision = await hooks.subscribe(identity, context, channel);
  return decision?.info !== undefined ? decision.info : identity.info;
}

/** What a client publish stores: the app's replacement or the data sent, and whether it was replaced. */
export interface PublishDecision {
  readonly data: unknown;
  readonly replaced: boolean;
}

/**
 * Decides a client's publish of `data` on `channel`: the publish hook when one decides the channel,
 * else the static rule. Resolves with what to store.
 * @throws HeraldError 2000 or 2001 when refused; HookFailure 3003 when the app cannot decide
 */
export async function decidePublish(
  security: Security,
  identity: Identity,
  context: HookContext,
  channel: string,
  data: unknown,
): Promise<PublishDecision> {
  const hooks = security.hooks;
  if (hooks === undefined || !hookDecides(security, identity, 'publish', channel)) {
    security.permissions.check(identity, 'publish', channel);
    return { data, replaced: false };
  }
  return (await hooks.publish(identity, context, channel, data)) ?? { data, replaced: false };
}
