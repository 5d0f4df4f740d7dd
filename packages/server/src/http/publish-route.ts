import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkChannelName, checkIdempotencyKey, ErrorCode } from '@herald/protocol';
import { idempotencyScope } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import { toWireError } from '../errors.js';
import { decidePublish, type PublishDecision } from '../hooks/client-decisions.js';
import type { Hub, PublishCallOptions } from '../hub/hub.js';
import { admitClientWrite, readJsonObject } from './client-write.js';
import { publishBatch } from './publish-batch.js';
import { sendError, sendJson } from './respond.js';
import type { RequestLimiter } from './request-limiter.js';
import type { Route } from './route.js';
import { nextSessionId } from '../transport/session-id.js';
import { clientPublisher } from '../webhooks/client-events.js';

/**
 * Decides one publish of `data` on `channel` for the request's publisher: the static rules or the
 * app's publish hook; resolves with what to store, or rejects (a `HeraldError`) when refused.
 */
export type Authorize = (channel: string, data: unknown) => Promise<PublishDecision>;

/**
 * `POST /api/publish` with `{"channel", "data", "idempotencyKey"?}`: answers `{channel, epoch, offset}`
 * once the engine stored the message (plus `duplicate: true` when the key was already used). With
 * `{"messages": […]}` instead, a batch: see {@link publishBatch}; `admitBatch` (the rate limits)
 * is asked first for a batch of 2 to `maxBatchMessages` messages and answers a refusal itself.
 */
export async function handlePublish(
  hub: Hub,
  req: IncomingMessage,
  res: ServerResponse,
  bodyLimit: number,
  headers: Record<string, string>,
  authorize: Authorize,
  scope: string,
  maxBatchMessages: number,
  admitBatch?: (messages: number) => Promise<boolean>,
  publisher?: PublishCallOptions['publisher'],
): Promise<void> {
  const fields = await readJsonObject(req, res, bodyLimit, headers, '{"channel", "data"} or {"messages"}');
  if (fields === undefined) return;
  if (Object.prototype.hasOwnProperty.call(fields, 'messages')) {
    if (Object.prototype.hasOwnProperty.call(fields, 'channel') || Object.prototype.hasOwnProperty.call(fields, 'data')) {
      return sendError(res, { code: ErrorCode.InvalidFrame, message: 'a body has either messages (a batch) or channel and data' }, headers);
    }
    if (req.headers['idempotency-key'] !== undefined) {
      return sendError(
        res,
        { code: ErrorCode.InvalidField, message: 'a batch takes no Idempotency-Key header: give each message its own idempotencyKey' },
        headers,
      );
    }
    if (Object.prototype.hasOwnProperty.call(fields, 'idempotencyKey')) {
      return sendError(
        res,
        { code: ErrorCode.InvalidField, message: 'a batch takes no top-level idempotencyKey: give each message its own idempotencyKey' },
        headers,
      );
    }
    const messages = fields['messages'];
    if (
      admitBatch !== undefined &&
      Array.isArray(messages) &&
      messages.length > 1 &&
      messages.length <= maxBatchMessages &&
      !(await admitBatch(messages.length))
    )
      return;
    // 'close' before the answer was sent means the client went away: the batch stops starting entries.
    const closed = new AbortController();
    const onClose = (): void => closed.abort();
    res.once('close', onClose);
    try {
      const batch = await publishBatch(
        { hub, authorize, scope, maxMessages: maxBatchMessages, closed: closed.signal, publisher },
        messages,
      );
      return batch.ok ? sendJson(res, 200, batch.value, headers) : sendError(res, batch.error, headers);
    } finally {
      res.off('close', onClose);
    }
  }
  const channel = checkChannelName(fields['channel']);
  if (!channel.ok) return sendError(res, channel.error, headers);
  if (!Object.prototype.hasOwnProperty.call(fields, 'data')) {
    return sendError(res, { code: ErrorCode.InvalidField, message: 'body needs a data field' }, headers);
  }
  // The key may come in the body or, as in the IETF draft, in an `Idempotency-Key` header (a
  // structured-field string there: quotes around it are not part of the key).
  const rawHeader = req.headers['idempotency-key'];
  const header = typeof rawHeader === 'string' && /^"[^"]*"$/.test(rawHeader) ? rawHeader.slice(1, -1) : rawHeader;
  const bodyKey = fields['idempotencyKey'] ?? undefined;
  if (typeof header === 'string' && bodyKey !== undefined && bodyKey !== header) {
    return sendError(res, { code: ErrorCode.InvalidField, message: 'the Idempotency-Key header and idempotencyKey differ' }, headers);
  }
  const rawKey = bodyKey ?? header;
  let idempotencyKey: string | undefined;
  if (rawKey !== undefined) {
    const key = checkIdempotencyKey(rawKey);
    if (!key.ok) return sendError(res, key.error, headers);
    idempotencyKey = key.value;
  }
  try {
    const sent = fields['data'];
    const decision = await authorize(channel.value, sent);
    const result = await hub.publish(channel.value, decision.data, {
      idempotencyKey,
      idempotencyScope: scope,
      publisher,
      // A key is bound to what the client sent, not to the app's replacement of it.
      ...(decision.replaced && { idempotencyData: sent }),
    });
    sendJson(res, 200, result, headers);
  } catch (error) {
    sendError(res, toWireError(error), headers);
  }
}

/**
 * The `POST /api/publish` route: the rate limits (per address, then per user; a batch then counts
 * its other messages too), identifies the publisher, then {@link handlePublish}, which checks
 * `publish` on each channel (or asks the publish hook, under the request's id).
 */
export function publishRoute(
  hub: Hub,
  security: Security,
  maxBodyBytes: number,
  maxBatchMessages: number,
  requests: RequestLimiter,
): Route {
  return {
    methods: 'POST',
    async handle(req, res, request) {
      const { cors } = request;
      // One request id for every hook the request asks (connect, publish).
      const context = { transport: 'http', client: nextSessionId() } as const;
      const who = await admitClientWrite({ security, requests, kind: 'publish', context }, req, res, request);
      if (who === undefined) return;
      return handlePublish(
        hub,
        req,
        res,
        maxBodyBytes,
        cors,
        // A client's publish goes to the publish hook where one decides the channel (never the API key's).
        (channel, data) => decidePublish(security, who.identity, context, channel, data),
        idempotencyScope(who.identity),
        maxBatchMessages,
        (messages) => requests.admitBatch(req, res, who.identity, messages, cors),
        // The request is the client: its id is the one the hooks were told, and the `client_publish` events carry it.
        clientPublisher(who.identity, context.client),
      );
    },
  };
}
