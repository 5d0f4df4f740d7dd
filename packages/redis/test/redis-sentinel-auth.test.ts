import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { RedisBroker, SentinelAuthError } from '@herald/redis';
import { redisCli, startHeraldNode, startRedisSentinel, uniqueChannel, type HeraldNode, type TestRedisSentinel } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../herald/bin/herald.js', import.meta.url));

// Characters that must be percent-encoded in the URL, so the test checks the decoding too.
const SENTINEL_PASSWORD = 'sentinel-Pa$$@word&+1';
const DATA_PASSWORD = 'data-node-S3cret';
/** Every form a password could be printed in. */
const SECRETS = [SENTINEL_PASSWORD, encodeURIComponent(SENTINEL_PASSWORD), 'Pa$$', DATA_PASSWORD, 'wrong-sentinel-pw'];

// A primary, one replica and two sentinels, all with passwords: the sentinels' own (`requirepass`)
// and the data nodes' (`requirepass`/`masterauth`).
let deployment: TestRedisSentinel;
beforeAll(async () => {
  deployment = await startRedisSentinel({ replicas: 1, sentinels: 2, sentinelPassword: SENTINEL_PASSWORD, password: DATA_PASSWORD });
}, 60_000);
afterAll(async () => {
  await deployment?.close();
});

/** The deployment's URL with the `sentinelPassword` option replaced (`undefined`: left out). */
const withSentinelPassword = (password: string | undefined): string => {
  const [base] = deployment.url.split('?');
  return password === undefined ? base! : `${base!}?sentinelPassword=${encodeURIComponent(password)}`;
};
const prefix = (): string => `herald-test:${randomBytes(6).toString('hex')}:`;

const expectNoSecret = (text: string): void => {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
};

describe('redis-sentinel:// with sentinels that require a password (sentinelPassword)', () => {
  it('the sentinels do refuse a client without the password (the deployment is protected)', async () => {
    expect(deployment.url).toContain('?sentinelPassword=');
    expect(await redisCli(deployment.sentinels[0]!.port, 'SENTINEL', 'get-master-addr-by-name', 'mymaster')).toMatch(/^NOAUTH/);
  });

  it('with the right sentinel password, a RedisBroker publishes and reads (the data nodes with their own password)', async () => {
    const broker = await RedisBroker.connect({ url: deployment.url, prefix: prefix() });
    try {
      const channel = uniqueChannel('sentinel-auth');
      const first = await broker.publish(channel, '"one"');
      const second = await broker.publish(channel, '"two"');
      expect([first.offset, second.offset]).toEqual([1, 2]);
      const read = await broker.read(channel);
      expect(read.messages.map((m) => (JSON.parse(m.json) as { data: unknown }).data)).toEqual(['one', 'two']);
    } finally {
      await broker.close();
    }
  });

  it.each([
    ['no sentinel password', undefined, 'the sentinels require a password'],
    ['a wrong sentinel password', 'wrong-sentinel-pw', "check the URL's sentinelUsername and sentinelPassword options"],
  ])('with %s, connecting fails with a clear error that quotes no password', async (_, password, hint) => {
    const url = withSentinelPassword(password);
    const error = await RedisBroker.connect({ url, prefix: prefix(), connectTimeout: 1500 }).then(
      async (broker) => {
        await broker.close();
        throw new Error('connected');
      },
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain('cannot connect to Redis at redis-sentinel://:***@');
    expect(error.message).toContain('refused the connection');
    expect(error.message).toContain(hint);
    expect(error.cause).toBeInstanceOf(SentinelAuthError);
    expect((error.cause as SentinelAuthError).code).toBe('REDIS_SENTINEL_AUTH');
    expectNoSecret(`${error.message} ${String(error.stack)}`);
  });

  it('the sentinel password is only the sentinels’: without the data password the primary refuses', async () => {
    const url = deployment.url.replace(`:${encodeURIComponent(DATA_PASSWORD)}@`, '');
    expect(url).not.toContain(DATA_PASSWORD);
    const error = await RedisBroker.connect({ url, prefix: prefix(), connectTimeout: 1500 }).then(
      async (broker) => {
        await broker.close();
        throw new Error('connected');
      },
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain('cannot connect to Redis at redis-sentinel://127.0.0.1:');
    expect(error.message).toMatch(/NOAUTH|WRONGPASS/);
    expectNoSecret(error.message);
  });
});

describe('herald start --engine redis-sentinel://…?sentinelPassword=…', () => {
  let node: HeraldNode | undefined;
  afterAll(async () => {
    await node?.stop(3000);
  });

  it('runs on the protected deployment and never prints a password (banner, logs)', async () => {
    node = await startHeraldNode({ engine: deployment.url });
    const channel = uniqueChannel('sentinel-auth-cli');
    const res = await fetch(`${node.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: 'hello' }),
    });
    expect(res.status).toBe(200);
    const read = (await (await fetch(`${node.url}/api/messages?channel=${channel}`)).json()) as { messages: { data: unknown }[] };
    expect(read.messages.map((m) => m.data)).toEqual(['hello']);
    expect(node.output()).toContain('sentinelPassword=***');
    expectNoSecret(node.output());
  });

  it('with a wrong sentinel password exits 1 with a clear error that quotes no password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-sentinel-auth-'));
    try {
      const config = join(dir, 'herald.json');
      writeFileSync(config, JSON.stringify({ engine: withSentinelPassword('wrong-sentinel-pw'), redis: { connectTimeout: 1500 } }));
      const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(out).toContain('herald: cannot start: cannot connect to Redis at redis-sentinel://:***@');
      expect(out).toContain('refused the connection (WRONGPASS');
      expectNoSecret(out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('redis-sentinel:// with sentinels behind an ACL user (sentinelUsername, sentinelPassword)', () => {
  let acl: TestRedisSentinel | undefined;
  afterAll(async () => {
    await acl?.close();
  });

  it('works with the user and its password, and is refused without the user', async () => {
    acl = await startRedisSentinel({ replicas: 0, sentinels: 1, sentinelUsername: 'watcher', sentinelPassword: SENTINEL_PASSWORD });
    expect(acl.url).toContain('&sentinelUsername=watcher');
    const broker = await RedisBroker.connect({ url: acl.url, prefix: prefix() });
    try {
      const message = await broker.publish(uniqueChannel('sentinel-acl'), '"acl"');
      expect(message.offset).toBe(1);
    } finally {
      await broker.close();
    }
    // The same password as the `default` user's (which is off): refused.
    const error = await RedisBroker.connect({
      url: acl.url.replace('&sentinelUsername=watcher', ''),
      prefix: prefix(),
      connectTimeout: 1500,
    }).then(
      async (other) => {
        await other.close();
        throw new Error('connected');
      },
      (e: unknown) => e as Error,
    );
    expect(error.cause).toBeInstanceOf(SentinelAuthError);
    expectNoSecret(error.message);
  }, 60_000);
});
