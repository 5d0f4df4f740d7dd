import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Append-only file with `fsync always`, so a restart keeps every acknowledged write. @default false */
  readonly persistence?: boolean;
  /** More `redis-server` arguments, e.g. `['--maxmemory', '4mb']`. */
  readonly args?: readonly string[];
}

/** A `redis-server` owned by one test: its own port and directory, stopped by its pid. */
export interface TestRedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM: with persistence the data is on disk). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts `redis-server` on a free port with a temporary directory. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestRedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const persistence = options.persistence === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        ...persistence,
        '--daemonize',
        'no',
        '--logfile',
        '',
        ...(options.args ?? []),
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
