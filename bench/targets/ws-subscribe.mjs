import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { envelope, EPOCH } from '../lib/envelope.mjs';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

/**
 * Baseline: `ws-naive` (raw `ws`, `ws.send(text)` for every client and every message) with the
 * subscription Herald's clients make: a connection receives messages only after it sent a
 * `subscribe` command and got its reply (`{"type":"reply","id","channel","position","cursor"}`,
 * the fields Herald answers with). The clients do exactly what they do for Herald, so the accept
 * rate compares servers doing the same work; `ws-naive` treats a connection as subscribed on open.
 */
export async function start() {
  const server = createServer((req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const clients = new Set();
  let offset = 0;
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.on('close', () => clients.delete(ws));
      ws.on('message', (data) => {
        let command;
        try {
          command = JSON.parse(data.toString('utf8'));
        } catch {
          return ws.close(1007, 'not JSON');
        }
        if (command.type !== 'subscribe' || command.channel !== CHANNEL || clients.has(ws)) {
          return ws.send(JSON.stringify({ type: 'reply', id: command.id ?? null, error: { code: 1000, message: 'unexpected command' } }));
        }
        const position = { epoch: EPOCH, offset };
        const cursor = Buffer.from(`${CHANNEL}:${EPOCH}:${offset}`).toString('base64url');
        ws.send(JSON.stringify({ type: 'reply', id: command.id, channel: CHANNEL, position, cursor }));
        clients.add(ws);
      });
    });
  });
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
