import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildProcess } from './ipc.mjs';

const NODE = fileURLToPath(new URL('./cluster-node.mjs', import.meta.url));
const KEEPER = fileURLToPath(new URL('./cluster-keeper.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./cluster-client.mjs', import.meta.url));

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every mainstream architecture. */
const TICKS_PER_SEC = 100;

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU time (user + system, all threads) of process `pid` so far, in seconds; null without /proc. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists and we may read it (a local Redis, for example). */
export function processExists(pid) {
  return Number.isInteger(pid) && cpuSeconds(pid) !== null;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
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

/** Whether a Redis on 127.0.0.1:`port` answers PING. */
function answersPing(port) {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Every process the benchmark starts, so each can be stopped by its own pid: politely at the end of
 * a measurement, with SIGKILL from an `exit` handler whatever happens. Each child also exits by
 * itself when this process goes (its IPC channel closes), so a SIGKILLed orchestrator leaves
 * nothing behind either.
 */
export class Processes {
  #live = new Map();
  #cores = cpus().length;

  /** Pids of the live processes (for the CPU readings of lib/cpu.mjs). */
  get pids() {
    return [...this.#live.keys()];
  }

  #track(pid, stop) {
    this.#live.set(pid, stop);
    return () => this.#live.delete(pid);
  }

  /**
   * Starts `herald start --port 0 --engine <engine>` from the snapshot (`cli`) and resolves once it
   * logs that it listens: `{pid, port, url, stop(), tail()}`.
   */
  async startNode({ cli, engine, label, timeoutMs = 20_000 }) {
    const child = fork(NODE, ['start', '--port', '0', '--engine', engine], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, BENCH_HERALD_CLI: cli, HERALD_LOG_LEVEL: 'info' },
    });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    let tail = '';
    const keep = (chunk) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    const kill = (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const untrack = this.#track(child.pid, () => kill('SIGKILL'));
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${label} did not start within ${timeoutMs} ms:\n${tail}`)), timeoutMs);
      let seen = '';
      const onData = (chunk) => {
        seen += chunk.toString();
        const line = seen.split('\n').find((l) => l.includes('"msg":"herald is listening"'));
        if (line === undefined) return;
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve(JSON.parse(line).url);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`node ${label} exited (${code}):\n${tail}`));
      });
    }).catch((error) => {
      kill('SIGKILL');
      untrack();
      throw error;
    });
    // Keep reading: a full pipe would block the node's logging, and the tail explains a failure.
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    return {
      label,
      pid: child.pid,
      port: Number(new URL(url).port),
      url,
      tail: () => tail,
      /** SIGTERM (the CLI closes gracefully), SIGKILL after `graceMs`. */
      async stop(graceMs = 5000) {
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        untrack();
      },
    };
  }

  /** Starts a private `redis-server` on a free port (no persistence): `{url, port, pid, stop()}`. */
  async startRedis(extraArgs = [], leading = []) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-redis-'));
    const server = await this.startDaemon(
      'redis-server',
      [
        ...leading,
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
        '--logfile',
        '',
        ...extraArgs,
      ],
      { label: `redis-server :${port}`, dir, ready: () => answersPing(port) },
    );
    return { ...server, url: `redis://127.0.0.1:${port}`, port, dir };
  }

  /**
   * Runs `command args` through a keeper process (lib/cluster-keeper.mjs: the server dies with the
   * benchmark however it ends), tracked by its pid; resolves once `ready()` resolves true (polled,
   * at most `timeoutMs`): `{pid, stop()}`. `stop()` SIGTERMs it (SIGKILL after 5 s) and removes `dir`.
   */
  async startDaemon(command, args, { label, dir, ready, timeoutMs = 20_000 }) {
    const keeper = fork(KEEPER, [command, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise((resolve) => keeper.once('exit', resolve));
    const pid = await new Promise((resolve, reject) => {
      keeper.once('message', (m) => (m.pid !== undefined ? resolve(m.pid) : reject(new Error(`${label}: ${m.error ?? m.exit}`))));
      keeper.once('exit', () => reject(new Error(`${label} did not start`)));
    });
    const kill = () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      if (keeper.exitCode === null && keeper.signalCode === null) keeper.kill('SIGKILL');
    };
    const untrack = this.#track(pid, kill);
    const untrackKeeper = this.#track(keeper.pid, kill);
    const deadline = Date.now() + timeoutMs;
    while (!(await ready())) {
      if (keeper.exitCode !== null || Date.now() > deadline) {
        kill();
        throw new Error(`${label} did not start`);
      }
      await sleep(50);
    }
    return {
      pid,
      async stop() {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
        const timer = setTimeout(kill, 5000);
        await exited;
        clearTimeout(timer);
        untrack();
        untrackKeeper();
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  /** Forks a load-generator process (lib/cluster-client.mjs), answering requests over IPC. */
  startClient() {
    const client = new ChildProcess(CLIENT);
    const untrack = this.#track(client.pid, () => process.kill(client.pid, 'SIGKILL'));
    return {
      pid: client.pid,
      request: (cmd, fields, timeoutMs) => client.request(cmd, fields, timeoutMs),
      async stop() {
        await client.stop();
        untrack();
      },
    };
  }

  /**
   * `--pin`: node i on core i, everything else (this process, the load generators, a spawned Redis)
   * on the cores after the nodes. Throws when there are not enough cores to give each node its own
   * and leave two for the rest.
   */
  pin(nodePids, otherPids) {
    if (this.#cores < nodePids.length + 2)
      throw new RangeError(`--pin needs ${nodePids.length + 2} cores for ${nodePids.length} node(s); this machine has ${this.#cores}`);
    const rest = `${nodePids.length}-${this.#cores - 1}`;
    const taskset = (cores, pid) => execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
    nodePids.forEach((pid, i) => taskset(String(i), pid));
    for (const pid of [process.pid, ...otherPids]) taskset(rest, pid);
    return { nodes: nodePids.map((_, i) => String(i)), rest };
  }

  /** SIGKILLs every process still running; synchronous, for `process.on('exit')`. */
  killAllNow() {
    for (const kill of this.#live.values()) {
      try {
        kill();
      } catch {
        // Already gone.
      }
    }
    this.#live.clear();
  }
}
