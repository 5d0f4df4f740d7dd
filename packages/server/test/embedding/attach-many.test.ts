import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHerald, type Herald } from '@herald/server';
import { Server as SocketIoServer } from 'socket.io';
import { io as socketIoClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

// Several attaches on one server (two hubs, one hub under two paths, a library that wraps the
// server's listeners like engine.io) and detaches in every order: after each step every request
// and upgrade is answered once, by the hub it belongs to or else by the app.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface App {
  readonly server: Server;
  /** `request <url>` and `upgrade <url>` for each time the app's listeners ran. */
  readonly seen: string[];
  url: string;
}

/** The app: a request listener and an upgrade listener (418, but for Socket.IO's path) that record what they saw. */
async function app(): Promise<App> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`request ${req.url}`);
    res.end(`app ${req.url}`);
  });
  server.on('upgrade', (req, socket) => {
    // Socket.IO's own upgrades are engine.io's (it listens beside the app).
    if (req.url?.startsWith('/socket.io/') === true) return;
    seen.push(`upgrade ${req.url}`);
    socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function hub(path: string): Herald {
  const herald = createHerald({ path });
  cleanups.push(() => herald.close());
  return herald;
}

/** Opens a WebSocket: `open`, or the HTTP status / error that refused it. */
function upgrade(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.terminate();
      resolve('open');
    });
    socket.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    socket.once('error', (error) => resolve(error.message));
  });
}

/**
 * Checks who answers under each prefix (a hub: `hub`, or the app) and that the app's listeners ran
 * exactly once for each request and upgrade that was not a hub's.
 */
async function expectServed(target: App, prefixes: Record<string, 'hub' | 'app'>): Promise<void> {
  target.seen.length = 0;
  const expected: string[] = [];
  const hello = await fetch(`${target.url}/hello`);
  expect(await hello.text()).toBe('app /hello');
  expected.push('request /hello');
  for (const [prefix, owner] of Object.entries(prefixes)) {
    const health = await fetch(`${target.url}${prefix}/healthz`);
    const ws = await upgrade(`${target.url.replace('http', 'ws')}${prefix}/ws`);
    if (owner === 'hub') {
      expect(await health.json(), prefix).toEqual({ status: 'ok' });
      expect(ws, prefix).toBe('open');
    } else {
      expect(await health.text(), prefix).toBe(`app ${prefix}/healthz`);
      expect(ws, prefix).toBe('HTTP 418');
      expected.push(`request ${prefix}/healthz`, `upgrade ${prefix}/ws`);
    }
  }
  expect(await upgrade(`${target.url.replace('http', 'ws')}/chat`)).toBe('HTTP 418');
  expected.push('upgrade /chat');
  expect(target.seen.sort()).toEqual(expected.sort());
}

type Leave = 'close' | 'detach';

describe('two hubs attached to one server', () => {
  const orders: [string, ('a' | 'b')[]][] = [
    ['the first one leaves', ['a']],
    ['the second one leaves', ['b']],
    ['the first, then the second leaves', ['a', 'b']],
    ['the second, then the first leaves', ['b', 'a']],
  ];
  for (const leave of ['close', 'detach'] as Leave[]) {
    it.each(orders)(`${leave}: %s — every request and upgrade answered once, by its hub or the app`, async (_name, leaving) => {
      const target = await app();
      const hubs = { a: hub('/a'), b: hub('/b') };
      const detach = { a: hubs.a.attach(target.server), b: hubs.b.attach(target.server) };
      const owners: Record<string, 'hub' | 'app'> = { '/a': 'hub', '/b': 'hub' };
      await expectServed(target, owners);
      for (const name of leaving) {
        if (leave === 'close') await hubs[name].close();
        else detach[name]();
        owners[`/${name}`] = 'app';
        await expectServed(target, owners);
      }
    });
  }
});

describe('one hub attached twice under two paths', () => {
  it.each([
    ['close()', ['close']],
    ['detach the first, then the second', ['first', 'second']],
    ['detach the second, then the first', ['second', 'first']],
  ])('%s — the app answers each request once', async (_name, steps) => {
    const target = await app();
    const herald = hub('/a');
    const detach = { first: herald.attach(target.server), second: herald.attach(target.server, { path: '/b' }) };
    const owners: Record<string, 'hub' | 'app'> = { '/a': 'hub', '/b': 'hub' };
    await expectServed(target, owners);
    for (const step of steps) {
      if (step === 'close') {
        await herald.close();
        owners['/a'] = owners['/b'] = 'app';
      } else {
        detach[step as 'first' | 'second']();
        owners[step === 'first' ? '/a' : '/b'] = 'app';
      }
      await expectServed(target, owners);
    }
  });
});

describe('a hub next to Socket.IO (engine.io wraps the request listeners too)', () => {
  /** A Socket.IO round trip over WebSocket at /socket.io/. */
  async function socketIoEcho(url: string): Promise<string> {
    const client = socketIoClient(url, { transports: ['websocket'], reconnection: false });
    try {
      return await new Promise<string>((resolve, reject) => {
        client.once('connect_error', reject);
        client.emit('echo', 'hi', (answer: string) => resolve(answer));
      });
    } finally {
      client.close();
    }
  }

  it.each([
    ['the hub before Socket.IO', true],
    ['Socket.IO before the hub', false],
  ])('%s, then the hub closes: Socket.IO keeps working, the app answers once', async (_name, hubFirst) => {
    const target = await app();
    const herald = hub('/a');
    let io: SocketIoServer | undefined;
    const startIo = (): void => {
      io = new SocketIoServer(target.server);
      io.on('connection', (socket) => socket.on('echo', (data: string, ack: (answer: string) => void) => ack(`echo ${data}`)));
    };
    if (hubFirst) herald.attach(target.server);
    startIo();
    if (!hubFirst) herald.attach(target.server);
    cleanups.push(() => void io?.close());
    await expectServed(target, { '/a': 'hub' });
    expect(await socketIoEcho(target.url)).toBe('echo hi');
    await herald.close();
    await expectServed(target, { '/a': 'app' });
    expect(await socketIoEcho(target.url)).toBe('echo hi');
  });
});
