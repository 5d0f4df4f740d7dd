import { DEFAULT_MAX_BATCH_MESSAGES } from '@herald/protocol';
import type { HeraldBackendError } from './errors.js';
import type { TokenSigning } from './tokens.js';

/** What {@link BackendClientOptions.onRetry} is told before each retry. */
export interface RetryInfo {
  /** 1 for the first retry. */
  readonly attempt: number;
  /** Ms the client waits before it (the backoff, or `Retry-After` when longer). */
  readonly delay: number;
  /** Why the previous attempt failed. */
  readonly error: HeraldBackendError;
}

/** Options of {@link createBackendClient}. Durations in milliseconds. */
export interface BackendClientOptions {
  /** The hub's base URL, with its path prefix when it is mounted under one (`https://app.example/realtime`). */
  readonly url: string;
  /** Sent as `X-Herald-Key`. Leave it out for a hub without API keys (the dev profile refuses every key). */
  readonly apiKey?: string | undefined;
  /** Longest wait for one attempt's whole answer. @default 10000 */
  readonly timeout?: number | undefined;
  /** Retries after a network error, a timeout, a 5xx or a 429 answer (0 = one attempt only). @default 2 */
  readonly retries?: number | undefined;
  /** Upper bound of the first retry's random delay; it doubles per retry. @default 100 */
  readonly retryDelay?: number | undefined;
  /** Longest delay between two attempts; a `Retry-After` longer than this is not waited for (the error is thrown). @default 10000 */
  readonly maxRetryDelay?: number | undefined;
  /** Messages per `POST /api/publish` batch in `publishMany`: at most the hub's `maxBatchMessages`. @default 100 */
  readonly batchSize?: number | undefined;
  /**
   * Most bytes (UTF-8) of one `publishMany` batch's body: at most the hub's `maxBodyBytes` (its
   * default is 1048576). A single message larger than this is sent alone. @default 1000000
   */
  readonly maxBatchBytes?: number | undefined;
  /** The `fetch` to use (a runtime's own, or one with a custom dispatcher). @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
  /** The key to sign tokens with, for `createToken` and `createTicket`. */
  readonly token?: TokenSigning | undefined;
  /** Told before each retry (logging, metrics). */
  readonly onRetry?: ((info: RetryInfo) => void) | undefined;
  /** The clock: ms since the Unix epoch (token times, `Retry-After` dates). @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** {@link BackendClientOptions} checked, with defaults filled in. */
export interface ResolvedOptions {
  readonly base: URL;
  readonly apiKey: string | undefined;
  readonly timeout: number;
  readonly retries: number;
  readonly retryDelay: number;
  readonly maxRetryDelay: number;
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  readonly fetch: typeof fetch | undefined;
  readonly token: TokenSigning | undefined;
  readonly onRetry: ((info: RetryInfo) => void) | undefined;
  readonly now: () => number;
}

const MAX_TIMER = 2 ** 31 - 1;

/** Default {@link BackendClientOptions.maxBatchBytes}: below the hub's default `maxBodyBytes` (1 MiB). */
export const DEFAULT_MAX_BATCH_BYTES = 1_000_000;

function integer(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Checks the options (a bad one throws a `TypeError` or `RangeError` naming it) and fills in defaults. */
export function resolveOptions(options: BackendClientOptions): ResolvedOptions {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new TypeError('url must be an http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('url must be an http(s) URL');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey === '')) {
    throw new TypeError('apiKey must be a non-empty string');
  }
  return {
    base,
    apiKey: options.apiKey,
    timeout: integer('timeout', options.timeout, 10_000, 1, MAX_TIMER),
    retries: integer('retries', options.retries, 2, 0, 100),
    retryDelay: integer('retryDelay', options.retryDelay, 100, 0, MAX_TIMER),
    maxRetryDelay: integer('maxRetryDelay', options.maxRetryDelay, 10_000, 0, MAX_TIMER),
    batchSize: integer('batchSize', options.batchSize, DEFAULT_MAX_BATCH_MESSAGES, 1),
    maxBatchBytes: integer('maxBatchBytes', options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1),
    fetch: options.fetch,
    token: options.token,
    onRetry: options.onRetry,
    now: options.now ?? (() => Date.now()),
  };
}
