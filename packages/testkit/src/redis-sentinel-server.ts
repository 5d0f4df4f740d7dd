import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { RedisProcess, redisCli } from './redis-cluster-server.js';

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** @default 2 */
  readonly replicas?: number;
  /** @default 3 */
  readonly sentinels?: number;
  /** The monitored primary's name. @default 'mymaster' */
  readonly masterName?: string;
  /** `down-after-milliseconds`: how long a silent primary stays in charge. @default 1000 */
  readonly downAfter?: number;
  /**
   * The sentinels' own password (`requirepass` in sentinel.conf, and `sentinel sentinel-pass` so
   * they reach each other): the URL then carries `?sentinelPassword=…`. @default none
   */
  readonly sentinelPassword?: string;
  /**
   * With {@link sentinelPassword}: the sentinels' ACL user instead (`user <name> on >password …` in
   * sentinel.conf, the `default` user off, `sentinel sentinel-user`): the URL then carries
   * `sentinelUsername=…` too. @default none (`requirepass`)
   */
  readonly sentinelUsername?: string;
  /**
   * The data nodes' password (`requirepass` and `masterauth` on each, `sentinel auth-pass` on the
   * sentinels): the URL then carries `:<password>@`. @default none
   */
  readonly password?: string;
}

/** A primary, its replicas and the sentinels watching them, started by a test. */
export interface TestRedisSentinel {
  /** `redis-sentinel://[:<password>@]127.0.0.1:s1,127.0.0.1:s2,…/<master-name>[?sentinelPassword=…[&sentinelUsername=…]]`. */
  readonly url: string;
  /** The data nodes (the first is the primary at start). */
  readonly nodes: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /**
   * SIGKILLs the current primary and resolves once the sentinels name another one that says it is
   * a primary: the old and the new port.
   */
  killPrimary(timeoutMs?: number): Promise<{ readonly old: number; readonly now: number }>;
  /** Stops every process and removes their directories. */
  close(): Promise<void>;
}

/**
 * Starts a primary with `replicas` replicas and `sentinels` sentinels (`redis-server <conf>
 * --sentinel`) on free ports, each in its own temporary directory, with short failure detection
 * (down after 1 s, failover timeout 3 s) so failover tests are quick.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<TestRedisSentinel> {
  const name = options.masterName ?? 'mymaster';
  const downAfter = options.downAfter ?? 1000;
  const { password, sentinelPassword, sentinelUsername } = options;
  if (sentinelUsername !== undefined && sentinelPassword === undefined) throw new RangeError('sentinelUsername needs sentinelPassword');
  // redis-cli with the credentials of the server it asks (before the command).
  const ask = (port: number, pass: string | undefined, ...args: string[]): Promise<string> => {
    if (pass === undefined) return redisCli(port, ...args);
    const user = pass === sentinelPassword && sentinelUsername !== undefined ? ['--user', sentinelUsername] : [];
    return redisCli(port, '--no-auth-warning', ...user, '--pass', pass, ...args);
  };
  const root = await mkdtemp(join(tmpdir(), 'herald-redis-sentinel-'));
  const nodes: RedisProcess[] = [];
  const sentinels: RedisProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all([...sentinels, ...nodes].map((p) => p.kill('SIGKILL')));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i <= (options.replicas ?? 2); i++) {
      const port = await freePort();
      const dir = join(root, `node-${port}`);
      await mkdir(dir);
      const primary = nodes[0];
      const auth = password === undefined ? [] : ['--requirepass', password, '--masterauth', password];
      const node = new RedisProcess(port, dir, [
        ...auth,
        ...(primary === undefined ? [] : ['--replicaof', '127.0.0.1', String(primary.port)]),
      ]);
      node.role = primary === undefined ? 'primary' : 'replica';
      await node.restart();
      nodes.push(node);
    }
    const primary = nodes[0]!;
    for (let i = 0; i < (options.sentinels ?? 3); i++) {
      const port = await freePort();
      const dir = join(root, `sentinel-${port}`);
      await mkdir(dir);
      const conf = join(dir, 'sentinel.conf');
      await writeFile(
        conf,
        [
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfter}`,
          `sentinel failover-timeout ${name} 3000`,
          `sentinel parallel-syncs ${name} 1`,
          ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${password}`]),
          ...(sentinelPassword === undefined
            ? []
            : sentinelUsername === undefined
              ? [`requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`]
              : [
                  'user default off',
                  `user ${sentinelUsername} on >${sentinelPassword} allcommands allchannels`,
                  `sentinel sentinel-user ${sentinelUsername}`,
                  `sentinel sentinel-pass ${sentinelPassword}`,
                ]),
          '',
        ].join('\n'),
      );
      const sentinel = new RedisProcess(port, dir, [], [conf, '--sentinel']);
      await sentinel.restart();
      sentinels.push(sentinel);
    }
    const primaryPort = async (): Promise<number> => {
      for (const sentinel of sentinels.filter((s) => s.alive)) {
        const answer = await ask(sentinel.port, sentinelPassword, 'SENTINEL', 'get-master-addr-by-name', name).catch(() => '');
        const port = Number(answer.split('\n')[1]);
        if (Number.isInteger(port) && port > 0) return port;
      }
      throw new Error('no sentinel names a primary');
    };
    // Ready once every sentinel sees the replicas and the other sentinels.
    const deadline = Date.now() + 20_000;
    for (;;) {
      let ready = true;
      for (const sentinel of sentinels) {
        const info = await ask(sentinel.port, sentinelPassword, 'SENTINEL', 'master', name).catch(() => '');
        const fields = info.split('\n');
        const field = (key: string): number => Number(fields[fields.indexOf(key) + 1]);
        if (field('num-slaves') < nodes.length - 1 || field('num-other-sentinels') < sentinels.length - 1) ready = false;
      }
      if (ready) break;
      if (Date.now() > deadline) throw new Error('the sentinels did not discover the deployment');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      url: [
        'redis-sentinel://',
        password === undefined ? '' : `:${encodeURIComponent(password)}@`,
        sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
        `/${name}`,
        sentinelPassword === undefined ? '' : `?sentinelPassword=${encodeURIComponent(sentinelPassword)}`,
        sentinelUsername === undefined ? '' : `&sentinelUsername=${encodeURIComponent(sentinelUsername)}`,
      ].join(''),
      nodes,
      sentinels,
      primaryPort,
      async killPrimary(timeoutMs = 30_000): Promise<{ old: number; now: number }> {
        const old = await primaryPort();
        await nodes.find((n) => n.port === old)?.kill();
        const end = Date.now() + timeoutMs;
        for (;;) {
          const now = await primaryPort().catch(() => old);
          if (now !== old && (await ask(now, password, 'ROLE').catch(() => '')).startsWith('master')) {
            for (const node of nodes) node.role = node.port === now ? 'primary' : 'replica';
            return { old, now };
          }
          if (Date.now() > end) throw new Error('the sentinels did not promote a replica');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
