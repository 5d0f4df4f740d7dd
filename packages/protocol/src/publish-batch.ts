import type { WireError } from './error-codes.js';
import type { PublishResult } from './server-frames.js';

/** Messages one `POST /api/publish` batch may hold unless the hub is configured otherwise (`maxBatchMessages`). */
export const DEFAULT_MAX_BATCH_MESSAGES = 100;

/** One message of a batch publish (`{"messages": [BatchMessage, …]}`). */
export interface BatchMessage {
  readonly channel: string;
  /** Any JSON value (`null` included); required. */
  readonly data: unknown;
  /** 1–128 printable ASCII characters without spaces; see idempotent publish in protocol.md. */
  readonly idempotencyKey?: string | undefined;
}

/** The result of a batch entry that was not stored: its index in `messages` and why. */
export interface BatchEntryError {
  readonly index: number;
  readonly error: WireError;
}

/** One entry of a batch answer: the message's position, or its error. */
export type BatchEntryResult = PublishResult | BatchEntryError;

/** The `POST /api/publish` answer to a batch: one result per message, in the order of `messages`. */
export interface PublishBatchResult {
  readonly results: BatchEntryResult[];
}

/** True when a batch entry's result is an error (the message was not stored). */
export function isBatchEntryError(result: BatchEntryResult): result is BatchEntryError {
  return 'error' in result;
}
