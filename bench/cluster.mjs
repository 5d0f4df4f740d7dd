#!/usr/bin/env node
// Herald across nodes on each distributed engine (one Redis, Redis Cluster, Redis Sentinel, NATS
// JetStream on one server or three with R3): publish→deliver latency on the publishing node and
// across the engine, delivered messages/s with 1 node against 2 (or more), and the engine's traffic
// per publish. Engine servers are spawned once per session and stopped by pid. Fresh nodes and load
// generators per measurement, runs interleaved over the configurations (run 1 of each, then run
// 2, …) so drift on this shared machine spreads over all of them. See --help and BENCHMARKS.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_HELP, readClusterOptions } from './lib/cluster-args.mjs';
import { snapshotClusterBuild } from './lib/cluster-build.mjs';
import { spawnableEngines, startEngine } from './lib/cluster-engines.mjs';
import { deleteChannelKeys, measureConfig } from './lib/cluster-measure.mjs';
import { Processes } from './lib/cluster-processes.mjs';
import { caveat, formatClusterReport, scalingRatios, summariseCluster } from './lib/cluster-report.mjs';
import { waitForQuiet } from './lib/cpu.mjs';
import { ProgressReceiver } from './lib/progress.mjs';

/** Other processes may use this much CPU (cores) before a measurement starts without a warning. */
const NOISE_CORES = 0.3;

let options;
try {
  options = readClusterOptions(process.argv.slice(2), spawnableEngines());
} catch (error) {
  console.error(`${error.message}\n\n${CLUSTER_HELP}`);
  process.exit(2);
}
if (options.help) {
  console.log(CLUSTER_HELP);
  process.exit(0);
}
const mostNodes = Math.max(...options.configs.map((c) => c.nodes));
if (options.pin && cpus().length < mostNodes + 2) {
  console.error(
    `--pin needs ${mostNodes + 2} cores for ${mostNodes} node(s) (a core each, two for the rest); this machine has ${cpus().length}`,
  );
  process.exit(2);
}

const processes = new Processes();
const progress = new ProgressReceiver();
const session = { processes, progress, channels: new Set(), engines: new Map() };
let snapshot;
// Whatever ends this process, every process it started goes, by its pid, and so does the build copy.
process.once('exit', () => {
  processes.killAllNow();
  snapshot?.remove();
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping ${processes.pids.length} process(es) started by the benchmark`);
    processes.killAllNow();
    setTimeout(() => process.exit(130), 3000).unref();
    // Spawned servers are gone with their pids; a --redis URL keeps what the runs stored: delete it.
    const shared = session.engines.get('redis');
    const cleanup = shared !== undefined && !shared.spawned ? deleteChannelKeys(shared, [...session.channels]) : Promise.resolve();
    void cleanup.finally(() => process.exit(130));
  });
}

try {
  snapshot = snapshotClusterBuild();
} catch (error) {
  console.error(error.message);
  process.exit(2);
}
console.log(
  `Herald build of ${snapshot.build.heraldBuiltAt}, commit ${snapshot.build.commit?.slice(0, 7) ?? '?'}` +
    (snapshot.build.uncommittedFilesUnderPackages
      ? ` + ${snapshot.build.uncommittedFilesUnderPackages} uncommitted file(s) under packages/`
      : ''),
);

const started = Date.now();
const results = [];
const errors = [];
const engineInfo = {};
try {
  session.cli = snapshot.cli;
  session.progressPort = await progress.listen();
  for (const kind of options.engines) {
    const t0 = Date.now();
    let engine;
    try {
      engine = await startEngine(kind, processes, options);
    } catch (error) {
      throw new Error(`cannot start or reach engine ${kind}: ${error.message}`, { cause: error });
    }
    session.engines.set(kind, engine);
    engineInfo[kind] = {
      url: engine.url,
      spawned: engine.spawned,
      servers: engine.servers.map(({ role, port, pid }) => ({ role, port, pid })),
    };
    const roles = engine.servers.map(
      (s) => `${s.role}${s.port === undefined ? '' : ` :${s.port}`}${s.pid === undefined ? '' : ` (pid ${s.pid})`}`,
    );
    console.log(
      `Engine ${kind}: ${engine.spawned ? `spawned in ${((Date.now() - t0) / 1000).toFixed(1)} s` : `${engine.url} (redis ${engine.version}), shared: INFO counts include its other clients`}; ${roles.join(', ')}`,
    );
  }

  const steps = [];
  for (let run = 1; run <= options.runs; run++) for (const config of options.configs) steps.push({ run, config });
  for (const [i, step] of steps.entries()) {
    const prefix = `[${i + 1}/${steps.length}] ${step.config.name} run ${step.run}:`;
    const log = (text) => console.log(`${prefix} ${text}`);
    try {
      const busy = await waitForQuiet(NOISE_CORES, options.quietWaitMs);
      if (busy !== null && busy > NOISE_CORES) log(`machine busy (${busy.toFixed(2)} cores used by other processes); measuring anyway`);
      results.push(await measureConfig(step.config, step.run, options, session, log));
    } catch (error) {
      log(`FAILED: ${error.message}`);
      errors.push({ run: step.run, config: step.config.name, error: error.message });
    }
  }
} catch (error) {
  console.error(error.message);
  errors.push({ error: error.message });
} finally {
  for (const [kind, engine] of session.engines) {
    await engine.stop().catch((error) => console.error(`stopping engine ${kind}: ${error.message}`));
  }
}

const summary = summariseCluster(results, options.configs);
if (summary.length > 0) console.log(`\n${formatClusterReport(summary, options)}\n`);
console.log(`${caveat(cpus().length)}\n`);
if (errors.length > 0) console.log(`${errors.length} measurement(s) failed; see the JSON file.`);

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryBytes: totalmem(),
  node: process.version,
  platform: process.platform,
};
mkdirSync(options.out, { recursive: true });
const file = join(options.out, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const command = `node bench/cluster.mjs ${process.argv.slice(2).join(' ')}`.trim();
const elapsedSec = (Date.now() - started) / 1000;
writeFileSync(
  file,
  JSON.stringify(
    {
      command,
      options,
      machine,
      build: snapshot.build,
      engines: engineInfo,
      elapsedSec,
      summary,
      ratios: scalingRatios(summary),
      results,
      errors,
    },
    null,
    2,
  ),
);
console.log(`Results: ${file} (${elapsedSec.toFixed(0)} s)`);
// The progress socket would keep the process alive; everything is written and stopped by now.
process.exit(errors.length > 0 ? 1 : 0);
