import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHerald } from '@herald/server';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/** Hono on @hono/node-server: the app's routes, and Herald under /realtime on the server serve() made. */
export async function startHonoApp(port = 0) {
  const herald = createHerald({ path: '/realtime' });
  const app = new Hono();
  app.get('/hello', (c) => c.json({ hello: 'hono' }));
  app.post('/orders', async (c) => {
    const body: unknown = await c.req.json();
    const position = await herald.publish('orders', body);
    return c.json({ received: body, offset: position.offset }, 201);
  });

  // serve() makes a node:http server (no http2 options given) and listens.
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }) as Server;
  herald.attach(server);
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    await herald.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url, herald, close };
}
