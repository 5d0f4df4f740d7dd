import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** One `nats-server` process of a {@link TestNatsCluster}. */
interface Member {
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly dir: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
}

/** `nats-server` processes (JetStream on, each its own port and directory) owned by one test. */
export interface TestNatsCluster {
  /** `nats://127.0.0.1:p1,127.0.0.1:p2,…`: every server, as the engine URL takes them. */
  readonly url: string;
  /** Each server's own `nats://127.0.0.1:<port>`. */
  readonly urls: readonly string[];
  /** Each server's process id (undefined while stopped). */
  pid(index: number): number | undefined;
  /** SIGKILLs server `index` (nothing is flushed) and waits until it is gone. */
  kill(index: number): Promise<void>;
  /** SIGTERMs server `index` and waits until it is gone. */
  stop(index: number): Promise<void>;
  /** Starts server `index` again on its ports and directory; resolves once it reports healthy. */
  restart(index: number): Promise<void>;
  /** Stops every server and removes their directories. */
  close(): Promise<void>;
}

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** @default 3 */
  readonly servers?: number;
}

async function healthy(monitorPort: number): Promise<boolean> {
  try {
    const answer = await fetch(`http://127.0.0.1:${monitorPort}/healthz`, { signal: AbortSignal.timeout(1000) });
    return answer.ok;
  } catch {
    return false;
  }
}

/**
 * Starts `servers` `nats-server` processes with JetStream (`-js`, a temporary `-sd` each) on free
 * ports; with more than one they form a cluster (routes between all, one cluster name), and
 * JetStream waits for its meta leader. Resolves once every server reports healthy.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<TestNatsCluster> {
  const count = options.servers ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new RangeError('servers must be an integer ≥ 1');
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    members.push({
      port: await freePort(),
      clusterPort: await freePort(),
      monitorPort: await freePort(),
      dir: await mkdtemp(join(tmpdir(), 'herald-nats-')),
      child: undefined,
      exited: Promise.resolve(),
    });
  }
  const name = `herald-test-${process.pid}-${members[0]!.port}`;
  const routes = members.map((m) => `nats://127.0.0.1:${m.clusterPort}`).join(',');

  const launch = (index: number): void => {
    const m = members[index]!;
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(m.port),
      '-m',
      String(m.monitorPort),
      '-js',
      '-sd',
      m.dir,
      '--server_name',
      `n${index + 1}`,
    ];
    if (count > 1) args.push('--cluster_name', name, '--cluster', `nats://127.0.0.1:${m.clusterPort}`, '--routes', routes);
    const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'ignore'] });
    m.child = child;
    m.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  };
  const waitHealthy = async (indexes: readonly number[]): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (const index of indexes) {
      const m = members[index]!;
      while (!(await healthy(m.monitorPort))) {
        if (m.child?.exitCode !== null) throw new Error(`nats-server n${index + 1} exited with ${m.child?.exitCode}`);
        if (Date.now() > deadline) throw new Error(`nats-server n${index + 1} did not become healthy`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const halt = async (index: number, signal: NodeJS.Signals): Promise<void> => {
    const m = members[index]!;
    const child = m.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await m.exited;
    m.child = undefined;
  };

  const all = members.map((_, i) => i);
  try {
    for (const i of all) launch(i);
    await waitHealthy(all);
  } catch (error) {
    for (const i of all) await halt(i, 'SIGKILL');
    for (const m of members) await rm(m.dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://${members.map((m) => `127.0.0.1:${m.port}`).join(',')}`,
    urls: members.map((m) => `nats://127.0.0.1:${m.port}`),
    pid: (index) => members[index]?.child?.pid,
    kill: (index) => halt(index, 'SIGKILL'),
    stop: (index) => halt(index, 'SIGTERM'),
    async restart(index) {
      await halt(index, 'SIGTERM');
      launch(index);
      await waitHealthy([index]);
    },
    async close() {
      for (const i of all) await halt(i, 'SIGTERM');
      for (const m of members) await rm(m.dir, { recursive: true, force: true });
    },
  };
}

/** One `nats-server` with JetStream on a free port and a temporary directory (a cluster of one). */
export function startNatsServer(): Promise<TestNatsCluster> {
  return startNatsCluster({ servers: 1 });
}
