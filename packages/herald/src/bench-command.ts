import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, reportCliError } from './cli-error.js';
import { hubTarget } from './hub-target.js';
import { loadConfig } from './config.js';
import { LogDestination } from './log-destination.js';
import { createLogger } from './logger.js';
import {
  BENCH_PRESETS,
  BENCH_TRANSPORTS,
  benchProfile,
  DEFAULT_BENCH_PRESET,
  isBenchPreset,
  type BenchProfile,
  type BenchPresetName,
  type BenchTransport,
} from './bench-profile.js';
import { benchHtml } from './bench-html.js';
import { BENCH_FIELD_LIMITS, readBenchProfileFile } from './bench-profile-file.js';
import { recommend, type BenchFailure, type BenchRecommendation } from './bench-recommendation.js';
import { BENCH_PROXIES, BENCH_PROXY_NOTES, isBenchProxy, startBenchProxy, type BenchProxy, type BenchProxyKind } from './bench-proxy.js';
import { benchCostTable, type BenchMeasuredTransport } from './bench-cost-table.js';
import { benchTransportResult, type BenchTransportResult } from './bench-result.js';
import { benchServerCost, localServerProbe, remoteServerProbe, type BenchServerCost, type BenchServerProbe } from './bench-server-cost.js';
import { benchNow, type BenchRunOrder, type BenchStopOrder, type BenchWorkerReport } from './bench-worker-protocol.js';
import { startHub, type RunningHub } from './start.js';

/** Extra time the clients get, after the publisher stops, for messages on their way, in ms (plus one poll interval). */
export const BENCH_GRACE_MS = 3000;

/** How long the publisher and the hub checks wait for an answer of the hub, in ms. */
export const BENCH_REQUEST_TIMEOUT_MS = 10_000;

/** How long every client of a transport has to be subscribed before that transport counts as failed, in ms. */
export const BENCH_CONNECT_TIMEOUT_MS = 10_000;

interface BenchFlags {
  preset?: string;
  clients?: number;
  channels?: number;
  publishRate?: number;
  messageSize?: number;
  clientRate?: number;
  duration?: number;
  pollInterval?: number;
  json?: string;
  html?: string;
  profile?: string;
  port: number;
  clientUrl?: string;
  url?: string;
  key?: string;
  churn?: number;
  proxy?: string;
}

/** The hub a bench runs against: one it started, or a remote one (`--url`). */
interface BenchHub {
  readonly url: string;
  readonly engine: 'memory' | 'remote';
  readonly key: string | undefined;
  readonly probe: BenchServerProbe;
  readonly source: BenchServerCost['source'];
  close(): Promise<void>;
}

/** What `herald bench --json` writes. */
export interface BenchReport {
  readonly preset: BenchPresetName;
  readonly profile: BenchProfile;
  readonly hub: { readonly url: string; readonly engine: 'memory' | 'remote' };
  /** The prefix of every channel of this run: `bench-<random>`. */
  readonly channelPrefix: string;
  /** Reconnects per client per minute. @default 0 */
  readonly churn: number;
  /** The proxy the clients went through (`--proxy`), or null. */
  readonly proxy: { readonly kind: BenchProxyKind; readonly note: string } | null;
  /** The transports measured, in the order they ran. */
  readonly transports: BenchMeasuredTransport[];
  /** The transports whose clients could not all subscribe (through a proxy that blocks or buffers them). */
  readonly failed: BenchFailure[];
  readonly recommendation: BenchRecommendation;
}

/** Where `herald bench` writes. */
export interface BenchIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

function number(name: string, min: number, max: number, integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
      throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${text}"`);
    return value;
  };
}

/** The parser of the flag for a profile field, with the field's limits (the same as in a `--profile` file). */
function field(name: string, key: keyof BenchProfile) {
  const { min, max, integer } = BENCH_FIELD_LIMITS[key];
  return number(name, min, max, integer);
}

/** Publishes `profile.publishRate` messages per second on each channel for `profile.duration` s; resolves with the count stored per channel. */
async function publish(
  url: string,
  key: string | undefined,
  channels: readonly string[],
  profile: BenchProfile,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const total = Math.round(profile.publishRate * profile.duration);
  const every = 1000 / profile.publishRate;
  const pad = 'x'.repeat(profile.messageSize);
  await Promise.all(
    channels.map(async (channel) => {
      counts[channel] = 0;
      const sends: Promise<void>[] = [];
      const start = benchNow();
      for (let i = 0; i < total; i++) {
        const wait = start + i * every - benchNow();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        sends.push(
          fetch(`${url}/api/publish`, {
            method: 'POST',
            signal: AbortSignal.timeout(BENCH_REQUEST_TIMEOUT_MS),
            headers: { 'content-type': 'application/json', ...(key !== undefined && { 'x-herald-key': key }) },
            body: JSON.stringify({ channel, data: { t: benchNow(), p: pad } }),
          }).then(async (res) => {
            await res.body?.cancel();
            if (!res.ok) throw new CliError(`the hub refused a publish on ${channel}: HTTP ${res.status}`);
            counts[channel]!++;
          }),
        );
      }
      await Promise.all(sends);
    }),
  );
  return counts;
}

/** A client of the worker failed: the transport did not work. */
class BenchClientError extends CliError {
  constructor(readonly reason: string) {
    super(`a bench client failed: ${reason}`);
  }
}

function nextReport(worker: ChildProcess): Promise<BenchWorkerReport> {
  return new Promise((resolve, reject) => {
    const onExit = (): void => reject(new CliError('the bench client process ended unexpectedly'));
    worker.once('exit', onExit);
    worker.once('message', (report: BenchWorkerReport) => {
      worker.off('exit', onExit);
      if (report.type === 'failed') reject(new BenchClientError(report.message));
      else resolve(report);
    });
  });
}

/** One reading of the hub's process, or undefined (with a warning) when the hub does not give one. */
async function sample(hub: BenchHub, warn: (text: string) => void): Promise<Awaited<ReturnType<BenchServerProbe>> | undefined> {
  try {
    return await hub.probe();
  } catch (error) {
    warn(`no server CPU and memory figures: ${(error as Error).message}`);
    return undefined;
  }
}

interface TransportRun {
  readonly worker: ChildProcess;
  readonly hub: BenchHub;
  readonly clientUrl: string;
  readonly prefix: string;
  readonly churn: number;
  readonly profile: BenchProfile;
  readonly progress: (text: string) => void;
  readonly warn: (text: string) => void;
}

async function runTransport(run: TransportRun, transport: BenchTransport): Promise<BenchMeasuredTransport | BenchFailure> {
  const { worker, hub, profile, progress } = run;
  const channelNames = Array.from({ length: profile.channels }, (_, k) => `${run.prefix}:${transport}:${k}`);
  const order: BenchRunOrder = {
    type: 'run',
    transport,
    url: run.clientUrl,
    channels: Array.from({ length: profile.clients }, (_, i) => channelNames[i % profile.channels]!),
    clientRate: profile.clientRate,
    messageSize: profile.messageSize,
    pollInterval: profile.pollInterval,
    upstreamChannel: `${run.prefix}:up`,
    churn: run.churn,
    connectTimeoutMs: BENCH_CONNECT_TIMEOUT_MS,
    ...(hub.key !== undefined && { key: hub.key }),
  };
  const before = await sample(hub, run.warn);
  progress(`${transport}: connecting ${profile.clients} clients`);
  const ready = nextReport(worker);
  worker.send(order);
  try {
    await ready;
  } catch (error) {
    // The worker has closed every socket of this transport; the next one starts clean.
    if (!(error instanceof BenchClientError)) throw error;
    return { transport, reason: error.reason };
  }
  const started = Date.now();
  const ticker = setInterval(
    () =>
      progress(`${transport}: publishing ${Math.min(profile.duration, Math.round((Date.now() - started) / 1000))}/${profile.duration} s`),
    1000,
  );
  let expected: Record<string, number>;
  try {
    expected = await publish(hub.url, hub.key, channelNames, profile);
  } finally {
    clearInterval(ticker);
  }
  // While the clients are still connected: their memory is still held.
  const after = before === undefined ? undefined : await sample(hub, run.warn);
  progress(`${transport}: waiting for the last messages`);
  const result = nextReport(worker);
  const stop: BenchStopOrder = { type: 'stop', expected, graceMs: BENCH_GRACE_MS + profile.pollInterval };
  worker.send(stop);
  const report = await result;
  if (report.type !== 'result') throw new CliError('the bench client process answered out of turn');
  return {
    ...benchTransportResult(transport, profile.clients, report.counts),
    server: after === undefined || before === undefined ? null : benchServerCost(hub.source, before, after, profile.clients),
    churn: { reconnects: report.counts.reconnects, gaps: report.counts.gaps },
  };
}

/** Resolves once the hub at `url` answers `/healthz` (whatever the status); a `CliError` when nothing answers. */
async function reachable(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(BENCH_REQUEST_TIMEOUT_MS) });
    await res.body?.cancel();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the hub at ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
}

/** Starts the local hub, or points at the remote one of `flags.url`. */
async function benchHub(flags: BenchFlags): Promise<BenchHub> {
  if (flags.url !== undefined) {
    // The same checks as every command's --url; a mounted hub's path prefix is kept.
    const target = hubTarget({ url: flags.url, ...(flags.key !== undefined && { key: flags.key }) });
    const base = target.url;
    return {
      url: base,
      engine: 'remote',
      key: flags.key,
      probe: remoteServerProbe(base, flags.key),
      source: 'metrics',
      close: () => Promise.resolve(),
    };
  }
  if (flags.key !== undefined) throw new CliError('--key needs --url: the hub the bench starts has no API keys');
  // Silence the hub's own log: the terminal shows the bench.
  const { config } = loadConfig({ file: undefined, env: {}, flags: { port: flags.port, engine: 'memory' } });
  const hub: RunningHub = await startHub(config, 'dev', createLogger('silent', new LogDestination()), { demos: false });
  return {
    url: hub.url,
    engine: 'memory',
    key: undefined,
    probe: localServerProbe(),
    source: 'process',
    close: async () => {
      await hub.demos?.stop();
      await hub.server.close();
    },
  };
}

const pad = (text: string, width: number): string => text.padStart(width);

/** The terminal table of `results`. */
export function benchTable(results: readonly BenchTransportResult[]): string {
  const head = ['transport', 'p50 ms', 'p95 ms', 'p99 ms', 'down B/cl/min', 'up B/cl/min', 'req/min', 'lost'];
  const rows = results.map((r) => [
    r.transport,
    String(r.latencyMs.p50),
    String(r.latencyMs.p95),
    String(r.latencyMs.p99),
    String(r.bytesPerClientPerMinute.serverToClient),
    String(r.bytesPerClientPerMinute.clientToServer),
    String(r.requestsPerMinute),
    `${r.messages.lost}/${r.messages.expected}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : pad(c, widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

/** Runs the bench described by `flags`; resolves with the exit code. */
export async function runBench(flags: BenchFlags, io: BenchIo): Promise<number> {
  const file = flags.profile === undefined ? undefined : readBenchProfileFile(flags.profile);
  const preset = flags.preset ?? file?.preset ?? DEFAULT_BENCH_PRESET;
  if (!isBenchPreset(preset)) throw new CliError(`--preset must be one of ${Object.keys(BENCH_PRESETS).join(', ')}, got "${preset}"`);
  // The file's fields over the preset's, the flags over both.
  const profile = benchProfile(preset, {
    ...file?.fields,
    ...(flags.clients !== undefined && { clients: flags.clients }),
    ...(flags.channels !== undefined && { channels: flags.channels }),
    ...(flags.publishRate !== undefined && { publishRate: flags.publishRate }),
    ...(flags.messageSize !== undefined && { messageSize: flags.messageSize }),
    ...(flags.clientRate !== undefined && { clientRate: flags.clientRate }),
    ...(flags.duration !== undefined && { duration: flags.duration }),
    ...(flags.pollInterval !== undefined && { pollInterval: flags.pollInterval }),
  });
  if (flags.proxy !== undefined && !isBenchProxy(flags.proxy))
    throw new CliError(`--proxy must be one of ${BENCH_PROXIES.join(', ')}, got "${flags.proxy}"`);
  if (flags.proxy !== undefined && flags.clientUrl !== undefined)
    throw new CliError('--proxy and --client-url both say where the clients connect: give one');
  const perChannel = profile.publishRate * profile.duration;
  if (Math.round(perChannel) < 1)
    throw new CliError(
      `this workload publishes no message: ${profile.publishRate} msg/s per channel for ${profile.duration} s; raise --duration or --publish-rate so that their product is at least 1`,
    );
  // A report that cannot be written is found now, not after the run.
  for (const [flag, file] of [
    ['--json', flags.json],
    ['--html', flags.html],
  ] as const) {
    if (file === undefined) continue;
    try {
      accessSync(dirname(resolve(file)), constants.W_OK);
    } catch {
      throw new CliError(`${flag} ${file}: cannot write in ${dirname(resolve(file))}`);
    }
  }
  const hub = await benchHub(flags);
  // Ctrl-C or a kill: exit, so that the 'exit' listeners stop nginx and the worker goes with its channel.
  const onSignal = (signal: NodeJS.Signals): void => {
    io.stderr.write(`\nherald bench: stopped (${signal})\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  let proxy: BenchProxy | undefined;
  let worker: ChildProcess | undefined;
  try {
    await reachable(hub.url);
    if (flags.proxy !== undefined) proxy = await startBenchProxy(flags.proxy, hub.url, profile.clients);
    worker = fork(new URL('./bench-worker.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  } catch (error) {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await proxy?.close();
    await hub.close();
    throw error;
  }
  const tty = io.stderr.isTTY === true;
  const progress = (text: string): void => {
    io.stderr.write(tty ? `\r\x1b[2Kherald bench: ${text}` : `herald bench: ${text}\n`);
  };
  const warn = (text: string): void => {
    io.stderr.write(`${tty ? '\r\x1b[2K' : ''}herald bench: ${text}\n`);
  };
  const churn = flags.churn ?? 0;
  const run: TransportRun = {
    worker,
    hub,
    clientUrl: proxy?.url ?? (flags.clientUrl === undefined ? hub.url : flags.clientUrl.replace(/\/+$/, '')),
    prefix: `bench-${randomBytes(6)
      .toString('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x')}`,
    churn,
    profile,
    progress,
    warn,
  };
  const results: BenchMeasuredTransport[] = [];
  const failed: BenchFailure[] = [];
  try {
    for (const transport of BENCH_TRANSPORTS) {
      const result = await runTransport(run, transport);
      if ('reason' in result) {
        failed.push(result);
        warn(`${transport}: did not work: ${result.reason}`);
        continue;
      }
      results.push(result);
      progress(`${transport}: done, p95 ${result.latencyMs.p95} ms, ${result.messages.lost} lost`);
    }
  } finally {
    if (tty) io.stderr.write('\n');
    worker.disconnect();
    await proxy?.close();
    await hub.close();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  // Every transport failing is the hub refusing the clients (a key, a namespace), not a finding.
  if (results.length === 0)
    throw new CliError(`a bench client failed on every transport: ${failed.map((f) => `${f.transport}: ${f.reason}`).join('; ')}`);
  const recommendation = recommend(profile, results, failed);
  const report: BenchReport = {
    preset,
    profile,
    hub: { url: hub.url, engine: hub.engine },
    channelPrefix: run.prefix,
    churn,
    proxy: proxy === undefined ? null : { kind: proxy.kind, note: BENCH_PROXY_NOTES[proxy.kind] },
    transports: results,
    failed,
    recommendation,
  };
  if (proxy !== undefined) io.stdout.write(`through ${BENCH_PROXY_NOTES[proxy.kind]}\n\n`);
  io.stdout.write(benchTable(results));
  for (const failure of failed) io.stdout.write(`${failure.transport}: did not work: ${failure.reason}\n`);
  io.stdout.write(`\n${benchCostTable(results)}`);
  io.stdout.write(`\nrecommendation: ${recommendation.transport ?? 'none'}\n${recommendation.reasons.map((r) => `  - ${r}\n`).join('')}`);
  if (flags.json !== undefined) writeFileSync(flags.json, JSON.stringify(report, null, 2) + '\n');
  if (flags.html !== undefined) writeFileSync(flags.html, benchHtml(report, new Date()));
  return failed.length > 0 || results.some((r) => r.messages.lost > 0) ? 2 : 0;
}

/** The `herald bench` command. */
export function benchCommand(run: (outcome: Promise<number>) => void, io: BenchIo = process): Command {
  const presets = Object.keys(BENCH_PRESETS).join('|');
  return new Command('bench')
    .description('measure WebSocket, SSE, long-polling and short polling on a workload, and advise one')
    .addOption(new Option('--preset <name>', `start from a use case's workload: ${presets} (default: "${DEFAULT_BENCH_PRESET}")`))
    .addOption(
      new Option(
        '--profile <file>',
        'read the workload from this JSON file: preset and any of clients, channels, publishRate, messageSize, clientRate, duration, pollInterval (flags override it)',
      ),
    )
    .addOption(new Option('--clients <n>', 'subscribing clients').argParser(field('--clients', 'clients')))
    .addOption(
      new Option('--channels <n>', 'channels the clients spread over (client i on channel i mod n)').argParser(
        field('--channels', 'channels'),
      ),
    )
    .addOption(new Option('--publish-rate <n>', 'messages per channel per second').argParser(field('--publish-rate', 'publishRate')))
    .addOption(new Option('--message-size <bytes>', 'bytes of data in each message').argParser(field('--message-size', 'messageSize')))
    .addOption(
      new Option('--client-rate <n>', 'messages each client sends to the hub per second').argParser(field('--client-rate', 'clientRate')),
    )
    .addOption(new Option('--duration <seconds>', 'seconds of publishing per transport').argParser(field('--duration', 'duration')))
    .addOption(
      new Option('--poll-interval <ms>', 'ms between two short-polling requests').argParser(field('--poll-interval', 'pollInterval')),
    )
    .addOption(new Option('--json <file>', 'write every figure and the recommendation to this file as JSON'))
    .addOption(new Option('--html <file>', 'write a self-contained HTML report (charts, recommendation, caveats) to this file'))
    .addOption(new Option('--port <port>', 'port of the hub the bench starts').argParser(number('--port', 0, 65_535, true)).default(0))
    .addOption(
      new Option(
        '--client-url <url>',
        'connect the clients to this URL (e.g. a proxy in front of --port) instead of the hub; the publisher still goes to the hub',
      ),
    )
    .addOption(new Option('--url <url>', 'run against the hub at this URL instead of starting one'))
    .addOption(
      new Option(
        '--proxy <kind>',
        `put a real nginx between the clients and the hub: ${BENCH_PROXIES.join('|')} (needs nginx installed; see below)`,
      ),
    )
    .addOption(
      new Option('--key <key>', "with --url: the hub's API key, sent as X-Herald-Key by the publisher, the clients and the /metrics reads"),
    )
    .addOption(
      new Option('--churn <n>', 'reconnects per client per minute: each client closes its connection and resumes from its cursor')
        .argParser(number('--churn', 0, 600, false))
        .default(0),
    )
    .addHelpText(
      'after',
      `
Presets (a --profile file's fields override the preset's values, each flag given overrides both):
${Object.entries(BENCH_PRESETS)
  .map(
    ([name, p]) =>
      `  ${name.padEnd(13)} ${p.clients} clients, ${p.channels} channels, ${p.publishRate} msg/s per channel, ${p.messageSize} B, clients send ${p.clientRate}/s, ${p.duration} s`,
  )
  .join('\n')}

The bench starts a hub in this process (memory engine, 127.0.0.1, port 0 unless --port), or with
--url uses that hub (channels under a prefix bench-<random>: of its own), runs the clients in a
separate process over real sockets, one transport after another, and publishes over the HTTP API.
It prints a table, the hub's CPU and memory per client (this process's for its own hub, the remote
hub's /metrics with --url) with the reconnects and gaps of --churn, and a recommendation with its
reasons; exit code 2 when a transport lost messages or did not work.

--proxy starts nginx (a real one, on 127.0.0.1) in front of the hub and sends the clients through
it; the publisher still goes to the hub:
${BENCH_PROXIES.map((kind) => `  ${kind.padEnd(17)} ${BENCH_PROXY_NOTES[kind]}`).join('\n')}
A transport whose clients cannot all subscribe within ${BENCH_CONNECT_TIMEOUT_MS / 1000} s is reported as not working, and
the recommendation is among the others.

Examples:
  $ herald bench --preset game --json bench.json --html bench.html
  $ echo '{"preset":"chat","clients":200}' > mine.json && herald bench --profile mine.json
  $ herald bench --url https://hub.example.com --key "$HERALD_API_KEY" --churn 6
  $ herald bench --preset chat --proxy nginx-no-upgrade`,
    )
    .action((flags: BenchFlags) => {
      run(runBench(flags, io).catch((error: unknown) => reportCliError(error, io.stderr)));
    });
}
