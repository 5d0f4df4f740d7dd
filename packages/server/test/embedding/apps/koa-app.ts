import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { createHerald } from '@herald/server';
import Koa from 'koa';

/** Koa 3: Herald as the first middleware (handleRequest) and on the server's upgrades (handleUpgrade). */
export async function startKoaApp(port = 0) {
  const herald = createHerald({ path: '/realtime' });
  const app = new Koa();
  // Koa reports every request whose client cut the connection as an app error, Herald's too (a long
  // poll or an SSE stream closed by its client): routine for them, so not logged.
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET') console.error(error);
  });
  // First, before any body parser: Herald reads its own request bodies and writes its own answers.
  app.use(async (ctx, next) => {
    if (herald.handleRequest(ctx.req, ctx.res)) {
      ctx.respond = false;
      return;
    }
    await next();
  });
  app.use(bodyParser());
  app.use(async (ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/hello') {
      ctx.body = { hello: 'koa' };
    } else if (ctx.method === 'POST' && ctx.path === '/orders') {
      const position = await herald.publish('orders', ctx.request.body);
      ctx.status = 201;
      ctx.body = { received: ctx.request.body, offset: position.offset };
    }
  });

  const server = app.listen(port, '127.0.0.1');
  server.on('upgrade', (req, socket, head) => {
    if (!herald.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    await herald.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url, herald, close };
}
