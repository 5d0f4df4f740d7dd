// What `npm test` needs besides node_modules, checked before anything is built: the programs the
// tests run (redis-server, nginx, chromium, nats-server) and a Redis and a NATS with JetStream to test against. On Debian as root the
// missing programs are installed (as .ci/run does); anywhere else the run stops at once, naming
// exactly what to install. A Redis and a NATS are started for the run when none answers.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The variable the Redis tests read their server's URL from (`redis://127.0.0.1:6379` when unset). */
export const REDIS_URL_VARIABLE = 'HERALD_TEST_REDIS_URL';

/** The Redis the tests use when {@link REDIS_URL_VARIABLE} is unset. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * The programs the tests run, where they look for them, and Debian's package for each. nginx and
 * Chromium are run by absolute path (packages/testkit/src/nginx.ts, the browser tests), redis-server
 * and curl from PATH (packages/testkit/src/redis-server.ts, packages/herald/test/docs-curl.test.ts).
 */
export const PROGRAMS = [
  { name: 'redis-server', command: 'redis-server', debian: 'redis-server', usedBy: 'the Redis engine and cluster tests' },
  { name: 'nginx', path: '/usr/sbin/nginx', debian: 'nginx', usedBy: 'the tests behind a proxy' },
  { name: 'chromium', path: '/usr/bin/chromium', debian: 'chromium', usedBy: 'the browser tests' },
  { name: 'curl', command: 'curl', debian: 'curl', usedBy: 'the docs test (it runs every curl example of the docs)' },
  { name: 'nats-server', command: 'nats-server', debian: 'nats-server', usedBy: 'the NATS engine fault and CLI tests' },
];

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The first executable `command` in the directories of `searchPath` (a PATH value), or undefined. */
export function findCommand(command, searchPath = process.env.PATH ?? '', isExecutable = executable) {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, command);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** The entries of {@link PROGRAMS} not found: on `searchPath` for a command, at their path otherwise. */
export function missingPrograms(searchPath = process.env.PATH ?? '', isExecutable = executable) {
  return PROGRAMS.filter((program) =>
    program.command !== undefined ? findCommand(program.command, searchPath, isExecutable) === undefined : !isExecutable(program.path),
  );
}

/** How a program is named to whoever installs it: by the path the tests run, when they use one. */
const shown = (program) => (program.path ?? program.command) + `  (${program.usedBy})`;

/**
 * What to do about `missing` programs: `{ action: 'none' }`; `{ action: 'install', packages }` on
 * Debian as root with apt-get; otherwise `{ action: 'stop', message }`, the message naming each
 * program and the command (or paths) that provide it.
 */
export function planPrerequisites(missing, { isRoot, isDebian, hasAptGet }) {
  if (missing.length === 0) return { action: 'none' };
  const packages = missing.map((program) => program.debian);
  if (isDebian && isRoot && hasAptGet) return { action: 'install', packages };
  const list = missing.map((program) => `  ${shown(program)}`).join('\n');
  const how = isDebian
    ? `Install them as root, then run npm test again:\n  sudo apt-get install -y ${packages.join(' ')}`
    : 'Install them, then run npm test again. The tests run nginx and Chromium at exactly these paths\n' +
      "(Debian's), and redis-server and nats-server from PATH; on another system link them there, or run the tests in a\n" +
      'Debian container (bash .ci/run installs everything there).';
  return { action: 'stop', message: `npm test needs programs this machine lacks:\n${list}\n${how}` };
}

/** The facts {@link planPrerequisites} decides on, read from this machine. */
export function machineFacts() {
  return {
    isRoot: process.getuid?.() === 0,
    isDebian: existsSync('/etc/debian_version'),
    hasAptGet: findCommand('apt-get') !== undefined,
  };
}

/** Whether a Redis answers `PING` at `url` (`redis://host:port`) within `timeoutMs`. */
export function redisAnswers(url, timeoutMs = 1000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    let reply = '';
    const done = (answer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** A free TCP port on 127.0.0.1 (closed again: the caller binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `command args…` as a server of the run's own, resolving once its output matches `ready`.
 * `stop()` ends it (by its pid) and removes `dir`; it is synchronous, so it can run in an `exit`
 * handler.
 */
async function startRunServer({ name, command, args, dir, ready, timeoutMs }) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not say it was ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const read = (chunk) => {
        output += chunk.toString();
        if (ready.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}:\n${output}`));
      });
    });
  } catch (error) {
    stop();
    throw error;
  }
  // Its log is not ours to print; the pipes must not hold the run open either.
  child.stdout.resume();
  child.stderr.resume();
  child.stdout.unref?.();
  child.stderr.unref?.();
  child.unref();
  return { pid: child.pid, stop };
}

/**
 * Starts a `redis-server` of the run's own on a free port, without persistence, in a temporary
 * directory; resolves once it says it is ready. `stop()` ends it (by its pid) and removes the
 * directory; it is synchronous, so it can run in an `exit` handler.
 */
export async function startRunRedis({ command = 'redis-server', timeoutMs = 10_000 } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-test-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
  const server = await startRunServer({ name: 'redis-server', command, args, dir, ready: /ready to accept connections/i, timeoutMs });
  return { url: `redis://127.0.0.1:${port}`, ...server };
}

/**
 * Starts a `nats-server` with JetStream of the run's own on a free port, its store in a temporary
 * directory; resolves once it says it is ready. `stop()` as for {@link startRunRedis}.
 */
export async function startRunNats({ command = 'nats-server', timeoutMs = 10_000 } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-test-nats-'));
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir];
  const server = await startRunServer({ name: 'nats-server', command, args, dir, ready: /Server is ready/i, timeoutMs });
  return { url: `nats://127.0.0.1:${port}`, ...server };
}

/** Whether a NATS server greets with `INFO` at `url` (`nats://host:port`) within `timeoutMs`. */
export function natsAnswers(url, timeoutMs = 1000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 4222) });
    let greeting = '';
    const done = (answer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk) => {
      greeting += chunk.toString('latin1');
      if (greeting.includes('\r\n')) done(greeting.startsWith('INFO ') && greeting.includes('"jetstream":true'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** The variable the NATS tests read their server's URL from (`nats://127.0.0.1:4222` when unset). */
export const NATS_URL_VARIABLE = 'HERALD_TEST_NATS_URL';

/** The NATS the tests use when {@link NATS_URL_VARIABLE} is unset. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * The NATS with JetStream the tests are to use: the one {@link NATS_URL_VARIABLE} names (which must
 * answer with JetStream), or the default one when it does, or a new one of the run's own (`stop`
 * set). Throws with a message fit for the terminal when none can be had.
 */
export async function ensureNats(env = process.env, { defaultUrl = DEFAULT_NATS_URL, command = 'nats-server' } = {}) {
  const asked = env[NATS_URL_VARIABLE];
  if (asked !== undefined && asked !== '') {
    if (await natsAnswers(asked)) return { url: asked, stop: undefined };
    throw new Error(
      `${NATS_URL_VARIABLE}=${asked}, but no NATS with JetStream answers there: start one (nats-server -js), or unset ${NATS_URL_VARIABLE}`,
    );
  }
  if (await natsAnswers(defaultUrl)) return { url: defaultUrl, stop: undefined };
  return startRunNats({ command });
}

/**
 * The Redis the tests are to use: the one {@link REDIS_URL_VARIABLE} names (which must answer), or
 * the default one when it answers, or a new one of the run's own (`stop` set). Throws with a message
 * fit for the terminal when none can be had.
 */
export async function ensureRedis(env = process.env, { defaultUrl = DEFAULT_REDIS_URL, command = 'redis-server' } = {}) {
  const asked = env[REDIS_URL_VARIABLE];
  if (asked !== undefined && asked !== '') {
    if (await redisAnswers(asked)) return { url: asked, stop: undefined };
    throw new Error(`${REDIS_URL_VARIABLE}=${asked}, but no Redis answers there: start it, or unset ${REDIS_URL_VARIABLE}`);
  }
  if (await redisAnswers(defaultUrl)) return { url: defaultUrl, stop: undefined };
  const started = await startRunRedis({ command });
  return { url: started.url, stop: started.stop, pid: started.pid };
}

/**
 * Installs what {@link planPrerequisites} asks for with apt-get, as .ci/run does. Returns false
 * when apt-get failed.
 */
export function aptInstall(packages) {
  console.error(`npm test: installing ${packages.join(' ')} from Debian's packages`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // A stale or unreachable package list is no reason not to try the install.
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  return spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env }).status === 0;
}

/**
 * Everything `npm test` needs before it builds: the programs (installed or named, see
 * {@link planPrerequisites}) and a Redis and a NATS with JetStream, whose URLs are set in `env` for the tests. Returns `stop`
 * ending the Redis and NATS started here (if any), or throws with the message to print.
 */
export async function ensurePrerequisites(env = process.env, facts = machineFacts()) {
  let missing = missingPrograms(env.PATH ?? '');
  const plan = planPrerequisites(missing, facts);
  if (plan.action === 'stop') throw new Error(plan.message);
  if (plan.action === 'install') {
    aptInstall(plan.packages);
    missing = missingPrograms(env.PATH ?? '');
    if (missing.length > 0)
      throw new Error(`npm test: apt-get did not provide:\n${missing.map((program) => `  ${shown(program)}`).join('\n')}`);
  }
  const redis = await ensureRedis(env);
  if (redis.stop !== undefined)
    console.error(`npm test: no Redis answered at ${DEFAULT_REDIS_URL}; started one for this run at ${redis.url}`);
  env[REDIS_URL_VARIABLE] = redis.url;
  let nats;
  try {
    nats = await ensureNats(env);
  } catch (error) {
    redis.stop?.();
    throw error;
  }
  if (nats.stop !== undefined)
    console.error(`npm test: no NATS with JetStream answered at ${DEFAULT_NATS_URL}; started one for this run at ${nats.url}`);
  env[NATS_URL_VARIABLE] = nats.url;
  return {
    stop: () => {
      redis.stop?.();
      nats.stop?.();
    },
  };
}
