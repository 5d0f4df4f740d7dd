import { fileURLToPath } from 'node:url';
import { BackgroundCpu, processTicks } from './cpu.mjs';
import { drain } from './drain.mjs';
import { Histogram } from './histogram.mjs';
import { ChildProcess } from './ipc.mjs';
import { TARGETS } from './targets.mjs';

const SERVER = fileURLToPath(new URL('../server.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('../client.mjs', import.meta.url));
const HISTORY_SIZE = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

let phases = 0;

/** Runs one publish phase and gathers what the clients received during it. */
async function phase(server, clients, subscribers, publishOptions) {
  const id = ++phases;
  await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
  const background = new BackgroundCpu([process.pid, server.pid, ...clients.map((c) => c.pid)]);
  background.start();
  const cpuBefore = await server.request('cpu');
  const wallBefore = performance.now();
  const published = await server.request('publish', { ...publishOptions, phase: id, subscribers }, publishOptions.durationMs + 30_000);
  const expected = published.published * subscribers;
  await drain(clients, expected);
  const backgroundCores = background.stop();
  const serverCpuUs = (await server.request('cpu')) - cpuBefore;
  const wallUs = (performance.now() - wallBefore) * 1000;
  const reports = await Promise.all(clients.map((c) => c.request('report')));
  const histogram = new Histogram();
  let received = 0;
  let lastUs = 0;
  let closed = 0;
  let clientCpu = 0;
  let responses = 0;
  for (const report of reports) {
    responses += report.responses;
    clientCpu = Math.max(clientCpu, report.cpu);
    received += report.received;
    lastUs = Math.max(lastUs, report.lastUs);
    closed += report.closed;
    histogram.merge(new Histogram(report.histogram));
  }
  const spanUs = Math.max(1, lastUs - published.firstUs);
  const publishSpanUs = Math.max(1, published.lastUs - published.firstUs);
  return {
    published: published.published,
    expected,
    received,
    lost: expected - received,
    closed,
    deliveredPerSec: (received / spanUs) * 1e6,
    p50Ms: ms(histogram.quantile(0.5)),
    p99Ms: ms(histogram.quantile(0.99)),
    samples: histogram.total,
    /** Server CPU over the phase (publish through drain), 1 = one core. */
    serverCpu: serverCpuUs / wallUs,
    /** Server CPU time per delivered message, publish through drain: the cost the clients cannot hide. */
    serverUsPerMessage: received === 0 ? null : serverCpuUs / received,
    /**
     * Polling only. How many messages each response carried depends on how far behind the clients ran,
     * so the server's CPU per response is the fairer measure of the work per request.
     */
    responses,
    messagesPerResponse: responses === 0 ? null : received / responses,
    serverUsPerResponse: responses === 0 ? null : serverCpuUs / responses,
    /** The busiest client process (its CPU over the phase including the drain). */
    clientCpu,
    /** Share of the phase the publisher waited for the window (clients behind). */
    waitedShare: published.waitedUs / publishSpanUs,
    /** Messages published per event-loop turn, on average (what a coalescing server can batch). */
    meanBurst: published.sends === 0 ? 0 : published.published / published.sends,
    /** CPU (cores) taken by other processes on the machine during the phase. */
    backgroundCores,
  };
}

const ms = (us) => (us === null ? null : us / 1000);

/**
 * One measurement of one target at `subscribers`: a fresh server process and fresh client processes,
 * then (1) RSS per idle connection, (2) latency at a fixed load, (3) delivered rate at the highest
 * sustained rate. Every process is stopped (by pid) before it returns, whatever happens.
 */
export async function measure(target, subscribers, options, log) {
  const spec = TARGETS[target];
  // BENCH_SERVER_FLAGS adds Node flags to the server process, e.g. "--cpu-prof --cpu-prof-dir=prof".
  const extra = process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [];
  const server = new ChildProcess(SERVER, [target], ['--expose-gc', ...extra]);
  const clientCount = Math.ceil(subscribers / options.perClient);
  const clients = Array.from({ length: clientCount }, () => new ChildProcess(CLIENT));
  try {
    const { port, progressPort } = await server.request('start', { historySize: HISTORY_SIZE });
    await sleep(200);
    const rssBefore = await server.request('rss');

    // The accept phase: its CPU per connection (server and clients) is the steadier comparison when
    // other processes slow the clients down, and other processes' CPU meanwhile counts as noise.
    const acceptBackground = new BackgroundCpu([process.pid, server.pid, ...clients.map((c) => c.pid)]);
    const clientTicks = () => clients.reduce((sum, c) => sum + processTicks(c.pid), 0);
    acceptBackground.start();
    const serverCpuBefore = await server.request('cpu');
    const clientTicksBefore = clientTicks();
    const t0 = Date.now();
    const sampleEvery = Math.max(1, Math.floor(subscribers / options.sample));
    const share = Math.ceil(subscribers / clientCount);
    const connected = await Promise.all(
      clients.map((client, i) => {
        const first = i * share;
        const count = Math.min(share, subscribers - first);
        return client.request('connect', { target, port, progressPort, index: i, count, first, sampleEvery, concurrency: 128 }, 120_000);
      }),
    );
    const failed = connected.reduce((sum, c) => sum + c.failed, 0);
    if (failed > 0) throw new Error(`${failed} connections failed: ${connected.find((c) => c.failed > 0).lastError}`);
    // Polled every 10 ms: the phase lasts about 2 s, so 100 ms steps would add up to 5 % to it.
    await until(async () => (await server.request('subscribers')) >= subscribers, 30_000, 'all subscribers', 10);
    const connectSec = (Date.now() - t0) / 1000;
    const accept = {
      backgroundCores: acceptBackground.stop(),
      serverUsPerConnection: ((await server.request('cpu')) - serverCpuBefore) / subscribers,
      // Clock ticks of 10 ms.
      clientUsPerConnection: ((clientTicks() - clientTicksBefore) * 1e4) / subscribers,
    };
    log(
      `connected ${subscribers} in ${connectSec.toFixed(1)} s, CPU per connection: server ${fmt(accept.serverUsPerConnection)} µs, clients ${fmt(accept.clientUsPerConnection)} µs, others ${fmt(accept.backgroundCores)} cores`,
    );

    await sleep(500);
    const rssAfter = await server.request('rss');
    const memory = { rssBefore, rssAfter, bytesPerConnection: (rssAfter - rssBefore) / subscribers };
    log(`memory ${(memory.bytesPerConnection / 1024).toFixed(1)} KB/conn`);

    const common = { burst: options.burst, window: options.window };
    const rate = options.latencyLoad / subscribers;
    const latency = await phase(server, clients, subscribers, { ...common, mode: 'rate', rate, durationMs: options.latencyDurationMs });
    log(`latency at ${rate.toFixed(1)} msg/s: ${describe(latency)}`);
    const throughput = await phase(server, clients, subscribers, {
      ...common,
      window: spec.window ?? options.window,
      mode: 'max',
      durationMs: options.durationMs,
    });
    log(`throughput ${Math.round(throughput.deliveredPerSec).toLocaleString('en-US')} msg/s: ${describe(throughput)}`);
    const status = await server.request('status');
    return {
      target,
      transport: spec.transport,
      subscribers,
      latencyLoad: options.latencyLoad,
      publishRate: rate,
      clientProcesses: clientCount,
      connectSec,
      accept,
      memory,
      latency,
      throughput,
      failures: status.failures,
    };
  } finally {
    await Promise.all([server.stop(), ...clients.map((c) => c.stop())]);
  }
}

/** One progress line's worth of a phase's results. */
function describe(p) {
  const parts = [
    `p50 ${fmt(p.p50Ms)} ms, p99 ${fmt(p.p99Ms)} ms`,
    `server CPU ${Math.round(p.serverCpu * 100)} % = ${fmt(p.serverUsPerMessage)} µs/msg`,
    `client CPU ${Math.round(p.clientCpu * 100)} %`,
    `burst ${p.meanBurst.toFixed(1)}, waited ${Math.round(p.waitedShare * 100)} %`,
  ];
  if (p.responses > 0) parts.push(`${fmt(p.messagesPerResponse)} msg/response = ${fmt(p.serverUsPerResponse)} µs/response`);
  parts.push(`lost ${p.lost}`, `others ${fmt(p.backgroundCores)} cores`);
  return parts.join(', ');
}

function fmt(value) {
  return value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0);
}
