import { get } from 'node:http';
import { CHANNEL } from '../lib/payload.mjs';

const EVENT_END = Buffer.from('\n\n');

/**
 * One SSE subscriber over plain `node:http` (no EventSource: its per-event dispatch would make the
 * client the bottleneck). Only complete events are scanned; a trailing partial event is carried into
 * the next chunk. Resolves when the response headers arrive (the stream is subscribed by then).
 */
export function connect({ port, sampled, meter }) {
  return new Promise((resolve, reject) => {
    const req = get(
      { host: '127.0.0.1', port, path: `/events?channel=${CHANNEL}`, agent: false, headers: { Accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE status ${res.statusCode}`));
        let carry = null;
        res.on('data', (chunk) => {
          const data = carry === null ? chunk : Buffer.concat([carry, chunk]);
          const end = data.lastIndexOf(EVENT_END);
          if (end === -1) {
            carry = data;
            return;
          }
          carry = end + 2 === data.length ? null : Buffer.from(data.subarray(end + 2));
          meter.scan(end + 2 === data.length ? data : data.subarray(0, end + 2), sampled);
        });
        res.on('close', () => meter.closed++);
        resolve();
      },
    );
    req.on('error', reject);
  });
}
