/**
 * An error reported by the client: a hub error (`code` is the numeric wire code from
 * `docs/errors.md`) or a client-side one (`code` is a string such as `'timeout'`, `'closed'`).
 */
export class HeraldClientError extends Error {
  readonly code: number | string;
  /**
   * The channel the hub refused a request for, when it names one (a poll over several channels
   * refused `2000`/`2001` because of one of them); `undefined` otherwise.
   * @default undefined
   */
  readonly channel: string | undefined;

  constructor(code: number | string, message: string, channel?: string) {
    super(message);
    this.name = 'HeraldClientError';
    this.code = code;
    this.channel = channel;
  }
}
