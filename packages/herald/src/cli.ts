import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createLogger } from './logger.js';
import { startHub } from './start.js';
import { DEFAULT_HOST, DEFAULT_PORT, parseIntegerFlag, type StartOptions } from './start-options.js';

const DEV_BANNER = `
  ┌──────────────────────────────────────────────────────────────────────┐
  │  HERALD DEV PROFILE: anyone who can reach this hub may publish and   │
  │  subscribe to every channel. No authentication, CORS open to all.    │
  │  Do not expose it beyond your machine.                               │
  └──────────────────────────────────────────────────────────────────────┘
`;

function flag(name: string, min: number, max: number) {
  return (text: string): number => {
    try {
      return parseIntegerFlag(name, text, min, max);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/** Runs the CLI with `argv` (without `node` and the script); resolves with the exit code once done. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('herald')
    .description('Herald: a self-hosted real-time hub. One channel model over WebSocket, SSE and polling.')
    .showHelpAfterError('(run herald --help for usage)')
    .exitOverride();

  let started: Promise<number> | undefined;
  program
    .command('start')
    .description('start a hub (dev profile: memory engine, open access, landing page at /)')
    .addOption(new Option('-p, --port <port>', 'TCP port to listen on (0 = any free port)').default(DEFAULT_PORT).argParser(flag('--port', 0, 65_535)).env('PORT'))
    .addOption(new Option('-H, --host <host>', 'interface to bind (0.0.0.0 for all)').default(DEFAULT_HOST))
    .addOption(new Option('--history-size <n>', 'messages kept per channel').default(1000).argParser(flag('--history-size', 0, 10_000_000)))
    .addOption(new Option('--history-ttl <seconds>', 'seconds a message is kept (0 = no age limit)').default(86_400).argParser(flag('--history-ttl', 0, 31_536_000)))
    .action((opts: StartOptions) => {
      started = run(opts);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  if (started === undefined) {
    program.outputHelp();
    return 1;
  }
  return started;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

async function run(options: StartOptions): Promise<number> {
  const level = process.env['HERALD_LOG_LEVEL'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    process.stderr.write(`herald: HERALD_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"\n`);
    return 1;
  }
  const logger = createLogger(level);
  process.stderr.write(DEV_BANNER);
  let hub;
  try {
    hub = await startHub(options, logger);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason = e.code === 'EADDRINUSE' ? `port ${options.port} is already in use (try --port)` : e.code === 'EACCES' ? `no permission to listen on port ${options.port}` : e.message;
    process.stderr.write(`herald: cannot start: ${reason}\n`);
    return 1;
  }
  logger.info({ url: hub.url, profile: 'dev', engine: 'memory' }, 'herald is listening');
  process.stderr.write(`\n  Herald is running: open ${hub.url}/ for the live demo.\n\n`);
  const running = hub;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      running.server.close().then(
        () => {
          logger.info({}, 'stopped');
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
