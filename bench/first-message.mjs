#!/usr/bin/env node
// Time from `subscribe()` to the first delivered message, and what is lost on the way, for a client
// with default options behind a real nginx: one that drops WebSocket upgrades and buffers responses
// (ignoring X-Accel-Buffering), and one that passes everything through. A message is published
// every 100 ms from the moment `subscribe()` returns; every message published after that moment
// must arrive once, in order.
//
//   npm run build && node bench/first-message.mjs [--runs 5] [--proxy hostile|open|both]
import { parseArgs } from 'node:util';
import { createClient } from '@herald/client/node';
import { startNginx, startTestHub } from '@herald/testkit';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    proxy: { type: 'string', default: 'both' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: node bench/first-message.mjs [--runs N] [--proxy hostile|open|both]');
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new RangeError('--runs must be an integer ≥ 1');
const proxies = values.proxy === 'both' ? ['hostile', 'open'] : [values.proxy];
for (const p of proxies) if (p !== 'hostile' && p !== 'open') throw new RangeError('--proxy must be hostile, open or both');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(proxy) {
  const hub = await startTestHub();
  const nginx = await startNginx({ upstreamPort: hub.port, upgrade: proxy === 'open', buffering: proxy === 'hostile' });
  const channel = `first-${Math.random().toString(36).slice(2)}`;
  const client = createClient({ url: nginx.url });
  const received = [];
  let first;
  const start = performance.now();
  client.subscribe(channel, (m) => {
    first ??= performance.now() - start;
    received.push(m.offset);
  });
  const published = [];
  const publisher = setInterval(() => {
    hub.server.hub.publish(channel, { at: performance.now() - start }).then(
      ({ offset }) => published.push(offset),
      () => undefined,
    );
  }, 100);
  // Long enough for the slowest fallback seen (5 s timeout per transport) plus margin.
  await new Promise((resolve) => setTimeout(resolve, 9000));
  clearInterval(publisher);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const transport = client.transport;
  client.close();
  await nginx.close();
  await hub.close();
  const got = new Set(received);
  const lost = published.filter((o) => !got.has(o));
  const duplicates = received.length - got.size;
  return { first, transport, published: published.length, lost: lost.length, firstLost: lost.slice(0, 5), duplicates };
}

for (const proxy of proxies) {
  const results = [];
  for (let i = 1; i <= runs; i++) {
    const r = await once(proxy);
    results.push(r);
    console.error(
      `${proxy} run ${i}/${runs}: first message after ${r.first?.toFixed(0)} ms over ${r.transport}; ${r.published} published, ${r.lost} lost ${r.firstLost.join(',')}, ${r.duplicates} duplicates`,
    );
  }
  const firsts = results.map((r) => r.first ?? Infinity);
  console.log(
    `${proxy} proxy: time to first message median ${median(firsts).toFixed(0)} ms (min ${Math.min(...firsts).toFixed(0)}, max ${Math.max(...firsts).toFixed(0)}); lost ${results.reduce((n, r) => n + r.lost, 0)} of ${results.reduce((n, r) => n + r.published, 0)}; duplicates ${results.reduce((n, r) => n + r.duplicates, 0)}; transports ${[...new Set(results.map((r) => r.transport))].join(',')}`,
  );
}
