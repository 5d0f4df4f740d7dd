import type { WebhookEventType } from '@herald/protocol';
import { timerMs } from '../timer-delay.js';

/** Every webhook event type, in the order `docs/hooks.md` lists them. */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  'channel_occupied',
  'channel_vacated',
  'presence_join',
  'presence_leave',
  'client_publish',
  'connection_closed',
  'client_ack',
];

/** The event types sent when `webhooks.events` is not set: every type but the opt-in `client_ack`. */
export const DEFAULT_WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'client_ack');

/** Webhooks: events POSTed to the app in signed batches, at least once, from a queue in the engine. */
export interface WebhooksOptions {
  /** Where every batch is POSTed: an `http(s)` URL. */
  readonly url: string;
  /** Secrets (16+ characters) signing every request (may be the hooks' secrets); the first is current, all are sent. */
  readonly secrets: readonly string[];
  /** The event types sent; the others are not even recorded. @default every type but `client_ack` (opt-in) */
  readonly events?: readonly WebhookEventType[] | undefined;
  /** Most events in one request (fewer when their JSON passes `maxBatchBytes`). 1 to 1000. @default 100 */
  readonly batchSize?: number | undefined;
  /** Bytes of one request's body (wrapper included); a single larger event goes alone. 1 to 1073741824. @default 1048576 */
  readonly maxBatchBytes?: number | undefined;
  /** Attempts of an event before it goes to the dead-letter list. 1 to 1000. @default 10 */
  readonly maxAttempts?: number | undefined;
  /** ms: the backoff before the second attempt; doubles per attempt, with full jitter. @default 1000 */
  readonly retryBase?: number | undefined;
  /** ms: the longest backoff. @default 300000 (5 minutes) */
  readonly retryMax?: number | undefined;
  /** ms a request may take (connect, send, answer). @default 10000 */
  readonly timeout?: number | undefined;
  /**
   * ms a node holds the events it claimed for one request; past it another node (or this one)
   * takes them over. More than `timeout`, so a request ends within its lease. @default max(30000, 2 × timeout)
   */
  readonly lease?: number | undefined;
  /** Requests in flight at once per node. 1 to 64. @default 1 */
  readonly concurrency?: number | undefined;
  /** ms between looks at the queue while it is empty (events emitted on this node are sent at once). @default 200 */
  readonly pollInterval?: number | undefined;
  /**
   * Events queued (dead letters apart) past which new events are dropped (counted as `dropped` and
   * logged): the queue's bound while the app is down. Checked against the engine's counts about
   * once a second, so several nodes may overshoot it a little. 1 to 1000000000. @default 100000
   */
  readonly maxQueued?: number | undefined;
  /**
   * Dead letters kept; past it the oldest are deleted (counted as `dead_dropped` and logged).
   * 1 to 1000000000. @default 100000
   */
  readonly maxDead?: number | undefined;
  /** ms a presence leave waits for the same client to come back (then neither leave nor join is sent). @default 5000 */
  readonly presenceDebounce?: number | undefined;
}

/** {@link WebhooksOptions} checked, with defaults. */
export interface ResolvedWebhooks {
  readonly url: string;
  readonly secrets: readonly string[];
  readonly events: ReadonlySet<WebhookEventType>;
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  readonly maxAttempts: number;
  readonly retryBase: number;
  readonly retryMax: number;
  readonly timeout: number;
  readonly lease: number;
  readonly concurrency: number;
  readonly pollInterval: number;
  readonly maxQueued: number;
  readonly maxDead: number;
  readonly presenceDebounce: number;
}

function count(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer from 1 to ${max}`);
  return value;
}

/** Checks webhook options (`TypeError`/`RangeError` naming the option) and fills in defaults. */
export function resolveWebhooks(options: WebhooksOptions): ResolvedWebhooks {
  let url: URL | undefined;
  try {
    url = new URL(options.url);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new TypeError('webhooks.url must be an http(s) URL');
  const given: unknown = options.secrets;
  const secrets = Array.isArray(given) ? (given as unknown[]).filter((s): s is string => typeof s === 'string' && s.length >= 16) : [];
  if (!Array.isArray(given) || secrets.length === 0 || secrets.length !== given.length)
    throw new TypeError('webhooks.secrets must list at least one secret of 16 or more characters');
  const listed: unknown = options.events ?? DEFAULT_WEBHOOK_EVENT_TYPES;
  if (!Array.isArray(listed) || listed.some((t) => !WEBHOOK_EVENT_TYPES.includes(t as WebhookEventType)))
    throw new TypeError(`webhooks.events must list event types among ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  const timeout = timerMs('webhooks.timeout', options.timeout, 10_000, 1, 600_000);
  const lease = timerMs('webhooks.lease', options.lease, Math.max(30_000, timeout * 2));
  // One request (claimed right before it is sent) never outlives its lease.
  if (lease <= timeout) throw new RangeError('webhooks.lease must be more than webhooks.timeout');
  const retryBase = timerMs('webhooks.retryBase', options.retryBase, 1000);
  const retryMax = timerMs('webhooks.retryMax', options.retryMax, Math.max(300_000, retryBase));
  if (retryMax < retryBase) throw new RangeError('webhooks.retryMax must be at least webhooks.retryBase');
  return {
    url: options.url,
    secrets,
    events: new Set(listed as WebhookEventType[]),
    batchSize: count('webhooks.batchSize', options.batchSize, 100, 1000),
    maxBatchBytes: count('webhooks.maxBatchBytes', options.maxBatchBytes, 1_048_576, 1_073_741_824),
    maxAttempts: count('webhooks.maxAttempts', options.maxAttempts, 10, 1000),
    retryBase,
    retryMax,
    timeout,
    lease,
    concurrency: count('webhooks.concurrency', options.concurrency, 1, 64),
    pollInterval: timerMs('webhooks.pollInterval', options.pollInterval, 200, 1, 60_000),
    maxQueued: count('webhooks.maxQueued', options.maxQueued, 100_000, 1_000_000_000),
    maxDead: count('webhooks.maxDead', options.maxDead, 100_000, 1_000_000_000),
    presenceDebounce: timerMs('webhooks.presenceDebounce', options.presenceDebounce, 5000, 0),
  };
}
