import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Runs `redis-cli -p <port> <args…>` and returns its output (trimmed). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

/** One `redis-server` process of a test deployment, owned by the test (stopped by its pid). */
export interface RedisNodeProcess {
  readonly port: number;
  /** The pid of the running process (`undefined` while it is killed). */
  readonly pid: number | undefined;
  /** `primary` or `replica`, as last read by {@link TestRedisCluster.refreshRoles} (or at start). */
  role: 'primary' | 'replica';
  /** SIGKILL: no shutdown, no last write to disk. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts the process again on the same port and directory. */
  restart(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** @default 3 */
  readonly primaries?: number;
  /** @default 1 */
  readonly replicasPerPrimary?: number;
  /** `cluster-node-timeout` (ms): how long a silent primary stays in charge before its replica takes over. @default 1000 */
  readonly nodeTimeout?: number;
}

/** A Redis Cluster of `redis-server` processes started by a test. */
export interface TestRedisCluster {
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…` (every node). */
  readonly url: string;
  readonly nodes: readonly RedisNodeProcess[];
  /** Reads every live node's role again (after a failover). */
  refreshRoles(): Promise<void>;
  /** The port of the primary now serving `key`'s slot, asked to a live node. */
  primaryOf(key: string): Promise<number>;
  /**
   * The ports of the replicas of the primary on port `primary` that it does not flag as failing, in
   * its `CLUSTER NODES` order (asked to that primary).
   */
  replicasOf(primary: number): Promise<number[]>;
  /** Resolves once every live node says `cluster_state:ok` and agrees on one primary per shard. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every process and removes their directories. */
  close(): Promise<void>;
}

/**
 * Spawns one `redis-server` in `dir` on `port` and waits until it answers PING.
 * Returns the process and a promise of its exit.
 */
export async function spawnRedis(
  port: number,
  dir: string,
  args: readonly string[],
  leading: readonly string[] = [],
): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(
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
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const pong = await redisCli(port, 'PING').catch(() => '');
    // A server with `requirepass` answers NOAUTH before AUTH: it is up.
    if (pong === 'PONG' || pong.startsWith('NOAUTH')) break;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { child, exited };
}

/** A `redis-server` process that can be killed and restarted on the same port and directory. */
export class RedisProcess implements RedisNodeProcess {
  readonly port: number;
  role: 'primary' | 'replica' = 'primary';
  readonly #dir: string;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  readonly #leading: readonly string[];

  /** `leading`: arguments before the others (a config file must come first, e.g. a sentinel's). */
  constructor(port: number, dir: string, args: readonly string[], leading: readonly string[] = []) {
    this.port = port;
    this.#dir = dir;
    this.#args = args;
    this.#leading = leading;
  }

  get pid(): number | undefined {
    return this.alive ? this.#child?.pid : undefined;
  }

  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async restart(): Promise<void> {
    if (this.alive) return;
    const { child, exited } = await spawnRedis(this.port, this.#dir, this.#args, this.#leading);
    this.#child = child;
    this.#exited = exited;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.#child?.kill(signal);
    await this.#exited;
  }
}

function parseUrlHosts(ports: readonly number[]): string {
  return ports.map((port) => `127.0.0.1:${port}`).join(',');
}

/**
 * Starts a Redis Cluster (default 3 primaries with 1 replica each: 6 processes) on free ports, each
 * in its own temporary directory, creates it with `redis-cli --cluster create` and waits until
 * every node says the cluster is ok.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicasPerPrimary ?? 1;
  const nodeTimeout = options.nodeTimeout ?? 1000;
  const root = await mkdtemp(join(tmpdir(), 'herald-redis-cluster-'));
  const nodes: RedisProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      const port = await freePort();
      // The cluster bus gets a free port of its own: by default it is port + 10000, which another
      // process may hold (the node then exits at once).
      let busPort = await freePort();
      while (busPort === port) busPort = await freePort();
      const dir = join(root, String(port));
      await run('mkdir', ['-p', dir]);
      const node = new RedisProcess(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(nodeTimeout),
        // A replica takes over however long it was cut off from its primary.
        '--cluster-replica-validity-factor',
        '0',
        '--cluster-require-full-coverage',
        'no',
        '--cluster-allow-pubsubshard-when-down',
        'no',
      ]);
      await node.restart();
      nodes.push(node);
    }
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { timeout: 30_000 },
    );
    const cluster = makeCluster(nodes, primaries, close);
    await cluster.waitUntilHealthy(30_000);
    return cluster;
  } catch (error) {
    await close();
    throw error;
  }
}

/** The port of a `CLUSTER NODES` line (split on spaces): its 2nd field is `ip:port@cport`. */
function nodePort(fields: readonly string[]): number {
  return Number(fields[1]!.split(':')[1]!.split('@')[0]);
}

function makeCluster(nodes: RedisProcess[], primaries: number, close: () => Promise<void>): TestRedisCluster {
  const live = (): RedisProcess[] => nodes.filter((n) => n.alive);
  const refreshRoles = async (): Promise<void> => {
    for (const node of live()) {
      const info = await redisCli(node.port, 'ROLE').catch(() => '');
      node.role = info.startsWith('master') ? 'primary' : 'replica';
    }
  };
  return {
    url: `redis-cluster://${parseUrlHosts(nodes.map((n) => n.port))}`,
    nodes,
    refreshRoles,
    async primaryOf(key: string): Promise<number> {
      const asked = live()[0];
      if (asked === undefined) throw new Error('no live node');
      const slot = Number(await redisCli(asked.port, 'CLUSTER', 'KEYSLOT', key));
      const text = await redisCli(asked.port, 'CLUSTER', 'NODES');
      for (const line of text.split('\n')) {
        const fields = line.split(' ');
        if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
        for (const range of fields.slice(8)) {
          const [from, to] = range.split('-').map(Number);
          if (from !== undefined && slot >= from && slot <= (to ?? from)) return nodePort(fields);
        }
      }
      throw new Error(`no primary serves slot ${slot}`);
    },
    async replicasOf(primary: number): Promise<number[]> {
      const lines = (await redisCli(primary, 'CLUSTER', 'NODES')).split('\n').map((line) => line.split(' '));
      const primaryId = lines.find((fields) => fields[1]?.startsWith(`127.0.0.1:${primary}@`))?.[0];
      if (primaryId === undefined) throw new Error(`no node on port ${primary} in its own CLUSTER NODES`);
      // A replica's line names its primary's id in the 4th field.
      return lines.filter((fields) => fields[3] === primaryId && !fields[2]!.includes('fail')).map(nodePort);
    },
    async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let ok = true;
        for (const node of live()) {
          const info = await redisCli(node.port, 'CLUSTER', 'INFO').catch(() => '');
          const nodesText = await redisCli(node.port, 'CLUSTER', 'NODES').catch(() => '');
          // Every live node's view: state ok, no node still marked failing while alive, every slot's primary up.
          const serving = nodesText.split('\n').filter((l) => l.includes('master') && !l.includes('fail') && /\d+-\d+|\s\d+$/.test(l));
          if (!info.includes('cluster_state:ok') || serving.length < primaries || nodesText.includes('fail?')) ok = false;
        }
        if (ok) {
          await refreshRoles();
          return;
        }
        if (Date.now() > deadline) throw new Error('the Redis cluster did not become healthy');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close,
  };
}
