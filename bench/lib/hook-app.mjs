// The app of bench/hooks.mjs, in a process of its own: answers every proxy hook `{"allow": true}`
// (it checks nothing: the hub's cost is measured, not the app's) and counts the webhook events it
// receives (distinct ids, repeats), the time of the first and the last.
import { createServer } from 'node:http';
import { serve } from './ipc.mjs';

const ALLOW = Buffer.from('{"allow":true}');
let seen = new Set();
let repeats = 0;
let first = 0;
let last = 0;
let batches = 0;
let paused = false;

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/webhooks') {
      if (paused) {
        res.writeHead(503).end();
        return;
      }
      const { events } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const now = Date.now();
      if (first === 0) first = now;
      last = now;
      batches++;
      for (const event of events) {
        if (seen.has(event.id)) repeats++;
        else seen.add(event.id);
      }
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': ALLOW.length }).end(ALLOW);
  });
});

serve({
  listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port }))),
  pause: () => {
    paused = true;
    return {};
  },
  resume: () => {
    paused = false;
    return { at: Date.now() };
  },
  events: () => ({ distinct: seen.size, repeats, batches, first, last }),
  reset: () => {
    seen = new Set();
    repeats = 0;
    first = 0;
    last = 0;
    batches = 0;
    return {};
  },
});
