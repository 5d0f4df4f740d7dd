import { median } from './report.mjs';

const int = (v) => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const dec = (v) => (v === null || v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(0));
const pct = (v) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(2)} %`);

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Median per key of several `{key: number}` objects (keys missing from a run count as 0 there). */
function medianOfCounts(objects) {
  const keys = new Set(objects.flatMap((o) => Object.keys(o)));
  const out = {};
  for (const key of keys) out[key] = median(objects.map((o) => o[key] ?? 0));
  return out;
}

const perPublish = (counts, publishes) => Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, n / publishes]));

/** Medians per configuration over its runs, in the order the configurations were given. */
export function summariseCluster(results, configs) {
  return configs
    .map((config) => {
      const runs = results.filter((r) => r.config === config.name);
      if (runs.length === 0) return undefined;
      const summary = {
        config: config.name,
        nodes: config.nodes,
        engine: config.engine,
        runs: runs.length,
        subscribers: runs[0].subscribers,
        shares: runs[0].shares,
      };
      const latency = runs.filter((r) => r.latency !== undefined);
      if (latency.length > 0) {
        const l = (f) => median(latency.map((r) => f(r.latency)));
        summary.latency = {
          publishRate: latency[0].latency.publishRate,
          sameP50Ms: l((p) => p.sameNode.p50Ms),
          sameP99Ms: l((p) => p.sameNode.p99Ms),
          otherP50Ms: l((p) => p.otherNodes?.p50Ms),
          otherP99Ms: l((p) => p.otherNodes?.p99Ms),
          lostShare: l((p) => p.lost / Math.max(1, p.expected)),
          lost: latency.reduce((sum, r) => sum + r.latency.lost, 0),
          publishFailures: latency.reduce((sum, r) => sum + r.latency.publishFailures, 0),
          backgroundCores: l((p) => p.backgroundCores),
        };
      }
      const throughput = runs.filter((r) => r.throughput !== undefined);
      if (throughput.length > 0) {
        const t = (f) => median(throughput.map((r) => f(r.throughput)));
        summary.throughput = {
          deliveredPerSec: t((p) => p.deliveredPerSec),
          deliveredPerSecRuns: throughput.map((r) => Math.round(r.throughput.deliveredPerSec)),
          publishedPerSec: t((p) => p.publishedPerSec),
          lostShare: t((p) => p.lost / Math.max(1, p.expected)),
          lost: throughput.reduce((sum, r) => sum + r.throughput.lost, 0),
          publishFailures: throughput.reduce((sum, r) => sum + r.throughput.publishFailures, 0),
          nodeCpuCores: throughput[0].throughput.nodes.map((_, i) => t((p) => p.nodes[i].cpuCores)),
          nodeUsPerDelivery: throughput[0].throughput.nodes.map((_, i) => t((p) => p.nodes[i].cpuUsPerDelivery)),
          /** All nodes' CPU time per message delivered by any of them: the fan-out's total cost. */
          allNodesUsPerDelivery: t((p) =>
            p.received === 0 ? null : (p.nodes.reduce((sum, n) => sum + (n.cpuCores ?? 0), 0) * p.wallSec * 1e6) / p.received,
          ),
          engineCpuCores: t((p) => p.engineCpuCores),
          engineUsPerPublish: t((p) => p.engineUsPerPublish),
          clientCpuSum: t((p) => p.clientCpuSum),
          publisherCpuCores: t((p) => p.publisherCpuCores),
          p50Ms: t((p) => p.sameNode.p50Ms),
          p99Ms: t((p) => p.sameNode.p99Ms),
          backgroundCores: t((p) => p.backgroundCores),
        };
      }
      const natsRoundtrips = runs.filter((r) => r.roundtrips?.perNode !== undefined);
      if (natsRoundtrips.length > 0) summary.natsRoundtrips = summariseNats(natsRoundtrips);
      const roundtrips = runs.filter((r) => r.roundtrips !== undefined && r.roundtrips.perNode === undefined);
      if (roundtrips.length > 0) {
        const rt = (f) => median(roundtrips.map((r) => f(r.roundtrips)));
        const kinds = new Set(roundtrips.flatMap((r) => Object.keys(r.roundtrips.monitor.ours)));
        const background = {};
        for (const kind of kinds) {
          if (kind === 'publish') continue;
          background[kind] = {
            calls: rt((r) => r.monitor.ours[kind]?.calls ?? 0),
            innerCalls: rt((r) => r.monitor.ours[kind]?.innerCalls ?? 0),
            membersPerCall: rt((r) => (r.monitor.ours[kind]?.calls ? r.monitor.ours[kind].members / r.monitor.ours[kind].calls : null)),
          };
        }
        summary.roundtrips = {
          publishes: roundtrips[0].roundtrips.publishes,
          complete: roundtrips.every((r) => r.roundtrips.monitor.complete),
          roundTripsPerPublish: rt((r) => (r.monitor.ours.publish?.calls ?? 0) / r.publishes),
          evalFallbacks: roundtrips.reduce((sum, r) => sum + (r.roundtrips.monitor.ours.publish?.evalFallbacks ?? 0), 0),
          scriptCommandsPerPublish: rt((r) => (r.monitor.ours.publish?.innerCalls ?? 0) / r.publishes),
          scriptCommands: perPublish(
            medianOfCounts(roundtrips.map((r) => r.roundtrips.monitor.ours.publish?.inner ?? {})),
            roundtrips[0].roundtrips.publishes,
          ),
          pubsubPushesPerPublish: rt((r) => r.pubsubSubscribers),
          infoCommandsPerPublish: rt((r) => r.info.totalCommands / r.publishes),
          /** INFO totals summed over the engine's primaries (one server but on a cluster). */
          primariesCommandsPerPublish: rt((r) => (r.servers?.primary.totalCommands ?? r.info.totalCommands) / r.publishes),
          replicasCommandsPerPublish: rt((r) => (r.servers?.replica === undefined ? null : r.servers.replica.totalCommands / r.publishes)),
          sentinelsCommandsPerPublish: rt((r) =>
            r.servers?.sentinel === undefined ? null : r.servers.sentinel.totalCommands / r.publishes,
          ),
          infoCalls: perPublish(medianOfCounts(roundtrips.map((r) => r.roundtrips.info.calls)), roundtrips[0].roundtrips.publishes),
          netOutBytesPerPublish: rt((r) => r.info.netOutputBytes / r.publishes),
          otherClientsCommandsPerPublish: rt((r) => (r.monitor.others.calls + r.monitor.others.inner) / r.publishes),
          windowSec: rt((r) => r.windowSec),
          background,
          lost: roundtrips.reduce((sum, r) => sum + r.roundtrips.lost, 0),
        };
      }
      return summary;
    })
    .filter(Boolean);
}

const sumBy = (byName, field) => Object.values(byName).reduce((sum, c) => sum + c[field], 0);

/** Medians over the NATS round-trips phases of one configuration (see natsRoundtrips in cluster-measure.mjs). */
function summariseNats(runs) {
  const rt = (f) => median(runs.map((r) => f(r.roundtrips)));
  const per = (f) => rt((r) => f(r) / r.publishes);
  const names = new Set(runs.flatMap((r) => r.roundtrips.perNode.flatMap((n) => Object.keys(n.byName))));
  const byConnection = {};
  for (const name of names) {
    byConnection[name] = {
      sentPerPublish: per((r) => r.perNode.reduce((sum, n) => sum + (n.byName[name]?.inMsgs ?? 0), 0)),
      receivedPerPublish: per((r) => r.perNode.reduce((sum, n) => sum + (n.byName[name]?.outMsgs ?? 0), 0)),
    };
  }
  return {
    publishes: runs[0].roundtrips.publishes,
    /** Node A's broker connection: the publish path (plus its health probe, 1/s, and the trims, every 64 offsets). */
    publisherSentPerPublish: per((r) => r.perNode[0].byName.broker?.inMsgs ?? 0),
    publisherReceivedPerPublish: per((r) => r.perNode[0].byName.broker?.outMsgs ?? 0),
    /** Every Herald connection of every node. */
    heraldSentPerPublish: per((r) => r.perNode.reduce((sum, n) => sum + sumBy(n.byName, 'inMsgs'), 0)),
    heraldReceivedPerPublish: per((r) => r.perNode.reduce((sum, n) => sum + sumBy(n.byName, 'outMsgs'), 0)),
    byConnection,
    serverInPerPublish: per((r) => r.total.inMsgs),
    serverOutPerPublish: per((r) => r.total.outMsgs),
    jsApiPerPublish: per((r) => r.total.jsApi),
    serverOutBytesPerPublish: per((r) => r.total.outBytes),
    windowSec: rt((r) => r.windowSec),
    lost: runs.reduce((sum, r) => sum + r.roundtrips.lost, 0),
  };
}

/** Delivered/s of each configuration divided by the first Redis configuration's (the baseline). */
export function scalingRatios(summary) {
  const withThroughput = summary.filter((s) => s.throughput !== undefined);
  const baseline = withThroughput.find((s) => s.engine === 'redis');
  if (baseline === undefined) return [];
  return withThroughput
    .filter((s) => s !== baseline)
    .map((s) => ({
      config: s.config,
      baseline: baseline.config,
      deliveredRatio: s.throughput.deliveredPerSec / baseline.throughput.deliveredPerSec,
      usPerDeliveryRatio: s.throughput.allNodesUsPerDelivery / baseline.throughput.allNodesUsPerDelivery,
    }));
}

const counts = (object) =>
  Object.entries(object)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.toUpperCase()} ${dec(v)}`)
    .join(', ');

/** The final tables (Markdown). */
export function formatClusterReport(summary, options) {
  const parts = [];
  const lat = summary.filter((s) => s.latency !== undefined);
  if (lat.length > 0) {
    parts.push(
      `Latency, publish→deliver, POST /api/publish on node A at ${int(options.latencyLoad)} deliveries/s (medians of ${lat[0].runs} run(s)):\n\n` +
        table(
          [
            'configuration',
            'subscribers',
            'publishes/s',
            'p50 / p99 ms on A (publishing node)',
            'p50 / p99 ms on other nodes',
            'lost',
            'others (cores)',
          ],
          lat.map((s) => [
            s.config,
            s.shares.map(int).join(' + '),
            dec(s.latency.publishRate),
            `${dec(s.latency.sameP50Ms)} / ${dec(s.latency.sameP99Ms)}`,
            s.latency.otherP50Ms === null ? '-' : `${dec(s.latency.otherP50Ms)} / ${dec(s.latency.otherP99Ms)}`,
            `${int(s.latency.lost)} (${pct(s.latency.lostShare)})`,
            dec(s.latency.backgroundCores),
          ]),
        ),
    );
  }
  const thr = summary.filter((s) => s.throughput !== undefined);
  if (thr.length > 0) {
    parts.push(
      `Throughput, as fast as delivered (window ${options.window} messages per subscriber), ${int(options.subscribers)} subscribers in total:\n\n` +
        table(
          [
            'configuration',
            'delivered msg/s',
            'runs',
            'publishes/s',
            'lost',
            'CPU per node (cores)',
            'nodes µs/delivery',
            'engine (cores)',
            'load gen (cores)',
            'p50 / p99 ms',
            'others (cores)',
          ],
          thr.map((s) => [
            s.config,
            int(s.throughput.deliveredPerSec),
            s.throughput.deliveredPerSecRuns.map((v) => `${Math.round(v / 1000)}k`).join(' '),
            dec(s.throughput.publishedPerSec),
            `${int(s.throughput.lost)} (${pct(s.throughput.lostShare)})`,
            s.throughput.nodeCpuCores.map(dec).join(' + '),
            dec(s.throughput.allNodesUsPerDelivery),
            dec(s.throughput.engineCpuCores),
            dec(s.throughput.clientCpuSum),
            `${dec(s.throughput.p50Ms)} / ${dec(s.throughput.p99Ms)}`,
            dec(s.throughput.backgroundCores),
          ]),
        ),
    );
    const ratios = scalingRatios(summary);
    if (ratios.length > 0) {
      parts.push(
        ratios
          .map(
            (r) =>
              `${r.config} ÷ ${r.baseline}: ${r.deliveredRatio.toFixed(2)} × delivered msg/s, ${dec(r.usPerDeliveryRatio)} × node CPU per delivery`,
          )
          .join('\n'),
      );
    }
  }
  const rts = summary.filter((s) => s.roundtrips !== undefined);
  if (rts.length > 0) {
    parts.push(
      `Redis traffic of ${rts[0].roundtrips.publishes} publishes (MONITOR on the channel's server, attributed to the run's channel; INFO is whole servers: the channel's, all primaries, replicas, sentinels):\n\n` +
        table(
          [
            'configuration',
            'round trips/publish',
            'in-script cmds/publish',
            'pub/sub pushes/publish',
            'INFO cmds/publish',
            'primaries / replicas / sentinels cmds/publish',
            'unattributed cmds/publish',
            'lost',
          ],
          rts.map((s) => [
            s.config,
            dec(s.roundtrips.roundTripsPerPublish) + (s.roundtrips.evalFallbacks > 0 ? ` (+${s.roundtrips.evalFallbacks} EVAL)` : ''),
            dec(s.roundtrips.scriptCommandsPerPublish),
            dec(s.roundtrips.pubsubPushesPerPublish),
            dec(s.roundtrips.infoCommandsPerPublish),
            [s.roundtrips.primariesCommandsPerPublish, s.roundtrips.replicasCommandsPerPublish, s.roundtrips.sentinelsCommandsPerPublish]
              .map(dec)
              .join(' / '),
            dec(s.roundtrips.otherClientsCommandsPerPublish),
            int(s.roundtrips.lost),
          ]),
        ),
    );
    for (const s of rts) {
      const lines = [
        `${s.config}: inside the publish script, per publish: ${counts(s.roundtrips.scriptCommands) || '-'}`,
        `${s.config}: INFO commandstats, per publish (the channel's whole server): ${counts(s.roundtrips.infoCalls) || '-'}`,
      ];
      const bg = Object.entries(s.roundtrips.background);
      lines.push(
        `${s.config}: besides publishing, in the ${dec(s.roundtrips.windowSec)} s window: ` +
          (bg.length === 0
            ? 'nothing'
            : bg
                .map(
                  ([kind, b]) =>
                    `${kind} ${dec(b.calls)} call(s) (+${int(b.innerCalls)} in-script commands` +
                    `${b.membersPerCall > 0 ? `, ${int(b.membersPerCall)} members per call` : ''})`,
                )
                .join('; ')),
      );
      if (!s.roundtrips.complete) lines.push(`${s.config}: the MONITOR window was incomplete in some run: counts are a lower bound`);
      parts.push(lines.join('\n'));
    }
  }
  const nats = summary.filter((s) => s.natsRoundtrips !== undefined);
  if (nats.length > 0) {
    parts.push(
      `NATS traffic of ${nats[0].natsRoundtrips.publishes} publishes (/connz per Herald connection; /varz and /jsz summed over the servers):\n\n` +
        table(
          [
            'configuration',
            'node A broker msgs sent / received per publish',
            'all Herald conns sent / received per publish',
            'servers in / out msgs per publish',
            'JetStream API requests/publish',
            'lost',
          ],
          nats.map((s) => {
            const n = s.natsRoundtrips;
            return [
              s.config,
              `${dec(n.publisherSentPerPublish)} / ${dec(n.publisherReceivedPerPublish)}`,
              `${dec(n.heraldSentPerPublish)} / ${dec(n.heraldReceivedPerPublish)}`,
              `${dec(n.serverInPerPublish)} / ${dec(n.serverOutPerPublish)}`,
              dec(n.jsApiPerPublish),
              int(n.lost),
            ];
          }),
        ),
    );
    parts.push(
      nats
        .map(
          (s) =>
            `${s.config}: per connection name, sent / received per publish (all nodes, ${dec(s.natsRoundtrips.windowSec)} s window): ` +
            Object.entries(s.natsRoundtrips.byConnection)
              .map(([name, c]) => `${name} ${dec(c.sentPerPublish)} / ${dec(c.receivedPerPublish)}`)
              .join(', '),
        )
        .join('\n'),
    );
  }
  return parts.join('\n\n');
}

/** The caveat printed with every report on a small machine. */
export function caveat(cores) {
  return (
    `Caveat: this machine has ${cores} core(s), shared by the Herald nodes, the engine's servers, the load generators and the publisher. ` +
    'One node fans out on one thread (at most one core); two nodes can use two, but then compete with the load ' +
    'generators and the engine for them. The ratio of 2 nodes to 1 is bounded by this machine, not by Herald, and ' +
    'moves with whatever else runs ("others"). "nodes µs/delivery" (all nodes\' CPU per delivered message) is the ' +
    'figure that carries over to bigger hardware. To measure scaling, give each node its own core: on a machine ' +
    'with at least nodes + 2 cores run `npm run bench:cluster -- --pin --nodes 1,2,4 --subscribers 10000` ' +
    '(each node pinned to a core of its own, everything else on the remaining cores), optionally with ' +
    '`--redis redis://<host>:6379` for a Redis on its own machine.'
  );
}
