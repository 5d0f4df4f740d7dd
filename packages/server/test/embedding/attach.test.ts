import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { createHerald, createHeraldServer, normalizeMountPath, type Herald } from '@herald/server';
import { Collector, eventually, SseTestClient } from '@herald/testkit';
import express from 'express';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

// attach(), handleRequest() and handleUpgrade() on a plain node:http (and node:https) server of the
// app's: who answers what, with the app's own request and upgrade listeners present or absent.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The app: answers every request it sees with `app <path>`, and counts what it saw. */
function appServer(): { server: Server; seen: string[] } {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`app ${req.url}`);
  });
  return { server, seen };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function mounted(options: Parameters<typeof createHerald>[0] = { path: '/realtime' }): Herald {
  const herald = createHerald(options);
  cleanups.push(() => herald.close());
  return herald;
}

/** Opens a WebSocket; resolves with it once open, or with the HTTP status / error that refused it. */
function openWs(url: string): Promise<WebSocket | string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      cleanups.push(() => socket.terminate());
      resolve(socket);
    });
    socket.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    socket.once('error', (error) => resolve(error.message));
  });
}

describe('the mount path', () => {
  it('is normalised: a trailing slash goes, the root is the empty string', () => {
    expect(normalizeMountPath('/realtime/')).toBe('/realtime');
    expect(normalizeMountPath('/a/b')).toBe('/a/b');
    expect(normalizeMountPath('/')).toBe('');
    expect(normalizeMountPath('')).toBe('');
    expect(normalizeMountPath(undefined)).toBe('');
  });

  it('refuses a path without a leading slash, empty or dot segments and characters outside a path segment, with a TypeError naming it', () => {
    expect(() => normalizeMountPath('realtime')).toThrow(new TypeError(`path must start with '/' (got "realtime")`));
    for (const bad of ['/a//b', '/a/../b', '/./a', '/a?b', '/a#b', '/a b', '/a%2Fb', '//'])
      expect(() => normalizeMountPath(bad), bad).toThrow(TypeError);
    expect(() => createHerald({ path: 'realtime' })).toThrow(`path must start with '/'`);
    const herald = mounted();
    expect(() => herald.attach(createServer(), { path: 'x/' })).toThrow(new TypeError(`attach path must start with '/' (got "x/")`));
  });
});

describe('close()', () => {
  it('leaves no timer behind when no connection is open (standalone and mounted)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => void vi.useRealTimers());
    const standalone = createHeraldServer();
    await standalone.listen(0);
    await standalone.close();
    const mounted = createHerald({ path: '/realtime' });
    await mounted.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('attach(server) on a node:http server of the app’s', () => {
  it('answers under the prefix and leaves the rest to the app, never both answering', async () => {
    const { server, seen } = appServer();
    const herald = mounted();
    herald.attach(server);
    const url = await listen(server);

    const publish = await fetch(`${url}/realtime/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'news', data: 1 }),
    });
    expect(publish.status).toBe(200);
    expect(await publish.json()).toMatchObject({ channel: 'news', offset: 1 });
    expect((await fetch(`${url}/realtime/healthz`)).status).toBe(200);
    const unknown = await fetch(`${url}/realtime/unknown`);
    expect(await unknown.json()).toEqual({ error: { code: ErrorCode.NotFound, message: 'no route for GET /realtime/unknown' } });
    for (const path of ['/', '/hello', '/realtimeX/api/publish', '/realtime-old/events', '/api/publish', '/REALTIME/healthz']) {
      const res = await fetch(`${url}${path}`);
      expect(await res.text(), path).toBe(`app ${path}`);
    }
    expect(seen).toEqual([
      'GET /',
      'GET /hello',
      'GET /realtimeX/api/publish',
      'GET /realtime-old/events',
      'GET /api/publish',
      'GET /REALTIME/healthz',
    ]);
  });

  it('is ready as soon as it is created: /healthz 200 and upgrades taken; drain() makes both 503', async () => {
    const { server } = appServer();
    const herald = mounted();
    expect(herald.ready).toBe(true);
    herald.attach(server);
    const url = await listen(server);
    expect(await (await fetch(`${url}/realtime/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await openWs(`${url.replace('http', 'ws')}/realtime/ws`)).toBeInstanceOf(WebSocket);
    herald.drain();
    expect((await fetch(`${url}/realtime/healthz`)).status).toBe(503);
    expect(await openWs(`${url.replace('http', 'ws')}/realtime/ws`)).toBe('HTTP 503');
  });

  it('shares the upgrades with a WebSocket server the app put on the same server before', async () => {
    const { server } = appServer();
    // ws with a path refuses (400) every other path, so it must only ever see the app's upgrades.
    const appWss = new WebSocketServer({ server, path: '/app-ws' });
    appWss.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`app: ${data.toString()}`)));
    cleanups.push(() => new Promise<void>((resolve) => appWss.close(() => resolve())));
    const herald = mounted();
    herald.attach(server);
    const url = (await listen(server)).replace('http', 'ws');

    const appSocket = await openWs(`${url}/app-ws`);
    expect(appSocket).toBeInstanceOf(WebSocket);
    const echoed = new Promise<string>((resolve) => (appSocket as WebSocket).once('message', (data: Buffer) => resolve(data.toString())));
    (appSocket as WebSocket).send('hi');
    expect(await echoed).toBe('app: hi');

    const heraldSocket = await openWs(`${url}/realtime/ws`);
    expect(heraldSocket).toBeInstanceOf(WebSocket);
    const frames = new Collector<any>();
    (heraldSocket as WebSocket).on('message', (data: Buffer) => frames.push(JSON.parse(data.toString())));
    (heraldSocket as WebSocket).send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'c' }));
    await frames.count(1);
    expect(frames.items[0]).toMatchObject({ type: 'reply', id: 1 });
    expect(herald.stats().websocket).toBe(1);

    // Under the prefix but not /ws: Herald's 404. Beside the prefix: the app's ws server (400).
    expect(await openWs(`${url}/realtime/other`)).toBe('HTTP 404');
    expect(await openWs(`${url}/realtimeX/ws`)).toBe('HTTP 400');
  });

  it('destroys an upgrade nobody takes when the app has no upgrade listener, as Node does', async () => {
    const { server } = appServer();
    mounted().attach(server);
    const url = (await listen(server)).replace('http', 'ws');
    const refused = await openWs(`${url}/elsewhere`);
    expect(refused).toBe('socket hang up');
  });

  it('close() ends Herald’s connections (WebSocket 4001, SSE stream, held poll), restores the app’s listeners and leaves the server serving', async () => {
    const { server, seen } = appServer();
    const herald = createHerald({ path: '/realtime' });
    herald.attach(server);
    const url = await listen(server);

    const socket = (await openWs(`${url.replace('http', 'ws')}/realtime/ws`)) as WebSocket;
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    const sse = await SseTestClient.connect(`${url}/realtime/events?channel=c`);
    onTestFinished(() => sse.close());
    await sse.ready();
    const first = (await (await fetch(`${url}/realtime/api/messages?channel=c`)).json()) as { cursor: string };
    const held = fetch(`${url}/realtime/api/messages?channel=c&since=${first.cursor}&wait=30`);
    await eventually(() => herald.stats().websocket === 1 && herald.stats().sse === 1 && herald.stats().polling === 1, 'all three open');

    await herald.close();
    expect(await closed).toBe(CloseCode.ServerShutdown);
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ messages: [] });
    await sse.ended;

    // The server is the app's: still listening, and the prefix is the app's again.
    expect(server.listening).toBe(true);
    expect(server.listenerCount('request')).toBe(1);
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(await (await fetch(`${url}/realtime/healthz`)).text()).toBe('app /realtime/healthz');
    expect(seen).toEqual(['GET /realtime/healthz']);
  });

  it('detach() gives the server back to the app, and attach(server, { path }) names another prefix for one server', async () => {
    const { server, seen } = appServer();
    const herald = mounted();
    const detach = herald.attach(server, { path: '/rt/' });
    const url = await listen(server);
    expect((await fetch(`${url}/rt/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/realtime/healthz`)).text()).toBe('app /realtime/healthz');
    detach();
    expect(await (await fetch(`${url}/rt/healthz`)).text()).toBe('app /rt/healthz');
    expect(seen).toEqual(['GET /realtime/healthz', 'GET /rt/healthz']);
  });

  it('refuses to attach a closed hub, with an error that says so', async () => {
    const herald = createHerald({ path: '/realtime' });
    await herald.close();
    const { server } = appServer();
    expect(() => herald.attach(server)).toThrow(
      new Error('cannot attach a closed Herald (close() was called): create another with createHerald'),
    );
    expect(server.listenerCount('upgrade')).toBe(0);
  });

  it('counts the request head: a request with 200 headers or more under the prefix gets 431 with code 1006', async () => {
    const { server } = appServer();
    mounted().attach(server);
    const url = await listen(server);
    const { port } = new URL(url);
    const headers = Array.from({ length: 200 }, (_, i) => `x-h${i}: 1\r\n`).join('');
    const raw = await new Promise<string>((resolve) => {
      const socket: Socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(`GET /realtime/healthz HTTP/1.1\r\nhost: x\r\n${headers}connection: close\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(raw.split('\r\n', 1)[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(raw).toContain(
      JSON.stringify({ error: { code: ErrorCode.TooLarge, message: 'request head larger than the server allows or 200 headers' } }),
    );
  });
});

describe('handleRequest() and handleUpgrade() called by the app', () => {
  it('return true for what they answered and false, untouched, for the rest', async () => {
    const herald = mounted();
    const taken: string[] = [];
    const server = createServer((req, res) => {
      if (herald.handleRequest(req, res)) return void taken.push(req.url!);
      res.end('app');
    });
    server.on('upgrade', (req, socket, head) => {
      if (!herald.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 418 I am a teapot\r\nconnection: close\r\n\r\n');
    });
    const url = await listen(server);
    expect((await fetch(`${url}/realtime/api/messages?channel=a`)).status).toBe(200);
    expect(await (await fetch(`${url}/realtimeX`)).text()).toBe('app');
    expect(taken).toEqual(['/realtime/api/messages?channel=a']);
    expect(await openWs(`${url.replace('http', 'ws')}/realtime/ws`)).toBeInstanceOf(WebSocket);
    expect(await openWs(`${url.replace('http', 'ws')}/ws`)).toBe('HTTP 418');
    // A closed hub takes nothing more: the app decides.
    await herald.close();
    expect(await (await fetch(`${url}/realtime/api/messages?channel=a`)).text()).toBe('app');
    expect(await openWs(`${url.replace('http', 'ws')}/realtime/ws`)).toBe('HTTP 418');
  });

  it('at the root take only Herald’s own paths', async () => {
    const herald = mounted({});
    expect(herald.path).toBe('');
    const server = createServer((req, res) => {
      if (!herald.handleRequest(req, res)) res.end(`app ${req.url}`);
    });
    server.on('upgrade', (req, socket, head) => {
      if (!herald.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 418 I am a teapot\r\nconnection: close\r\n\r\n');
    });
    const url = await listen(server);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${url}/dashboard`)).text()).toBe('app /dashboard');
    expect(await openWs(`${url.replace('http', 'ws')}/ws`)).toBeInstanceOf(WebSocket);
    expect(await openWs(`${url.replace('http', 'ws')}/chat`)).toBe('HTTP 418');
  });
});

describe('createHeraldServer with a path', () => {
  it('serves under it and answers 404 (code 1010) everywhere else, on its own server', async () => {
    const hub = createHeraldServer({ path: '/realtime' });
    cleanups.push(() => hub.close());
    const port = await hub.listen(0);
    expect((await fetch(`http://127.0.0.1:${port}/realtime/healthz`)).status).toBe(200);
    const outside = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(outside.status).toBe(404);
    expect(await outside.json()).toEqual({ error: { code: ErrorCode.NotFound, message: 'no route for GET /healthz' } });
    expect(await openWs(`ws://127.0.0.1:${port}/ws`)).toBe('HTTP 404');
    expect(await openWs(`ws://127.0.0.1:${port}/realtime/ws`)).toBeInstanceOf(WebSocket);
  });
});

describe('attach(server) on a node:https server', () => {
  it('serves the HTTP API and WebSocket over TLS under the prefix, next to the app', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    const cert = readFileSync(join(dir, 'cert.pem'));
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => res.end('app over tls'));
    const herald = mounted();
    herald.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const get = (path: string): Promise<string> =>
      new Promise((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port, path, ca: cert }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        })
          .on('error', reject)
          .end();
      });
    expect(await get('/shop')).toBe('200 app over tls');
    expect(await get('/realtime/api/messages?channel=tls')).toMatch(/^200 \{"messages":\[\],"cursor":"/);
    const socket = new WebSocket(`wss://127.0.0.1:${port}/realtime/ws`, { ca: cert });
    cleanups.push(() => socket.terminate());
    const frames = new Collector<any>();
    socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'tls' }));
    await frames.count(1);
    await herald.publish('tls', 'secure');
    await frames.count(2);
    expect(frames.items[1]).toMatchObject({ type: 'message', channel: 'tls', offset: 1, data: 'secure' });
  });
});

describe('whose a request is, by the path as sent', () => {
  /** One raw request; resolves with the status line and the body. */
  function raw(url: string, target: string): Promise<string> {
    const { port } = new URL(url);
    return new Promise((resolve) => {
      const socket: Socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(`${text.split('\r\n', 1)[0]} ${text.split('\r\n\r\n')[1] ?? ''}`));
    });
  }

  it('dot segments and a leading // are the app’s, as for Express, under a prefix and at the root', async () => {
    for (const mountPath of ['/realtime', '']) {
      const herald = mounted({ path: mountPath });
      const seen: string[] = [];
      const app = express();
      app.use((req, res) => {
        seen.push(req.path);
        res.send(`express ${req.path}`);
      });
      const server = createServer(app);
      herald.attach(server);
      const url = await listen(server);
      const targets = [`/x/..${mountPath}/healthz`, `//evil${mountPath}/healthz`, ...(mountPath === '' ? ['/./healthz'] : [])];
      for (const target of targets) expect(await raw(url, target), target).toBe(`HTTP/1.1 200 OK express ${target}`);
      expect(seen).toEqual(targets);
      // The hub's own paths still are, with a query or a fragment.
      expect(await raw(url, `${mountPath}/healthz?x=1`)).toBe('HTTP/1.1 200 OK {"status":"ok"}');
      expect(await raw(url, `${mountPath}/healthz#f`)).toBe('HTTP/1.1 200 OK {"status":"ok"}');
      // Under the prefix, a dot segment is not resolved: Herald's 404 names the path as sent.
      if (mountPath !== '')
        expect(await raw(url, '/realtime/x/../healthz')).toBe(
          `HTTP/1.1 404 Not Found ${JSON.stringify({ error: { code: ErrorCode.NotFound, message: 'no route for GET /realtime/x/../healthz' } })}`,
        );
      await herald.close();
    }
  });
});
