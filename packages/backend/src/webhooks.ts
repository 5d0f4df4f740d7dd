import type { HookName, HookRequest, WebhookBatch } from '@herald/protocol';
import { verifySignature, type SignedRequest, type VerifyOptions } from './signed-request.js';
import { HeraldWebhookError } from './webhook-error.js';

const HOOK_NAMES: ReadonlySet<string> = new Set<HookName>(['connect', 'subscribe', 'publish', 'refresh', 'rpc']);

/**
 * Verifies a proxy hook request (see {@link verifySignature}) and resolves with its body, typed:
 * switch on `hook` (`connect`, `subscribe`, `publish`, `refresh`, `rpc`) to narrow it. Rejects with
 * a {@link HeraldWebhookError}; `bad_body` when the body is not a JSON object with a string `id`
 * and a known `hook` (a webhook batch sent to a hook URL, for example).
 */
export async function verifyHook(
  request: SignedRequest,
  secrets: string | readonly string[],
  options?: VerifyOptions,
): Promise<HookRequest> {
  const body = parse(await verifySignature(request, secrets, options));
  if (typeof body.id !== 'string' || typeof body.hook !== 'string' || !HOOK_NAMES.has(body.hook)) {
    throw new HeraldWebhookError('bad_body', 'the body is not a hook request (a JSON object with id and a known hook)');
  }
  return body as unknown as HookRequest;
}

/**
 * Verifies a webhook request (see {@link verifySignature}) and resolves with its batch: `events`,
 * oldest first, each with a unique `id` (a retried batch repeats ids: deduplicate on it) and a
 * `type` to switch on. Events of a type this version does not know are kept: ignore them. Rejects
 * with a {@link HeraldWebhookError}; `bad_body` when the body is not `{ events: [...] }` of objects
 * with a string `id` and `type` (a hook request sent to a webhook URL, for example).
 */
export async function verifyWebhook(
  request: SignedRequest,
  secrets: string | readonly string[],
  options?: VerifyOptions,
): Promise<WebhookBatch> {
  const body = parse(await verifySignature(request, secrets, options));
  const events: unknown = body.events;
  const valid =
    Array.isArray(events) && events.every((event) => isObject(event) && typeof event.id === 'string' && typeof event.type === 'string');
  if (!valid) throw new HeraldWebhookError('bad_body', 'the body is not a webhook batch ({ events: [...] } with an id and type per event)');
  return body as unknown as WebhookBatch;
}

function parse(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HeraldWebhookError('bad_body', 'the body is not JSON', { cause: error });
  }
  if (!isObject(parsed)) throw new HeraldWebhookError('bad_body', 'the body is not a JSON object');
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
