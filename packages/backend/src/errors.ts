import type { WireError } from '@herald/protocol';

/** Base class of every error `@herald/backend` throws for a failed request. `code` says which kind. */
export class HeraldBackendError extends Error {
  /** The hub's numeric error code (see docs/errors.md), or `'network'` / `'timeout'`. */
  readonly code: number | 'network' | 'timeout';

  constructor(code: number | 'network' | 'timeout', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeraldBackendError';
    this.code = code;
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

  constructor(status: number, error: WireError, retryAfter?: number) {
    super(error.code, error.message);
    this.name = 'HeraldApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** The hub could not be reached, or the connection failed before a whole answer arrived (`cause` is the fetch error). */
export class HeraldNetworkError extends HeraldBackendError {
  declare readonly code: 'network';

  constructor(message: string, options?: ErrorOptions) {
    super('network', message, options);
    this.name = 'HeraldNetworkError';
  }
}

/** No whole answer within `timeout` ms (per attempt). */
export class HeraldTimeoutError extends HeraldBackendError {
  declare readonly code: 'timeout';

  constructor(timeout: number, options?: ErrorOptions) {
    super('timeout', `no answer within ${timeout} ms`, options);
    this.name = 'HeraldTimeoutError';
  }
}
