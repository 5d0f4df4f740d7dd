// The subscriber process of bench/pusher.mjs: N raw `ws` connections speaking Herald's protocol or
// Pusher's, all on one channel. A load client, not a conformance client: frames are not parsed
// after the subscription, only scanned for the publish timestamp (`"t":` in Herald's frames,
// `\"t\":` inside the string `data` of Pusher's), counted, and their payload bytes added up.
import WebSocket from 'ws';
import { nowUs } from './clock.mjs';
import { connectPool } from './connect-pool.mjs';
import { Histogram } from './histogram.mjs';
import { serve } from './ipc.mjs';
import { ProgressSender } from './progress.mjs';

const MARKS = [Buffer.from('"t":'), Buffer.from('\\"t\\":')];
const ZERO = 0x30;
const NINE = 0x39;

let meter;

class Meter {
  received = 0;
  bytes = 0;
  lastUs = 0;
  closed = 0;
  errors = 0;
  histogram = new Histogram();
  #progress;

  constructor(progress) {
    this.#progress = progress;
  }

  scan(buf, sampled) {
    let mark = MARKS[0];
    let at = buf.indexOf(mark);
    if (at === -1) {
      mark = MARKS[1];
      at = buf.indexOf(mark);
      if (at === -1) return;
    }
    const now = nowUs();
    this.lastUs = now;
    this.bytes += buf.length;
    while (at !== -1) {
      this.received++;
      at += mark.length;
      if (sampled) {
        let t = 0;
        for (let c = buf[at]; c >= ZERO && c <= NINE; c = buf[++at]) t = t * 10 + (c - ZERO);
        this.histogram.record(now - t);
      }
      at = buf.indexOf(mark, at);
    }
    this.#progress.maybeSend(this.received, now);
  }

  reset(phase) {
    this.#progress.begin(phase);
    this.received = 0;
    this.bytes = 0;
    this.lastUs = 0;
    this.histogram = new Histogram();
  }
}

/** One subscriber speaking Herald's protocol: `subscribe`, then messages after the reply. */
function heraldSubscriber({ port, channel, sampled }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
    let ready = false;
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel })));
    ws.on('message', (data) => {
      if (ready) return meter.scan(data, sampled);
      if (!data.includes('"type":"reply"')) return;
      if (data.includes('"error"')) return reject(new Error(`subscribe failed: ${data}`));
      ready = true;
      resolve();
    });
    ws.on('error', (error) => (ready ? meter.errors++ : reject(error)));
    ws.on('close', () => ready && meter.closed++);
  });
}

const PONG = JSON.stringify({ event: 'pusher:pong', data: {} });

/** One subscriber speaking Pusher protocol 7: `pusher:subscribe` after `connection_established`, events after `subscription_succeeded`. */
function pusherSubscriber({ port, key, channel, sampled }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?protocol=7&client=bench&version=8.0.0`, { perMessageDeflate: false });
    let ready = false;
    ws.on('message', (data) => {
      if (ready) {
        if (data.includes('"pusher:ping"')) return ws.send(PONG);
        return meter.scan(data, sampled);
      }
      if (data.includes('"pusher:connection_established"')) ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      else if (data.includes('"pusher_internal:subscription_succeeded"')) {
        ready = true;
        resolve();
      } else if (data.includes('"pusher:error"') || data.includes('"pusher:subscription_error"'))
        reject(new Error(`subscribe failed: ${data}`));
    });
    ws.on('error', (error) => (ready ? meter.errors++ : reject(error)));
    ws.on('close', (code) => (ready ? meter.closed++ : reject(new Error(`closed with ${code} before subscribing`))));
  });
}

serve({
  connect({ protocol, port, key, channel, count, sampleEvery, progressPort }) {
    meter = new Meter(new ProgressSender(progressPort, 0));
    const one = protocol === 'pusher' ? pusherSubscriber : heraldSubscriber;
    return connectPool(count, 128, (k) => one({ port, key, channel, sampled: k % sampleEvery === 0 }));
  },
  reset({ phase }) {
    meter.reset(phase);
    return true;
  },
  progress: () => ({ received: meter.received }),
  report: () => ({
    received: meter.received,
    bytes: meter.bytes,
    lastUs: meter.lastUs,
    closed: meter.closed,
    errors: meter.errors,
    histogram: meter.histogram.toJSON(),
  }),
});
