import type { WireError } from '@herald/protocol';

/** What every `@herald/backend` error may carry besides a `cause`. */
export interface HeraldErrorOptions extends ErrorOptions {
  /** The idempotency key of the publish that failed. */
  readonly idempotencyKey?: string | undefined;
}

/** Base class of every error `@herald/backend` throws for a failed request. `code` says which kind. */
export class HeraldBackendError extends Error {
  /** The hub's numeric error code (see docs/errors.md), or `'network'`, `'timeout'`, `'aborted'`, `'protocol'`. */
  readonly code: number | 'network' | 'timeout' | 'aborted' | 'protocol';
  /**
   * Set when a `publish` failed: the idempotency key it sent (yours, or the one it made). Publish
   * again with `{ idempotencyKey: error.idempotencyKey }`: if the failed call was stored after all,
   * nothing is stored twice.
   */
  readonly idempotencyKey: string | undefined;

  constructor(code: HeraldBackendError['code'], message: string, options: HeraldErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'HeraldBackendError';
    this.code = code;
    this.idempotencyKey = options.idempotencyKey;
  }
}

/**
 * The hub answered with an error: `code` is its numeric code (`ErrorCode` of `@herald/protocol`:
 * 1000–1999 the request is wrong, 2000–2999 not allowed, 3000–3999 temporary), `status` the HTTP
 * status, `retryAfter` the `Retry-After` header in seconds when there was one.
 */
export class HeraldApiError extends HeraldBackendError {
  declare readonly code: number;
  readonly status: number;
  readonly retryAfter: number | undefined;

  constructor(status: number, error: WireError, retryAfter?: number, options?: HeraldErrorOptions) {
    super(error.code, error.message, options);
    this.name = 'HeraldApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** The hub could not be reached, or the connection failed before a whole answer arrived (`cause` is the fetch error). */
export class HeraldNetworkError extends HeraldBackendError {
  declare readonly code: 'network';

  constructor(message: string, options?: HeraldErrorOptions) {
    super('network', message, options);
    this.name = 'HeraldNetworkError';
  }
}

/** No whole answer within `timeout` ms (per attempt). */
export class HeraldTimeoutError extends HeraldBackendError {
  declare readonly code: 'timeout';

  constructor(timeout: number, options?: HeraldErrorOptions) {
    super('timeout', `no answer within ${timeout} ms`, options);
    this.name = 'HeraldTimeoutError';
  }
}

/**
 * The call's `signal` was aborted: the current request was cancelled and no retry follows. `cause`
 * is the signal's `reason`. Its `name` is `'AbortError'`, as for an aborted `fetch`.
 */
export class HeraldAbortError extends HeraldBackendError {
  declare readonly code: 'aborted';

  constructor(options?: HeraldErrorOptions) {
    super('aborted', 'the call was aborted', options);
    this.name = 'AbortError';
  }
}

/**
 * A success answer (`status` 2xx) that is not what a hub sends (not JSON): something else answered,
 * e.g. a proxy's or an app's page at a wrong `url`. Not retried.
 */
export class HeraldProtocolError extends HeraldBackendError {
  declare readonly code: 'protocol';
  readonly status: number;

  constructor(status: number, message: string, options?: HeraldErrorOptions) {
    super('protocol', message, options);
    this.name = 'HeraldProtocolError';
    this.status = status;
  }
}
