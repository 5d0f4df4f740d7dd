import type { ServerResponse } from 'node:http';
import type { WebhookEvent } from '@herald/protocol';
import { startHookApp } from './hook-app.js';
import { Collector } from './waiter.js';

/** One webhook request the app received. */
export interface WebhookDelivery {
  readonly events: readonly WebhookEvent[];
  /** `performance.now()` when it arrived. */
  readonly at: number;
  /** The status the app answered (undefined while held). */
  status?: number;
}

/**
 * How the app answers a request: a status, a status after `afterMs` (a slow app), or `'hold'`:
 * never (until the app closes or the hub gives up).
 */
export type WebhookAppAnswer = number | { readonly status: number; readonly afterMs: number } | 'hold';

/** A real HTTP app receiving Herald's webhooks in a test (a {@link startHookApp} app that answers webhook batches). */
export interface WebhookApp {
  /** `http://127.0.0.1:<port>/webhooks` */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly deliveries: Collector<WebhookDelivery>;
  /** Requests whose signature did not check out (answered 401, not in {@link deliveries}). */
  unsigned(): number;
  /** Every event id received in a request answered 2xx (a duplicate appears twice). */
  delivered(): string[];
  /** Sets how the app answers from now on. @default 200 */
  answer(decide: (delivery: WebhookDelivery) => WebhookAppAnswer): void;
  /** Ends the requests the app holds (their connections are destroyed). */
  releaseHeld(): void;
  close(): Promise<void>;
}

/**
 * Starts an app on 127.0.0.1 at port 0 that checks each webhook request's signature against
 * `secret` (see {@link startHookApp}) and answers per {@link WebhookApp.answer} (default 200).
 */
export async function startWebhookApp(secret: string): Promise<WebhookApp> {
  let decide: (delivery: WebhookDelivery) => WebhookAppAnswer = () => 200;
  const deliveries = new Collector<WebhookDelivery>();
  const held = new Set<ServerResponse>();
  const app = await startHookApp(secret, (request, res) => {
    const events: unknown = request.body['events'];
    const delivery: WebhookDelivery = { events: Array.isArray(events) ? (events as WebhookEvent[]) : [], at: performance.now() };
    const answer = decide(delivery);
    const status = typeof answer === 'object' ? answer.status : answer;
    if (typeof answer === 'number') delivery.status = answer;
    deliveries.push(delivery);
    if (status === 'hold') {
      held.add(res);
      res.on('close', () => held.delete(res));
      return undefined;
    }
    const send = (): void => {
      if (res.destroyed) return;
      delivery.status = status;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'the app failed' : 'ok');
    };
    if (typeof answer === 'object') {
      held.add(res);
      res.on('close', () => held.delete(res));
      setTimeout(send, answer.afterMs);
    } else send();
    return undefined;
  });
  return {
    url: `${app.url}/webhooks`,
    deliveries,
    unsigned: () => app.requests.items.filter((r) => !r.signed).length,
    delivered: () =>
      deliveries.items.filter((d) => d.status !== undefined && d.status >= 200 && d.status < 300).flatMap((d) => d.events.map((e) => e.id)),
    answer(next) {
      decide = next;
    },
    releaseHeld() {
      for (const res of held) res.destroy();
    },
    close: () => app.close(),
  };
}
