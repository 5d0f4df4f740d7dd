#!/usr/bin/env node
// Client CPU budget: the SDK receiving 10,000 msg/s on one WebSocket connection must use less than
// 1.5× the CPU of a bare `ws` client that only parses the same frames. The hub runs in this
// process; each client runs in its own child process and reports its own CPU time (user + system)
// over the same number of messages. Runs alternate and the medians are compared.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const CPU_BUDGET_RATIO = 1.5;

const CHANNEL = 'cpu';
const RATE = 10_000; // messages per second
const WARMUP = 2_000; // messages before measuring
const MEASURED = 20_000; // messages measured (2 s at 10,000 msg/s)

/** One measured run of `kind` ('bare' | 'sdk'): CPU milliseconds the client spent on MEASURED messages. */
async function run(hub, kind) {
  const child = fork(
    fileURLToPath(new URL('./client-cpu-child.mjs', import.meta.url)),
    [kind, hub.url, CHANNEL, String(WARMUP), String(MEASURED)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const result = new Promise((resolve, reject) => {
    child.on('message', (m) => m.type === 'result' && resolve(m));
    child.once('exit', (code) => reject(new Error(`${kind} client exited with ${code}`)));
  });
  await new Promise((resolve) => child.on('message', (m) => m.type === 'ready' && resolve()));
  // Publish at RATE in 10 ms batches until the child reports.
  const perTick = RATE / 100;
  let stop = false;
  let next = performance.now();
  const pump = async () => {
    while (!stop) {
      for (let i = 0; i < perTick; i++)
        await hub.server.hub.publish(CHANNEL, { price: 100 + (i % 7), at: Date.now(), pad: 'x'.repeat(40) });
      next += 10;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
  };
  const pumping = pump();
  const outcome = await result;
  stop = true;
  await pumping;
  child.kill();
  return outcome.cpuMs;
}

/** Median CPU ms of each client over `rounds` alternating runs, and their ratio. */
export async function measureClientCpu(rounds = 3) {
  const { startTestHub } = await import(`${root}packages/testkit/dist/index.js`);
  const hub = await startTestHub({ historySize: 100 });
  const bare = [];
  const sdk = [];
  try {
    for (let i = 0; i < rounds; i++) {
      bare.push(await run(hub, 'bare'));
      sdk.push(await run(hub, 'sdk'));
    }
  } finally {
    await hub.close();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { bare, sdk, bareMedian: median(bare), sdkMedian: median(sdk), ratio: median(sdk) / median(bare) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureClientCpu(Number(process.argv[2] ?? 3));
  console.log(`bare ws: ${r.bare.map((x) => x.toFixed(0)).join(', ')} ms CPU (median ${r.bareMedian.toFixed(0)})`);
  console.log(`SDK:     ${r.sdk.map((x) => x.toFixed(0)).join(', ')} ms CPU (median ${r.sdkMedian.toFixed(0)})`);
  console.log(`ratio ${r.ratio.toFixed(2)} (budget < ${CPU_BUDGET_RATIO})`);
  process.exitCode = r.ratio < CPU_BUDGET_RATIO ? 0 : 1;
}
