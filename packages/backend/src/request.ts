import { ErrorCode, type WireError } from '@herald/protocol';
import { parseRetryAfter, retryDelay } from './backoff.js';
import {
  HeraldAbortError,
  HeraldApiError,
  HeraldBackendError,
  HeraldNetworkError,
  HeraldProtocolError,
  HeraldTimeoutError,
} from './errors.js';
import type { ResolvedOptions } from './options.js';

/** One API call: method, path below the base URL, query, JSON body, extra headers. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST';
  /** Relative to the base URL, without a leading slash (`api/publish`). */
  readonly path: string;
  readonly query?: readonly (readonly [string, string])[] | undefined;
  /** The body as JSON text, serialised once by the caller before any attempt (so bad data throws at once). */
  readonly body?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Send the API key. @default true */
  readonly apiKey?: boolean | undefined;
  /** Aborting it cancels the current attempt and the retries. */
  readonly signal?: AbortSignal | undefined;
  /** The publish's idempotency key, given to any error thrown for it. */
  readonly idempotencyKey?: string | undefined;
}

/** The code of an error answer without a Herald error body (a proxy's page), from its status. */
const CODE_BY_STATUS: Readonly<Record<number, number>> = {
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  405: ErrorCode.MethodNotAllowed,
  413: ErrorCode.TooLarge,
  429: ErrorCode.RateLimited,
  503: ErrorCode.Unavailable,
};

function wireError(status: number, text: string): WireError {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } } | null;
    const error = body?.error;
    if (typeof error?.code === 'number' && typeof error.message === 'string') return { code: error.code, message: error.message };
  } catch {
    // Not a hub's answer: fall through to the status.
  }
  const code = CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.InvalidField);
  return { code, message: `HTTP ${status} without a Herald error body` };
}

/** Whether another attempt may succeed: network errors, timeouts, 5xx, 429 and temporary (3xxx) codes. */
function retryable(error: HeraldBackendError): boolean {
  // A 3xxx code is temporary also when it comes in a 200 batch answer, for one entry.
  if (error instanceof HeraldApiError) return error.status >= 500 || error.status === 429 || error.code >= ErrorCode.Internal;
  return error instanceof HeraldNetworkError || error instanceof HeraldTimeoutError;
}

function aborted(request: ApiRequest, signal: AbortSignal): HeraldAbortError {
  return new HeraldAbortError({ cause: signal.reason, idempotencyKey: request.idempotencyKey });
}

/** Waits `ms`, or rejects with a {@link HeraldAbortError} as soon as the request's signal aborts. */
function pause(ms: number, request: ApiRequest): Promise<void> {
  const signal = request.signal;
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted(request, signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted(request, signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The request's URL: `path` joined to the base URL (its path prefix kept), then the query. */
export function requestUrl(options: ResolvedOptions, request: ApiRequest): URL {
  const url = new URL(request.path, options.base);
  for (const [name, value] of request.query ?? []) url.searchParams.append(name, value);
  return url;
}

/** One attempt: the parsed JSON of a 2xx answer, or the error (thrown). */
export async function attempt(options: ResolvedOptions, url: URL, request: ApiRequest): Promise<unknown> {
  const key = { idempotencyKey: request.idempotencyKey };
  if (request.signal?.aborted) throw aborted(request, request.signal);
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (options.apiKey !== undefined && request.apiKey !== false) headers['x-herald-key'] = options.apiKey;
  const timeout = AbortSignal.timeout(options.timeout);
  const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
  const doFetch = options.fetch ?? globalThis.fetch;
  let status: number;
  let retryAfter: string | null;
  let text: string;
  try {
    const response = await doFetch(url, {
      method: request.method,
      headers,
      signal,
      ...(request.body !== undefined && { body: request.body }),
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    text = await response.text();
  } catch (error) {
    if (request.signal?.aborted) throw aborted(request, request.signal);
    if (timeout.aborted) throw new HeraldTimeoutError(options.timeout, { cause: error, ...key });
    throw new HeraldNetworkError(`${request.method} ${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      ...key,
    });
  }
  if (status >= 200 && status < 300) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HeraldProtocolError(status, `${request.method} ${url.pathname}: the ${status} answer is not JSON (is url a hub?)`, {
        cause: error,
        ...key,
      });
    }
  }
  throw new HeraldApiError(status, wireError(status, text), parseRetryAfter(retryAfter, options.now()), key);
}

/**
 * After failed attempt number `tries` (0 for the first): throws `error` when it is not worth
 * retrying (not retryable, `retries` used up, `Retry-After` beyond `maxRetryDelay`); else tells
 * `onRetry` and waits the backoff (at least `Retry-After`), rejecting at once if the signal aborts.
 */
export async function backOff(options: ResolvedOptions, tries: number, error: unknown, request: ApiRequest): Promise<void> {
  if (!(error instanceof HeraldBackendError) || !retryable(error) || tries >= options.retries) throw error;
  const after = error instanceof HeraldApiError && error.retryAfter !== undefined ? error.retryAfter * 1000 : 0;
  if (after > options.maxRetryDelay) throw error;
  const delay = Math.max(after, retryDelay(tries, options.retryDelay, options.maxRetryDelay));
  options.onRetry?.({ attempt: tries + 1, delay, error });
  await pause(delay, request);
}

/**
 * Sends `request`, retrying network errors, timeouts, 5xx and 429 up to `retries` times with
 * exponential backoff and full jitter (waiting at least `Retry-After` when the hub sent one, and
 * giving up at once when that is longer than `maxRetryDelay`). Resolves with the answer's JSON;
 * rejects with a {@link HeraldBackendError} (a {@link HeraldAbortError} once `request.signal` aborts).
 */
export async function send(options: ResolvedOptions, request: ApiRequest): Promise<unknown> {
  const url = requestUrl(options, request);
  for (let tries = 0; ; tries++) {
    try {
      return await attempt(options, url, request);
    } catch (error) {
      await backOff(options, tries, error, request);
    }
  }
}
