#!/usr/bin/env node
// Accept rate alone, many times: for each round and each target (repeated when other processes
// took over 0.3 cores meanwhile, as in bench/run.mjs), a fresh server process and fresh
// client processes open N connections exactly as bench/run.mjs does (128 handshakes at a time per
// client process, 5,000 connections per process), and the rate is N over the time from the first
// handshake to the server counting all N. Targets alternate within every round so drift on the
// shared machine spreads over all of them; medians are printed. Quicker than a full run when only
// the accept rate is being worked on. BENCH_SERVER_FLAGS adds Node flags to the server processes
// (for example "--cpu-prof --cpu-prof-dir=prof": the profile then covers start-up and the accepts).
//
//   npm run build && node bench/tools/accept.mjs herald-ws,ws-naive 10000 5
import { fileURLToPath } from 'node:url';
import { snapshotBuild } from '../lib/build-snapshot.mjs';
import { BackgroundCpu, processTicks, waitForQuiet } from '../lib/cpu.mjs';
import { ChildProcess } from '../lib/ipc.mjs';
import { TARGETS } from '../lib/targets.mjs';

const [targetList = 'herald-ws,ws-naive', countText = '10000', roundsText = '5'] = process.argv.slice(2);
const targets = targetList.split(',');
for (const name of targets) if (TARGETS[name] === undefined) throw new Error(`unknown target ${name}`);
const count = Number(countText);
const rounds = Number(roundsText);
const PER_CLIENT = 5000;
/** As in bench/run.mjs: a measurement during which other processes used more is repeated (twice at most). */
const NOISE_CORES = 0.3;
const SERVER = fileURLToPath(new URL('../server.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('../client.mjs', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function acceptOnce(target) {
  const extra = process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [];
  const server = new ChildProcess(SERVER, [target], extra);
  const clientCount = Math.ceil(count / PER_CLIENT);
  const clients = Array.from({ length: clientCount }, () => new ChildProcess(CLIENT));
  try {
    const { port, progressPort } = await server.request('start', { historySize: 1000 });
    await sleep(300);
    const background = new BackgroundCpu([process.pid, server.pid, ...clients.map((c) => c.pid)]);
    background.start();
    const ticks = () => [server.pid, ...clients.map((c) => c.pid)].map(processTicks);
    const ticksBefore = ticks();
    const t0 = performance.now();
    const share = Math.ceil(count / clientCount);
    const results = await Promise.all(
      clients.map((client, i) =>
        client.request(
          'connect',
          {
            target,
            port,
            progressPort,
            index: i,
            count: Math.min(share, count - i * share),
            first: i * share,
            sampleEvery: count + 1,
            concurrency: 128,
          },
          120_000,
        ),
      ),
    );
    const failed = results.reduce((sum, r) => sum + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} connections failed`);
    while ((await server.request('subscribers')) < count) await sleep(5);
    const seconds = (performance.now() - t0) / 1000;
    // Clock ticks are 10 ms: CPU time per connection in µs.
    const [serverTicks, ...clientTicks] = ticks().map((t, i) => t - ticksBefore[i]);
    const clientTotal = clientTicks.reduce((a, b) => a + b, 0);
    return {
      rate: count / seconds,
      others: background.stop(),
      serverUs: (serverTicks * 1e4) / count,
      clientUs: (clientTotal * 1e4) / count,
    };
  } finally {
    await Promise.all([server.stop(), ...clients.map((c) => c.stop())]);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const snapshot = snapshotBuild();
process.once('exit', () => snapshot.remove());
console.log(
  `accept rate, ${count} connections, ${rounds} rounds; build of ${snapshot.build.serverBuiltAt}, commit ${snapshot.build.commit?.slice(0, 7)}`,
);
const rates = Object.fromEntries(targets.map((t) => [t, []]));
const cpu = Object.fromEntries(targets.map((t) => [t, []]));
for (let round = 1; round <= rounds; round++) {
  for (const target of targets) {
    let best;
    for (let attempt = 0; attempt < 3; attempt++) {
      await waitForQuiet(NOISE_CORES, 10_000);
      const result = await acceptOnce(target);
      if (best === undefined || (result.others ?? 0) < (best.others ?? 0)) best = result;
      if ((result.others ?? 0) <= NOISE_CORES) break;
    }
    const { rate, others, serverUs, clientUs } = best;
    rates[target].push(rate);
    cpu[target].push([serverUs, clientUs]);
    console.log(
      `round ${round} ${target}: ${Math.round(rate)} conn/s, CPU per connection: server ${serverUs.toFixed(0)} µs, clients ${clientUs.toFixed(0)} µs (others ${others === null ? '-' : others.toFixed(2)} cores)`,
    );
  }
}
for (const target of targets) {
  const [serverUs, clientUs] = [0, 1].map((k) => median(cpu[target].map((c) => c[k])));
  console.log(
    `${target}: median ${Math.round(median(rates[target]))} conn/s (${rates[target].map(Math.round).join(' ')}); CPU per connection: server ${serverUs.toFixed(0)} µs, clients ${clientUs.toFixed(0)} µs`,
  );
}
if (targets.length > 1) {
  const base = median(rates[targets.at(-1)]);
  for (const target of targets.slice(0, -1)) console.log(`${target} / ${targets.at(-1)}: ${(median(rates[target]) / base).toFixed(2)}`);
}
