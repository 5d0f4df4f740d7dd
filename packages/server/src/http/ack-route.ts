import type { ServerResponse } from 'node:http';
import { ACK_FIELDS, checkChannelName, ErrorCode, isPosition } from '@herald/protocol';
import type { Acks } from '../acks/acks.js';
import { authorizeAdmin } from '../admin/admin-access.js';
import type { Security } from '../auth/security.js';
import { HeraldError, toWireError } from '../errors.js';
import { nextSessionId } from '../transport/session-id.js';
import { clientJsonRoute } from './client-write.js';
import type { RequestLimiter } from './request-limiter.js';
import { sendError, sendJson } from './respond.js';
import type { Route } from './route.js';

/** Largest `POST /api/ack` body: `{"channel","epoch","offset"}` with a 255-character channel fits well within it. */
export const MAX_ACK_BODY_BYTES = 1024;

/** Positions `GET /api/acks` answers unless `limit` says otherwise. */
export const DEFAULT_ACKS_LIMIT = 500;
/** Most positions `GET /api/acks` answers (`limit`). */
export const MAX_ACKS_LIMIT = 5000;

/**
 * `POST /api/ack` with `{"channel", "epoch", "offset"}`: the acknowledgement of SSE and polling
 * clients (WebSocket clients send the `ack` command). Identified as `POST /api/publish` is (the
 * cookie rule for CSRF included) and counted against the publish request limits. Answers `200
 * {"channel","epoch","offset"}`: the user's acknowledged position after it. Errors: `1000`, `1001`,
 * `1003`, `1005`, `1006` for the body, `2000` without a user, `2001` without the subscribe right,
 * `1012` beyond the channel's last offset, `1013` for another epoch, `3001` when the engine fails.
 */
export function ackRoute(acks: Acks, security: Security, requests: RequestLimiter): Route {
  return clientJsonRoute({
    security,
    requests,
    kind: 'publish',
    maxBodyBytes: MAX_ACK_BODY_BYTES,
    expected: '{"channel", "epoch", "offset"}',
    async answer(who, fields) {
      const channel = checkChannelName(fields['channel']);
      if (!channel.ok) throw HeraldError.fromWire(channel.error);
      const position = { epoch: fields['epoch'], offset: fields['offset'] };
      if (!isPosition(position) || position.offset < 1) throw new HeraldError(ErrorCode.InvalidField, ACK_FIELDS);
      const context = { transport: 'http', client: nextSessionId() } as const;
      return acks.ack(who.identity, channel.value, position, { context, subscribed: false });
    },
  });
}

/**
 * Answers a list of acknowledged positions: `{channel, acks: [{user, epoch, offset, time}]}`, most
 * recently acknowledged first, for `channel` (required), `user` and `limit` (1 to {@link MAX_ACKS_LIMIT})
 * in `params`. Shared by `GET /api/acks` and `GET /api/admin/acks`.
 */
export async function answerAcks(acks: Acks, res: ServerResponse, params: URLSearchParams, cors: Record<string, string>): Promise<void> {
  const channel = checkChannelName(params.get('channel') ?? '');
  if (!channel.ok) return sendError(res, channel.error, cors);
  const user = params.get('user') ?? undefined;
  if (user !== undefined && (user.length === 0 || user.length > 256))
    return sendError(res, { code: ErrorCode.InvalidField, message: 'user must be 1-256 characters' }, cors);
  const raw = params.get('limit');
  const limit = raw === null ? DEFAULT_ACKS_LIMIT : Number(raw);
  if (raw !== null && !(/^\d+$/.test(raw) && limit >= 1 && limit <= MAX_ACKS_LIMIT))
    return sendError(res, { code: ErrorCode.InvalidField, message: `limit must be an integer from 1 to ${MAX_ACKS_LIMIT}` }, cors);
  try {
    const rows = await acks.list(channel.value, { user, limit });
    const list = rows.map(({ user: u, epoch, offset, time }) => ({ user: u, epoch, offset, time }));
    sendJson(res, 200, { channel: channel.value, acks: list }, cors);
  } catch (error) {
    sendError(res, toWireError(error), cors);
  }
}

/**
 * `GET /api/acks?channel=…[&user=…][&limit=…]`: the users' acknowledged positions on a channel, for
 * backends: it needs the API key or an admin token (as the admin API does, whether or not the admin
 * API is on). See {@link answerAcks}.
 */
export function acksRoute(acks: Acks, security: Security): Route {
  return {
    methods: 'GET',
    async handle(req, res, { params, cors }) {
      const identity = await authorizeAdmin(security, req, res, cors);
      if (identity !== undefined) await answerAcks(acks, res, params, cors);
    },
  };
}
