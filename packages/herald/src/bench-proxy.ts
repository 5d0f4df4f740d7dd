import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CliError } from './cli-error.js';

/**
 * The proxies `herald bench --proxy` can put between its clients and the hub, each a real nginx:
 * - `nginx`: configured as docs/operations.md recommends (HTTP/1.1, `Upgrade` passed through, the
 *   hub's `X-Accel-Buffering: no` honoured);
 * - `nginx-no-upgrade`: a bare `proxy_pass`, nginx's defaults: HTTP/1.0 to the hub, so a WebSocket
 *   upgrade never reaches it; responses buffered unless the hub says not to;
 * - `nginx-buffering`: no upgrades, and every response buffered whatever the hub asks, like a
 *   proxy or antivirus that holds a response until it has enough of it.
 */
export const BENCH_PROXIES = ['nginx', 'nginx-no-upgrade', 'nginx-buffering'] as const;

/** One of {@link BENCH_PROXIES}. */
export type BenchProxyKind = (typeof BENCH_PROXIES)[number];

/** Whether `name` is one of {@link BENCH_PROXIES}. */
export function isBenchProxy(name: string): name is BenchProxyKind {
  return (BENCH_PROXIES as readonly string[]).includes(name);
}

/** What each proxy kind does to the hub's traffic, in words (reports and help). */
export const BENCH_PROXY_NOTES: Record<BenchProxyKind, string> = {
  nginx: 'nginx configured as docs/operations.md recommends: upgrades passed through, SSE not buffered',
  'nginx-no-upgrade': "nginx with a bare proxy_pass (its defaults): HTTP/1.0 to the hub, so WebSocket upgrades don't pass",
  'nginx-buffering': 'nginx that buffers every response whatever the hub asks, and passes no upgrades',
};

/** A running proxy. */
export interface BenchProxy {
  /** The proxy's base URL, with the hub's mount path. */
  readonly url: string;
  readonly kind: BenchProxyKind;
  close(): Promise<void>;
}

/** The nginx binary: on the PATH, or Debian's /usr/sbin/nginx (not on a normal user's PATH). */
function nginxBinary(): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, 'nginx');
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not there, or not a program: the next one.
    }
  }
  throw new CliError('--proxy needs nginx, which is not installed here (Debian/Ubuntu: apt-get install nginx-light)');
}

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The `location` directives of `kind` for the hub at `origin` (scheme, host and port). */
function locationOf(kind: BenchProxyKind, origin: string): string {
  const pass = [`proxy_pass ${origin};`, origin.startsWith('https:') ? 'proxy_ssl_server_name on;' : ''];
  if (kind === 'nginx')
    return [
      ...pass,
      'proxy_http_version 1.1;',
      'proxy_set_header Host $host;',
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_set_header Connection $connection_upgrade;',
      'proxy_read_timeout 75s;',
    ].join(' ');
  if (kind === 'nginx-no-upgrade') return pass.join(' ');
  return [...pass, 'proxy_buffering on;', 'proxy_ignore_headers X-Accel-Buffering;'].join(' ');
}

/** `path` as an nginx string: quoted, so a directory with spaces stays one argument. */
const quoted = (path: string): string => `"${path.replace(/["\\$]/g, (c) => `\\${c}`)}"`;

/**
 * The nginx configuration of a proxy on `port` in `dir` for `clients` clients (each holds two
 * connections through it: to the client and to the hub).
 */
export function benchProxyConfig(kind: BenchProxyKind, origin: string, port: number, dir: string, root: boolean, clients: number): string {
  const connections = Math.max(1024, clients * 4 + 256);
  const at = (name: string): string => quoted(join(dir, name));
  return `worker_processes 1;
worker_rlimit_nofile ${connections * 2};
daemon off;
${root ? 'user root;' : ''}
pid ${at('nginx.pid')};
error_log ${at('error.log')} error;
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${at('body')};
  proxy_temp_path ${at('proxy')};
  fastcgi_temp_path ${at('fastcgi')};
  uwsgi_temp_path ${at('uwsgi')};
  scgi_temp_path ${at('scgi')};
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / { ${locationOf(kind, origin)} }
  }
}
`;
}

/** A host name or address nginx can take in `proxy_pass` as it is: nothing it would read as syntax. */
const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/;

/**
 * Starts nginx in the foreground, configured as `kind`, in front of the hub at `hubUrl` (its mount
 * path kept: nginx passes paths unchanged), sized for `clients`. Resolves once it answers; rejects
 * with a `CliError` when nginx is missing or does not start within 10 s. If this process exits
 * before `close()` (a signal the bench turns into an exit), nginx is stopped and its directory removed.
 */
export async function startBenchProxy(kind: BenchProxyKind, hubUrl: string, clients: number): Promise<BenchProxy> {
  const binary = nginxBinary();
  const hub = new URL(hubUrl);
  if (!PLAIN_HOST.test(hub.hostname)) throw new CliError(`--proxy cannot pass to the host "${hub.hostname}": not a plain host name`);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-nginx-'));
  const file = join(dir, 'nginx.conf');
  await writeFile(file, benchProxyConfig(kind, hub.origin, port, dir, process.getuid?.() === 0, clients));
  const test = spawnSync(binary, ['-t', '-q', '-p', dir, '-c', file], { encoding: 'utf8' });
  if (test.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new CliError(`nginx refused its configuration: ${(test.stderr ?? test.error?.message ?? '').trim()}`);
  }
  const child = spawn(binary, ['-p', dir, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Last resort when the process ends without close(): synchronous, as 'exit' listeners must be.
  const atExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', atExit);
  const close = async (): Promise<void> => {
    process.off('exit', atExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const path = hub.pathname.replace(/\/+$/, '');
  const url = `http://127.0.0.1:${port}${path}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new CliError(`nginx exited at start: ${stderr.trim()}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      // 502: nginx is up but cannot reach the hub (yet).
      if (res.status !== 502) break;
      if (Date.now() > deadline) {
        await close();
        throw new CliError(`nginx on port ${port} cannot reach the hub at ${hub.origin} (HTTP 502)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (Date.now() > deadline) {
        await close();
        throw new CliError(`nginx did not answer on port ${port} within 10 s: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, kind, close };
}
