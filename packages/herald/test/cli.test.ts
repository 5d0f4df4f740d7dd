import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '@herald/protocol';
import { WsTestClient } from '@herald/testkit';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/herald.js', import.meta.url));
const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'an-api-key-of-16+chars';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Started {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Every hub started, killed after each test even when it never logged that it listens. */
const children: ChildProcess[] = [];

/** Starts `herald start` with `args` and resolves once it logs the URL it listens on. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.includes('herald is listening'));
      if (line !== undefined) resolve({ child, url: (JSON.parse(line) as { url: string }).url, stderr: () => stderr, exited });
    });
    void exited.then((code) => reject(new Error(`herald exited with ${code}: ${stderr}`)));
  });
}

describe('herald CLI', () => {
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints help', () => {
    const top = run(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('Usage: herald');
    for (const command of ['start', 'publish', 'tail', 'token', 'keygen', 'demo'])
      expect(top.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    const sub = run(['start', '--help']);
    expect(sub.status).toBe(0);
    for (const flag of [
      '--port',
      '--host',
      '--history-size',
      '--history-ttl',
      '--shutdown-delay',
      '--shutdown-timeout',
      'HERALD_SHUTDOWN_TIMEOUT',
      '--profile',
      'HERALD_PROFILE',
      '--log-level',
      '--access-log',
    ])
      expect(sub.stdout).toContain(flag);
  });

  it('prints its version from package.json', () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(run([flag])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([['--help'], ['tail', '--help'], ['--version']])('herald %s into a pipe whose reader is gone ends quietly', async (...args) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the child has started, so its first write meets a pipe without a reader.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  });

  it.each([
    [['start', '--port', 'abc'], '--port must be an integer from 0 to 65535, got "abc"'],
    [['start', '--port', '70000'], '--port must be an integer from 0 to 65535'],
    [['start', '--history-size', '-1'], '--history-size must be an integer'],
    [['start', '--history-ttl', '1.5'], '--history-ttl must be an integer'],
    [['start', '--shutdown-timeout', '0'], '--shutdown-timeout must be an integer from 1 to 2147483647, got "0"'],
    [['start', '--shutdown-delay', '2000', '--shutdown-timeout', '1000'], 'shutdownTimeout: must be more than shutdownDelay (2000 ms)'],
    [['start', '--bogus'], "unknown option '--bogus'"],
    [['launch'], "unknown command 'launch'"],
  ])('refuses %j with a clear error', (args, message) => {
    const result = run(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it('starts the dev profile loudly, serves the landing page, and stops cleanly on SIGTERM', async () => {
    const hub = await start(['--port', '0', '--history-size', '5', '--history-ttl', '0']);
    expect(hub.stderr()).toContain('HERALD DEV PROFILE');
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const page = await fetch(`${hub.url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('EventSource');
    for (let i = 1; i <= 8; i++) {
      await fetch(`${hub.url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel: 'cli', data: i }) });
    }
    const polled = (await (await fetch(`${hub.url}/api/messages?channel=cli`)).json()) as { messages: { offset: number }[] };
    expect(polled.messages.map((m) => m.offset)).toEqual([4, 5, 6, 7, 8]);

    const ws = await WsTestClient.connect(`${hub.url.replace('http', 'ws')}/ws`);
    await ws.request({ type: 'subscribe', channel: 'cli' });
    hub.child.kill('SIGTERM');
    expect((await ws.closed).code).toBe(CloseCode.ServerShutdown);
    expect(await hub.exited).toBe(0);
  });

  it('refuses a bad HERALD_LOG_LEVEL with a clear error', () => {
    const result = spawnSync(process.execPath, [BIN, 'start', '--port', '0'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, HERALD_LOG_LEVEL: 'loud' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('HERALD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"');
  });

  it('says so when the port is taken', async () => {
    const first = await start(['--port', '0']);
    const port = new URL(first.url).port;
    const second = run(['start', '--port', port]);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`port ${port} is already in use`);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
  });

  it('refuses the production profile without a token key and an API key', () => {
    const result = spawnSync(process.execPath, [BIN, 'start', '--port', '0'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, HERALD_AUTH_SECRET: SECRET },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('herald: the production profile needs an API key: apiKeys (or HERALD_API_KEYS)');
  });

  it('runs the production profile from a config file: tokens, API key, origins, deny by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    const config = join(dir, 'herald.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        auth: { secret: SECRET },
        apiKeys: [API_KEY],
        allowedOrigins: ['https://app.example'],
        namespaces: { chat: { subscribe: 'authenticated', publish: 'authenticated', history: 'authenticated', presence: 'authenticated' } },
      }),
    );
    const hub = await start(['--config', config, '--port', '0']);
    expect(hub.stderr()).not.toContain('DEV PROFILE');
    expect((await fetch(`${hub.url}/`)).status).toBe(404);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    expect((await fetch(`${hub.url}/api/messages?channel=chat:1`)).status).toBe(401);
    expect((await fetch(`${hub.url}/api/messages?channel=chat:1`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${hub.url}/api/messages?channel=other:1`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    const published = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'x-herald-key': API_KEY },
      body: JSON.stringify({ channel: 'other:1', data: 1 }),
    });
    expect(published.status).toBe(200);
    expect(
      (
        await fetch(`${hub.url}/api/messages?channel=chat:1`, {
          headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' },
        })
      ).status,
    ).toBe(403);
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });

  it('applies the ticket and request-head limits of the config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    const config = join(dir, 'herald.config.json');
    writeFileSync(
      config,
      JSON.stringify({ auth: { secret: SECRET }, apiKeys: [API_KEY], limits: { ticketsPerUser: 1, maxHeaderBytes: 4096 } }),
    );
    const hub = await start(['--config', config, '--port', '0']);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const ticket = (): Promise<Response> =>
      fetch(`${hub.url}/api/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect((await ticket()).status).toBe(200);
    const refused = await ticket();
    expect([refused.status, refused.headers.get('retry-after'), await refused.json()]).toEqual([
      429,
      '30',
      { error: { code: 3002, message: 'at most 1 unredeemed tickets at once' } },
    ]);
    const large = await fetch(`${hub.url}/healthz`, { headers: { 'x-filler': 'f'.repeat(4096) } });
    expect([large.status, await large.json()]).toEqual([
      431,
      { error: { code: 1006, message: 'request head larger than 4096 bytes or 200 headers' } },
    ]);
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });
});
