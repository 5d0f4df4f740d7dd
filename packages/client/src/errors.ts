/**
 * An error reported by the client: a hub error (`code` is the numeric wire code from
 * `docs/errors.md`) or a client-side one (`code` is a string such as `'timeout'`, `'closed'`).
 */
export class HeraldClientError extends Error {
  readonly code: number | string;

  constructor(code: number | string, message: string) {
    super(message);
    this.name = 'HeraldClientError';
    this.code = code;
  }
}
