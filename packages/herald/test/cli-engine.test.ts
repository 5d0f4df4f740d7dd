import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHeraldNode, startRedisServer, type HeraldNode } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

/** A production config whose namespace '' is open to anonymous clients. */
const PRODUCTION = {
  auth: { secret: 'a-secret-that-is-long-enough-for-hs256!' },
  apiKeys: ['an-api-key-of-16+chars'],
  namespaces: { '': { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' } },
  allowAnonymous: true,
};

const publish = async (url: string, channel: string, data: unknown): Promise<{ epoch: string; offset: number }> => {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { epoch: string; offset: number };
};
const read = async (url: string, channel: string): Promise<{ offset: number; epoch: string; data: unknown }[]> =>
  (
    (await (await fetch(`${url}/api/messages?channel=${channel}`)).json()) as {
      messages: { offset: number; epoch: string; data: unknown }[];
    }
  ).messages;

describe('herald start --engine', () => {
  const nodes: HeraldNode[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.each([
    [
      ['start', '--engine', 'postgres://x'],
      'unknown engine "postgres://x": use memory, redis://host:port, redis-cluster://host:port,…, redis-sentinel://host:port,…/<master-name>, nats://host:port[,host:port…] or sqlite:<file>',
    ],
    [
      ['start', '--engine', 'redis-cluster://10.0.0.1:7000,10.0.0.2'],
      '"10.0.0.2" in "redis-cluster://10.0.0.1:7000,10.0.0.2" is not host:port',
    ],
    [
      ['start', '--engine', 'redis-sentinel://u:secret@10.0.0.1:26379'],
      'a Redis Sentinel URL ends with /<master-name>, got "redis-sentinel://u:***@10.0.0.1:26379"',
    ],
    [['start', '--engine', 'sqlite:'], 'unknown engine "sqlite:"'],
    [
      ['start', '--engine', 'redis-cluster://u:topsecret@127.0.0.1:0'],
      '"127.0.0.1:0" in "redis-cluster://u:***@127.0.0.1:0" is not host:port',
    ],
    [['start', '--engine', 'redis://u:topsecret@127.0.0.1:99999'], 'not a Redis URL'],
    [['start', '--engine', 'redis:/u:topsecret@127.0.0.1'], 'unknown engine "***@127.0.0.1"'],
    [
      ['start', '--engine', 'redis-sentinel://10.0.0.1:26379/mymaster?sentinelPasword=topsecret'],
      'a Redis Sentinel URL takes sentinelUsername and sentinelPassword after "?", got "sentinelPasword"',
    ],
    [
      ['start', '--engine', 'redis-sentinel://u:topsecret@10.0.0.1:26379/mymaster?sentinelPassword=topsecret&sentinelPassword=topsecret'],
      'the sentinelPassword option of a Redis Sentinel URL is given twice',
    ],
    [
      ['start', '--engine', 'redis-sentinel://10.0.0.1:26379?sentinelPassword=topsecret'],
      'a Redis Sentinel URL ends with /<master-name>, got "redis-sentinel://10.0.0.1:26379?sentinelPassword=***"',
    ],
    [
      ['start', '--engine', 'redis-sentinal://10.0.0.1:26379/mymaster?sentinelPassword=topsecret'],
      'unknown engine "redis-sentinal://10.0.0.1:26379/mymaster?…"',
    ],
  ])('refuses %j with a clear error, and never prints a password', (args, message) => {
    const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stdout + result.stderr).not.toContain('topsecret');
  });

  it('says so when the SQLite directory does not exist', () => {
    const result = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--engine', 'sqlite:/nonexistent-dir/herald.db'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('herald: cannot start:');
    expect(result.stderr).toContain('/nonexistent-dir/herald.db');
  });

  it('says so when Redis cannot be reached', async () => {
    const redis = await startRedisServer();
    await redis.close();
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-redis-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'herald.json');
    writeFileSync(config, JSON.stringify({ ...PRODUCTION, engine: redis.url, redis: { connectTimeout: 1000 } }));
    const result = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--config', config], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`herald: cannot start: cannot connect to Redis at ${redis.url} within 1000 ms`);
  });

  it('sqlite: keeps the log and its epoch across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-sqlite-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const engine = `sqlite:${join(dir, 'herald.db')}`;
    const first = await startHeraldNode({ engine });
    expect(first.output()).toContain(`"engine":"${engine}"`);
    const a = await publish(first.url, 'durable', 'one');
    await publish(first.url, 'durable', 'two');
    expect(await first.stop()).toBe(0);
    const second = await startHeraldNode({ engine, port: first.port });
    nodes.push(second);
    const c = await publish(second.url, 'durable', 'three');
    expect(c).toEqual({ channel: 'durable', epoch: a.epoch, offset: 3 });
    expect((await read(second.url, 'durable')).map((m) => m.data)).toEqual(['one', 'two', 'three']);
  });

  it('redis: two nodes share one log; the config file names the engine and the key prefix', async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.close());
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-redis-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'herald.json');
    writeFileSync(
      config,
      JSON.stringify({
        ...PRODUCTION,
        engine: redis.url,
        redis: { prefix: 'cli-test:' },
      }),
    );
    const a = await startHeraldNode({ engine: redis.url });
    nodes.push(a);
    const b = await startHeraldNode({ args: ['--config', config] });
    nodes.push(b);
    expect(b.output()).toContain(`"engine":"${redis.url}"`);
    expect(b.output()).toContain('"profile":"production"');
    // a (prefix herald:) and b (prefix cli-test:) are separate deployments on one Redis.
    await publish(a.url, 'shared', 'from a');
    expect(await read(b.url, 'shared')).toEqual([]);
    const c = await startHeraldNode({ args: ['--config', config] });
    nodes.push(c);
    await publish(b.url, 'shared', 'from b');
    expect((await read(c.url, 'shared')).map((m) => m.data)).toEqual(['from b']);
  });

  it('a configuration refused after zod (a key that does not fit its algorithms) exits at once, leaving no Redis connection open', async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.close());
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-redis-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'herald.json');
    writeFileSync(config, JSON.stringify({ ...PRODUCTION, auth: { ...PRODUCTION.auth, algorithms: ['RS256'] }, engine: redis.url }));
    const started = Date.now();
    const result = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--config', config], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('herald: cannot start:');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
