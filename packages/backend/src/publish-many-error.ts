import type { BatchEntryResult, BatchMessage } from '@herald/protocol';
import { HeraldBackendError } from './errors.js';

/** A message `publishMany` did not get stored nor refused for good, with the key it was sent with. */
export interface PendingMessage extends BatchMessage {
  /** The key every attempt sent: send the message again with it and it is stored once. */
  readonly idempotencyKey: string;
  /** Its index in the array given to the `publishMany` that failed. */
  readonly index: number;
}

/**
 * `publishMany` stopped before every message was answered for good. `results` has one slot per
 * message given (same indexes): the position or the refusal (`1xxx`, `2xxx`) of each message the
 * hub answered, `undefined` for the others. `pending` holds those others, in order, each with the
 * idempotency key it was (or would have been) sent with and its `index`: `publishMany(error.pending)`
 * sends them again, and a message that was stored after all (its answer lost) comes back
 * `duplicate: true` instead of being stored twice. `cause` is the last error, and `code` its code.
 */
export class PublishManyError extends HeraldBackendError {
  declare readonly cause: HeraldBackendError;
  readonly results: readonly (BatchEntryResult | undefined)[];
  readonly pending: readonly PendingMessage[];

  constructor(cause: HeraldBackendError, results: readonly (BatchEntryResult | undefined)[], pending: readonly PendingMessage[]) {
    const answered = results.length - pending.length;
    super(
      cause.code,
      `publishMany: ${pending.length} of ${results.length} messages not published (${answered} answered): ${cause.message}`,
      {
        cause,
      },
    );
    this.name = 'PublishManyError';
    this.results = results;
    this.pending = pending;
  }
}
