import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsBroker, natsCredentials, natsServers, redactNatsUrl } from '@herald/nats';
import { eventually, freePort } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRETS = ['s3/cret', 's3#cret', 's3cr@t', 's3?cret'];
const URLS = [
  'nats://alice:s3/cret@h:4222',
  'nats://alice:s3#cret@h:4222',
  'nats://h:4222,alice:s3cr@t@h2:4222',
  'nats://alice:s3?cret@h:4222',
];

describe('NATS URL credentials (review 2)', () => {
  it('redaction hides everything up to the last @ of each entry', () => {
    for (const url of URLS) {
      const shown = redactNatsUrl(url);
      for (const secret of SECRETS) expect(shown).not.toContain(secret);
      expect(shown).not.toContain('alice');
    }
    expect(redactNatsUrl('nats://h:4222,alice:s3cr@t@h2:4222')).toBe('nats://h:4222,***@h2:4222');
  });

  it('natsServers leaves credentials out and never quotes an entry in its errors', () => {
    expect(natsServers('nats://alice:s3/cret@h:4222')).toEqual(['h:4222']);
    expect(natsServers('nats://alice:s3#cret@h:4222')).toEqual(['h:4222']);
    expect(natsServers('nats://h:4222,alice:s3cr@t@h2:4222')).toEqual(['h:4222', 'h2:4222']);
    for (const bad of ['nats://alice:s3cret:h:4222', 'nats://h:4222,alice s3cret h2']) {
      let message = '';
      try {
        natsServers(bad);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/not a host:port/);
      expect(message).not.toContain('s3cret');
    }
  });

  it('natsCredentials reads user:password@ or token@ (percent-decoded)', () => {
    expect(natsCredentials('nats://alice:s3/cret@h:4222')).toEqual({ user: 'alice', pass: 's3/cret' });
    expect(natsCredentials('nats://h:4222,alice:s3cr@t@h2:4222')).toEqual({ user: 'alice', pass: 's3cr@t' });
    expect(natsCredentials('nats://alice:s3%2Ccret@h:4222')).toEqual({ user: 'alice', pass: 's3,cret' });
    expect(natsCredentials('nats://t0ken@h:4222')).toEqual({ token: 't0ken' });
    expect(natsCredentials('nats://h:4222')).toEqual({});
  });
});

describe('NatsBroker on a nats-server that requires a user and password (review 2)', () => {
  let child: ChildProcess;
  let dir: string;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'herald-nats-auth-'));
    child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, '--user', 'alice', '--pass', 's3/cr@t#1'], {
      stdio: 'ignore',
    });
    const open = (): Promise<boolean> =>
      new Promise((resolve) => {
        const socket = netConnect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
    await eventually(open, 'the nats-server with --user/--pass listens', { timeoutMs: 10_000, intervalMs: 50 });
  });
  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with the credentials of the URL, and a wrong password fails without showing it', async () => {
    const broker = await NatsBroker.connect({ url: `nats://alice:s3/cr@t#1@127.0.0.1:${port}`, prefix: 'RVAUTH', connectTimeout: 3000 });
    try {
      expect((await broker.publish('ch', '"hi"')).offset).toBe(1);
    } finally {
      await broker.close();
    }
    let message = '';
    try {
      await NatsBroker.connect({ url: `nats://alice:wr0ng/pa55@127.0.0.1:${port}`, prefix: 'RVAUTH', connectTimeout: 3000 });
    } catch (error) {
      message = String(error);
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('wr0ng');
  });
});
