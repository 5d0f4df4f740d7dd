import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { attachAccessLog, loggedPath, type AccessLine } from './access-log.js';

describe('loggedPath', () => {
  it.each([
    ['/healthz', '/healthz'],
    ['/api/messages?channel=chat%3A1&since=4&wait=30', '/api/messages?channel=chat%3A1&since=4&wait=30'],
    ['/events?channel=a&channel=b&token=eyJ.x.y', '/events?channel=a&channel=b&token=[redacted]'],
    ['/ws?access_token=eyJ.x.y&ticket=t-123', '/ws?access_token=[redacted]&ticket=[redacted]'],
    ['/api/history?key=k&api%5Fkey=k2&x+y=z&flag', '/api/history?key=[redacted]&api%5Fkey=[redacted]&x+y=[redacted]&flag'],
    // An encoded name is compared decoded: %74oken is token.
    ['/events?%74oken=secret&%63hannel=a', '/events?%74oken=[redacted]&%63hannel=a'],
    ['/events?%E0%A4%A=bad#frag', '/events?%E0%A4%A=[redacted]'],
    ['/x#token=abc', '/x'],
    // An absolute-form target: the path and redacted query only, never the user information.
    ['http://user:pass@hub.example:3000/api/history?channel=a&token=t', '/api/history?channel=a&token=[redacted]'],
    ['HTTPS://hub.example?ticket=t-1', '/?ticket=[redacted]'],
    ['ws://alice:secret@hub.example', '/'],
  ])('%s → %s', (url, logged) => {
    expect(loggedPath(url)).toBe(logged);
  });
});

describe('attachAccessLog', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  /** A server answering `/slow` never, `/refuse` upgrades with 403, other upgrades with a WebSocket. */
  async function start(): Promise<{ port: number; lines: AccessLine[]; logged: Promise<void>[]; slowArrived: Promise<void> }> {
    const lines: AccessLine[] = [];
    let arrived!: () => void;
    const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
    const waiting: (() => void)[] = [];
    const wss = new WebSocketServer({ noServer: true });
    server = createServer((req, res) => {
      if (req.url === '/slow') return arrived();
      res.end('hello');
    });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/refuse') return void socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data)));
    });
    let tick = 0;
    attachAccessLog(
      server,
      {
        info(obj, msg) {
          expect(msg).toBe('access');
          lines.push(obj as AccessLine);
          waiting.shift()?.();
        },
      },
      { now: () => (tick += 5) },
    );
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const logged = Array.from({ length: 3 }, () => new Promise<void>((resolve) => waiting.push(resolve)));
    return { port: (server.address() as AddressInfo).port, lines, logged, slowArrived };
  }

  it('logs a request when it is answered, one the client left with status null, and a WebSocket session when it closes', async () => {
    const { port, lines, logged, slowArrived } = await start();
    const body = await (await fetch(`http://127.0.0.1:${port}/hello?token=abc`)).text();
    expect(body).toBe('hello');
    await logged[0];
    expect(lines[0]).toMatchObject({
      kind: 'http',
      method: 'GET',
      path: '/hello?token=[redacted]',
      status: 200,
      ms: 5,
      remote: '127.0.0.1',
    });
    expect(lines[0]!.bytesOut).toBeGreaterThan(5);

    const slow = request(`http://127.0.0.1:${port}/slow`);
    slow.on('error', () => {});
    slow.end();
    await slowArrived;
    slow.destroy();
    await logged[1];
    expect(lines[1]).toMatchObject({ kind: 'http', path: '/slow', status: null });

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?ticket=t-1`);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('x'.repeat(1000));
    await new Promise((resolve) => ws.once('message', resolve));
    ws.close();
    await logged[2];
    expect(lines[2]).toMatchObject({ kind: 'websocket', method: 'GET', path: '/ws?ticket=[redacted]', status: 101 });
    expect(lines[2]!.bytesOut).toBeGreaterThan(1000);
    expect(lines[2]!.bytesIn).toBeGreaterThan(1000);
  });

  it('logs a refused upgrade with the status the server wrote', async () => {
    const { port, lines, logged } = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/refuse`);
    const refused = new Promise<number | undefined>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    ws.on('error', () => {});
    expect(await refused).toBe(403);
    ws.terminate();
    await logged[0];
    expect(lines[0]).toMatchObject({ kind: 'websocket', path: '/refuse', status: 403, remote: '127.0.0.1' });
  });

  it('logs an absolute-form request target without its user information', async () => {
    const { port, lines, logged } = await start();
    const answered = new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `http://user:hunter2@127.0.0.1:${port}/hello?channel=a&key=k` }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    expect(await answered).toBe(200);
    await logged[0];
    expect(lines[0]).toMatchObject({ kind: 'http', path: '/hello?channel=a&key=[redacted]', status: 200, remote: '127.0.0.1' });
    expect(JSON.stringify(lines[0])).not.toContain('hunter2');
  });
});
