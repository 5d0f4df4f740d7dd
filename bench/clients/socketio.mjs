import { io } from 'socket.io-client';

/**
 * One Socket.IO subscriber over the websocket transport (`forceNew`: one connection each, no
 * multiplexing; no reconnection, so a dropped connection shows up as a loss).
 */
export function connect({ port, sampled, meter }) {
  return new Promise((resolve, reject) => {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    let ready = false;
    socket.on('connect', () => {
      ready = true;
      resolve();
    });
    socket.on('connect_error', (error) => {
      if (!ready) reject(error);
    });
    socket.on('message', (message) => meter.hit(message.data.t, sampled));
    socket.on('disconnect', () => meter.closed++);
  });
}
