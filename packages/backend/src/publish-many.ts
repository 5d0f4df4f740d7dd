import { ErrorCode, type BatchEntryResult, type BatchMessage, type PublishBatchResult } from '@herald/protocol';
import { HeraldApiError, HeraldBackendError, HeraldProtocolError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { PublishManyError, type PendingMessage } from './publish-many-error.js';
import { attempt, backOff, requestUrl, type ApiRequest } from './request.js';

/** A message with its key, serialised once. */
interface Prepared {
  readonly message: PendingMessage;
  /** `{"channel","data","idempotencyKey"}` as JSON text. */
  readonly json: string;
  /** UTF-8 bytes of `json`. */
  readonly bytes: number;
}

/** Bytes of `{"messages":[` and `]}` around the entries. */
const BODY_OVERHEAD = '{"messages":[]}'.length;
const encoder = new TextEncoder();

/** Gives each message its key (a new random one when it has none) and serialises it: bad data throws here, before any request. */
function prepare(messages: readonly BatchMessage[]): Prepared[] {
  return messages.map(({ channel, data, idempotencyKey }, index) => {
    const message = { channel, data, idempotencyKey: idempotencyKey ?? crypto.randomUUID(), index };
    const json = JSON.stringify({ channel, data, idempotencyKey: message.idempotencyKey });
    return { message, json, bytes: encoder.encode(json).length };
  });
}

/** Cuts `prepared` into batches of at most `maxMessages` and `maxBytes` of body; a message bigger than `maxBytes` goes alone. */
function split(prepared: readonly Prepared[], maxMessages: number, maxBytes: number): Prepared[][] {
  const batches: Prepared[][] = [];
  let batch: Prepared[] = [];
  let bytes = BODY_OVERHEAD;
  for (const entry of prepared) {
    const added = entry.bytes + (batch.length > 0 ? 1 : 0);
    if (batch.length > 0 && (batch.length >= maxMessages || bytes + added > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = BODY_OVERHEAD;
    }
    bytes += entry.bytes + (batch.length > 0 ? 1 : 0);
    batch.push(entry);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * `publishMany`: batches sent one after another; within a batch's retry budget (`retries`), a batch
 * that failed as a whole is sent again, and so are its entries the hub answered with a temporary
 * error (3xxx), with the same keys. Stops with a {@link PublishManyError} when a batch cannot be
 * finished.
 */
export async function publishMany(
  options: ResolvedOptions,
  messages: readonly BatchMessage[],
  signal: AbortSignal | undefined,
): Promise<BatchEntryResult[]> {
  const prepared = prepare(messages);
  const results = Array.from<BatchEntryResult | undefined>({ length: messages.length });
  const batches = split(prepared, options.batchSize, options.maxBatchBytes);
  for (const [number, batch] of batches.entries()) {
    let toSend = batch;
    for (let tries = 0; ; tries++) {
      const request: ApiRequest = {
        method: 'POST',
        path: 'api/publish',
        body: `{"messages":[${toSend.map((entry) => entry.json).join(',')}]}`,
        signal,
      };
      let failure: unknown;
      let again: Prepared[] = [];
      try {
        const answer = (await attempt(options, requestUrl(options, request), request)) as Partial<PublishBatchResult> | null;
        const answered = answer?.results;
        if (!Array.isArray(answered) || answered.length !== toSend.length) {
          throw new HeraldProtocolError(200, `the batch answer does not hold ${toSend.length} results`);
        }
        for (const [i, result] of answered.entries()) {
          const entry = toSend[i]!;
          const index = entry.message.index;
          if (!('error' in result)) results[index] = result;
          else if (result.error.code >= ErrorCode.Internal) again.push(entry);
          else results[index] = { index, error: result.error };
        }
        if (again.length === 0) break;
        const first = answered.find((result) => 'error' in result && result.error.code >= ErrorCode.Internal);
        failure = new HeraldApiError(200, (first as { error: { code: number; message: string } }).error);
      } catch (error) {
        failure = error;
        again = toSend;
      }
      try {
        await backOff(options, tries, failure, request);
      } catch (final) {
        if (!(final instanceof HeraldBackendError)) throw final;
        const pending = [...again, ...batches.slice(number + 1).flat()].map((entry) => entry.message);
        throw new PublishManyError(final, results, pending);
      }
      toSend = again;
    }
  }
  return results as BatchEntryResult[];
}
