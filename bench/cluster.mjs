#!/usr/bin/env node
// Herald over Redis: publish→deliver latency on the publishing node and across Redis, delivered
// messages/s with 1 node against 2 (or more), and Redis commands per publish. Fresh nodes and load
// generators per measurement, runs interleaved over the configurations (run 1 of each, then run
// 2, …) so drift on this shared machine spreads over all of them. See --help and BENCHMARKS.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_HELP, readClusterOptions } from './lib/cluster-args.mjs';
import { snapshotClusterBuild } from './lib/cluster-build.mjs';
import { deleteChannelKeys, measureConfig } from './lib/cluster-measure.mjs';
import { Processes, processExists } from './lib/cluster-processes.mjs';
import { readInfo, RedisConnection } from './lib/cluster-redis.mjs';
import { caveat, formatClusterReport, scalingRatios, summariseCluster } from './lib/cluster-report.mjs';
import { waitForQuiet } from './lib/cpu.mjs';
import { ProgressReceiver } from './lib/progress.mjs';

/** Other processes may use this much CPU (cores) before a measurement starts without a warning. */
const NOISE_CORES = 0.3;

let options;
try {
  options = readClusterOptions(process.argv.slice(2));
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
const session = { processes, progress, channels: new Set() };
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
    void deleteChannelKeys(session.redisUrl, [...session.channels]).finally(() => process.exit(130));
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
let redis;
let redisInfo;
try {
  session.cli = snapshot.cli;
  session.progressPort = await progress.listen();
  const needsRedis = options.configs.some((c) => c.engine === 'redis');
  if (needsRedis) {
    if (options.redis === 'spawn') {
      redis = await processes.startRedis();
      session.redisUrl = redis.url;
      session.redisSpawned = true;
      console.log(`Redis: private redis-server ${redis.url} (pid ${redis.pid})`);
    } else {
      session.redisUrl = options.redis;
    }
    let connection;
    try {
      connection = await RedisConnection.open(session.redisUrl);
      redisInfo = await readInfo(connection);
    } catch (error) {
      throw new Error(`cannot reach Redis at ${session.redisUrl}: ${error.message}`, { cause: error });
    } finally {
      await connection?.close();
    }
    // A Redis on this machine works for the benchmark: its CPU is not "other processes'".
    if (processExists(redisInfo.pid)) session.redisLocalPid = redisInfo.pid;
    if (!session.redisSpawned)
      console.log(`Redis: ${session.redisUrl} (redis ${redisInfo.version}), shared: INFO counts include its other clients`);
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
  await redis?.stop();
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
      redis: redisInfo && { version: redisInfo.version, spawned: options.redis === 'spawn' },
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
