import { randomBytes } from 'node:crypto';
import { BackgroundCpu } from './cpu.mjs';
import { Histogram } from './histogram.mjs';
import { drain as drainClients } from './drain.mjs';
import { HttpPublisher } from './cluster-publisher.mjs';
import { cpuSeconds, sleep } from './cluster-processes.mjs';
import { infoDelta, MonitorRecorder, readInfo, RedisConnection } from './cluster-redis.mjs';
import { attribute, channelNames } from './cluster-roundtrips.mjs';

const NODE_LABELS = 'ABCDEFGHIJKLMNOP';
/** Load generators open at most this many WebSocket handshakes at a time each. */
const CONNECT_CONCURRENCY = 64;
/** A phase's deliveries may straggle in for this long after the last publish before they count as lost. */
const DRAIN_MS = 15_000;

/** Waits for the load generators' deliveries (see measure.mjs), at most {@link DRAIN_MS}. */
const drain = (clients, expected) => drainClients(clients, expected, DRAIN_MS, 100);
/**
 * The round-trips phase spreads its publishes over this long, so its window holds at least one
 * presence re-stamp of every node (every memberTtl / 3 = 10 s by default) and two rounds of position
 * checks (every 5 s; the hub skips a channel that received messages since the last round): the
 * background traffic is seen next to the publishes, not extrapolated.
 */
const ROUNDTRIPS_SPAN_MS = 11_000;

const ms = (us) => (us === null ? null : us / 1000);

/**
 * Waits (at most 15 s) until every node's process uses under 0.05 cores: each subscribe published
 * a join event that every node receives, and a measurement must not start while those are handled.
 * Resolves with the seconds waited.
 */
async function settle(nodes) {
  const started = Date.now();
  let before = nodes.map((n) => cpuSeconds(n.pid));
  while (Date.now() - started < 15_000) {
    await sleep(500);
    const now = nodes.map((n) => cpuSeconds(n.pid));
    if (now.every((cpu, i) => cpu === null || before[i] === null || cpu - before[i] < 0.025)) break;
    before = now;
  }
  return (Date.now() - started) / 1000;
}

/** Splits `total` subscribers over `nodes`: subscriber i goes to node i % nodes (as the load generators do). */
function perNode(total, nodes) {
  return Array.from({ length: nodes }, (_, i) => Math.floor(total / nodes) + (i < total % nodes ? 1 : 0));
}

/**
 * One measurement of one configuration (`{name, nodes, engine}`): fresh Herald nodes and fresh
 * load generators, a channel of its own, then the phases of `options.modes` in order (latency,
 * throughput, roundtrips). Every process it starts is stopped before it returns, whatever happens,
 * and the channel's keys are deleted from Redis.
 *
 * `session`: `{cli, redisUrl, redisLocalPid, redisSpawned, processes, progress, channels}` from bench/cluster.mjs
 * (`progress`: a ProgressReceiver listening on `progressPort`; `channels`: the Set of channels in use).
 */
export async function measureConfig(config, run, options, session, log) {
  const { processes, progress } = session;
  const channel = `bench-cluster-${process.pid}-${run}-${config.nodes}${config.engine === 'memory' ? 'm' : ''}-${randomBytes(4).toString('hex')}`;
  const onRedis = config.engine === 'redis';
  const shares = perNode(options.subscribers, config.nodes);
  const nodes = [];
  const clients = [];
  let control;
  let publisher;
  let phases = 0;
  session.channels.add(channel);
  try {
    const engine = onRedis ? session.redisUrl : 'memory';
    nodes.push(...(await Promise.all(shares.map((_, i) => processes.startNode({ cli: session.cli, engine, label: NODE_LABELS[i] })))));
    if (onRedis) control = await RedisConnection.open(session.redisUrl);
    const clientCount = Math.ceil(options.subscribers / options.perClient);
    for (let i = 0; i < clientCount; i++) clients.push(processes.startClient());
    let pins;
    if (options.pin) {
      pins = processes.pin(
        nodes.map((n) => n.pid),
        [...clients.map((c) => c.pid), ...(session.redisSpawned ? [session.redisLocalPid] : [])],
      );
      log(`pinned: nodes on cores ${pins.nodes.join(', ')}, everything else on ${pins.rest}`);
    }

    const t0 = Date.now();
    const urls = nodes.map((n) => `ws://127.0.0.1:${n.port}/ws`);
    const share = Math.ceil(options.subscribers / clientCount);
    const connected = await Promise.all(
      clients.map((client, index) => {
        const first = index * share;
        const count = Math.min(share, options.subscribers - first);
        return client.request(
          'connect',
          { urls, channel, first, count, progressPort: session.progressPort, index, concurrency: CONNECT_CONCURRENCY },
          180_000,
        );
      }),
    );
    const failed = connected.reduce((sum, c) => sum + c.failed, 0);
    if (failed > 0) throw new Error(`${failed} subscribers failed: ${connected.find((c) => c.failed > 0).lastError}`);
    const connectSec = (Date.now() - t0) / 1000;
    log(
      `${options.subscribers} subscribers on ${nodes.length} node(s) (${shares.join(' + ')}) in ${connectSec.toFixed(1)} s; channel ${channel}`,
    );
    const settledSec = await settle(nodes);
    log(`nodes idle after ${settledSec.toFixed(1)} s`);

    publisher = new HttpPublisher(nodes[0].url, channel, options.inFlight);
    const context = { channel, config, nodes, clients, shares, progress, processes, control, publisher, session, options };
    const result = {
      config: config.name,
      nodes: config.nodes,
      engine: config.engine,
      run,
      channel,
      subscribers: options.subscribers,
      shares,
      connectSec,
      pins,
    };

    if (options.modes.includes('latency')) {
      const rate = options.latencyLoad / options.subscribers;
      // Warm-up (discarded): JIT, the script's first EVAL, every node's first delivery.
      await phase(context, ++phases, { mode: 'rate', rate, count: Math.max(3, Math.round(rate)) });
      result.latency = { publishRate: rate, ...(await phase(context, ++phases, { mode: 'rate', rate, durationMs: options.durationMs })) };
      log(`latency at ${rate.toFixed(2)} msg/s: ${describeLatency(result.latency)}`);
    }
    if (options.modes.includes('throughput')) {
      const room = (sent) => Math.floor(options.window - (sent * options.subscribers - progress.received) / options.subscribers);
      result.throughput = await phase(context, ++phases, { mode: 'max', durationMs: options.durationMs, room });
      log(`throughput: ${describeThroughput(result.throughput)}`);
    }
    if (options.modes.includes('roundtrips')) {
      if (onRedis) {
        result.roundtrips = await roundtrips(context, ++phases);
        log(`round trips: ${describeRoundtrips(result.roundtrips)}`);
      } else {
        log('round trips: not measured (memory engine)');
      }
    }
    return result;
  } catch (error) {
    for (const node of nodes) {
      const tail = node.tail().trim().split('\n').slice(-5).join('\n');
      if (tail) log(`node ${node.label} last output:\n${tail}`);
    }
    throw error;
  } finally {
    publisher?.close();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await Promise.allSettled(clients.map((c) => c.stop()));
    if (control !== undefined) {
      await control.command(['DEL', ...Object.values(channelNames(channel).keys)]).catch(() => {});
      await control.close();
    }
    session.channels.delete(channel);
  }
}

/** Deletes the Redis keys of `channels` (an interrupted run's), at most `timeoutMs`; never rejects. */
export async function deleteChannelKeys(url, channels, timeoutMs = 2000) {
  if (url === undefined || channels.length === 0) return;
  let connection;
  try {
    connection = await RedisConnection.open(url);
    await connection.command(['DEL', ...channels.flatMap((c) => Object.values(channelNames(c).keys))], timeoutMs);
  } catch {
    // Best effort: the keys of members expire by themselves; meta and log would stay.
  } finally {
    await connection?.close();
  }
}

/**
 * One publish phase: resets the load generators, publishes (`run`: the publisher's options), waits
 * for the deliveries, and gathers per node what its subscribers received and what the node's
 * process used in CPU.
 */
async function phase(context, id, run) {
  const { nodes, clients, shares, progress, processes, control, publisher, session } = context;
  await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
  progress.begin(id);
  const background = new BackgroundCpu([
    ...new Set([...processes.pids, process.pid, ...(session.redisLocalPid ? [session.redisLocalPid] : [])]),
  ]);
  background.start();
  const redisBefore = control === undefined ? undefined : await readInfo(control);
  const cpuBefore = nodes.map((n) => cpuSeconds(n.pid));
  const wallBefore = performance.now();
  const published = await publisher.run(run);
  const expected = published.published * context.options.subscribers;
  await drain(clients, expected);
  const wallSec = (performance.now() - wallBefore) / 1000;
  const cpuAfter = nodes.map((n) => cpuSeconds(n.pid));
  const redis = control === undefined ? undefined : infoDelta(redisBefore, await readInfo(control));
  const backgroundCores = background.stop();
  const reports = await Promise.all(clients.map((c) => c.request('report')));

  const perNode = nodes.map((node, i) => {
    const histogram = new Histogram();
    let received = 0;
    let lastUs = 0;
    let closed = 0;
    for (const report of reports) {
      const r = report.nodes[i];
      received += r.received;
      lastUs = Math.max(lastUs, r.lastUs);
      closed += r.closed;
      histogram.merge(new Histogram(r.histogram));
    }
    const cpuSec = cpuBefore[i] === null || cpuAfter[i] === null ? null : cpuAfter[i] - cpuBefore[i];
    return {
      label: node.label,
      subscribers: shares[i],
      expected: published.published * shares[i],
      received,
      lost: published.published * shares[i] - received,
      closed,
      lastUs,
      histogram,
      p50Ms: ms(histogram.quantile(0.5)),
      p99Ms: ms(histogram.quantile(0.99)),
      maxMs: ms(histogram.quantile(1)),
      /** This node's process CPU over the phase (publish through drain), 1 = one core. */
      cpuCores: cpuSec === null ? null : cpuSec / wallSec,
      /** This node's CPU time per message it delivered, µs. */
      cpuUsPerDelivery: cpuSec === null || received === 0 ? null : (cpuSec * 1e6) / received,
    };
  });
  const received = perNode.reduce((sum, n) => sum + n.received, 0);
  const lastUs = Math.max(...perNode.map((n) => n.lastUs));
  const others = new Histogram();
  for (const n of perNode.slice(1)) others.merge(n.histogram);
  return {
    published: published.published,
    sent: published.sent,
    publishFailures: published.failed,
    lastPublishError: published.lastError,
    late: published.late,
    expected,
    received,
    lost: expected - received,
    closed: perNode.reduce((sum, n) => sum + n.closed, 0),
    deliveredPerSec: received === 0 ? 0 : (received / Math.max(1, lastUs - published.firstUs)) * 1e6,
    publishedPerSec: (published.published / Math.max(1, published.lastUs - published.firstUs)) * 1e6,
    /** Latency of the subscribers on node A (the publisher's) and on every other node together. */
    sameNode: { p50Ms: perNode[0].p50Ms, p99Ms: perNode[0].p99Ms, samples: perNode[0].histogram.total },
    otherNodes: perNode.length < 2 ? null : { p50Ms: ms(others.quantile(0.5)), p99Ms: ms(others.quantile(0.99)), samples: others.total },
    nodes: perNode.map((n) => {
      const { histogram, lastUs, ...rest } = n;
      return { ...rest, samples: histogram.total, lastUs };
    }),
    /** CPU of the whole Redis (INFO used_cpu_user + used_cpu_sys) over the phase: includes its other clients. */
    redisCpuCores: redis === undefined ? null : redis.cpuSec / wallSec,
    redisUsPerPublish: redis === undefined || published.published === 0 ? null : (redis.cpuSec * 1e6) / published.published,
    /** The busiest load generator, and all of them together (1 = one core). */
    clientCpuMax: Math.max(...reports.map((r) => r.cpu)),
    clientCpuSum: reports.reduce((sum, r) => sum + r.cpu, 0),
    publisherCpuCores: published.cpuUs / 1e6 / wallSec,
    /** Share of the publishing time the throughput publisher had no room in the window. */
    waitedShare: published.waitedUs / Math.max(1, published.lastUs - published.firstUs),
    wallSec,
    /** CPU (cores) taken by processes other than the benchmark's (and the local Redis's) during the phase. */
    backgroundCores,
  };
}

/**
 * Redis traffic of `--publishes` publishes spread over {@link ROUNDTRIPS_SPAN_MS}: INFO before and
 * after (the whole Redis), and MONITOR between the two INFO commands, attributed by channel name
 * (lib/cluster-roundtrips.mjs).
 */
async function roundtrips(context, id) {
  const { control, clients, nodes, options, progress, publisher, session } = context;
  // A Redis that has not run the publish script yet answers the first EVALSHA with NOSCRIPT (once
  // per Redis, not per publish): take that before counting.
  await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
  const warmUp = await publisher.run({ mode: 'rate', rate: 20, count: 2 });
  await drain(clients, warmUp.published * options.subscribers);
  const names = channelNames(context.channel);
  const numsub = await control.command(['PUBSUB', 'NUMSUB', names.live]);
  const monitor = await MonitorRecorder.open(session.redisUrl);
  try {
    await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
    progress.begin(id);
    const controlClient = `127.0.0.1:${control.localPort}`;
    const before = await readInfo(control);
    const started = performance.now();
    const rate = (options.publishes * 1000) / ROUNDTRIPS_SPAN_MS;
    const published = await publisher.run({ mode: 'rate', rate, count: options.publishes });
    await drain(clients, published.published * options.subscribers);
    const after = await readInfo(control);
    const windowSec = (performance.now() - started) / 1000;
    // The second INFO's MONITOR line may still be on its way.
    const deadline = Date.now() + 2000;
    let seen;
    do {
      await sleep(50);
      seen = attribute(monitor.lines(), context.channel, controlClient);
    } while (!seen.complete && Date.now() < deadline);
    const reports = await Promise.all(clients.map((c) => c.request('report')));
    const received = reports.reduce((sum, r) => sum + r.nodes.reduce((s, n) => s + n.received, 0), 0);
    const delta = infoDelta(before, after);
    return {
      publishes: published.published,
      publishFailures: published.failed,
      windowSec,
      nodes: nodes.length,
      expected: published.published * options.subscribers,
      received,
      lost: published.published * options.subscribers - received,
      /** Nodes subscribed to the channel's pub/sub channel: Redis pushes each publish to each of them. */
      pubsubSubscribers: Number(numsub[1]),
      /** Whole Redis, INFO before/after (includes other clients and the first INFO itself). */
      info: delta,
      /** MONITOR between the two INFO commands, attributed to this channel by kind. */
      monitor: seen,
    };
  } finally {
    await monitor.close();
  }
}

function fmt(value) {
  return value === null || value === undefined ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0);
}

function describeLatency(p) {
  const parts = [`A p50 ${fmt(p.sameNode.p50Ms)} / p99 ${fmt(p.sameNode.p99Ms)} ms`];
  if (p.otherNodes !== null) parts.push(`other nodes p50 ${fmt(p.otherNodes.p50Ms)} / p99 ${fmt(p.otherNodes.p99Ms)} ms`);
  parts.push(`${p.published} published`, `lost ${p.lost}`);
  if (p.closed > 0) parts.push(`${p.closed} subscribers CLOSED`);
  if (p.publishFailures > 0) parts.push(`${p.publishFailures} publishes FAILED (${p.lastPublishError})`);
  if (p.late > 0) parts.push(`${p.late} late`);
  parts.push(`others ${fmt(p.backgroundCores)} cores`);
  return parts.join(', ');
}

function describeThroughput(p) {
  const cpu = p.nodes.map((n) => `${n.label} ${fmt(n.cpuCores)}`).join(' ');
  return [
    `${Math.round(p.deliveredPerSec).toLocaleString('en-US')} delivered/s (${p.publishedPerSec.toFixed(1)} publishes/s)`,
    `lost ${p.lost}${p.closed > 0 ? `, ${p.closed} subscribers CLOSED` : ''}${p.publishFailures > 0 ? `, ${p.publishFailures} publishes FAILED (${p.lastPublishError})` : ''}`,
    `CPU cores: nodes ${cpu}, Redis ${fmt(p.redisCpuCores)}, load gen ${fmt(p.clientCpuSum)}, publisher ${fmt(p.publisherCpuCores)}`,
    `waited ${Math.round(p.waitedShare * 100)} %`,
    `others ${fmt(p.backgroundCores)} cores`,
  ].join(', ');
}

function describeRoundtrips(r) {
  const publish = r.monitor.ours.publish;
  const parts = [
    `${r.publishes} publishes`,
    `publish path ${fmt(publish === undefined ? 0 : publish.calls / r.publishes)} round trips + ${fmt(publish === undefined ? 0 : publish.innerCalls / r.publishes)} in-script commands each`,
    `pushed to ${r.pubsubSubscribers} node(s)`,
    `INFO: ${fmt(r.info.totalCommands / r.publishes)} commands/publish (whole Redis)`,
    `lost ${r.lost}`,
  ];
  if (!r.monitor.complete) parts.push('MONITOR window INCOMPLETE');
  return parts.join(', ');
}
