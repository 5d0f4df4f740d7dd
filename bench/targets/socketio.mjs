import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

/**
 * Baseline: Socket.IO 4 with the websocket transport only (no polling upgrade dance) and no
 * compression; every connection joins the room named like the channel, and a message is one
 * `io.to(room).emit()` (Socket.IO encodes a broadcast once).
 */
export async function start() {
  const server = createServer();
  const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  io.on('connection', (socket) => socket.join(CHANNEL));
  let offset = 0;
  return {
    port: await listen(server),
    publish(data) {
      io.to(CHANNEL).emit('message', { channel: CHANNEL, offset: ++offset, time: Date.now(), data });
    },
    subscribers: () => io.of('/').adapter.rooms.get(CHANNEL)?.size ?? 0,
    failures: () => 0,
    close: () => new Promise((resolve) => io.close(() => resolve())),
  };
}
