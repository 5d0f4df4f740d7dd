import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import websocket from '@fastify/websocket';
import { createHerald, type Herald } from '@herald/server';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

// Listeners added to the server after attach() (a Fastify plugin adds its upgrade listener at
// listen(); a WebSocketServer({ server }) made later) never see Herald's requests and upgrades:
// Herald claims by path, synchronously, before any of them runs.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function hub(): Herald {
  const herald = createHerald({ path: '/realtime' });
  cleanups.push(() => herald.close());
  return herald;
}

/** Opens a WebSocket and resolves with its first message, or with what refused it. */
function firstMessage(url: string, send?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      if (send !== undefined) socket.send(send);
    });
    socket.once('message', (data: Buffer) => {
      socket.terminate();
      resolve(`message ${data.toString()}`);
    });
    socket.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    socket.once('error', (error) => resolve(error.message));
  });
}

const SUBSCRIBE = JSON.stringify({ id: 1, type: 'subscribe', channel: 'c' });

describe('@fastify/websocket on the same server', () => {
  it.each([
    ['registered without await, routes in a plugin', false],
    ['registered with await', true],
  ])('%s: Herald’s /realtime/ws and the app’s /chat both work', async (_name, awaited) => {
    const herald = hub();
    const fastify = Fastify();
    cleanups.push(() => fastify.close());
    if (awaited) await fastify.register(websocket);
    else void fastify.register(websocket);
    void fastify.register((app, _options, done) => {
      app.get('/chat', { websocket: true }, (socket) => socket.send('app chat'));
      app.get('/hello', () => ({ hello: 'fastify' }));
      done();
    });
    herald.attach(fastify.server);
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const url = `127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;

    expect(await firstMessage(`ws://${url}/realtime/ws`, SUBSCRIBE)).toMatch(/^message \{"type":"reply","id":1/);
    expect(await firstMessage(`ws://${url}/chat`)).toBe('message app chat');
    expect(await firstMessage(`ws://${url}/nowhere`)).toBe('HTTP 404');
    expect(await (await fetch(`http://${url}/hello`)).json()).toEqual({ hello: 'fastify' });
    expect(await (await fetch(`http://${url}/realtime/healthz`)).json()).toEqual({ status: 'ok' });
  });
});

describe('a WebSocketServer({ server }) made after attach', () => {
  it.each([
    ['with a path', { path: '/chat' }],
    ['without a path (it would take every upgrade)', {}],
  ])('%s: Herald keeps /realtime/ws, the app’s server gets the rest', async (_name, options) => {
    const herald = hub();
    const server: Server = createServer((_req, res) => res.end('app'));
    herald.attach(server);
    const wss = new WebSocketServer({ server, ...options });
    wss.on('connection', (socket) => socket.send('app chat'));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;

    expect(await firstMessage(`${url}/realtime/ws`, SUBSCRIBE)).toMatch(/^message \{"type":"reply","id":1/);
    expect(await firstMessage(`${url}/chat`)).toBe('message app chat');
    expect(herald.stats().websocket).toBe(0);
  });
});
