// One client for client-cpu.mjs: receives WARMUP messages, then reports the CPU time it spent on the
// next MEASURED messages. `bare` parses each frame with JSON.parse and nothing else; `sdk` is
// @herald/client/node with a handler.
import { fileURLToPath } from 'node:url';

const [kind, url, channel, warmupText, measuredText] = process.argv.slice(2);
const warmup = Number(warmupText);
const measured = Number(measuredText);
const root = fileURLToPath(new URL('../..', import.meta.url));

let count = 0;
let start;
let sink = 0;
function onMessage(data) {
  count++;
  sink += data.price;
  if (count === warmup) start = process.cpuUsage();
  else if (count === warmup + measured) {
    const used = process.cpuUsage(start);
    process.send({ type: 'result', cpuMs: (used.user + used.system) / 1000, sink });
  }
}

if (kind === 'bare') {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  ws.on('open', () => ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel })));
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'reply') process.send({ type: 'ready' });
    else if (frame.type === 'message') onMessage(frame.data);
  });
} else {
  const { createClient } = await import(`${root}packages/client/dist/node.js`);
  const client = createClient({ url, transports: ['websocket'] });
  const sub = client.subscribe(channel, (m) => onMessage(m.data));
  sub.on('state', (s) => s === 'subscribed' && process.send({ type: 'ready' }));
}
