import WebSocket from 'ws';
import { CHANNEL } from '../lib/payload.mjs';

const SUBSCRIBE = JSON.stringify({ id: 1, type: 'subscribe', channel: CHANNEL });

/**
 * One WebSocket subscriber. With `subscribe`, it speaks Herald's protocol (subscribe command, then
 * frames after the reply); without, the connection itself is the subscription (raw baselines).
 * Resolves once subscribed.
 */
export function connect({ port, subscribe, sampled, meter }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
    let ready = false;
    ws.on('open', () => {
      if (subscribe) ws.send(SUBSCRIBE);
      else {
        ready = true;
        resolve();
      }
    });
    ws.on('message', (data) => {
      if (ready) return meter.scan(data, sampled);
      if (!data.includes('"type":"reply"')) return;
      if (data.includes('"error"')) return reject(new Error(`subscribe failed: ${data}`));
      ready = true;
      resolve();
    });
    ws.on('error', (error) => {
      if (!ready) reject(error);
    });
    ws.on('close', () => {
      if (ready) meter.closed++;
    });
  });
}
