import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, processExists, sleep } from './cluster-processes.mjs';
import { readInfo, RedisConnection } from './cluster-redis.mjs';

// The engines' servers, spawned by the benchmark once per session (the same settings as
// @herald/testkit's startRedisCluster/startRedisSentinel/startNatsCluster, which the engine tests
// use; written again here because the benchmark is plain .mjs and needs every pid and monitoring
// port, and its servers must die with it: each runs under a keeper process).
//
// An engine is `{kind, url, servers: [{role, port, pid, url?, monitorPort?}], spawned, stop()}`:
// `url` is what `herald start --engine` gets; `servers` every process of the deployment, with its
// role (primary, replica, sentinel, nats).

const run = promisify(execFile);

/** Whether `command` is on the PATH. */
function onPath(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The engines whose servers can be started here (the default of --engines). */
export function spawnableEngines() {
  const redis = onPath('redis-server') && onPath('redis-cli');
  const nats = onPath('nats-server');
  return ['redis', ...(redis ? ['redis-cluster', 'redis-sentinel'] : []), ...(nats ? ['nats', 'nats-r3'] : [])];
}

/** Sends one command to the Redis at `port` on a connection of its own. */
async function redisCommand(port, args) {
  const connection = await RedisConnection.open(`redis://127.0.0.1:${port}`);
  try {
    return await connection.command(args);
  } finally {
    await connection.close();
  }
}

async function stopAll(servers) {
  await Promise.allSettled(servers.map((s) => s.stop()));
}

/**
 * The "redis" engine: `--redis spawn` starts a private redis-server, otherwise `url` is used as it
 * is (its pid is known only when it runs on this machine, for its CPU).
 */
export async function redisEngine(processes, url) {
  if (url === 'spawn') {
    const server = await processes.startRedis();
    return {
      kind: 'redis',
      url: server.url,
      spawned: true,
      servers: [{ role: 'primary', port: server.port, pid: server.pid, url: server.url }],
      stop: () => server.stop(),
    };
  }
  const connection = await RedisConnection.open(url);
  let info;
  try {
    info = await readInfo(connection);
  } finally {
    await connection.close();
  }
  return {
    kind: 'redis',
    url,
    spawned: false,
    version: info.version,
    servers: [{ role: 'primary', url, pid: processExists(info.pid) ? info.pid : undefined }],
    stop: async () => {},
  };
}

/** Redis Cluster: `primaries` primaries with one replica each (`redis-cli --cluster create`), node timeout 1 s. */
export async function redisClusterEngine(processes, primaries = 3) {
  const servers = [];
  try {
    for (let i = 0; i < primaries * 2; i++) {
      servers.push(
        await processes.startRedis([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '1000',
          '--cluster-require-full-coverage',
          'no',
        ]),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(servers.map((s) => redisCommand(s.port, ['CLUSTER', 'INFO']).catch(() => '')));
      if (states.every((text) => text.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error('the Redis cluster did not become ok');
      await sleep(100);
    }
    const roles = await Promise.all(servers.map((s) => redisCommand(s.port, ['ROLE'])));
    return {
      kind: 'redis-cluster',
      url: `redis-cluster://${addresses.join(',')}`,
      spawned: true,
      servers: servers.map((s, i) => ({ role: roles[i][0] === 'master' ? 'primary' : 'replica', port: s.port, pid: s.pid, url: s.url })),
      stop: () => stopAll(servers),
    };
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}

/**
 * Redis Sentinel: a primary, one replica and `sentinels` sentinels (`redis-server <conf>
 * --sentinel`, quorum 2, down after 1 s) monitoring it as `herald`.
 */
export async function redisSentinelEngine(processes, sentinels = 3) {
  const servers = [];
  const name = 'herald';
  try {
    const primary = await processes.startRedis();
    servers.push(primary);
    servers.push(await processes.startRedis(['--replicaof', '127.0.0.1', String(primary.port)]));
    const watchers = [];
    for (let i = 0; i < sentinels; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'herald-bench-sentinel-'));
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 3000`,
          '',
        ].join('\n'),
      );
      const sentinel = await startSentinel(processes, conf, dir);
      servers.push(sentinel);
      watchers.push(sentinel);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const views = await Promise.all(watchers.map((s) => redisCommand(s.port, ['SENTINEL', 'master', name]).catch(() => [])));
      const field = (view, key) => Number(view[view.indexOf(key) + 1]);
      if (views.every((v) => field(v, 'num-slaves') >= 1 && field(v, 'num-other-sentinels') >= sentinels - 1)) break;
      if (Date.now() > deadline) throw new Error('the sentinels did not discover the replica and each other');
      await sleep(100);
    }
    return {
      kind: 'redis-sentinel',
      url: `redis-sentinel://${watchers.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`,
      spawned: true,
      servers: servers.map((s, i) => ({
        role: i === 0 ? 'primary' : i === 1 ? 'replica' : 'sentinel',
        port: s.port,
        pid: s.pid,
        url: s.url,
      })),
      stop: () => stopAll(servers),
    };
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}

async function startSentinel(processes, conf, dir) {
  const port = await freePort();
  const server = await processes.startDaemon(
    'redis-server',
    [conf, '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--logfile', ''],
    {
      label: `sentinel :${port}`,
      dir,
      ready: () =>
        redisCommand(port, ['PING']).then(
          (pong) => pong === 'PONG',
          () => false,
        ),
    },
  );
  return { ...server, port, url: `redis://127.0.0.1:${port}` };
}

async function natsHealthy(monitorPort) {
  try {
    const answer = await fetch(`http://127.0.0.1:${monitorPort}/healthz`, { signal: AbortSignal.timeout(1000) });
    return answer.ok;
  } catch {
    return false;
  }
}

/**
 * NATS with JetStream: one server (`replicas` 1, kind "nats"), or `count` servers routed into one
 * cluster with the stream and buckets at `replicas` 3 (kind "nats-r3"). Each server has a
 * monitoring port (`-m`) the round-trips phase reads.
 */
export async function natsEngine(processes, { count, replicas, kind }) {
  const members = [];
  for (let i = 0; i < count; i++) members.push({ port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort() });
  const routes = members.map((m) => `nats://127.0.0.1:${m.clusterPort}`).join(',');
  const servers = [];
  try {
    await Promise.all(
      members.map(async (m, i) => {
        const dir = mkdtempSync(join(tmpdir(), 'herald-bench-nats-'));
        const args = [
          '-a',
          '127.0.0.1',
          '-p',
          String(m.port),
          '-m',
          String(m.monitorPort),
          '-js',
          '-sd',
          dir,
          '-l',
          join(dir, 'server.log'),
        ];
        args.push('--server_name', `n${i + 1}`);
        if (count > 1)
          args.push('--cluster_name', `herald-bench-${process.pid}`, '--cluster', `nats://127.0.0.1:${m.clusterPort}`, '--routes', routes);
        const server = await processes.startDaemon('nats-server', args, {
          label: `nats-server :${m.port}`,
          dir,
          ready: () => natsHealthy(m.monitorPort),
          timeoutMs: 30_000,
        });
        servers.push(server);
        m.pid = server.pid;
      }),
    );
    const query = replicas > 1 ? `?replicas=${replicas}` : '';
    return {
      kind,
      url: `nats://${members.map((m) => `127.0.0.1:${m.port}`).join(',')}${query}`,
      spawned: true,
      servers: members.map((m) => ({ role: 'nats', port: m.port, pid: m.pid, monitorPort: m.monitorPort })),
      stop: () => stopAll(servers),
    };
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}

/** Starts (or, for a --redis URL, reaches) the deployment of engine `kind`. */
export function startEngine(kind, processes, options) {
  switch (kind) {
    case 'redis':
      return redisEngine(processes, options.redis);
    case 'redis-cluster':
      return redisClusterEngine(processes);
    case 'redis-sentinel':
      return redisSentinelEngine(processes);
    case 'nats':
      return natsEngine(processes, { count: 1, replicas: 1, kind });
    case 'nats-r3':
      return natsEngine(processes, { count: 3, replicas: 3, kind });
    default:
      throw new TypeError(`unknown engine ${kind}`);
  }
}

/** The pids of the engine's processes on this machine (for CPU readings). */
export function enginePids(engine) {
  return engine.servers.map((s) => s.pid).filter((pid) => pid !== undefined);
}

/**
 * The Redis server a channel's keys live on: the only one ("redis"), the primary ("redis-sentinel";
 * the benchmark makes no failover), or the primary serving the slot of `{channel}` ("redis-cluster",
 * asked with CLUSTER KEYSLOT and CLUSTER NODES).
 */
export async function redisServerOf(engine, channel) {
  if (engine.kind !== 'redis-cluster') return engine.servers.find((s) => s.role === 'primary');
  const primary = engine.servers.find((s) => s.role === 'primary');
  const slot = await redisCommand(primary.port, ['CLUSTER', 'KEYSLOT', `{${channel}}`]);
  const nodes = String(await redisCommand(primary.port, ['CLUSTER', 'NODES']));
  for (const line of nodes.split('\n')) {
    const fields = line.split(' ');
    if (!fields[2]?.includes('master')) continue;
    for (const range of fields.slice(8)) {
      const [from, to] = range.split('-').map(Number);
      if (slot >= from && slot <= (to ?? from)) {
        const port = Number(fields[1].split('@')[0].split(':')[1]);
        return engine.servers.find((s) => s.port === port);
      }
    }
  }
  throw new Error(`no primary serves slot ${slot} of ${channel}`);
}
