import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { envelope } from '../lib/envelope.mjs';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

/**
 * Baseline: raw `ws`, written the way most code is, `ws.send(text)` for every client and every message
 * (ws frames and writes each send separately). Every connection is subscribed on open.
 */
export async function start() {
  const server = createServer((req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const clients = new Set();
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('error', () => undefined);
      ws.on('close', () => clients.delete(ws));
    });
  });
  let offset = 0;
  return {
    port: await listen(server),
    publish(data) {
      const text = envelope(CHANNEL, ++offset, JSON.stringify(data));
      for (const ws of clients) ws.send(text);
    },
    subscribers: () => clients.size,
    failures: () => 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
