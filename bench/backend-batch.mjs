#!/usr/bin/env node
// Publishing from a backend with @herald/backend: `publish` one message at a time against
// `publishMany` (batches of 100), the same messages, the same hub, in the same run; the ratio is
// the result. The hub runs in this process on the memory engine and on the local Redis.
//
//   npm run build && node bench/backend-batch.mjs [--messages 2000] [--runs 3] [--engine memory|redis|both]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createBackendClient } from '@herald/backend';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import { startTestHub } from '@herald/testkit';
import { createClient } from '@redis/client';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    engine: { type: 'string', default: 'both' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: node bench/backend-batch.mjs [--messages N] [--runs N] [--engine memory|redis|both]');
  process.exit(0);
}
const count = Number(values.messages);
const runs = Number(values.runs);
if (!Number.isInteger(count) || count < 1) throw new RangeError('--messages must be an integer ≥ 1');
if (!Number.isInteger(runs) || runs < 1) throw new RangeError('--runs must be an integer ≥ 1');
const engines = values.engine === 'both' ? ['memory', 'redis'] : [values.engine];
for (const e of engines) if (e !== 'memory' && e !== 'redis') throw new RangeError('--engine must be memory, redis or both');

const REDIS_URL = process.env.HERALD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function hub(engine, prefix) {
  if (engine === 'memory') return startTestHub();
  const broker = await RedisBroker.connect({ url: REDIS_URL, prefix });
  const presence = await RedisPresenceStore.connect({ url: REDIS_URL, prefix });
  return startTestHub({ broker, presence });
}

async function deleteKeys(prefix) {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  client.destroy();
}

for (const engine of engines) {
  const prefix = `herald-bench:${randomBytes(6).toString('hex')}:`;
  const h = await hub(engine, prefix);
  try {
    const backend = createBackendClient({ url: h.url });
    const single = [];
    const batched = [];
    for (let run = 0; run < runs; run++) {
      const messages = Array.from({ length: count }, (_, i) => ({ channel: `bench:${run}-${i % 10}`, data: { i } }));
      let start = performance.now();
      for (const m of messages) await backend.publish(m.channel, m.data);
      single.push(performance.now() - start);
      start = performance.now();
      await backend.publishMany(messages);
      batched.push(performance.now() - start);
    }
    const [s, b] = [median(single), median(batched)];
    const rate = (ms) => Math.round((count / ms) * 1000);
    console.log(
      `${engine}: ${count} messages, median of ${runs} runs: publish one by one ${rate(s)}/s, publishMany (batches of 100) ${rate(b)}/s, ratio ${(s / b).toFixed(1)}×`,
    );
  } finally {
    await h.close();
    if (engine === 'redis') await deleteKeys(prefix);
  }
}
