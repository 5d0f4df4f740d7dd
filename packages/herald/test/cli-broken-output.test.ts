import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHeraldNode, startRedisServer, type HeraldNode, type HeraldNodeOptions, type TestRedisServer } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/** How long a hub may take to be gone once told to stop, whatever happened to its output. */
const BOUND = 5000;
/** Keeps a stop in progress (draining) for longer than any test. */
const LONG_DRAIN = ['--shutdown-delay', '60000'];

type EngineName = 'memory' | 'sqlite' | 'redis';

/** A WebSocket handshake done by hand, after which the peer never reads or answers anything. */
async function deafWebSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  return socket;
}

async function publish50(url: string): Promise<void> {
  for (let i = 1; i <= 50; i++) {
    const res = await fetch(`${url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel: 'out', data: i }) });
    expect(res.status).toBe(200);
  }
}

const healthz = (url: string): Promise<number | 'refused'> =>
  fetch(`${url}/healthz`).then(
    (r) => r.status,
    () => 'refused' as const,
  );

describe.each<EngineName>(['memory', 'sqlite', 'redis'])('herald start --engine %s: stops when told to, whatever its output', (name) => {
  let redis: TestRedisServer | undefined;
  const nodes: HeraldNode[] = [];
  const sockets: Socket[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    if (name === 'redis') redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const node of nodes.splice(0)) await node.stop(1000);
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const engine = (): string => {
    if (name === 'redis') return redis!.url;
    if (name === 'memory') return 'memory';
    const dir = mkdtempSync(join(tmpdir(), 'herald-broken-output-'));
    dirs.push(dir);
    return `sqlite:${join(dir, 'herald.db')}`;
  };
  const start = async (options: HeraldNodeOptions = {}): Promise<HeraldNode> => {
    const node = await startHeraldNode({ engine: engine(), group: true, ...options });
    nodes.push(node);
    await publish50(node.url);
    return node;
  };

  it('its output pipes closed, one SIGTERM: it stops gracefully, exit 0', async () => {
    const node = await start();
    node.closeOutput();
    node.killGroup('SIGTERM');
    expect(await node.gone(BOUND)).toBeLessThan(BOUND);
    expect(await node.exited).toBe(0);
  });

  it('its output pipes closed, then SIGTERM twice in a row to its group: gone at once', async () => {
    const node = await start();
    node.closeOutput();
    node.killGroup('SIGTERM');
    node.killGroup('SIGTERM');
    expect(await node.gone(BOUND)).toBeLessThan(BOUND);
    // Two signals sent in a row may reach it as one (then it stopped gracefully).
    expect([0, 1]).toContain(await node.exited);
  });

  it('stdout full at the first signal, closed exactly between the two: gone at once with 1, its lines on stderr', async () => {
    const node = await start({ stdout: 'fifo', args: LONG_DRAIN });
    node.blockStdout();
    node.killGroup('SIGTERM');
    // The first signal is handled (its log line waits for the full pipe) once /healthz answers 503.
    await expect.poll(() => healthz(node.url), { timeout: BOUND, interval: 20 }).toBe(503);
    node.closeOutput('stdout');
    node.killGroup('SIGTERM');
    expect(await node.gone(BOUND)).toBeLessThan(BOUND);
    expect(await node.exited).toBe(1);
    // stdout failed with EPIPE: the logger moved to stderr, which still has a reader.
    await expect.poll(() => node.stderr(), { timeout: BOUND }).toContain('"msg":"second signal: exiting now"');
    expect(node.stderr()).toContain('"msg":"draining: not ready, closing after the shutdown delay"');
  });

  it('stdout full (its reader alive but not reading) at both signals: gone at once with 1', async () => {
    const node = await start({ stdout: 'fifo', args: LONG_DRAIN });
    node.blockStdout();
    node.killGroup('SIGTERM');
    await expect.poll(() => healthz(node.url), { timeout: BOUND, interval: 20 }).toBe(503);
    node.killGroup('SIGTERM');
    expect(await node.gone(BOUND)).toBeLessThan(BOUND);
    expect(await node.exited).toBe(1);
  });

  it('stdout full and stderr closed during a graceful stop: it stops, exit 0', async () => {
    const node = await start({ stdout: 'fifo' });
    node.blockStdout();
    node.closeOutput('stderr');
    node.killGroup('SIGTERM');
    expect(await node.gone(BOUND)).toBeLessThan(BOUND);
    expect(await node.exited).toBe(0);
  });

  it('a stop that has not finished by --shutdown-timeout: exit 124, and the log says so', async () => {
    // Closing waits a second for a peer that never answers the close frame: past the deadline.
    const node = await start({ args: ['--shutdown-delay', '500', '--shutdown-timeout', '1000'] });
    sockets.push(await deafWebSocket(node.port));
    node.kill('SIGTERM');
    expect(await node.exited).toBe(124);
    await expect.poll(() => node.output(), { timeout: BOUND }).toContain('"msg":"shutdown timed out: exiting now"');
    expect(node.output()).toContain('"timeout":1000');
    expect(node.output()).not.toContain('"msg":"stopped"');
  });

  it.each(['npx', 'npm-start'] as const)(
    'through %s: output pipes closed, then SIGTERM twice to the group: every process of it gone at once',
    async (launcher) => {
      const node = await start({ launcher, timeout: 25_000 });
      expect(node.hubPid).not.toBe(node.pid);
      node.closeOutput();
      node.killGroup('SIGTERM');
      node.killGroup('SIGTERM');
      expect(await node.gone(BOUND)).toBeLessThan(BOUND);
      await node.exited;
      expect(await healthz(node.url)).toBe('refused');
    },
    40_000,
  );
});
