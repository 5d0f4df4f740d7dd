import { Agent, get } from 'node:http';
import { CHANNEL } from '../lib/payload.mjs';

const CURSOR = '"cursor":"';

/** One keep-alive connection per subscriber, reused by its successive polls. */
export function createAgent() {
  return new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity });
}

/**
 * One long-polling subscriber: `GET /api/messages?channel=…&wait=25[&since=cursor]` in a loop, each
 * request starting from the cursor of the previous answer. The cursor is cut out of the body by
 * string search (it is the last string field), so no JSON parse. Resolves once the first request is
 * sent; the orchestrator then waits until the server holds all of them.
 */
export function connect({ port, sampled, meter, agent, state }) {
  return new Promise((resolve, reject) => {
    let first = true;
    const poll = (since) => {
      const path = `/api/messages?channel=${CHANNEL}&wait=25${since === undefined ? '' : `&since=${encodeURIComponent(since)}`}`;
      const req = get({ host: '127.0.0.1', port, path, agent }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          if (res.statusCode !== 200) {
            meter.closed++;
            return;
          }
          meter.responses++;
          meter.scan(body, sampled);
          const text = body.toString('latin1', Math.max(0, body.length - 512));
          const at = text.lastIndexOf(CURSOR);
          const cursor = text.slice(at + CURSOR.length, text.indexOf('"', at + CURSOR.length));
          if (!state.stopped) poll(cursor);
        });
      });
      req.on('error', (error) => {
        if (first) reject(error);
        else meter.closed++;
      });
      if (first) {
        first = false;
        req.on('finish', resolve);
      }
    };
    poll(undefined);
  });
}
