// A load-generator process of bench/cluster.mjs: opens its share of the WebSocket subscribers,
// spread over the nodes, and meters what each node's subscribers receive. Kept cheap: raw `ws`
// sockets, no JSON parsing (messages are counted by their timestamp marker, as in lib/meter.mjs).
import WebSocket from 'ws';
import { nowUs } from './clock.mjs';
import { Histogram } from './histogram.mjs';
import { connectPool } from './connect-pool.mjs';
import { serve } from './ipc.mjs';
import { MARK } from './payload.mjs';
import { ProgressSender } from './progress.mjs';

const ZERO = 0x30;
const NINE = 0x39;

/** What the subscribers of one node received since the last reset. */
class NodeMeter {
  received = 0;
  lastUs = 0;
  closed = 0;
  histogram = new Histogram();

  reset() {
    this.received = 0;
    this.lastUs = 0;
    this.histogram = new Histogram();
  }
}

let meters = [];
let progress;
let total = 0;
let cpu = process.cpuUsage();
let since = performance.now();

/** Counts the messages in one frame and records each one's publish→receive latency (every subscriber). */
function scan(meter, buf) {
  let at = buf.indexOf(MARK);
  if (at === -1) return;
  const now = nowUs();
  meter.lastUs = now;
  while (at !== -1) {
    meter.received++;
    total++;
    at += MARK.length;
    let t = 0;
    for (let c = buf[at]; c >= ZERO && c <= NINE; c = buf[++at]) t = t * 10 + (c - ZERO);
    meter.histogram.record(now - t);
    at = buf.indexOf(MARK, at);
  }
  progress.maybeSend(total, now);
}

/** One subscriber of `channel` on the node at `url`; resolves once the subscribe command is answered. */
function subscribe(url, channel, meter) {
  const command = JSON.stringify({ id: 1, type: 'subscribe', channel });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    let ready = false;
    ws.on('open', () => ws.send(command));
    ws.on('message', (data) => {
      if (ready) return scan(meter, data);
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
      else reject(new Error('closed before the subscribe reply'));
    });
  });
}

/**
 * Opens `count` subscribers, the k-th of them (global index `first + k`) on node `(first + k) %
 * urls.length`, so every load generator holds the same share of every node's subscribers. At most
 * `concurrency` handshakes at a time (the listen backlog is finite).
 */
async function connectAll({ urls, channel, first, count, progressPort, index, concurrency }) {
  meters = urls.map(() => new NodeMeter());
  progress = new ProgressSender(progressPort, index);
  return connectPool(count, concurrency, (k) => {
    const node = (first + k) % urls.length;
    return subscribe(urls[node], channel, meters[node]);
  });
}

serve({
  connect: (message) => connectAll(message),
  reset({ phase }) {
    progress.begin(phase);
    total = 0;
    for (const meter of meters) meter.reset();
    cpu = process.cpuUsage();
    since = performance.now();
    return true;
  },
  progress: () => ({ received: total }),
  /** Per node: count, last receive time, closed sockets, latency histogram; and this process's CPU (1 = one core). */
  report() {
    const used = process.cpuUsage(cpu);
    return {
      cpu: (used.user + used.system) / 1000 / (performance.now() - since),
      nodes: meters.map((m) => ({ received: m.received, lastUs: m.lastUs, closed: m.closed, histogram: m.histogram.toJSON() })),
    };
  },
});
