import { Counter, Histogram, type Registry } from 'prom-client';
import type { WebhookObserver, WebhookOutcome } from '../webhooks/webhook-dispatcher.js';

/**
 * Registers the Pusher webhook metrics in `registry`: `herald_pusher_webhook_events_total{app,
 * outcome}` (the outcomes of Herald's `herald_webhook_events_total`) and
 * `herald_pusher_webhook_delivery_seconds{app, result}`. Returns the observer of app `app`'s
 * endpoints (call once per app).
 */
export function pusherWebhookMetrics(registry: Registry): (app: string) => WebhookObserver {
  const registers = [registry];
  const events = new Counter({
    name: 'herald_pusher_webhook_events_total',
    help: 'Pusher webhook events by app and outcome (as herald_webhook_events_total: queued, delivered, retried, dead, dropped, stale, dead_dropped, late…).',
    labelNames: ['app', 'outcome'],
    registers,
  });
  const seconds = new Histogram({
    name: 'herald_pusher_webhook_delivery_seconds',
    help: 'Time of each Pusher webhook request to an app, by app and result (ok: answered 2xx; failed).',
    labelNames: ['app', 'result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  return (app) => ({
    counted: (outcome: WebhookOutcome, n: number) => events.labels(app, outcome).inc(n),
    requested: (s: number, ok: boolean) => seconds.labels(app, ok ? 'ok' : 'failed').observe(s),
  });
}
