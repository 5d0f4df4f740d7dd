import { GOALS } from './targets.mjs';

/** Median of the numbers (null when there are none). */
export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Medians per (subscribers, target) over the runs. */
export function summarise(results) {
  const groups = new Map();
  for (const r of results) {
    const key = `${r.subscribers}|${r.target}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  return [...groups.values()].map((runs) => {
    const pick = (f) => median(runs.map(f));
    return {
      target: runs[0].target,
      transport: runs[0].transport,
      subscribers: runs[0].subscribers,
      runs: runs.length,
      deliveredPerSec: pick((r) => r.throughput.deliveredPerSec),
      deliveredPerSecRuns: runs.map((r) => Math.round(r.throughput.deliveredPerSec)),
      lostShare: pick((r) => r.throughput.lost / Math.max(1, r.throughput.expected)),
      maxLoadP50Ms: pick((r) => r.throughput.p50Ms),
      maxLoadP99Ms: pick((r) => r.throughput.p99Ms),
      serverCpu: pick((r) => r.throughput.serverCpu),
      serverUsPerMessage: pick((r) => r.throughput.serverUsPerMessage),
      messagesPerResponse: pick((r) => r.throughput.messagesPerResponse),
      serverUsPerResponse: pick((r) => r.throughput.serverUsPerResponse),
      latencyLoad: runs[0].latencyLoad,
      p50Ms: pick((r) => r.latency.p50Ms),
      p99Ms: pick((r) => r.latency.p99Ms),
      latencyLostShare: pick((r) => r.latency.lost / Math.max(1, r.latency.expected)),
      bytesPerConnection: pick((r) => r.memory.bytesPerConnection),
      /** Connections opened (handshake through subscribed) per second while all N connected. */
      acceptPerSec: pick((r) => r.subscribers / r.connectSec),
      /** CPU of the server and the client processes per connection opened (µs; absent in older results). */
      acceptCpuUs: pick((r) => (r.accept === undefined ? null : r.accept.serverUsPerConnection + r.accept.clientUsPerConnection)),
      acceptServerUs: pick((r) => r.accept?.serverUsPerConnection ?? null),
      backgroundCores: pick((r) => r.throughput.backgroundCores),
    };
  });
}

/** The summary field each kind of goal compares (cpu: server µs per delivered message, lower is better). */
const FIELDS = { throughput: 'deliveredPerSec', memory: 'bytesPerConnection', accept: 'acceptPerSec', cpu: 'serverUsPerMessage' };

/** Each goal of the issue checked on the medians, for every subscriber count measured. */
export function checkGoals(summary) {
  const out = [];
  const find = (target, n) => summary.find((s) => s.target === target && s.subscribers === n);
  for (const n of [...new Set(summary.map((s) => s.subscribers))]) {
    for (const goal of GOALS) {
      const herald = find(goal.herald, n);
      const baseline = find(goal.baseline, n);
      if (herald === undefined || baseline === undefined) continue;
      const field = FIELDS[goal.metric];
      const ratio = herald[field] / baseline[field];
      const met = goal.min !== undefined ? ratio >= goal.min : ratio <= goal.max;
      // The same comparison by CPU: server CPU per delivered message (throughput), or server plus
      // client CPU per connection opened (accept: on this 2-core machine the clients and the server
      // share the cores, so the rate follows their total). Less sensitive to other load on the machine
      // and to the clients' own limits, so it tells a real shortfall from a noisy one.
      const cpuRatio =
        goal.metric === 'throughput'
          ? baseline.serverUsPerMessage / herald.serverUsPerMessage
          : goal.metric === 'accept' && herald.acceptCpuUs !== null && baseline.acceptCpuUs !== null
            ? baseline.acceptCpuUs / herald.acceptCpuUs
            : null;
      out.push({ subscribers: n, ...goal, heraldValue: herald[field], baselineValue: baseline[field], ratio, met, cpuRatio });
    }
  }
  return out;
}

const int = (v) => (v === null ? '-' : Math.round(v).toLocaleString('en-US'));
const dec = (v) => (v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(0));

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Markdown tables of the medians and the goals. */
export function formatReport(summary, goals) {
  const parts = [];
  for (const n of [...new Set(summary.map((s) => s.subscribers))]) {
    const rows = summary
      .filter((s) => s.subscribers === n)
      .map((s) => [
        s.target,
        int(s.deliveredPerSec),
        s.deliveredPerSecRuns.map((v) => `${Math.round(v / 1000)}k`).join(' '),
        `${(s.lostShare * 100).toFixed(2)} %`,
        dec(s.serverUsPerMessage),
        `${dec(s.maxLoadP50Ms)} / ${dec(s.maxLoadP99Ms)}`,
        `${dec(s.p50Ms)} / ${dec(s.p99Ms)}`,
        (s.bytesPerConnection / 1024).toFixed(1),
        int(s.acceptPerSec),
        s.acceptCpuUs === null ? '-' : `${int(s.acceptServerUs)} + ${int(s.acceptCpuUs - s.acceptServerUs)}`,
        dec(s.messagesPerResponse),
        dec(s.backgroundCores),
      ]);
    parts.push(
      `${n.toLocaleString('en-US')} subscribers (medians of ${summary[0].runs} run(s)):\n\n` +
        table(
          [
            'target',
            'delivered msg/s',
            'runs',
            'lost',
            'server µs/msg',
            'p50 / p99 ms at max',
            `p50 / p99 ms at ${int(summary[0].latencyLoad)} deliveries/s`,
            'KB RSS/conn',
            'conn/s',
            'µs/conn server + clients',
            'msg/response',
            'others (cores)',
          ],
          rows,
        ),
    );
  }
  if (goals.length > 0) {
    const rows = goals.map((g) => [
      g.subscribers.toLocaleString('en-US'),
      g.metric,
      `${g.herald} / ${g.baseline}`,
      g.ratio.toFixed(2),
      g.min !== undefined ? `≥ ${g.min}` : `≤ ${g.max}`,
      g.met ? 'met' : 'MISSED',
      g.cpuRatio === null ? '' : g.cpuRatio.toFixed(2),
    ]);
    parts.push(
      'Goals:\n\n' +
        table(
          [
            'subscribers',
            'metric',
            'ratio of',
            'ratio',
            'goal',
            'result',
            'ratio by CPU (server per msg; accept: server + clients per conn)',
          ],
          rows,
        ),
    );
  }
  return parts.join('\n\n');
}
