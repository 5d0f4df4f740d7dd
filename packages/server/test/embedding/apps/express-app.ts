import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHerald } from '@herald/server';
import express from 'express';

/** Express 5: the app's routes, and Herald under /realtime on the same server. */
export async function startExpressApp(port = 0) {
  const herald = createHerald({ path: '/realtime' });
  const app = express();
  app.use(express.json());
  app.get('/hello', (_req, res) => {
    res.json({ hello: 'express' });
  });
  app.post('/orders', async (req, res) => {
    const position = await herald.publish('orders', req.body);
    res.status(201).json({ received: req.body, offset: position.offset });
  });

  const server = createServer(app);
  // After the app's own listener: /realtime/… and the /realtime/ws upgrade go to Herald, the rest to Express.
  herald.attach(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    await herald.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url, herald, close };
}
