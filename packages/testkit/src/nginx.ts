import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** How the test proxy treats the hub's traffic. */
export interface NginxOptions {
  /** The hub's port on 127.0.0.1. */
  readonly upstreamPort?: number;
  /**
   * Several hub nodes on 127.0.0.1, balanced round-robin with no stickiness; a request that cannot
   * reach one node is retried on the next.
   */
  readonly upstreamPorts?: readonly number[];
  /** Forward WebSocket upgrades (HTTP/1.1 with Upgrade/Connection headers). */
  readonly upgrade: boolean;
  /** Buffer responses even when the hub asks not to (ignores `X-Accel-Buffering`). */
  readonly buffering: boolean;
}

/** A real nginx (Debian's) in front of a hub, for tests. */
export interface TestNginx {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `nginx` in the foreground with a generated config in a temporary directory. */
export async function startNginx(options: NginxOptions): Promise<TestNginx> {
  const ports = options.upstreamPorts ?? (options.upstreamPort === undefined ? [] : [options.upstreamPort]);
  if (ports.length === 0) throw new RangeError('startNginx needs upstreamPort or upstreamPorts');
  const dir = await mkdtemp(join(tmpdir(), 'herald-nginx-'));
  const port = await freePort();
  const proxy = options.upgrade
    ? 'proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;'
    : 'proxy_http_version 1.1; proxy_set_header Connection "";';
  const buffering = options.buffering
    ? 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering; gzip on; gzip_types text/event-stream application/json; gzip_min_length 0; gzip_buffers 16 8k;'
    : '';
  const config = `
worker_processes 1;
daemon off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream herald {
    ${ports.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n    ')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://herald;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      ${proxy}
      ${buffering}
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  await writeFile(file, config);
  const child: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  // Ready once it answers; fail fast if it exits.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    port,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
