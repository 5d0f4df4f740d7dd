import { connect, type Socket } from 'node:net';
import { startHeraldNode, type HeraldNode } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

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
  await new Promise<void>((resolve) => {
    socket.once('data', (chunk: Buffer) => {
      expect(chunk.toString()).toMatch(/^HTTP\/1.1 101/);
      resolve();
    });
  });
  socket.pause();
  return socket;
}

describe('herald start: signals', () => {
  const nodes: HeraldNode[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const node of nodes.splice(0)) await node.stop(1000);
  });

  it('SIGTERM stops accepting at once and exits 0 once connections are closed', async () => {
    const node = await startHeraldNode();
    nodes.push(node);
    sockets.push(await deafWebSocket(node.port));
    node.kill('SIGTERM');
    // Not ready from the first moment: the listening socket is closed.
    await expect
      .poll(
        async () =>
          fetch(`${node.url}/healthz`).then(
            (r) => r.status,
            () => 'refused',
          ),
        { timeout: 2000, interval: 20 },
      )
      .toBe('refused');
    // The deaf peer never answers the close frame: it is cut after a second, then the process exits.
    expect(await node.exited).toBe(0);
    expect(node.output()).toContain('"msg":"shutting down"');
    expect(node.output()).toContain('"msg":"stopped"');
  });

  it('a second signal during shutdown exits at once with 1', async () => {
    const node = await startHeraldNode();
    nodes.push(node);
    sockets.push(await deafWebSocket(node.port));
    node.kill('SIGTERM');
    await expect.poll(() => node.output().includes('"msg":"shutting down"'), { timeout: 2000, interval: 10 }).toBe(true);
    node.kill('SIGINT');
    expect(await node.exited).toBe(1);
    expect(node.output()).toContain('"msg":"second signal: exiting now"');
    expect(node.output()).not.toContain('"msg":"stopped"');
  });

  it('--shutdown-delay: /healthz answers 503 at once while requests are still served, then the node closes', async () => {
    const node = await startHeraldNode({ args: ['--shutdown-delay', '1500'] });
    nodes.push(node);
    node.kill('SIGTERM');
    await expect.poll(async () => (await fetch(`${node.url}/healthz`)).status, { timeout: 1000, interval: 20 }).toBe(503);
    expect(await (await fetch(`${node.url}/healthz`)).json()).toEqual({ error: { code: 3001, message: 'shutting down' } });
    const published = await fetch(`${node.url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel: 'draining', data: 1 }) });
    expect(published.status).toBe(200);
    expect(node.output()).toContain('"msg":"draining: not ready, closing after the shutdown delay"');
    expect(await node.exited).toBe(0);
    expect(node.output()).toContain('"msg":"stopped"');
  });
});
