import type { PublishResult } from '@herald/protocol';
import { CliError } from './cli-error.js';
import { unreachable, type HubTarget } from './hub-target.js';

/** How long `herald publish` waits for the hub to answer one publish, in ms. */
export const PUBLISH_TIMEOUT_MS = 10_000;

/** Publishes one message; resolves with its stored position, rejects with a {@link CliError}. */
export type Publish = (channel: string, data: unknown) => Promise<PublishResult>;

/**
 * `POST /api/publish` with `fetch`, the API key in `X-Herald-Key`. A refusal becomes a
 * {@link CliError} naming the HTTP status and the hub's error code and message.
 */
export function createPublisher(target: HubTarget): Publish {
  return async (channel, data) => {
    let res: Response;
    try {
      res = await fetch(`${target.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(target.key !== undefined && { 'x-herald-key': target.key }) },
        body: JSON.stringify({ channel, data }),
        signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
      });
    } catch (error) {
      throw unreachable(target.url, error);
    }
    const body = (await res.json().catch(() => undefined)) as (PublishResult & { error?: { code?: number; message?: string } }) | undefined;
    if (res.ok && body !== undefined && typeof body.offset === 'number') return body;
    const error = body?.error;
    throw new CliError(
      error !== undefined
        ? `the hub refused the publish: ${error.code ?? res.status} ${error.message ?? ''} (HTTP ${res.status})`
        : `the hub at ${target.url} answered HTTP ${res.status} without a Herald error: is it a Herald hub?`,
    );
  };
}
