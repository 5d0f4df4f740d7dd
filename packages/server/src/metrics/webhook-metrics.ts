import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WebhookObserver, WebhookOutcome } from '../webhooks/webhook-dispatcher.js';
import type { WebhookQueueCounts } from '../webhooks/webhook-queue.js';

/** Longest a scrape waits for the queue's counts (ms); past it the previous values are reported. */
export const QUEUE_DEPTH_WAIT = 500;

/**
 * Registers the webhook metrics in `registry` and returns the observer that feeds them:
 * `herald_webhook_events_total{outcome}`, `herald_webhook_queue_depth{state}` (read from the queue
 * at each scrape, waiting at most {@link QUEUE_DEPTH_WAIT}; the whole hub's queue, so every node reports the same) and
 * `herald_webhook_delivery_seconds{result}`.
 */
export function webhookMetrics(registry: Registry, counts: () => Promise<WebhookQueueCounts>): WebhookObserver {
  const registers = [registry];
  const events = new Counter({
    name: 'herald_webhook_events_total',
    help: 'Webhook events by outcome: queued (stored), delivered, retried (an attempt failed), dead (moved to the dead-letter list), replayed, dropped (not stored: the queue or the node buffer was full, or the engine failed until the hub closed), stale (an outcome ignored: the lease had been taken over), dead_dropped (the oldest dead letters deleted past maxDead), cancelled (a pending presence leave or channel vacate not sent: the user or channel came back within the debounce), late (not stored within 2 s of the event: a client publish was acknowledged without waiting longer; the event is still retried).',
    labelNames: ['outcome'],
    registers,
  });
  new Gauge({
    name: 'herald_webhook_queue_depth',
    help: 'Webhook events in the engine’s queue, waiting or being delivered (queued) and in the dead-letter list (dead), for the whole hub.',
    labelNames: ['state'],
    registers,
    async collect() {
      let timer: NodeJS.Timeout | undefined;
      try {
        // Bounded: a frozen engine must not hold the scrape until its command timeout.
        const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), QUEUE_DEPTH_WAIT)));
        const now = await Promise.race([counts(), late]);
        if (now === undefined) return;
        this.set({ state: 'queued' }, now.queued);
        this.set({ state: 'dead' }, now.dead);
      } catch {
        // The engine is unreachable: the previous values stay (herald_engine_available says why).
      } finally {
        clearTimeout(timer);
      }
    },
  });
  const seconds = new Histogram({
    name: 'herald_webhook_delivery_seconds',
    help: 'Time of each webhook request to the app, by result (ok: answered 2xx; failed).',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const outcomes = Object.fromEntries(
    (['queued', 'delivered', 'retried', 'dead', 'replayed', 'dropped', 'stale', 'dead_dropped', 'cancelled', 'late'] as const).map((o) => [
      o,
      events.labels(o),
    ]),
  ) as Record<WebhookOutcome, Counter.Internal>;
  const ok = seconds.labels('ok');
  const failed = seconds.labels('failed');
  return {
    counted: (outcome, n) => outcomes[outcome].inc(n),
    requested: (s, succeeded) => (succeeded ? ok : failed).observe(s),
  };
}
