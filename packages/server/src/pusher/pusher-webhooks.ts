import type { WebhookEventType } from '@herald/protocol';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { MemoryWebhookQueue } from '../webhooks/memory-webhook-queue.js';
import { WebhookDispatcher, type WebhookObserver } from '../webhooks/webhook-dispatcher.js';
import type { WebhookQueue } from '../webhooks/webhook-queue.js';
import type { WebhookEventInput, WebhookSink } from '../webhooks/webhook-sink.js';
import { resolveWebhooks } from '../webhooks/webhooks-options.js';
import type { PusherAppOptions, PusherOptions } from './pusher-options.js';
import { pusherHmac } from './pusher-request-signature.js';
import { HUB_EVENT_OF, isPusherEvent, PUSHER_WEBHOOK_EVENTS, pusherWebhookBody } from './pusher-webhook-events.js';

/** Stands in for Herald's webhook secrets, which Pusher's requests do not use (they are signed with the app's secret). */
const UNUSED_SECRET = 'pusher-webhooks-sign-with-the-app-secret';

/** One webhook endpoint of one app, with its own queue and dispatcher. */
interface Endpoint {
  /** `{app id}:`: the app's channels. */
  readonly prefix: string;
  readonly app: string;
  readonly dispatcher: WebhookDispatcher;
  readonly queue: WebhookQueue;
}

/** What {@link PusherWebhooks} needs besides the options. */
export interface PusherWebhooksParts {
  readonly clock: Clock;
  readonly logger: Logger;
  /** This node's id: the holder of its queue leases. */
  readonly nodeId: string;
}

/** The queue name of an app's `index`-th webhook endpoint (see `PusherOptions.webhookQueue`). */
export function pusherWebhookQueueName(app: PusherAppOptions, index: number): string {
  return `pusher:${app.id}:${index}`;
}

/**
 * The Pusher apps' webhooks: the hub's webhook events (this sink is one of the hub's, beside
 * Herald's own) become Pusher's `channel_occupied`, `channel_vacated`, `member_added`,
 * `member_removed` and `client_event`, POSTed to each endpoint of the app whose channel it is
 * (`webhooks[].url`, the events it lists) as `{"time_ms", "events": [...]}` with `X-Pusher-Key` and
 * `X-Pusher-Signature` (hex HMAC-SHA256 of the body under the app's secret). Delivery is Herald's
 * {@link WebhookDispatcher} (batches, retries with backoff, dead letters, leases across nodes), one
 * per endpoint, on a queue of its own (`PusherOptions.webhookQueue`, memory by default) that stores
 * the hub's events: the body is written at each attempt.
 */
export class PusherWebhooks implements WebhookSink {
  readonly #endpoints: Endpoint[] = [];
  readonly #wanted = new Set<WebhookEventType>();
  /** Each app's observer, once {@link observe} was called. */
  readonly #observed = new Map<string, WebhookObserver>();

  /** Builds nothing when no app has webhooks: see {@link PusherWebhooks.create}. */
  private constructor(options: PusherOptions, parts: PusherWebhooksParts) {
    for (const app of options.apps) {
      const prefix = `${app.id}:`;
      (app.webhooks ?? []).forEach((hook, index) => {
        const names = hook.events ?? PUSHER_WEBHOOK_EVENTS;
        const unknown = names.find((name) => !PUSHER_WEBHOOK_EVENTS.includes(name));
        if (unknown !== undefined)
          throw new TypeError(
            `pusher.apps[${app.id}].webhooks[${index}].events: ${unknown} is none of ${PUSHER_WEBHOOK_EVENTS.join(', ')}`,
          );
        const events = names.map((name) => HUB_EVENT_OF[name]);
        let resolved;
        try {
          resolved = resolveWebhooks({ ...options.webhookDelivery, url: hook.url, secrets: [UNUSED_SECRET], events });
        } catch (error) {
          const message = error instanceof Error ? error.message.replace(/^webhooks\./, '') : String(error);
          throw new TypeError(`pusher.apps[${app.id}].webhooks[${index}]: ${message}`, { cause: error });
        }
        const queue = options.webhookQueue?.(pusherWebhookQueueName(app, index)) ?? new MemoryWebhookQueue();
        const { secret, key } = app;
        const dispatcher = new WebhookDispatcher(resolved, {
          queue,
          node: parts.nodeId,
          clock: parts.clock,
          logger: parts.logger,
          // Forwarded: the metrics are known only when the door is built.
          observer: {
            counted: (outcome, n) => this.#observed.get(app.id)?.counted(outcome, n),
            requested: (seconds, ok) => this.#observed.get(app.id)?.requested(seconds, ok),
          },
          request: {
            body: (queued, now) => pusherWebhookBody(queued, prefix, now),
            headers: (body) => ({ 'X-Pusher-Key': key, 'X-Pusher-Signature': pusherHmac(secret, body) }),
          },
        });
        for (const type of events) this.#wanted.add(type);
        this.#endpoints.push({ prefix, app: app.id, dispatcher, queue });
      });
    }
  }

  /** The apps' webhooks, or undefined when no app has any. Bad webhook options throw (`TypeError`/`RangeError`). */
  static create(options: PusherOptions, parts: PusherWebhooksParts): PusherWebhooks | undefined {
    if (!options.apps.some((app) => (app.webhooks?.length ?? 0) > 0)) return undefined;
    return new PusherWebhooks(options, parts);
  }

  wants(type: WebhookEventType): boolean {
    return this.#wanted.has(type);
  }

  async emit(event: WebhookEventInput): Promise<void> {
    const emits: Promise<void>[] = [];
    for (const endpoint of this.#endpoints) {
      if (endpoint.dispatcher.wants(event.type) && isPusherEvent(event, endpoint.prefix)) emits.push(endpoint.dispatcher.emit(event));
    }
    await Promise.all(emits);
  }

  /** Sends the endpoints' outcomes to `observerOf(app id)` from now on (the metrics; once). */
  observe(observerOf: (app: string) => WebhookObserver): void {
    for (const { app } of this.#endpoints) if (!this.#observed.has(app)) this.#observed.set(app, observerOf(app));
  }

  /** Starts every endpoint's delivery workers. */
  start(): void {
    for (const endpoint of this.#endpoints) endpoint.dispatcher.start();
  }

  /** Stops delivery (see {@link WebhookDispatcher.close}), then closes the queues. */
  async close(): Promise<void> {
    await Promise.all(this.#endpoints.map((endpoint) => endpoint.dispatcher.close()));
    await Promise.all(this.#endpoints.map((endpoint) => endpoint.queue.close()));
  }
}
