import type { IncomingMessage, ServerResponse } from 'node:http';
import { ANONYMOUS } from '../auth/identity.js';
import { HeraldError } from '../errors.js';
import type { FrontDoorParts } from '../http/front-door.js';
import { readBody } from '../http/read-body.js';
import { statusFor } from '../http/respond.js';
import type { Route } from '../http/route.js';
import { nextSessionId } from '../transport/session-id.js';
import type { MercureConfig } from './mercure-config.js';
import { discoveryLink, MERCURE_PATH, sendText } from './mercure-http.js';
import { presentedToken, verifyMercureToken, type MercureClaims } from './mercure-token.js';
import type { MercureTransport } from './mercure-transport.js';
import { UPDATES_CHANNEL, type PostedUpdate } from './mercure-update.js';
import { publishUpdate, topicChannel } from './publish-update.js';
import { EARLIEST, resumePoints, updatesDropped } from './resume-point.js';
import { matchesSome, MAX_SELECTOR_LENGTH, MAX_TEMPLATE_CHARS, MAX_TEMPLATE_EXPRESSIONS, TopicSelector } from './topic-selector.js';
import type { Position } from '@herald/protocol';
import { randomUUID } from 'node:crypto';

/** The smallest `retry` (ms) an update may carry. */
export const MIN_RETRY = 50;

// C0 and C1 controls and DEL: they would break the SSE framing of `id:` and `event:`.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A Pusher `private-`, `private-encrypted-` or `presence-` channel of some app (`A:private-…`), as the Pusher door maps them. */
const PUSHER_PROTECTED = /^[^:]+:(?:private-|presence-)/;

/** `/.well-known/mercure` as a path prefix anywhere in a topic's text: followed by `/`, `?`, `#` or the end. */
const HUB_PATH_TEXT = new RegExp(`${MERCURE_PATH.replace(/\./g, '\\.')}(?:[/?#]|$)`, 'i');

/**
 * Whether `topic` names the hub's own namespace (`/.well-known/mercure` and below), so that only the
 * hub publishes there (subscription events) and a publisher cannot forge them: its text, with
 * percent-encoded unreserved characters decoded (`%6Dercure`, `%2E`), holds `/.well-known/mercure`
 * followed by `/`, `?`, `#` or the end anywhere (before dot segments are resolved: a selector
 * matches the text as it is, so `/.well-known/mercure/subscriptions/../../x` is refused too), or
 * resolves (whatever the scheme and host, dot segments removed) to a path in it.
 */
export function reservedTopic(topic: string): boolean {
  // Percent-encoded unreserved characters are the same text (`%6Dercure`, `%2e%2e`).
  const text = topic.replace(/%([0-9A-Fa-f]{2})/g, (escaped, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escaped;
  });
  if (HUB_PATH_TEXT.test(text)) return true;
  let path: string;
  try {
    path = new URL(new URL(text, 'http://hub/').pathname, 'http://hub/').pathname;
  } catch {
    return false;
  }
  return path === MERCURE_PATH || path.startsWith(`${MERCURE_PATH}/`);
}

/** The token a request presents, verified: claims, `undefined` (none), or the status to answer. */
async function authenticate(
  req: IncomingMessage,
  params: URLSearchParams | undefined,
  key: MercureConfig['publisher'] | undefined,
): Promise<MercureClaims | undefined | 401> {
  const token = presentedToken(req, params);
  if (token === undefined) return undefined;
  if (token === null || key === undefined) return 401;
  return (await verifyMercureToken(token, key)) ?? 401;
}

/** `GET` and `POST /.well-known/mercure`: subscribe (SSE) and publish (form). */
export function mercureRoute(config: MercureConfig, parts: FrontDoorParts, transport: MercureTransport): Route {
  const { hub, security, limits, connections } = parts;

  /**
   * Whether anyone may subscribe `channel` on Herald's own doors, so that its messages not posted
   * through the Mercure door (Herald's API, the Pusher door) are public to Mercure subscribers: the
   * hub does not `requireAuth`, no subscribe hook decides for the channel's namespace, the channel is
   * not a Pusher `private-`/`presence-` channel (`A:private-…`, `A:presence-…`: the Pusher door asks
   * for the app's signature there), and Herald's permissions let an anonymous client subscribe it.
   */
  const isPublic = (channel: string): boolean => {
    if (security.requireAuth) return false;
    if (security.hooks !== undefined && security.hooks.endpoint('subscribe', channel) !== false) return false;
    if (PUSHER_PROTECTED.test(channel)) return false;
    try {
      security.permissions.check(ANONYMOUS, 'subscribe', channel);
      return true;
    } catch {
      return false;
    }
  };

  async function subscribe(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    headers: Record<string, string>,
  ): Promise<void> {
    const texts = params.getAll('topic');
    if (texts.length === 0) return sendText(res, 400, 'Missing "topic" parameter', headers);
    // The stream also reads `~mercure`, which counts as one of its `maxChannels` channels.
    const maxTopics = Math.max(1, limits.maxChannels - 1);
    if (texts.length > maxTopics) return sendText(res, 400, `At most ${maxTopics} "topic" parameters`, headers);
    if (texts.some((t) => t.length === 0 || t.length > MAX_SELECTOR_LENGTH))
      return sendText(res, 400, `A "topic" must have 1 to ${MAX_SELECTOR_LENGTH} characters`, headers);
    const claims = await authenticate(req, params, config.subscriber);
    if (claims === 401) return sendText(res, 401, 'Invalid JWT', headers);
    if (claims === undefined && !config.anonymous) return sendText(res, 401, 'A JWT is required', headers);
    const selectors = [...new Set(texts)].map((t) => new TopicSelector(t));
    // Every update is matched against every template of every stream: bound the work a stream brings.
    if (selectors.some((s) => s.expressions > MAX_TEMPLATE_EXPRESSIONS))
      return sendText(res, 400, `A URI template may have at most ${MAX_TEMPLATE_EXPRESSIONS} expressions`, headers);
    const templateChars = selectors.reduce((sum, s) => sum + (s.expressions > 0 ? s.text.length : 0), 0);
    if (templateChars > MAX_TEMPLATE_CHARS)
      return sendText(res, 400, `The URI templates of a subscription may have at most ${MAX_TEMPLATE_CHARS} characters together`, headers);
    const channels: string[] = [UPDATES_CHANNEL];
    // An exact topic in the hub's namespace is served from `~mercure` only: a Herald API message
    // on its channel must not pass for a subscription event.
    for (const selector of selectors.filter((s) => s.exact && !reservedTopic(s.text))) {
      const channel = topicChannel(selector.text);
      if (channel === undefined) return sendText(res, 400, `Topic too long: ${selector.text.slice(0, 64)}…`, headers);
      if (!channels.includes(channel)) channels.push(channel);
    }
    if (channels.length > maxTopics + 1) return sendText(res, 400, `At most ${maxTopics} topics`, headers);
    const header = req.headers['last-event-id'];
    // The header wins; `last_event_id` is the later drafts' name of `lastEventID`. An empty value is none.
    const lastEventId = [typeof header === 'string' ? header : '', params.get('lastEventID') ?? '', params.get('last_event_id') ?? ''].find(
      (value) => value !== '',
    );
    const slot = connections.acquire(req.socket, claims?.user ?? null);
    if ('refused' in slot) return sendText(res, statusFor(slot.code), slot.refused, { ...headers, Connection: 'close' });
    res.once('close', () => slot.release());
    let plan = lastEventId === undefined ? undefined : await resumePoints(hub, lastEventId, channels);
    // A private update the subscriber may not see is an id that does not exist for it (else the
    // answer would confirm a guessed id).
    const named = plan?.update;
    if (named?.private === true && (claims === undefined || !matchesSome(claims.subscribe, named.topics)))
      plan = { since: new Map(), resolved: false };
    // The `Last-Event-ID` answer: the id of the event before the first one sent, or `earliest` "when
    // the subscriber requests an event that doesn't exist" (draft-07, Reconciliation). Never the
    // latest update's id: the subscriber may not be allowed to see it (a private update's).
    const answered = plan === undefined ? undefined : plan.resolved ? lastEventId : EARLIEST;
    // An id not found, while ~mercure has dropped updates, may be one it dropped: say so (gap event).
    const unknownResume = plan !== undefined && !plan.resolved && (await updatesDropped(hub));
    const publicChannels = new Set(channels.filter((c) => c !== UPDATES_CHANNEL && isPublic(c)));
    const extra: Record<string, string> = params.has('authorization') ? { 'Cache-Control': 'private, no-cache, no-transform' } : {};
    try {
      await transport.open(
        res,
        {
          client: nextSessionId(),
          subscriber: `urn:uuid:${randomUUID()}`,
          user: claims?.user ?? null,
          selectors,
          allowed: claims?.subscribe,
          publicChannels,
          payload: claims?.payload,
          since: parts.clock.now(),
          unknownResume,
        },
        channels,
        plan?.since ?? new Map<string, Position | undefined>(),
        { ...headers, ...extra, ...(answered !== undefined && { 'Last-Event-ID': answered }) },
        claims?.expiresAt,
      );
    } catch (error) {
      parts.logger.warn({ err: error }, 'Mercure subscription failed');
      if (!res.headersSent) sendText(res, error instanceof HeraldError ? 503 : 500, 'Subscription failed', headers);
    }
  }

  async function publish(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    headers: Record<string, string>,
  ): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded')
      return sendText(res, 400, 'The body must be application/x-www-form-urlencoded', headers);
    const claims = await authenticate(req, params, config.publisher);
    if (claims === 401) return sendText(res, 401, 'Invalid JWT', headers);
    if (claims === undefined) return sendText(res, 401, 'A JWT is required', headers);
    // A cookie goes with any request the browser makes: a publish it authenticates must come from
    // a page of a listed origin (CSRF).
    const byCookie = req.headers.authorization === undefined && !params.has('authorization');
    if (byCookie && !security.originListed(req.headers.origin))
      return sendText(res, 403, 'A publish authenticated by cookie needs an Origin listed in allowedOrigins', headers);
    const body = await readBody(req, limits.maxBodyBytes);
    if (!body.ok) return sendText(res, statusFor(body.error.code), body.error.message, headers);
    const form = new URLSearchParams(body.value);
    const topics = form.getAll('topic');
    if (topics.length === 0) return sendText(res, 400, 'Missing "topic" field', headers);
    if (topics.length > limits.maxChannels) return sendText(res, 400, `At most ${limits.maxChannels} "topic" fields`, headers);
    for (const topic of topics) {
      if (topic.length === 0 || topicChannel(topic) === undefined)
        return sendText(res, 400, `Invalid topic: ${topic.slice(0, 64)}`, headers);
      if (topic === '*' || reservedTopic(topic)) return sendText(res, 400, `Reserved topic: ${topic.slice(0, 64)}`, headers);
    }
    const id = form.get('id') ?? undefined;
    if (id !== undefined && (id === '' || id.startsWith('#') || id === 'earliest' || CONTROL.test(id) || id.startsWith('c1.')))
      return sendText(res, 400, 'Invalid "id" field', headers);
    const eventType = form.get('type') ?? undefined;
    if (eventType !== undefined && (eventType === '' || CONTROL.test(eventType)))
      return sendText(res, 400, 'Invalid "type" field', headers);
    // Pusher clients of the topic's channel would take it for the protocol's own event.
    if (eventType !== undefined && /^pusher(?:_internal)?:/.test(eventType))
      return sendText(res, 400, 'A "type" must not start with pusher: or pusher_internal:', headers);
    const retryText = form.get('retry') ?? undefined;
    if (retryText !== undefined && !/^[0-9]{1,10}$/.test(retryText)) return sendText(res, 400, 'Invalid "retry" field', headers);
    // A smaller reconnection delay makes every EventSource of the topics reconnect in a tight loop.
    if (retryText !== undefined && Number(retryText) < MIN_RETRY)
      return sendText(res, 400, `The "retry" field must be at least ${MIN_RETRY} ms`, headers);
    for (const topic of topics) {
      if (!claims.publish.some((s) => s.matches(topic)))
        return sendText(res, 403, `Not allowed to publish to ${topic.slice(0, 64)}`, headers);
    }
    const update: PostedUpdate = {
      topics,
      data: form.get('data') ?? '',
      type: eventType,
      id,
      retry: retryText === undefined ? undefined : Number(retryText),
      private: form.has('private'),
    };
    let answer: string;
    try {
      answer = await publishUpdate(hub, update);
    } catch (error) {
      parts.logger.warn({ err: error }, 'Mercure publish failed');
      return sendText(res, 503, 'The update was not stored', headers);
    }
    sendText(res, 200, answer, headers);
  }

  return {
    methods: 'GET,POST',
    handle(req, res, { method, params, cors }) {
      const headers = { ...cors, Link: discoveryLink(req) };
      return method === 'POST' ? publish(req, res, params, headers) : subscribe(req, res, params, headers);
    },
  };
}
