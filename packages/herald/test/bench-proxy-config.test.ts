import { describe, expect, it } from 'vitest';
import { benchProxyConfig } from '../src/bench-proxy.js';

describe('benchProxyConfig', () => {
  it('sizes nginx for the clients: four connections each plus 256, at least 1,024', () => {
    expect(benchProxyConfig('nginx', 'http://127.0.0.1:3000', 9000, '/tmp/n', false, 1000)).toContain('worker_connections 4256;');
    expect(benchProxyConfig('nginx', 'http://127.0.0.1:3000', 9000, '/tmp/n', false, 10)).toContain('worker_connections 1024;');
  });

  it('quotes its paths, so a temporary directory with a space stays one argument', () => {
    expect(benchProxyConfig('nginx', 'http://127.0.0.1:3000', 9000, '/tmp/my dir', false, 10)).toContain('pid "/tmp/my dir/nginx.pid";');
  });

  it('nginx passes Host and the upgrade as the docs recommend; nginx-no-upgrade is a bare proxy_pass; nginx-buffering ignores X-Accel-Buffering', () => {
    const recommended = benchProxyConfig('nginx', 'http://127.0.0.1:3000', 9000, '/tmp/n', false, 10);
    for (const line of [
      'proxy_http_version 1.1;',
      'proxy_set_header Host $host;',
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_read_timeout 75s;',
    ])
      expect(recommended).toContain(line);
    expect(benchProxyConfig('nginx-no-upgrade', 'http://127.0.0.1:3000', 9000, '/tmp/n', false, 10)).toMatch(
      /location \/ \{ proxy_pass http:\/\/127\.0\.0\.1:3000; +\}/,
    );
    const buffering = benchProxyConfig('nginx-buffering', 'http://127.0.0.1:3000', 9000, '/tmp/n', false, 10);
    expect(buffering).toContain('proxy_ignore_headers X-Accel-Buffering;');
    expect(buffering).not.toContain('Upgrade');
  });
});
