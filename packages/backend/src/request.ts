import { ErrorCode, type WireError } from '@herald/protocol';
import { parseRetryAfter, retryDelay } from './backoff.js';
import { HeraldApiError, HeraldBackendError, HeraldNetworkError, HeraldTimeoutError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** One API call: method, path below the base URL, query, JSON body, extra headers. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST';
  /** Relative to the base URL, without a leading slash (`api/publish`). */
  readonly path: string;
  readonly query?: readonly (readonly [string, string])[] | undefined;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Send the API key. @default true */
  readonly apiKey?: boolean | undefined;
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

/** Whether another attempt may succeed: network errors, timeouts, 5xx and 429. */
function retryable(error: HeraldBackendError): boolean {
  return !(error instanceof HeraldApiError) || error.status >= 500 || error.status === 429;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One attempt: the parsed JSON of a 2xx answer, or the error (thrown). */
async function attempt(options: ResolvedOptions, url: URL, request: ApiRequest): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (options.apiKey !== undefined && request.apiKey !== false) headers['x-herald-key'] = options.apiKey;
  const signal = AbortSignal.timeout(options.timeout);
  const doFetch = options.fetch ?? globalThis.fetch;
  let status: number;
  let retryAfter: string | null;
  let text: string;
  try {
    const response = await doFetch(url, {
      method: request.method,
      headers,
      signal,
      ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    text = await response.text();
  } catch (error) {
    if (signal.aborted) throw new HeraldTimeoutError(options.timeout, { cause: error });
    throw new HeraldNetworkError(`${request.method} ${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (status >= 200 && status < 300) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HeraldNetworkError(`${request.method} ${url.pathname}: the answer is not JSON`, { cause: error });
    }
  }
  throw new HeraldApiError(status, wireError(status, text), parseRetryAfter(retryAfter, options.now()));
}

/**
 * Sends `request`, retrying network errors, timeouts, 5xx and 429 up to `retries` times with
 * exponential backoff and full jitter (waiting at least `Retry-After` when the hub sent one, and
 * giving up at once when that is longer than `maxRetryDelay`). Resolves with the answer's JSON;
 * rejects with a {@link HeraldBackendError}.
 */
export async function send(options: ResolvedOptions, request: ApiRequest): Promise<unknown> {
  const url = new URL(request.path, options.base);
  for (const [name, value] of request.query ?? []) url.searchParams.append(name, value);
  for (let tries = 0; ; tries++) {
    try {
      return await attempt(options, url, request);
    } catch (error) {
      if (!(error instanceof HeraldBackendError) || !retryable(error) || tries >= options.retries) throw error;
      const after = error instanceof HeraldApiError && error.retryAfter !== undefined ? error.retryAfter * 1000 : 0;
      if (after > options.maxRetryDelay) throw error;
      const delay = Math.max(after, retryDelay(tries, options.retryDelay, options.maxRetryDelay));
      options.onRetry?.({ attempt: tries + 1, delay, error });
      await sleep(delay);
    }
  }
}
