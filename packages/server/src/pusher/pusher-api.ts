import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toWireError } from '../errors.js';
import { eventData } from '../doors/door-event.js';
import { escapeName, mappedChannel, unescapeName } from '../doors/escaped-channel.js';
import type { Hub } from '../hub/hub.js';
import { readBody } from '../http/read-body.js';
import { statusFor } from '../http/respond.js';
import type { Route } from '../http/route.js';
import type { PusherAppOptions } from './pusher-options.js';
import { channelNameError } from './pusher-channel-name.js';
import { isProtocolEvent } from './pusher-delivery.js';
import { checkPusherBody, checkPusherQuery } from './pusher-request-signature.js';

/** Bytes of one event's `data` (Pusher's limit: 10 KB); more is refused with 413. */
export const MAX_EVENT_DATA_BYTES = 10_240;
/** Channels of one `POST /apps/{id}/events` (Pusher's limit). */
export const MAX_EVENT_CHANNELS = 100;
/** Events of one `POST /apps/{id}/batch_events` (Pusher's limit). */
export const MAX_BATCH_EVENTS = 10;
/** Characters of an event name (Pusher's limit). */
export const MAX_EVENT_NAME = 200;

/** Pusher's socket ids: `<digits>.<digits>`. */
const SOCKET_ID = /^\d+\.\d+$/;

/** The Pusher transport's method `terminate_connections` calls (see the Pusher WebSocket door). */
export interface PusherTerminator {
  /** Closes the app's Pusher connections signed in as `userId` on this node; returns how many. */
  terminateUser(appId: string, userId: string): number;
}

/** What the HTTP API runs on. */
export interface PusherApiParts {
  readonly hub: Hub;
  readonly apps: ReadonlyMap<string, PusherAppOptions>;
  /** ms since the Unix epoch (the hub's clock). */
  readonly now: () => number;
  /** Seconds `auth_timestamp` may differ from {@link now}. */
  readonly timestampWindow: number;
  /** Bytes of a request body. */
  readonly maxBodyBytes: number;
  /** Ends a user's connections of an app on every node; resolves with how many on this one. */
  readonly terminateUser: (appId: string, userId: string) => Promise<number>;
  /**
   * Herald's per-address request limit (`RequestLimiter.admitAddress`): false when refused (the
   * `429` is sent). None: not limited.
   */
  readonly admit?: (req: IncomingMessage, res: ServerResponse, kind: 'publish' | 'history', cors: Record<string, string>) => boolean;
}

/** What a request naming no app is checked against: a key and secret no request can match. */
const UNKNOWN_APP = { key: `unknown-${randomBytes(16).toString('hex')}`, secret: randomBytes(32).toString('hex') };

/** A refusal in Pusher's way: the status and a text body. */
class PusherApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function refuse(status: number, message: string): never {
  throw new PusherApiError(status, message);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function sendBody(res: ServerResponse, value: unknown, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(value);
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * The Herald channel of app `app`'s Pusher channel `name` (checked as the WebSocket door checks it:
 * 400 when it is no Pusher channel name; `#server-to-user-{id}` is one, `#` escaped as `~23`).
 */
function heraldChannel(app: PusherAppOptions, name: unknown): string {
  const invalid = channelNameError(name);
  if (invalid !== undefined) refuse(400, `Invalid channel name: ${JSON.stringify(name)} (${invalid})`);
  if (typeof name !== 'string') refuse(400, 'Invalid channel name');
  const mapped = mappedChannel(`${app.id}:`, name);
  if ('error' in mapped) refuse(400, `Invalid channel name ${JSON.stringify(name)}: ${mapped.error}`);
  return mapped.channel;
}

/** The info attributes asked for (`info=a,b`). */
function infoAttributes(info: unknown): Set<string> {
  if (info === undefined || info === null || info === '') return new Set();
  if (typeof info !== 'string') refuse(400, 'info must be a comma-separated string of attributes');
  return new Set(
    info
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== ''),
  );
}

/** One event of `/events` or `/batch_events`, checked. */
interface CheckedEvent {
  readonly name: string;
  readonly data: string;
  /** Pusher channel → Herald channel. */
  readonly channels: readonly (readonly [string, string])[];
  readonly socketId: string | undefined;
  readonly info: Set<string>;
}

function checkEvent(app: PusherAppOptions, value: unknown, batch: boolean): CheckedEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse(400, 'An event must be a JSON object');
  const fields = value as Record<string, unknown>;
  const { name, data, socket_id: socketId } = fields;
  if (typeof name !== 'string' || name === '') refuse(400, 'Missing event name: name must be a non-empty string');
  if (name.length > MAX_EVENT_NAME) refuse(400, `Event name too long: more than ${MAX_EVENT_NAME} characters`);
  if (isProtocolEvent(name)) refuse(400, `Event name ${name} is reserved`);
  if (typeof data !== 'string') refuse(400, 'data must be a string (JSON-encode objects)');
  if (Buffer.byteLength(data, 'utf8') > MAX_EVENT_DATA_BYTES)
    refuse(413, `Payload too large: the data of event ${name} is more than ${MAX_EVENT_DATA_BYTES} bytes`);
  if (socketId !== undefined && (typeof socketId !== 'string' || !SOCKET_ID.test(socketId)))
    refuse(400, `Invalid socket_id: ${JSON.stringify(socketId)}`);
  let names: unknown[];
  if (batch || fields['channels'] === undefined) {
    if (fields['channel'] === undefined) refuse(400, batch ? 'Missing channel' : 'Missing channels: give channels or channel');
    names = [fields['channel']];
  } else {
    if (fields['channel'] !== undefined) refuse(400, 'Give channels or channel, not both');
    const list = fields['channels'];
    if (!Array.isArray(list) || list.length === 0) refuse(400, 'channels must be a non-empty array');
    if (list.length > MAX_EVENT_CHANNELS) refuse(400, `Too many channels: at most ${MAX_EVENT_CHANNELS} per event`);
    names = list;
  }
  const channels = names.map((c) => [c as string, heraldChannel(app, c)] as const);
  return { name, data, channels, socketId, info: infoAttributes(fields['info']) };
}

/** A channel's `subscription_count` and `user_count` (a member is its user, or its client when anonymous). */
async function counts(hub: Hub, channel: string): Promise<{ subscriptions: number; users: number; ids: string[] }> {
  const members = await hub.presence(channel);
  const ids = [...new Set(members.map((m) => m.user ?? m.client))];
  return { subscriptions: members.length, users: ids.length, ids };
}

/** The info of one channel for `/events`: the attributes asked for that apply (user_count on presence channels only). */
async function eventInfo(hub: Hub, name: string, channel: string, info: Set<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const userCount = info.has('user_count') && name.startsWith('presence-');
  if (!userCount && !info.has('subscription_count')) return out;
  const { subscriptions, users } = await counts(hub, channel);
  if (userCount) out['user_count'] = users;
  if (info.has('subscription_count')) out['subscription_count'] = subscriptions;
  return out;
}

/**
 * Publishes one checked event on each of its channels (in order), as `{event, data}`, with
 * `socket_id` when given: every node's Pusher WebSocket door skips that connection (see
 * pusher-delivery.ts), as it does for a client event's sender.
 */
async function publishEvent(parts: PusherApiParts, event: CheckedEvent): Promise<void> {
  // Exact: parsed only where it serialises back to the same text, so every subscriber gets the bytes the backend sent.
  const stored = eventData(event.name, event.data, true, event.socketId === undefined ? undefined : { socket_id: event.socketId });
  for (const [, channel] of event.channels) await parts.hub.publish(channel, stored);
}

function parseJsonBody(body: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    refuse(400, 'Invalid JSON body');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse(400, 'The body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The part of a path segment as text (percent-decoded); 400 when it does not decode. */
function segment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    refuse(400, `Malformed path segment ${text}`);
  }
}

async function handle(
  parts: PusherApiParts,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  params: URLSearchParams,
  cors: Record<string, string>,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const match = /^\/apps\/([^/]+)(\/.*)?$/.exec(path);
  if (match === null) refuse(404, 'Not found');
  // Herald's per-address request limits: a POST counts as a publish, any other request as a history read.
  if (parts.admit !== undefined && !parts.admit(req, res, method === 'POST' ? 'publish' : 'history', cors)) return;
  // Authenticated first: an unknown app is refused as a wrong key is (401), so app ids cannot be
  // told apart without a valid signature; the body is read only for a signed request.
  const app = parts.apps.get(segment(match[1]!));
  const refusal = checkPusherQuery(app ?? UNKNOWN_APP, { method, path, params }, parts.now(), parts.timestampWindow);
  if (refusal !== undefined || app === undefined) {
    // A body left unread: the connection is not reused.
    if (method !== 'GET' && method !== 'HEAD') res.setHeader('Connection', 'close');
    refuse(401, refusal?.message ?? 'Invalid auth_key: the key is not this app’s');
  }
  const rest = (match[2] ?? '').split('/').slice(1);
  // Which endpoint, and its method.
  type Endpoint = 'events' | 'batch' | 'channels' | 'channel' | 'users' | 'terminate';
  let endpoint: Endpoint | undefined;
  if (rest.length === 1 && rest[0] === 'events') endpoint = 'events';
  else if (rest.length === 1 && rest[0] === 'batch_events') endpoint = 'batch';
  else if (rest.length === 1 && rest[0] === 'channels') endpoint = 'channels';
  else if (rest.length === 2 && rest[0] === 'channels' && rest[1] !== '') endpoint = 'channel';
  else if (rest.length === 3 && rest[0] === 'channels' && rest[2] === 'users') endpoint = 'users';
  else if (rest.length === 3 && rest[0] === 'users' && rest[1] !== '' && rest[2] === 'terminate_connections') endpoint = 'terminate';
  if (endpoint === undefined) refuse(404, 'Not found');
  const post = endpoint === 'events' || endpoint === 'batch' || endpoint === 'terminate';
  if (method !== (post ? 'POST' : 'GET')) {
    res.setHeader('Allow', post ? 'POST' : 'GET');
    refuse(405, `Method ${method} not allowed: use ${post ? 'POST' : 'GET'}`);
  }
  let body: string | undefined;
  if (post) {
    const read = await readBody(req, parts.maxBodyBytes);
    if (!read.ok) {
      if (statusFor(read.error.code) === 413) res.setHeader('Connection', 'close');
      refuse(statusFor(read.error.code), read.error.message);
    }
    body = read.value;
  }
  const wrongBody = checkPusherBody(params, body);
  if (wrongBody !== undefined) refuse(wrongBody.status, wrongBody.message);
  const { hub } = parts;
  switch (endpoint) {
    case 'events': {
      const event = checkEvent(app, parseJsonBody(body!), false);
      await publishEvent(parts, event);
      if (event.info.size === 0) return sendBody(res, {}, cors);
      const channels: Record<string, Record<string, number>> = {};
      for (const [name, channel] of event.channels) channels[name] = await eventInfo(hub, name, channel, event.info);
      return sendBody(res, { channels }, cors);
    }
    case 'batch': {
      const { batch } = parseJsonBody(body!);
      if (!Array.isArray(batch)) refuse(400, 'Missing batch: the body must be {"batch": [events]}');
      if (batch.length > MAX_BATCH_EVENTS) refuse(400, `Batch too large: at most ${MAX_BATCH_EVENTS} events`);
      // Every event is checked before any is published.
      const events = batch.map((item) => checkEvent(app, item, true));
      for (const event of events) await publishEvent(parts, event);
      if (events.every((e) => e.info.size === 0)) return sendBody(res, {}, cors);
      const infos: Record<string, number>[] = [];
      for (const event of events) infos.push(await eventInfo(hub, event.channels[0]![0], event.channels[0]![1], event.info));
      return sendBody(res, { batch: infos }, cors);
    }
    case 'channels': {
      const filter = params.get('filter_by_prefix') ?? '';
      const info = infoAttributes(params.get('info') ?? undefined);
      for (const attribute of info)
        if (attribute !== 'user_count') refuse(400, `Unsupported info attribute ${attribute} for the channel list`);
      if (info.has('user_count') && !filter.startsWith('presence-'))
        refuse(400, 'user_count may only be requested with filter_by_prefix=presence-');
      const prefix = `${app.id}:`;
      const found = await hub.occupiedChannels(prefix + escapeName(filter));
      if (found === undefined) refuse(501, 'The engine cannot list channels');
      const channels: Record<string, { user_count?: number }> = {};
      for (const channel of found.sort()) {
        const name = unescapeName(channel.slice(prefix.length));
        channels[name] = info.has('user_count') ? { user_count: (await counts(hub, channel)).users } : {};
      }
      return sendBody(res, { channels }, cors);
    }
    case 'channel': {
      const name = segment(rest[1]!);
      const channel = heraldChannel(app, name);
      const info = infoAttributes(params.get('info') ?? undefined);
      for (const attribute of info)
        if (attribute !== 'user_count' && attribute !== 'subscription_count') refuse(400, `Unsupported info attribute ${attribute}`);
      if (info.has('user_count') && !name.startsWith('presence-')) refuse(400, 'user_count is only available on presence- channels');
      const { subscriptions, users } = await counts(hub, channel);
      return sendBody(
        res,
        {
          occupied: subscriptions > 0,
          ...(info.has('user_count') && { user_count: users }),
          ...(info.has('subscription_count') && { subscription_count: subscriptions }),
        },
        cors,
      );
    }
    case 'users': {
      const name = segment(rest[1]!);
      const channel = heraldChannel(app, name);
      if (!name.startsWith('presence-')) refuse(400, 'Users are only available on presence- channels');
      const { ids } = await counts(hub, channel);
      return sendBody(res, { users: ids.map((id) => ({ id })) }, cors);
    }
    case 'terminate': {
      const user = segment(rest[1]!);
      await parts.terminateUser(app.id, user);
      return sendBody(res, {}, cors);
    }
  }
}

/**
 * The Pusher HTTP API under `/apps/` (a prefix route): `POST /apps/{id}/events` and
 * `/batch_events`, `GET /apps/{id}/channels`, `/channels/{channel}`, `/channels/{channel}/users`,
 * `POST /apps/{id}/users/{user}/terminate_connections`. Every request carries Pusher's signature
 * (see `checkPusherSignature`), checked first (an unknown app is a 401 too), the body's MD5 once it
 * is read; refusals are answered as Pusher's API does: the status (400, 401, 404, 405, 413, 503)
 * and a text message (a per-address limit's 429 is Herald's JSON).
 */
export function pusherApiRoute(parts: PusherApiParts): Route {
  return {
    async handle(req, res, { path, params, cors }) {
      try {
        await handle(parts, req, res, path, params, cors);
      } catch (error) {
        if (error instanceof PusherApiError) return sendText(res, error.status, error.message, cors);
        const wire = toWireError(error);
        sendText(res, statusFor(wire.code), wire.message, cors);
      }
    },
  };
}
