import { createServer } from 'node:http';
import { envelope } from '../lib/envelope.mjs';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

/**
 * Baseline: raw SSE over `node:http`: `GET /events` holds the response open; each message's event
 * (`id:` + `data:`) is built once and `res.write()` to every stream.
 */
export async function start() {
  const streams = new Set();
  const server = createServer((req, res) => {
    if (!req.url.startsWith('/events')) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.flushHeaders();
    streams.add(res);
    res.on('close', () => streams.delete(res));
  });
  let offset = 0;
  return {
    port: await listen(server),
    publish(data) {
      offset++;
      const chunk = Buffer.from(`id: ${offset}\ndata: ${envelope(CHANNEL, offset, JSON.stringify(data))}\n\n`);
      for (const res of streams) res.write(chunk);
    },
    subscribers: () => streams.size,
    failures: () => 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
