import { createServer } from 'node:http';
import { envelope } from '../lib/envelope.mjs';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

/**
 * Baseline: raw SSE over `node:http` that batches like Herald does: each message's event (`id:` +
 * `data:`) is built once and queued on every stream; after the event-loop turn each stream gets its
 * queue in one corked write (one syscall however many messages were published in the turn). The fair
 * comparison for Herald SSE, whose streams flush once per turn too; `sse-raw` writes every event at once.
 */
export async function start() {
  const streams = new Set();
  const dirty = [];
  let flushScheduled = false;

  const flush = () => {
    flushScheduled = false;
    for (const stream of dirty.splice(0, dirty.length)) {
      const chunks = stream.pending;
      stream.pending = null;
      if (stream.res.destroyed) continue;
      if (chunks.length === 1) {
        stream.res.write(chunks[0]);
        continue;
      }
      stream.res.cork();
      for (const chunk of chunks) stream.res.write(chunk);
      stream.res.uncork();
    }
  };

  const server = createServer((req, res) => {
    if (!req.url.startsWith('/events')) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.flushHeaders();
    const stream = { res, pending: null };
    streams.add(stream);
    res.on('close', () => streams.delete(stream));
  });
  let offset = 0;
  return {
    port: await listen(server),
    publish(data) {
      offset++;
      const chunk = Buffer.from(`id: ${offset}\ndata: ${envelope(CHANNEL, offset, JSON.stringify(data))}\n\n`);
      for (const stream of streams) {
        if (stream.pending === null) {
          stream.pending = [chunk];
          dirty.push(stream);
        } else {
          stream.pending.push(chunk);
        }
      }
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    subscribers: () => streams.size,
    failures: () => 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
