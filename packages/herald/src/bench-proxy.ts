import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
 * - `nginx-buffering`: no upgrades, and every response buffered whatever the hub asks, compressed,
 *   like a proxy or antivirus that holds a response until it has enough of it.
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
  'nginx-buffering': 'nginx that buffers and compresses every response whatever the hub asks, and passes no upgrades',
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
    if (existsSync(file)) return file;
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
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_set_header Connection $connection_upgrade;',
      'proxy_read_timeout 75s;',
    ].join(' ');
  if (kind === 'nginx-no-upgrade') return pass.join(' ');
  return [
    ...pass,
    'proxy_buffering on;',
    'proxy_ignore_headers X-Accel-Buffering;',
    'gzip on; gzip_proxied any; gzip_types text/event-stream application/json; gzip_min_length 0;',
  ].join(' ');
}

/** The nginx configuration of a proxy on `port` in `dir`. */
export function benchProxyConfig(kind: BenchProxyKind, origin: string, port: number, dir: string, root: boolean): string {
  return `worker_processes 1;
daemon off;
${root ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / { ${locationOf(kind, origin)} }
  }
}
`;
}

/**
 * Starts nginx in the foreground, configured as `kind`, in front of the hub at `hubUrl` (its mount
 * path kept: nginx passes paths unchanged). Resolves once it answers; rejects with a `CliError`
 * when nginx is missing or does not start within 10 s.
 */
export async function startBenchProxy(kind: BenchProxyKind, hubUrl: string): Promise<BenchProxy> {
  const binary = nginxBinary();
  const hub = new URL(hubUrl);
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-nginx-'));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  await writeFile(file, benchProxyConfig(kind, hub.origin, port, dir, process.getuid?.() === 0));
  const test = spawnSync(binary, ['-t', '-q', '-p', dir, '-c', file], { encoding: 'utf8' });
  if (test.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new CliError(`nginx refused its configuration: ${test.stderr.trim()}`);
  }
  const child = spawn(binary, ['-p', dir, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
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
      break;
    } catch {
      if (Date.now() > deadline) {
        await close();
        throw new CliError(`nginx did not answer on port ${port} within 10 s: ${stderr.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, kind, close };
}
