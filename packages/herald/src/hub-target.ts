import { Option, type Command } from 'commander';
import { CliError } from './cli-error.js';

/** The hub a command talks to when neither `--url` nor `HERALD_URL` says. */
export const DEFAULT_HUB_URL = 'http://127.0.0.1:3000';

/** Where a command finds the hub, and the credential it presents. */
export interface HubTarget {
  /** The hub's base URL without a trailing slash (a mounted hub's path prefix included). */
  readonly url: string;
  /** An API key, sent as `X-Herald-Key`. */
  readonly key?: string;
}

/** The flags {@link addHubOptions} adds, as commander parses them. */
export interface HubFlags {
  url: string;
  key?: string;
}

/** Adds `--url` (`HERALD_URL`) and `--key` (`HERALD_API_KEY`) to a command. */
export function addHubOptions(command: Command): Command {
  return command
    .addOption(new Option('-u, --url <url>', "the hub's base URL").env('HERALD_URL').default(DEFAULT_HUB_URL))
    .addOption(new Option('-k, --key <key>', 'API key of the hub (sent as X-Herald-Key)').env('HERALD_API_KEY'));
}

/** Checks the flags of {@link addHubOptions}; throws a {@link CliError} for a URL that is not http(s). */
export function hubTarget(flags: HubFlags): HubTarget {
  let url: URL;
  try {
    url = new URL(flags.url);
  } catch {
    throw new CliError(`--url must be an http:// or https:// URL, got "${flags.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--url must be an http:// or https:// URL, got "${flags.url}"`);
  if (flags.key === '') throw new CliError('--key (HERALD_API_KEY) is empty');
  return { url: flags.url.replace(/\/+$/, ''), ...(flags.key !== undefined && { key: flags.key }) };
}

/**
 * Why a request to the hub did not get an answer, for the terminal: `fetch` reports `fetch failed`
 * and keeps the reason (refused, unknown host, reset, timeout) in its cause.
 */
export function unreachable(url: string, error: unknown): CliError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new CliError(`cannot reach the hub at ${url}: no answer in time`);
  }
  let cause: unknown = error;
  while (cause instanceof Error && cause.cause !== undefined) cause = cause.cause;
  const reason = cause instanceof Error ? cause.message || ((cause as NodeJS.ErrnoException).code ?? cause.name) : String(cause);
  return new CliError(`cannot reach the hub at ${url}: ${reason}`);
}
