/**
 * Why {@link verifyHook}, {@link verifyWebhook} or {@link verifySignature} refused a request:
 * - `missing_signature`: the `herald-timestamp` or `herald-signature` header is absent or empty;
 * - `bad_signature`: a header is malformed, or no `v1=` signature matches one of the secrets
 *   (the request was not signed by a hub holding one of them, or its body was changed);
 * - `stale_timestamp`: the signature matches but the timestamp is further than `tolerance`
 *   seconds from the receiver's clock (a replay, or clocks apart);
 * - `bad_body`: the signature matches but the body is not the expected JSON (not UTF-8, not JSON,
 *   or not a hook request / webhook batch: the URL is configured for the other kind).
 */
export type HeraldWebhookErrorCode = 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'bad_body';

/**
 * A request the app must not act on: it is not a genuine, fresh, well-formed request of its hub.
 * Answer it with an error status (401, or 400 for `bad_body`): a hook then fails closed on the hub
 * (error 3003), a webhook batch is retried.
 */
export class HeraldWebhookError extends Error {
  /** Which check failed (stable: switch on it, not on `message`). */
  readonly code: HeraldWebhookErrorCode;

  constructor(code: HeraldWebhookErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeraldWebhookError';
    this.code = code;
  }
}
