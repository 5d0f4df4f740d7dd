import {
  createBackendClient,
  HeraldApiError,
  HeraldNetworkError,
  PublishManyError,
  HeraldTimeoutError,
  isBatchEntryError,
  type BackendClient,
  type BatchEntryResult,
  type HeraldBackendError,
  type PublishResult,
} from '@herald/backend';
import { CliError } from './cli-error.js';
import { unreachable, type HubTarget } from './hub-target.js';

/** How long `herald publish` waits for one answer of the hub, in ms (per attempt; 2 retries). */
export const PUBLISH_TIMEOUT_MS = 10_000;

/**
 * What became of one message: its stored position, or why the hub refused it; `final` when the
 * refusal concerns every message (the channel, the engine), not this one alone.
 */
export type PublishOutcome = { readonly position: PublishResult } | { readonly refused: string; readonly final: boolean };

/** Publishes values to one channel, in order. */
export interface HubPublisher {
  /**
   * Publishes `values` (one request for several), resolving with one outcome per value. Rejects
   * with a {@link CliError} when the hub takes none of them: unreachable, or refusing the
   * credential, the channel or the request as a whole.
   */
  publish(channel: string, values: readonly unknown[]): Promise<PublishOutcome[]>;
}

/**
 * Whether a refusal concerns the message alone (1000–1999: too large, nested too deep…), so the
 * next message may well be taken; a wrong URL (1010), the credential or the channel (2000–2999) and
 * an unavailable hub (3000–3999) concern every message.
 */
const aboutTheMessage = (code: number): boolean => code >= 1000 && code < 2000 && code !== 1010;

function describe(error: unknown, url: string): CliError {
  if (error instanceof HeraldApiError)
    return new CliError(`the hub refused the publish: ${error.code} ${error.message} (HTTP ${error.status})`);
  if (error instanceof HeraldTimeoutError) return new CliError(`cannot reach the hub at ${url}: ${error.message}`);
  if (error instanceof HeraldNetworkError) return unreachable(url, error.cause ?? error);
  throw error;
}

/**
 * A {@link HubPublisher} on `@herald/backend`: the API key as `X-Herald-Key`, an idempotency key
 * per message (a retried request stores nothing twice), several values as one batch request. A
 * batch the hub refuses as a whole for what it holds (too large a body) is sent again one message
 * at a time, so each gets its own verdict.
 */
export function createPublisher(target: HubTarget): HubPublisher {
  const client: BackendClient = createBackendClient({
    url: target.url,
    timeout: PUBLISH_TIMEOUT_MS,
    ...(target.key !== undefined && { apiKey: target.key }),
  });
  const one = async (channel: string, data: unknown): Promise<PublishOutcome> => {
    try {
      return { position: await client.publish(channel, data) };
    } catch (error) {
      if (error instanceof HeraldApiError && aboutTheMessage(error.code))
        return { refused: `${error.code} ${error.message}`, final: false };
      throw describe(error, target.url);
    }
  };
  return {
    async publish(channel, values) {
      if (values.length === 1) return [await one(channel, values[0])];
      let results: readonly (BatchEntryResult | undefined)[];
      let stopped: HeraldBackendError | undefined;
      try {
        results = await client.publishMany(values.map((data) => ({ channel, data })));
      } catch (error) {
        if (!(error instanceof PublishManyError)) throw error;
        const cause = error.cause;
        if (error.results.every((result) => result === undefined)) {
          // Nothing answered: refused as a whole, or the hub out of reach.
          if (!(cause instanceof HeraldApiError && aboutTheMessage(cause.code))) throw describe(cause, target.url);
          const outcomes: PublishOutcome[] = [];
          for (const data of values) outcomes.push(await one(channel, data));
          return outcomes;
        }
        // Some were answered, the rest stayed refused for a temporary reason (the engine) after the retries.
        results = error.results;
        stopped = cause;
      }
      return results.map((result) => {
        if (result === undefined) return { refused: `${stopped?.code} ${stopped?.message}`, final: true };
        return isBatchEntryError(result)
          ? { refused: `${result.error.code} ${result.error.message}`, final: !aboutTheMessage(result.error.code) }
          : { position: result };
      });
    },
  };
}
