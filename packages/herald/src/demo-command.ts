import { createServer, type Server } from 'node:http';
import { createBackendClient } from '@herald/backend';
import { createDemoHost, DEMO_PATH, type DemoHost } from '@herald/demo';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, reportCliError } from './cli-error.js';
import { addHubOptions, hubTarget, unreachable, type HubFlags, type HubTarget } from './hub-target.js';
import { parseIntegerFlag } from './start-options.js';

interface DemoFlags extends HubFlags {
  port?: number;
  host: string;
}

/** The port `herald demo` serves the demo pages on unless `--port` says. */
export const DEFAULT_DEMO_PORT = 3100;

/** How long `herald demo` waits for the hub's `/healthz`, in ms. */
export const DEMO_CHECK_TIMEOUT_MS = 10_000;

/** Where `herald demo` writes and when it stops. */
export interface DemoIo {
  readonly stdout: NodeJS.WritableStream;
  /** Resolves when the user asks to stop (Ctrl-C, SIGTERM). */
  readonly interrupted: Promise<void>;
}

async function checkHub(target: HubTarget): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(DEMO_CHECK_TIMEOUT_MS) });
  } catch (error) {
    throw unreachable(target.url, error);
  }
  await res.body?.cancel();
  if (!res.ok) throw new CliError(`the hub at ${target.url} is not ready: /healthz answered ${res.status}`);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Serves the demo pages and backends on `flags.host:flags.port` against the hub at `flags.url`:
 * the pages connect to that hub from the browser, the backends and simulators publish to it with
 * `@herald/backend` (with `--key` as `X-Herald-Key`). Resolves with 0 once `io.interrupted`
 * resolves and everything has stopped.
 */
export async function serveDemos(flags: DemoFlags, io: DemoIo): Promise<number> {
  const target = hubTarget(flags);
  await checkHub(target);
  const backend = createBackendClient({ url: target.url, ...(target.key !== undefined && { apiKey: target.key }) });
  const host: DemoHost = createDemoHost({
    hubUrl: target.url,
    publisher: { publish: (channel, data, options) => backend.publish(channel, data, options) },
    onError: (error) => io.stdout.write(`demo backend: ${(error as Error).message}\n`),
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    if (host.handle(req, res, url)) return;
    res.writeHead(url.pathname === '/' ? 308 : 404, url.pathname === '/' ? { Location: `${DEMO_PATH}/` } : {});
    res.end();
  });
  let port: number;
  try {
    port = await listen(server, flags.port ?? DEFAULT_DEMO_PORT, flags.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'EADDRINUSE' ? `port ${flags.port ?? DEFAULT_DEMO_PORT} is already in use (try --port)` : (error as Error).message,
    );
  }
  host.start();
  const shown = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  io.stdout.write(
    `Herald demos on http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${port}${DEMO_PATH}/ (hub: ${target.url})\n`,
  );
  await io.interrupted;
  await host.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}

/** `herald demo`: the demo apps against any hub. `run` receives the command's outcome (its exit code). */
export function demoCommand(run: (outcome: Promise<number>) => void): Command {
  const port = (text: string): number => {
    try {
      return parseIntegerFlag('--port', text, 0, 65_535);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
  const command = new Command('demo')
    .description(
      "serve the demo apps (chat, notifications, …) on a port of their own, against any hub: the pages connect to the hub, the demos' backends publish to it",
    )
    .addOption(
      new Option('-p, --port <port>', `port to serve the demos on (0 = any free port) [default: ${DEFAULT_DEMO_PORT}]`).argParser(port),
    )
    .addOption(new Option('-H, --host <host>', 'interface to bind').default('127.0.0.1'));
  addHubOptions(command).addHelpText(
    'after',
    `
The pages subscribe and publish from the browser without a token, so the hub must let anonymous
clients use the demos' channels (chat:*, chat-meta:*, chat-me:*, notifications:*, dashboard:*,
flash-sale:*, feed:*, game:*, collab:*) from this origin: a dev-profile hub does. --key is used by the demos' backends
only. See docs/demos.md.

Example:
  $ herald start &                       # a dev hub on :3000
  $ herald demo --url http://127.0.0.1:3000 --port 3100`,
  );
  return command.action((flags: DemoFlags) => {
    run(
      (async () => {
        const interrupted = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        try {
          return await serveDemos(flags, { stdout: process.stdout, interrupted });
        } catch (error) {
          return reportCliError(error);
        }
      })(),
    );
  });
}
