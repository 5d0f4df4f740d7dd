import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type WireError } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import { HeraldError } from '../errors.js';
import { readBody } from '../http/read-body.js';
import { sendError, sendJson } from '../http/respond.js';
import type { Route, RouteRequest } from '../http/route.js';
import type { DeadWebhook, WebhookQueueCounts } from '../webhooks/webhook-queue.js';

/** What the webhook admin routes use: the dispatcher's view of the engine's queue. */
export interface WebhookAdmin {
  counts(): Promise<WebhookQueueCounts>;
  dead(limit: number, after?: number): Promise<DeadWebhook[]>;
  replay(ids: readonly string[] | 'all'): Promise<number>;
  deleteDead(ids: readonly string[] | 'all'): Promise<number>;
}

/** Most ids one replay or delete request names. */
export const MAX_REPLAY_IDS = 1000;

type AdminHandler = (req: IncomingMessage, res: ServerResponse, request: RouteRequest, identity: Identity) => void | Promise<void>;

/**
 * `GET /api/admin/webhooks` (`?limit=&after=`): the queue's counts and a page of dead letters,
 * `{queued, dead, deadLetters: [{event, attempts, lastError, diedAt, seq}], next}` (`next`: the
 * `after` of the next page, or null); `DELETE /api/admin/webhooks` with `{"ids": […]}` or
 * `{"all": true}`: deletes those dead letters, `{deleted}`; `POST /api/admin/webhooks/replay` with
 * the same body: `{replayed}`. `route` wraps a handler in the admin API's access rule.
 */
export function webhookAdminRoutes(
  webhooks: WebhookAdmin,
  route: (methods: string, handle: AdminHandler) => Route,
  readLimit: (params: URLSearchParams, res: ServerResponse, cors: Record<string, string>) => number | undefined,
  maxBodyBytes: number,
): [string, Route][] {
  return [
    [
      '/api/admin/webhooks',
      route('GET,DELETE', async (req, res, { method, params, cors }) => {
        if (method === 'DELETE') {
          const body = await readBody(req, maxBodyBytes);
          const target = body.ok ? parseTarget(body.value) : body.error;
          if (!Array.isArray(target) && target !== 'all') return sendError(res, target, cors);
          try {
            return sendJson(res, 200, { deleted: await webhooks.deleteDead(target) }, cors);
          } catch (error) {
            return sendError(res, unavailable(error), cors);
          }
        }
        const limit = readLimit(params, res, cors);
        if (limit === undefined) return;
        const rawAfter = params.get('after');
        if (rawAfter !== null && !/^\d{1,15}$/.test(rawAfter))
          return sendError(
            res,
            { code: ErrorCode.InvalidField, message: 'after must be the next of a previous page (a whole number)' },
            cors,
          );
        try {
          const [counts, letters] = await Promise.all([
            webhooks.counts(),
            webhooks.dead(limit, rawAfter === null ? undefined : Number(rawAfter)),
          ]);
          const next = letters.length === limit ? letters.at(-1)!.seq : null;
          sendJson(res, 200, { queued: counts.queued, dead: counts.dead, deadLetters: letters, next }, cors);
        } catch (error) {
          sendError(res, unavailable(error), cors);
        }
      }),
    ],
    [
      '/api/admin/webhooks/replay',
      route('POST', async (req, res, { cors }) => {
        const body = await readBody(req, maxBodyBytes);
        const target = body.ok ? parseTarget(body.value) : body.error;
        if (!Array.isArray(target) && target !== 'all') return sendError(res, target, cors);
        try {
          sendJson(res, 200, { replayed: await webhooks.replay(target) }, cors);
        } catch (error) {
          sendError(res, unavailable(error), cors);
        }
      }),
    ],
  ];
}

/** Reads `{"ids": […]}` or `{"all": true}` (a replay's or a delete's). */
function parseTarget(text: string): string[] | 'all' | WireError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: ErrorCode.InvalidJson, message: 'body is not valid JSON' };
  }
  const shape = `body must be {"ids": [event ids]} (1 to ${MAX_REPLAY_IDS}) or {"all": true}`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { code: ErrorCode.InvalidField, message: shape };
  const { ids, all } = body as { ids?: unknown; all?: unknown };
  if (all === true && ids === undefined) return 'all';
  if (all !== undefined || !Array.isArray(ids) || ids.length === 0 || ids.length > MAX_REPLAY_IDS)
    return { code: ErrorCode.InvalidField, message: shape };
  if (!ids.every((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 128))
    return { code: ErrorCode.InvalidField, message: 'ids must be event ids (strings of 1 to 128 characters)' };
  return ids;
}

/** A failure of the queue: the engine did not answer (a Redis outage), `503` with code 3001. */
function unavailable(error: unknown): WireError {
  if (error instanceof HeraldError) return error.toWire();
  return { code: ErrorCode.Unavailable, message: "the engine's webhook queue did not answer" };
}
