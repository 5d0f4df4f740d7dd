import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { MAX_TIMER_DELAY } from '@herald/server';
import { attachAccessLog } from './access-log.js';
import { ConfigError, loadConfig, shutdownTimeoutOf, type LoadedConfig } from './config.js';
import { benchCommand } from './bench-command.js';
import { demoCommand } from './demo-command.js';
import { describeDoors, MIN_DOOR_SECRET_BYTES, shortDoorSecrets } from './door-config.js';
import { describeEngine, parseEngine } from './engine.js';
import { LogDestination } from './log-destination.js';
import { createLogger } from './logger.js';
import { keygenCommand } from './keygen-command.js';
import { publishCommand } from './publish-command.js';
import { EXIT_SHUTDOWN_TIMEOUT, handleShutdownSignals } from './shutdown.js';
import { startHub } from './start.js';
import { PROFILES, type Profile } from './profile.js';
import { parseIntegerFlag } from './start-options.js';
import { tailCommand } from './tail-command.js';
import { tokenCommand } from './token-command.js';
import { heraldVersion } from './version.js';

const DEV_BANNER = `
  ┌──────────────────────────────────────────────────────────────────────┐
  │  HERALD DEV PROFILE: anyone who can reach this hub may publish and   │
  │  subscribe to every channel. No authentication, CORS open to all.    │
  │  Do not expose it beyond your machine. For production, start with    │
  │  --config herald.config.json (see docs/operations.md).               │
  └──────────────────────────────────────────────────────────────────────┘
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Hosts that only this machine can reach: the dev profile bound anywhere else gets a louder warning. */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** A flag that takes one of `choices`, refused with a message naming them. */
function oneOf<T extends string>(name: string, choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text))
      throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${text}"`);
    return text as T;
  };
}

function flag(name: string, min: number, max: number) {
  return (text: string): number => {
    try {
      return parseIntegerFlag(name, text, min, max);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

interface StartFlags {
  config?: string;
  port?: number;
  host?: string;
  historySize?: number;
  historyTtl?: number;
  pollPresenceGrace?: number;
  engine?: string;
  shutdownDelay?: number;
  shutdownTimeout?: number;
  profile?: Profile;
  logLevel?: string;
  accessLog?: boolean;
  compression?: boolean;
  wsContextTakeover?: boolean;
}

/**
 * A reader of the output gone (`herald --help | head -1`, `herald tail … | head`) ends a command
 * quietly, as a closed pipe ends any filter, instead of an unhandled 'error' and its stack trace.
 * `start` replaces it: a hub keeps running when its log reader goes.
 */
function closedOutput(error: NodeJS.ErrnoException): void {
  process.exit(error.code === 'EPIPE' ? 0 : 1);
}

/** Runs the CLI with `argv` (without `node` and the script); resolves with the exit code once done. */
export async function main(argv: readonly string[]): Promise<number> {
  if (!process.stdout.listeners('error').includes(closedOutput)) process.stdout.on('error', closedOutput);
  const program = new Command('herald')
    .description('Herald: a self-hosted real-time hub. One channel model over WebSocket, SSE and polling.')
    .version(heraldVersion(), '-V, --version', 'print the version of herald')
    .showHelpAfterError('(run herald <command> --help for usage)')
    .exitOverride();

  // Set by the command that runs: its exit code, once done.
  let started: Promise<number> | undefined;
  const run = (outcome: Promise<number>): void => {
    started = outcome;
  };
  program
    .command('start')
    .description('start a hub: the dev profile (open, landing page at /) unless asked otherwise or security is configured')
    .option('-c, --config <file>', 'JSON configuration file (with auth, apiKeys, allowedOrigins, …: the production profile)')
    .addOption(
      new Option(
        '--profile <profile>',
        'dev (open) or production (tokens, API key, deny by default) [default: production when security is configured, else dev]',
      ).argParser(oneOf('--profile', PROFILES)),
    )
    .addOption(
      new Option('--log-level <level>', `${LOG_LEVELS.join(', ')} [default: HERALD_LOG_LEVEL, else info]`).argParser(
        oneOf('--log-level', LOG_LEVELS),
      ),
    )
    .option('--access-log', 'log one line per HTTP request and per WebSocket session (no tokens, no keys)')
    .option(
      '--no-compression',
      'send nothing compressed: no WebSocket permessage-deflate, no gzip/br on SSE and polling [default: on, HERALD_COMPRESSION=false turns it off]',
    )
    .option(
      '--ws-context-takeover',
      'WebSocket permessage-deflate with context takeover: a compressor per session (fewer bytes for similar messages, about 100 KB and a compression per delivery each) [default: off, one compression per message shared by every session; "compression": { "contextTakeover": true }]',
    )
    .addOption(
      new Option('-p, --port <port>', 'TCP port to listen on (0 = any free port) [default: HERALD_PORT, PORT, else 3000]').argParser(
        flag('--port', 0, 65_535),
      ),
    )
    .addOption(new Option('-H, --host <host>', 'interface to bind (0.0.0.0 for all) [default: 127.0.0.1]'))
    .addOption(
      new Option(
        '-e, --engine <engine>',
        'memory (one process), redis://host:port (many nodes), redis-cluster://host:port,host:port,… (Redis Cluster), ' +
          'redis-sentinel://host:port,host:port/<master-name> (Redis Sentinel), nats://host:port[,host:port…][?replicas=3] (NATS JetStream) ' +
          'or sqlite:<file> (durable single node) [default: memory]',
      ),
      // Checked with the rest of the configuration at start, whose errors never quote a password
      // (commander would print the raw argument in front of a parser's message).
    )
    .addOption(
      new Option(
        '--shutdown-delay <ms>',
        'on SIGTERM, answer /healthz with 503 for this long before closing connections, so a load balancer stops routing here first [default: 0]',
      ).argParser(flag('--shutdown-delay', 0, 600_000)),
    )
    .addOption(
      new Option(
        '--shutdown-timeout <ms>',
        `hard deadline of a stop, from the first signal: still running then, the process exits with code ${EXIT_SHUTDOWN_TIMEOUT}; must be more than --shutdown-delay [default: shutdown delay + 30000]`,
      ).argParser(flag('--shutdown-timeout', 1, MAX_TIMER_DELAY)),
    )
    .addOption(
      new Option('--history-size <n>', 'messages kept per channel [default: 1000]').argParser(flag('--history-size', 0, 10_000_000)),
    )
    .addOption(
      new Option('--history-ttl <seconds>', 'seconds a message is kept, 0 = no age limit [default: 86400]').argParser(
        flag('--history-ttl', 0, 31_536_000),
      ),
    )
    .addOption(
      new Option(
        '--poll-presence-grace <seconds>',
        'seconds a polling client stays a presence member after its last answer without polling again, 0 = polling clients are never members [default: 30]',
      ).argParser(flag('--poll-presence-grace', 0, 2_147_483)),
    )
    .addHelpText(
      'after',
      `
Settings come from, in increasing precedence: defaults, the config file, PORT (as platforms set
it), HERALD_* environment variables (HERALD_PORT, HERALD_HOST, HERALD_AUTH_SECRET,
HERALD_AUTH_PUBLIC_KEY, HERALD_AUTH_JWKS_URL, HERALD_API_KEYS, HERALD_ALLOWED_ORIGINS, HERALD_ENGINE,
HERALD_SHUTDOWN_DELAY, HERALD_SHUTDOWN_TIMEOUT, HERALD_ACCESS_LOG, HERALD_COMPRESSION, ...), then these flags. PORT selects
no profile. HERALD_PROFILE chooses the profile (--profile wins); without either, security in the file
or the variables (auth, apiKeys, cursorSecrets, allowedOrigins, allowAnonymous, namespaces) chooses
production, and nothing else does. HERALD_LOG_LEVEL sets the log level (--log-level wins).

The Pusher door (/app/{key}, /apps/{id}/...) is on with "pusher": {"apps": [...]} in the file, or
HERALD_PUSHER_APP_ID + HERALD_PUSHER_APP_KEY + HERALD_PUSHER_APP_SECRET (+ HERALD_PUSHER_WEBHOOK_URL)
for one app, or HERALD_PUSHER_APPS='[{"id":...,"key":...,"secret":...}]' for several; the variables
replace the file's apps. The Mercure door (/.well-known/mercure) is on with "mercure": {...} or
HERALD_MERCURE_JWT_KEY, HERALD_MERCURE_JWT_ALGORITHM, HERALD_MERCURE_PUBLISHER_JWT_KEY,
HERALD_MERCURE_SUBSCRIBER_JWT_KEY (and their _ALGORITHM), HERALD_MERCURE_ANONYMOUS,
HERALD_MERCURE_SUBSCRIPTIONS. Neither chooses the profile; production needs their secrets to be at
least 32 bytes. See docs/pusher.md and docs/mercure.md.`,
    )
    .action((opts: StartFlags) => {
      started = runStart(opts);
    });
  for (const command of [
    publishCommand(run),
    tailCommand(run),
    tokenCommand(run),
    keygenCommand(run),
    demoCommand(run),
    benchCommand(run),
  ]) {
    // Subcommands do not inherit these from the program when added as built commands.
    program.addCommand(command.showHelpAfterError(`(run herald ${command.name()} --help for usage)`).exitOverride());
  }

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

async function runStart(flags: StartFlags): Promise<number> {
  const level = flags.logLevel ?? process.env['HERALD_LOG_LEVEL'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    process.stderr.write(`herald: HERALD_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"\n`);
    return 1;
  }
  let loaded: LoadedConfig;
  try {
    const fromFlags = {
      ...(flags.port !== undefined && { port: flags.port }),
      ...(flags.host !== undefined && { host: flags.host }),
      ...(flags.historySize !== undefined && { historySize: flags.historySize }),
      ...(flags.historyTtl !== undefined && { historyTtl: flags.historyTtl }),
      ...(flags.pollPresenceGrace !== undefined && { pollPresenceGrace: flags.pollPresenceGrace }),
      ...(flags.engine !== undefined && { engine: flags.engine }),
      ...(flags.shutdownDelay !== undefined && { shutdownDelay: flags.shutdownDelay }),
      ...(flags.shutdownTimeout !== undefined && { shutdownTimeout: flags.shutdownTimeout }),
      ...(flags.accessLog === true && { accessLog: true }),
      ...(flags.compression === false && { compression: false }),
      ...(flags.wsContextTakeover === true && flags.compression !== false && { compression: { contextTakeover: true } }),
    };
    loaded = loadConfig({ file: flags.config, env: process.env, flags: fromFlags, profile: flags.profile });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`herald: ${error.message}\n`);
    return 1;
  }
  // A reader of stdout or stderr that is gone must not crash the hub (an unhandled 'error') or hold
  // it. Touching the streams also leaves pipes in non-blocking mode, which LogDestination needs.
  process.stdout.off('error', closedOutput);
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const destination = new LogDestination();
  // Bounded: one attempt per held line, no waiting.
  process.once('exit', () => destination.flushSync());
  const logger = createLogger(level, destination);
  const { config, profile, profileReason } = loaded;
  process.stderr.write(`herald: profile ${profile} (${profileReason})\n`);
  // The doors that are on, by their public names only (app ids, keys, paths; never a secret).
  for (const line of describeDoors(config.pusher, config.mercure)) process.stderr.write(`herald: ${line}\n`);
  // The production profile refused these (loadConfig); the dev profile runs with them, warned.
  const short = shortDoorSecrets(config.pusher, config.mercure);
  if (short.length > 0)
    logger.warn({ fields: short }, `door secrets shorter than ${MIN_DOOR_SECRET_BYTES} bytes: the production profile refuses them`);
  if (profile === 'dev') {
    process.stderr.write(DEV_BANNER);
    if (!LOOPBACK.test(config.host))
      process.stderr.write(`  The dev profile is bound to ${config.host}: every machine that can reach this port may use it.\n\n`);
  } else if (config.allowedOrigins === undefined)
    logger.warn({}, 'no allowedOrigins configured: browser pages cannot connect (requests with an Origin header are refused)');
  let hub;
  try {
    hub = await startHub(config, profile, logger);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason =
      e.code === 'EADDRINUSE'
        ? `port ${config.port} is already in use (try --port)`
        : e.code === 'EACCES'
          ? `no permission to listen on port ${config.port}`
          : e.message;
    process.stderr.write(`herald: cannot start: ${reason}\n`);
    return 1;
  }
  const running = hub;
  // Attached in the same turn as the listen callback: no request can have been read before it.
  if (config.accessLog) attachAccessLog(hub.server.server, logger);
  const stopped = handleShutdownSignals({
    server: {
      drain: () => running.server.drain(),
      // The demo simulators stop publishing before the hub they publish to closes.
      close: async () => {
        await running.demos?.stop();
        await running.server.close();
      },
    },
    logger,
    delay: config.shutdownDelay,
    timeout: shutdownTimeoutOf(config),
  });
  // Announced only once the signal handlers are in place: whoever waits for this line may stop us.
  logger.info(
    {
      url: hub.url,
      profile,
      profileReason,
      engine: describeEngine(parseEngine(config.engine)),
      ...(config.pusher !== undefined && { pusherApps: config.pusher.apps.map((app) => app.id) }),
      ...(config.mercure !== undefined && { mercure: true }),
    },
    'herald is listening',
  );
  if (profile === 'dev') process.stderr.write(`\n  Herald is running: open ${hub.url}/ for the live demo.\n\n`);
  return stopped;
}
