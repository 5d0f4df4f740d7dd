import type { AddressInfo } from 'node:net';
import { createHerald } from '@herald/server';
import Fastify from 'fastify';

/** Fastify 5: the app's routes, and Herald under /realtime on Fastify's own server. */
export async function startFastifyApp(port = 0) {
  const herald = createHerald({ path: '/realtime' });
  const fastify = Fastify();
  fastify.get('/hello', () => ({ hello: 'fastify' }));
  fastify.post('/orders', async (request, reply) => {
    const position = await herald.publish('orders', request.body);
    return reply.code(201).send({ received: request.body, offset: position.offset });
  });

  // Herald answers its requests before Fastify sees them, so Fastify's body parsing never reads them.
  herald.attach(fastify.server);
  await fastify.listen({ port, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
  const close = async () => {
    await herald.close();
    await fastify.close();
  };
  return { url, herald, close };
}
