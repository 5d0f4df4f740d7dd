import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { envelope, wsTextFrame } from '../lib/envelope.mjs';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

/**
 * Baseline: raw `ws` for the handshake only, then the best plain technique: each message's frame is
 * built once and the same bytes queued on every socket; after the turn each socket gets its queue in
 * one corked write (one syscall however many messages were published in the turn).
 */
export async function start() {
  const server = createServer((req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const clients = new Set();
  const dirty = [];
  let flushScheduled = false;

  const flush = () => {
    flushScheduled = false;
    for (const client of dirty.splice(0, dirty.length)) {
      const frames = client.pending;
      client.pending = null;
      if (client.socket.destroyed) continue;
      if (frames.length === 1) {
        client.socket.write(frames[0]);
        continue;
      }
      client.socket.cork();
      for (const frame of frames) client.socket.write(frame);
      client.socket.uncork();
    }
  };

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = { socket, pending: null };
      clients.add(client);
      ws.on('error', () => undefined);
      ws.on('close', () => clients.delete(client));
    });
  });
  let offset = 0;
  return {
    port: await listen(server),
    publish(data) {
      const frame = wsTextFrame(envelope(CHANNEL, ++offset, JSON.stringify(data)));
      for (const client of clients) {
        if (client.pending === null) {
          client.pending = [frame];
          dirty.push(client);
        } else {
          client.pending.push(frame);
        }
      }
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    subscribers: () => clients.size,
    failures: () => 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
