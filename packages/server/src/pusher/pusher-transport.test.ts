import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { systemClock } from '../clock.js';
import { createHeraldServer, type HeraldServer } from '../http/herald-server.js';
import { Readiness } from '../http/readiness.js';
import type { RequestLimiter } from '../http/request-limiter.js';
import type { ServerLimits } from '../http/server-options.js';
import { silentLogger } from '../logger.js';
import { ConnectionLimiter } from '../transport/connection-limiter.js';
import { TransportRegistry } from '../transport/transport-registry.js';
import { channelAuth, userAuth } from './pusher-auth-signature.js';
import type { PusherTransport } from './pusher-transport.js';
import { pusherWsDoor } from './pusher-ws-door.js';

const APPS = [
  { id: 'a1', key: 'k1', secret: 's1' },
  { id: 'a2', key: 'k2', secret: 's2' },
];

interface Client {
  readonly ws: WebSocket;
  readonly socketId: string;
  readonly frames: { event: string; data: unknown }[];
  readonly closed: Promise<number>;
}

describe('PusherTransport.terminateUser', () => {
  let herald: HeraldServer | undefined;
  let server: Server | undefined;
  let transport: PusherTransport | undefined;
  afterEach(async () => {
    transport?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await herald?.close();
  });

  /** The door built on a hub's parts, on a server of its own: the test reaches its transport. */
  async function start(): Promise<number> {
    herald = createHeraldServer({ logger: silentLogger });
    const transports = new TransportRegistry();
    const readiness = new Readiness();
    readiness.listening();
    const door = pusherWsDoor({ apps: APPS }, { clock: systemClock, logger: silentLogger, nodeId: 'n1' }).build({
      hub: herald.hub,
      security: herald.security,
      logger: silentLogger,
      clock: systemClock,
      metrics: undefined,
      transports,
      readiness,
      connections: new ConnectionLimiter(Infinity, Infinity),
      requests: undefined as unknown as RequestLimiter,
      limits: { maxChannels: 10, sendQueueBytes: 1 << 20, maxMessageBytes: 65_536 } as ServerLimits,
      nodeId: 'n1',
    });
    transport = [...transports].find((t) => t.name === 'pusher') as PusherTransport;
    server = createServer();
    server.on('upgrade', (req, socket, head) => {
      if (door.upgrade?.(req, socket, head, new URL(req.url ?? '/', 'http://x').pathname) !== true) socket.destroy();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  async function signedIn(port: number, app: (typeof APPS)[number], user: string): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${app.key}?protocol=7`);
    const frames: { event: string; data: unknown }[] = [];
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const next = (event: string) =>
      new Promise<{ event: string; data: unknown }>((resolve) => {
        const seen = frames.find((f) => f.event === event);
        if (seen) return resolve(seen);
        const on = (raw: Buffer) => {
          const frame = JSON.parse(raw.toString()) as { event: string; data: unknown };
          if (frame.event === event) {
            ws.off('message', on);
            resolve(frame);
          }
        };
        ws.on('message', on);
      });
    ws.on('message', (raw: Buffer) => frames.push(JSON.parse(raw.toString()) as { event: string; data: unknown }));
    const established = await next('pusher:connection_established');
    const socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
    const userData = JSON.stringify({ id: user });
    ws.send(
      JSON.stringify({ event: 'pusher:signin', data: { user_data: userData, auth: userAuth(app.key, app.secret, socketId, userData) } }),
    );
    await next('pusher:signin_success');
    return { ws, socketId, frames, closed };
  }

  it("closes that app's connections of that user with 4009 and returns how many; other apps and users keep theirs", async () => {
    const port = await start();
    const carol1 = await signedIn(port, APPS[0]!, 'carol');
    const carol2 = await signedIn(port, APPS[0]!, 'carol');
    const dave = await signedIn(port, APPS[0]!, 'dave');
    const otherApp = await signedIn(port, APPS[1]!, 'carol');
    expect(transport!.size).toBe(4);
    expect(transport!.terminateUser('a1', 'carol')).toBe(2);
    expect(await carol1.closed).toBe(4009);
    expect(await carol2.closed).toBe(4009);
    expect(transport!.size).toBe(2);
    expect(transport!.list().map((c) => [c.transport, c.user, c.id])).toEqual([
      ['pusher', 'dave', dave.socketId],
      ['pusher', 'carol', otherApp.socketId],
    ]);
    expect(transport!.terminateUser('a1', 'carol')).toBe(0);
    // A private subscription still works on the ones left (the signature is per app).
    const channel = 'private-x';
    dave.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth: channelAuth('k1', 's1', dave.socketId, channel) } }));
    await new Promise<void>((resolve) =>
      dave.ws.on('message', (raw: Buffer) => raw.toString().includes('subscription_succeeded') && resolve()),
    );
    dave.ws.close();
    otherApp.ws.close();
    await Promise.all([dave.closed, otherApp.closed]);
  });
});
