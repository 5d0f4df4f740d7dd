import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hub } from '../hub/hub.js';
import type { Subscriber } from '../hub/subscriber.js';
import type { Logger } from '../logger.js';
import type { Route } from '../http/route.js';
import type { MercureConfig } from './mercure-config.js';
import { discoveryLink, MERCURE_PATH, sendText } from './mercure-http.js';
import type { MercureStream } from './mercure-stream.js';
import { presentedToken, verifyMercureToken } from './mercure-token.js';
import { latestEventId } from './resume-point.js';
import { publishUpdate } from './publish-update.js';

/** The channel whose presence members are the open Mercure subscriptions, on every node. */
export const SUBSCRIPTIONS_CHANNEL = '~mercure-subscriptions';

const SUBSCRIPTIONS_PATH = `${MERCURE_PATH}/subscriptions`;
const CONTEXT = 'https://mercure.rocks/';

/** One subscription as its presence member's info holds it. */
interface SubscriptionInfo {
  readonly subscriber: string;
  readonly topics: readonly string[];
  readonly payload?: unknown;
}

/** The topic (and `id`) of subscription `topic` of `subscriber`: `/.well-known/mercure/subscriptions/{topic}/{subscriber}`. */
export function subscriptionTopic(topic: string, subscriber: string): string {
  return `${SUBSCRIPTIONS_PATH}/${encodeURIComponent(topic)}/${encodeURIComponent(subscriber)}`;
}

/** The JSON-LD document of one subscription. */
function subscriptionDocument(topic: string, subscriber: string, active: boolean, payload: unknown): Record<string, unknown> {
  return {
    id: subscriptionTopic(topic, subscriber),
    type: 'Subscription',
    topic,
    subscriber,
    active,
    ...(payload !== undefined && { payload }),
  };
}

/**
 * Subscription events: when a stream opens, its subscriptions join the presence of
 * {@link SUBSCRIPTIONS_CHANNEL} (so every node's subscriptions API lists them) and a private update
 * `{"type": "Subscription", "active": true, …}` is published on each subscription's topic; when it
 * closes, `active: false`.
 */
export class SubscriptionEvents {
  readonly #hub: Hub;
  readonly #logger: Logger;

  constructor(hub: Hub, logger: Logger) {
    this.#hub = hub;
    this.#logger = logger;
  }

  opened(stream: MercureStream): void {
    const { subscriber, selectors, payload } = stream.setup;
    const info: SubscriptionInfo = { subscriber, topics: selectors.map((s) => s.text), ...(payload !== undefined && { payload }) };
    // A member of its own, not the stream: a message on the channel must not reach the stream.
    const member: Subscriber = { client: stream.client, user: stream.user, message() {}, gap() {}, presence() {} };
    this.#hub
      .subscribe(member, SUBSCRIPTIONS_CHANNEL, { info })
      .then((outcome) => {
        if (stream.response.destroyed) return this.#hub.unsubscribe(outcome.subscription);
        stream.subscriptions.push(outcome.subscription);
        outcome.start();
      })
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'Mercure subscription not listed'));
    this.#publish(stream, true);
  }

  ended(stream: MercureStream): void {
    this.#publish(stream, false);
  }

  #publish(stream: MercureStream, active: boolean): void {
    const { subscriber, selectors, payload } = stream.setup;
    for (const selector of selectors) {
      const document = subscriptionDocument(selector.text, subscriber, active, payload);
      publishUpdate(
        this.#hub,
        {
          topics: [subscriptionTopic(selector.text, subscriber)],
          data: JSON.stringify({ '@context': CONTEXT, ...document }),
          type: undefined,
          id: undefined,
          retry: undefined,
          private: true,
        },
        false,
      ).catch((error: unknown) => this.#logger.debug({ err: error }, 'Mercure subscription event not published'));
    }
  }
}

/**
 * `GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]`: the active subscriptions (on
 * every node) as JSON-LD. A subscriber JWT is required whose `mercure.subscribe` matches the
 * requested path.
 */
export function subscriptionsRoute(config: MercureConfig, hub: Hub): Route {
  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    headers: Record<string, string>,
  ): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    const at = path.indexOf(SUBSCRIPTIONS_PATH);
    const own = path.slice(at);
    const token = presentedToken(req, params);
    if (token === undefined) return sendText(res, 401, 'A JWT is required', headers);
    const claims = token === null || config.subscriber === undefined ? undefined : await verifyMercureToken(token, config.subscriber);
    if (claims === undefined) return sendText(res, 401, 'Invalid JWT', headers);
    if (!claims.subscribe.some((s) => s.matches(own))) return sendText(res, 403, 'Not allowed to read these subscriptions', headers);
    const rest = own.slice(SUBSCRIPTIONS_PATH.length).split('/').slice(1);
    let topic: string | undefined;
    let subscriber: string | undefined;
    try {
      topic = rest[0] === undefined || rest[0] === '' ? undefined : decodeURIComponent(rest[0]);
      subscriber = rest[1] === undefined ? undefined : decodeURIComponent(rest[1]);
    } catch {
      return sendText(res, 400, 'Malformed path', headers);
    }
    if (rest.length > 2) return sendText(res, 404, 'Not found', headers);
    const [members, lastEventID] = await Promise.all([hub.presence(SUBSCRIPTIONS_CHANNEL), latestEventId(hub)]);
    const subscriptions: Record<string, unknown>[] = [];
    for (const member of members) {
      const info = member.info as SubscriptionInfo | undefined;
      if (info === undefined || typeof info.subscriber !== 'string' || !Array.isArray(info.topics)) continue;
      if (subscriber !== undefined && info.subscriber !== subscriber) continue;
      for (const t of info.topics as unknown[]) {
        if (typeof t === 'string' && (topic === undefined || t === topic))
          subscriptions.push(subscriptionDocument(t, info.subscriber, true, info.payload));
      }
    }
    const answer = { 'Content-Type': 'application/ld+json', 'Cache-Control': 'must-revalidate', ...headers };
    if (subscriber !== undefined) {
      const one = subscriptions[0];
      if (one === undefined) return sendText(res, 404, 'Subscription not found', headers);
      res.writeHead(200, answer);
      res.end(JSON.stringify({ '@context': CONTEXT, ...one, lastEventID }));
      return;
    }
    res.writeHead(200, answer);
    res.end(JSON.stringify({ '@context': CONTEXT, id: own, type: 'Subscriptions', lastEventID, subscriptions }));
  }
  return {
    methods: 'GET',
    handle: (req, res, { params, cors }) => handle(req, res, params, { ...cors, Link: discoveryLink(req) }),
  };
}
