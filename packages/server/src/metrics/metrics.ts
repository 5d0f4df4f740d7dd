import type { TransportCounts } from '../transport/transport.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HookObserver } from '../hooks/hook-caller.js';
import type { HubObserver, RepairOutcome } from '../hub/hub-observer.js';

let shared: Registry | undefined;

/**
 * The process's metrics (CPU, memory, event-loop lag, GC), collected once per process: prom-client
 * starts an event-loop monitor and a GC observer per collection that are never stopped, so one per
 * server would keep every closed server in memory.
 */
function processRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix: 'herald_' });
  }
  return shared;
}

/** Live values read at each scrape. */
export interface MetricsSources {
  connections(): TransportCounts;
  activeChannels(): number;
  ready(): boolean;
  engineAvailable(): boolean;
}

/**
 * The node's Prometheus metrics, in a registry of its own (never the global one). No label carries
 * a channel or a user: label values are a fixed, small set.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly observer: HubObserver;
  /** Counts proxy hook calls by hook and outcome, and times those that reached the app (or failed). */
  readonly hooks: HookObserver;
  readonly #slowConsumers: Counter<'transport'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const publishes = new Counter({
      name: 'herald_publishes_total',
      help: 'Publishes answered, by result (stored, or a duplicate of an idempotency key).',
      labelNames: ['result'],
      registers,
    });
    const live = new Counter({
      name: 'herald_live_messages_total',
      help: 'Live messages dispatched to this node’s subscribers.',
      registers,
    });
    const repairs = new Counter({
      name: 'herald_live_repairs_total',
      help: 'Holes on the live path: filled from the log, reported as a gap, or given up.',
      labelNames: ['outcome'],
      registers,
    });
    const renewals = new Counter({
      name: 'herald_epochs_renewed_total',
      help: 'New epochs requested after the engine lost acknowledged messages.',
      registers,
    });
    this.#slowConsumers = new Counter({
      name: 'herald_slow_consumers_total',
      help: 'Connections dropped because their send queue was full.',
      labelNames: ['transport'],
      registers,
    });
    const hookCalls = new Counter({
      name: 'herald_hook_calls_total',
      help: 'Proxy hook decisions by hook and outcome (allow, deny, cached, timeout, unreachable, invalid, busy).',
      labelNames: ['hook', 'outcome'],
      registers,
    });
    const hookDurations = new Histogram({
      name: 'herald_hook_duration_seconds',
      help: 'Time a proxy hook call took, queueing included (cached decisions and calls refused as busy not counted).',
      labelNames: ['hook'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.hooks = {
      called(hook, outcome, ms) {
        hookCalls.inc({ hook, outcome });
        if (outcome !== 'cached' && outcome !== 'busy') hookDurations.observe({ hook }, ms / 1000);
      },
    };
    new Gauge({
      name: 'herald_connections',
      help: 'Open WebSocket sessions and SSE streams, and long polls held, on this node.',
      labelNames: ['transport'],
      registers,
      collect() {
        const open = sources.connections();
        for (const [transport, count] of Object.entries(open)) this.set({ transport }, count);
      },
    });
    new Gauge({
      name: 'herald_active_channels',
      help: 'Channels with at least one subscriber or held poll on this node.',
      registers,
      collect() {
        this.set(sources.activeChannels());
      },
    });
    new Gauge({
      name: 'herald_ready',
      help: '1 while the node accepts work and its engine is reachable (what /readyz and /healthz answer), else 0.',
      registers,
      collect() {
        this.set(sources.ready() && sources.engineAvailable() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'herald_engine_available',
      help: '1 while the engine (Redis) is reachable, else 0.',
      registers,
      collect() {
        this.set(sources.engineAvailable() ? 1 : 0);
      },
    });
    // Children created once: an increment on the hot path is a property write, no label lookup.
    const stored = publishes.labels('stored');
    const duplicate = publishes.labels('duplicate');
    const outcomes: Record<RepairOutcome, Counter.Internal> = {
      filled: repairs.labels('filled'),
      gap: repairs.labels('gap'),
      abandoned: repairs.labels('abandoned'),
    };
    this.observer = {
      published: (isDuplicate) => (isDuplicate ? duplicate : stored).inc(),
      dispatched: () => live.inc(),
      repaired: (outcome) => outcomes[outcome].inc(),
      epochRenewed: () => renewals.inc(),
    };
  }

  /** A connection dropped as a slow consumer. */
  slowConsumer(transport: 'websocket' | 'sse' | 'pusher' | 'mercure'): void {
    this.#slowConsumers.inc({ transport });
  }

  /** The Prometheus text exposition of every metric: this server's, then the process's. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processRegistry().metrics()}`;
  }

  /** Forgets this server's metrics (the process's stay, shared by every server). */
  close(): void {
    this.registry.clear();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
