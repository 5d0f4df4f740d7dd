import {
  checkChannelName,
  checkIdempotencyKey,
  ErrorCode,
  fail,
  ok,
  type BatchEntryResult,
  type PublishBatchResult,
  type Result,
} from '@herald/protocol';
import { toWireError } from '../errors.js';
import type { Hub, PublishCallOptions } from '../hub/hub.js';
import type { Authorize } from './publish-route.js';

/** Channels of one batch published at the same time; each channel's messages go one after another. */
const CONCURRENT_CHANNELS = 16;

/** What a batch needs from its request: the hub, the publisher's permission check and idempotency scope, the size limit. */
export interface BatchPublisher {
  readonly hub: Hub;
  /**
   * Decides each entry on its own: rejects (a `HeraldError`) when the publisher may not publish it,
   * else resolves with what to store (a publish hook may replace the data).
   */
  readonly authorize: Authorize;
  /** The publisher's idempotency scope (see `idempotencyScope`). */
  readonly scope: string;
  /** Most messages in one batch (`maxBatchMessages`). */
  readonly maxMessages: number;
  /** Aborted when the request's connection closed before the answer: entries not yet started are not started. */
  readonly closed: AbortSignal;
  /** The client publishing, for `client_publish` webhook events (none for a backend or admin). */
  readonly publisher?: PublishCallOptions['publisher'];
}

/** Error codes from this one up (3000–3999) are temporary: the engine or the hub could not store the message now. */
const FIRST_TEMPORARY_CODE = 3000;

const EARLIER_FAILED = 'not published: an earlier message of this channel in the batch failed';
const CONNECTION_CLOSED = 'not published: the connection closed before the batch was done';

interface Entry {
  readonly index: number;
  readonly channel: string;
  readonly data: unknown;
  readonly idempotencyKey: string | undefined;
}

/** Checks one entry of `messages`: an object with a valid channel, a `data` field and an optional valid key. */
function parseEntry(value: unknown, index: number): Result<Entry> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(ErrorCode.InvalidFrame, 'a batch message must be a JSON object {"channel", "data"}');
  }
  const fields = value as Record<string, unknown>;
  const channel = checkChannelName(fields['channel']);
  if (!channel.ok) return channel;
  if (!Object.prototype.hasOwnProperty.call(fields, 'data')) return fail(ErrorCode.InvalidField, 'a batch message needs a data field');
  const rawKey = fields['idempotencyKey'] ?? undefined;
  let idempotencyKey: string | undefined;
  if (rawKey !== undefined) {
    const key = checkIdempotencyKey(rawKey);
    if (!key.ok) return key;
    idempotencyKey = key.value;
  }
  return ok({ index, channel: channel.value, data: fields['data'], idempotencyKey });
}

/**
 * Publishes the `messages` of a batch body: one result per message, in the order of `messages`.
 * An entry that fails (invalid, not allowed, refused by the engine) gets `{index, error}` and does
 * not stop the others, except that once an entry fails with a temporary error (3000–3999), the later
 * entries of its channel are not attempted (`3001`, {@link EARLIER_FAILED}): a client that sends the
 * failed entries again can never store them after a later message of the channel. Messages of one
 * channel are published one after another in array order, so their offsets follow it; different
 * channels are published concurrently. Once `closed` is aborted, entries not yet started are not
 * started. Fails as a whole, storing nothing, when `messages` is not a non-empty array of at most
 * `maxMessages` entries.
 */
export async function publishBatch(publisher: BatchPublisher, messages: unknown): Promise<Result<PublishBatchResult>> {
  if (!Array.isArray(messages)) return fail(ErrorCode.InvalidField, 'messages must be an array');
  if (messages.length === 0) return fail(ErrorCode.InvalidField, 'messages must not be empty');
  if (messages.length > publisher.maxMessages) {
    return fail(ErrorCode.LimitExceeded, `at most ${publisher.maxMessages} messages in one batch`);
  }
  const results: BatchEntryResult[] = new Array<BatchEntryResult>(messages.length);
  const byChannel = new Map<string, Entry[]>();
  messages.forEach((value: unknown, index) => {
    const entry = parseEntry(value, index);
    if (!entry.ok) {
      results[index] = { index, error: entry.error };
      return;
    }
    const queue = byChannel.get(entry.value.channel);
    if (queue === undefined) byChannel.set(entry.value.channel, [entry.value]);
    else queue.push(entry.value);
  });
  const queues = [...byChannel.values()];
  const publishQueue = async (queue: readonly Entry[]): Promise<void> => {
    let earlierFailed = false;
    for (const entry of queue) {
      if (earlierFailed || publisher.closed.aborted) {
        const message = earlierFailed ? EARLIER_FAILED : CONNECTION_CLOSED;
        results[entry.index] = { index: entry.index, error: { code: ErrorCode.Unavailable, message } };
        continue;
      }
      try {
        const decision = await publisher.authorize(entry.channel, entry.data);
        results[entry.index] = await publisher.hub.publish(entry.channel, decision.data, {
          idempotencyKey: entry.idempotencyKey,
          idempotencyScope: publisher.scope,
          publisher: publisher.publisher,
          ...(decision.replaced && { idempotencyData: entry.data }),
        });
      } catch (error) {
        const wire = toWireError(error);
        results[entry.index] = { index: entry.index, error: wire };
        earlierFailed = wire.code >= FIRST_TEMPORARY_CODE;
      }
    }
  };
  const worker = async (): Promise<void> => {
    for (let queue = queues.shift(); queue !== undefined; queue = queues.shift()) await publishQueue(queue);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_CHANNELS, queues.length) }, worker));
  return ok({ results });
}
