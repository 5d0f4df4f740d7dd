import { randomBytes } from 'node:crypto';
import { BackgroundCpu } from './cpu.mjs';
import { Histogram } from './histogram.mjs';
import { drain as drainClients } from './drain.mjs';
import { HttpPublisher } from './cluster-publisher.mjs';
import { cpuSeconds, sleep } from './cluster-processes.mjs';
import { engineCpuSeconds, natsCountersDelta, readNatsCounters, readRedisInfos, redisInfosDelta } from './cluster-engine-stats.mjs';
import { enginePids, redisServerOf } from './cluster-engines.mjs';
import { natsClientsOf } from './cluster-sockets.mjs';
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

/** Whether an engine kind is one of the Redis ones (redis, redis-cluster, redis-sentinel). */
export const isRedis = (kind) => kind.startsWith('redis');

/** A short tag per engine for channel names. */
const TAGS = { memory: 'm', redis: 'r', 'redis-cluster': 'rc', 'redis-sentinel': 'rs', nats: 'n', 'nats-r3': 'n3' };

/**
 * One measurement of one configuration (`{name, nodes, engine}`): fresh Herald nodes and fresh
 * load generators, a channel of its own, then the phases of `options.modes` in order (latency,
 * throughput, roundtrips). Every process it starts is stopped before it returns, whatever happens,
 * and on Redis engines the channel's keys are deleted.
 *
 * `session`: `{cli, engines, processes, progress, channels}` from bench/cluster.mjs (`engines`: the
 * Map kind → engine of lib/cluster-engines.mjs, started once per session; `progress`: a
 * ProgressReceiver listening on `progressPort`; `channels`: the Set of channels in use).
 */
export async function measureConfig(config, run, options, session, log) {
  const { processes, progress } = session;
  const channel = `bench-cluster-${process.pid}-${run}-${config.nodes}${TAGS[config.engine]}-${randomBytes(4).toString('hex')}`;
  const engine = session.engines.get(config.engine);
  const shares = perNode(options.subscribers, config.nodes);
  const nodes = [];
  const clients = [];
  let publisher;
  let phases = 0;
  session.channels.add(channel);
  try {
    const engineUrl = engine?.url ?? 'memory';
    nodes.push(
      ...(await Promise.all(shares.map((_, i) => processes.startNode({ cli: session.cli, engine: engineUrl, label: NODE_LABELS[i] })))),
    );
    const clientCount = Math.ceil(options.subscribers / options.perClient);
    for (let i = 0; i < clientCount; i++) clients.push(processes.startClient());
    let pins;
    if (options.pin) {
      pins = processes.pin(
        nodes.map((n) => n.pid),
        [...clients.map((c) => c.pid), ...(engine?.spawned ? enginePids(engine) : [])],
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
    const context = { channel, config, engine, nodes, clients, shares, progress, processes, publisher, session, options };
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
      if (engine !== undefined && isRedis(engine.kind)) {
        result.roundtrips = await redisRoundtrips(context, ++phases);
        log(`round trips: ${describeRoundtrips(result.roundtrips)}`);
      } else if (engine !== undefined) {
        result.roundtrips = await natsRoundtrips(context, ++phases);
        log(`round trips: ${describeNatsRoundtrips(result.roundtrips)}`);
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
    if (engine !== undefined && isRedis(engine.kind)) await deleteChannelKeys(engine, [channel]);
    session.channels.delete(channel);
  }
}

/**
 * Deletes the Redis keys of `channels` from the server holding each (one DEL per channel: on a
 * cluster the channels' slots differ), at most `timeoutMs` each; never rejects.
 */
export async function deleteChannelKeys(engine, channels, timeoutMs = 2000) {
  for (const channel of channels) {
    let connection;
    try {
      const server = await redisServerOf(engine, channel);
      connection = await RedisConnection.open(server.url);
      await connection.command(['DEL', ...Object.values(channelNames(channel).keys)], timeoutMs);
    } catch {
      // Best effort: the keys of members expire by themselves; meta and log would stay.
    } finally {
      await connection?.close();
    }
  }
}

/**
 * One publish phase: resets the load generators, publishes (`run`: the publisher's options), waits
 * for the deliveries, and gathers per node what its subscribers received and what the node's
 * process used in CPU.
 */
async function phase(context, id, run) {
  const { nodes, clients, shares, progress, processes, engine, publisher } = context;
  await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
  progress.begin(id);
  const background = new BackgroundCpu([...new Set([...processes.pids, process.pid, ...(engine === undefined ? [] : enginePids(engine))])]);
  background.start();
  const engineBefore = engine === undefined ? undefined : await engineCpuSeconds(engine);
  const cpuBefore = nodes.map((n) => cpuSeconds(n.pid));
  const wallBefore = performance.now();
  const published = await publisher.run(run);
  const expected = published.published * context.options.subscribers;
  await drain(clients, expected);
  const wallSec = (performance.now() - wallBefore) / 1000;
  const cpuAfter = nodes.map((n) => cpuSeconds(n.pid));
  const engineCpuSec = engine === undefined ? undefined : (await engineCpuSeconds(engine)) - engineBefore;
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
    /**
     * CPU of every server of the engine over the phase (/proc for servers on this machine, else Redis
     * INFO used_cpu_user + used_cpu_sys: then it includes its other clients).
     */
    engineCpuCores: engineCpuSec === undefined ? null : engineCpuSec / wallSec,
    engineUsPerPublish: engineCpuSec === undefined || published.published === 0 ? null : (engineCpuSec * 1e6) / published.published,
    /** The busiest load generator, and all of them together (1 = one core). */
    clientCpuMax: Math.max(...reports.map((r) => r.cpu)),
    clientCpuSum: reports.reduce((sum, r) => sum + r.cpu, 0),
    publisherCpuCores: published.cpuUs / 1e6 / wallSec,
    /** Share of the publishing time the throughput publisher had no room in the window. */
    waitedShare: published.waitedUs / Math.max(1, published.lastUs - published.firstUs),
    wallSec,
    /** CPU (cores) taken by processes other than the benchmark's (and the engine's, when local) during the phase. */
    backgroundCores,
  };
}

/**
 * Redis traffic of `--publishes` publishes spread over {@link ROUNDTRIPS_SPAN_MS}: INFO before and
 * after on every server of the engine (summed per role: primaries, replicas, sentinels), and
 * MONITOR on the server holding the run's channel between two INFO commands of a control
 * connection there, attributed by channel name (lib/cluster-roundtrips.mjs).
 */
async function redisRoundtrips(context, id) {
  const { clients, engine, nodes, options, progress, publisher } = context;
  const clustered = engine.kind === 'redis-cluster';
  // A Redis that has not run the publish script yet answers the first EVALSHA with NOSCRIPT (once
  // per Redis, not per publish): take that before counting.
  await warmUp(context, id);
  const names = channelNames(context.channel, { clustered });
  const server = await redisServerOf(engine, context.channel);
  const control = await RedisConnection.open(server.url);
  const numsub = await control.command(clustered ? ['PUBSUB', 'SHARDNUMSUB', names.live] : ['PUBSUB', 'NUMSUB', names.live]);
  const monitor = await MonitorRecorder.open(server.url);
  try {
    await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
    progress.begin(id);
    const controlClient = `127.0.0.1:${control.localPort}`;
    const allBefore = await readRedisInfos(engine);
    const before = await readInfo(control);
    const started = performance.now();
    const rate = (options.publishes * 1000) / ROUNDTRIPS_SPAN_MS;
    const published = await publisher.run({ mode: 'rate', rate, count: options.publishes });
    await drain(clients, published.published * options.subscribers);
    const after = await readInfo(control);
    const all = redisInfosDelta(allBefore, await readRedisInfos(engine));
    const windowSec = (performance.now() - started) / 1000;
    // The second INFO's MONITOR line may still be on its way.
    const deadline = Date.now() + 2000;
    let seen;
    do {
      await sleep(50);
      seen = attribute(monitor.lines(), context.channel, controlClient, clustered);
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
      /** The server holding the channel, INFO before/after (includes other clients and the first INFO itself). */
      info: delta,
      /** The channel's server (port) and INFO of every server of the engine, summed per role. */
      server: server.port,
      servers: all,
      /** MONITOR between the two INFO commands, attributed to this channel by kind. */
      monitor: seen,
    };
  } finally {
    await monitor.close();
    await control.close();
  }
}

/** Publishes two messages and waits for their deliveries (the first publish of a channel is not counted). */
async function warmUp(context, id) {
  const { clients, options, publisher } = context;
  await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
  const published = await publisher.run({ mode: 'rate', rate: 20, count: 2 });
  await drain(clients, published.published * options.subscribers);
}

/**
 * NATS traffic of `--publishes` publishes spread over {@link ROUNDTRIPS_SPAN_MS}: every server's
 * /varz, /jsz and /connz before and after. Each Herald node opens named connections
 * (`herald-broker`, `herald-presence`, `herald-tickets`); a connection's `in_msgs` are the messages
 * it sent to NATS (publishes, requests), `out_msgs` those NATS delivered to it. Connections are
 * matched to nodes by their client port (lib/cluster-sockets.mjs), so node A's broker connection,
 * the publish path, is told apart from the other nodes'.
 */
async function natsRoundtrips(context, id) {
  const { clients, engine, nodes, options, progress, publisher } = context;
  await warmUp(context, id);
  await Promise.all(clients.map((c) => c.request('reset', { phase: id })));
  progress.begin(id);
  const before = await readNatsCounters(engine);
  const started = performance.now();
  const rate = (options.publishes * 1000) / ROUNDTRIPS_SPAN_MS;
  const published = await publisher.run({ mode: 'rate', rate, count: options.publishes });
  await drain(clients, published.published * options.subscribers);
  const after = await readNatsCounters(engine);
  const windowSec = (performance.now() - started) / 1000;
  const delta = natsCountersDelta(before, after);
  const ports = nodes.map((n) =>
    natsClientsOf(
      n.pid,
      engine.servers.map((s) => s.port),
    ),
  );
  const perNode = nodes.map((node, i) => {
    const mine = delta.connections.filter((c) => ports[i].has(c.clientPort));
    const byName = {};
    for (const c of mine) {
      const name = c.name.replace(/^herald-/, '');
      const sum = (byName[name] ??= { inMsgs: 0, outMsgs: 0, connections: 0 });
      sum.inMsgs += c.inMsgs;
      sum.outMsgs += c.outMsgs;
      sum.connections++;
    }
    return { label: node.label, byName };
  });
  const reports = await Promise.all(clients.map((c) => c.request('report')));
  const received = reports.reduce((sum, r) => sum + r.nodes.reduce((s, n) => s + n.received, 0), 0);
  const attributed = new Set(ports.flatMap((p) => [...p]));
  const others = delta.connections.filter((c) => !attributed.has(c.clientPort));
  return {
    publishes: published.published,
    publishFailures: published.failed,
    windowSec,
    nodes: nodes.length,
    expected: published.published * options.subscribers,
    received,
    lost: published.published * options.subscribers - received,
    /** Server totals summed over every server: /varz in/out messages and bytes (client and route connections), /jsz API requests. */
    total: delta.total,
    /** Per Herald node, per connection name: messages sent to NATS (inMsgs) and received from it (outMsgs). */
    perNode,
    /** Client connections not matched to a node (none expected on a private server). */
    otherConnections: {
      count: others.length,
      inMsgs: others.reduce((s, c) => s + c.inMsgs, 0),
      outMsgs: others.reduce((s, c) => s + c.outMsgs, 0),
    },
  };
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
    `CPU cores: nodes ${cpu}, engine ${fmt(p.engineCpuCores)}, load gen ${fmt(p.clientCpuSum)}, publisher ${fmt(p.publisherCpuCores)}`,
    `waited ${Math.round(p.waitedShare * 100)} %`,
    `others ${fmt(p.backgroundCores)} cores`,
  ].join(', ');
}

function describeNatsRoundtrips(r) {
  const a = r.perNode[0].byName.broker ?? { inMsgs: 0, outMsgs: 0 };
  return [
    `${r.publishes} publishes`,
    `node A broker connection ${fmt(a.inMsgs / r.publishes)} msgs sent + ${fmt(a.outMsgs / r.publishes)} received per publish`,
    `all Herald connections ${fmt(r.perNode.reduce((s, n) => s + Object.values(n.byName).reduce((t, c) => t + c.inMsgs, 0), 0) / r.publishes)} sent/publish`,
    `servers in ${fmt(r.total.inMsgs / r.publishes)} / out ${fmt(r.total.outMsgs / r.publishes)} msgs/publish, JetStream API ${fmt(r.total.jsApi / r.publishes)}/publish`,
    `lost ${r.lost}`,
  ].join(', ');
}

function describeRoundtrips(r) {
  const publish = r.monitor.ours.publish;
  const parts = [
    `${r.publishes} publishes`,
    `publish path ${fmt(publish === undefined ? 0 : publish.calls / r.publishes)} round trips + ${fmt(publish === undefined ? 0 : publish.innerCalls / r.publishes)} in-script commands each`,
    `pushed to ${r.pubsubSubscribers} node(s)`,
    `INFO: ${fmt(r.info.totalCommands / r.publishes)} commands/publish (channel's server), ${fmt(r.servers.primary.totalCommands / r.publishes)} (all primaries)`,
    `lost ${r.lost}`,
  ];
  if (!r.monitor.complete) parts.push('MONITOR window INCOMPLETE');
  return parts.join(', ');
}
