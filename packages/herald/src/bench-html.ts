import type { BenchReport } from './bench-command.js';
import type { BenchTransport } from './bench-profile.js';
import type { BenchTransportResult } from './bench-result.js';

/** The colour of each transport in the report, the landing page's own. */
const COLOURS: Record<BenchTransport, string> = {
  websocket: '#4f5bd5',
  sse: '#0f9488',
  'long-polling': '#c98a00',
  'short-polling': '#e3b65c',
};

const LABELS: Record<BenchTransport, string> = {
  websocket: 'WebSocket',
  sse: 'SSE',
  'long-polling': 'Long-polling',
  'short-polling': 'Short polling',
};

/** What no measurement on one machine shows, and the report always says. */
export const BENCH_CAVEATS: readonly string[] = [
  'Over HTTP/1.1 a browser opens at most six connections per host: each SSE stream holds one for as long as the tab lives, so a user with seven tabs open stalls. Serve SSE over HTTP/2 (or HTTP/3), where streams share one connection, or keep one stream per browser.',
  'Some proxies and corporate gateways buffer responses (SSE and long-polling answers arrive late, in bursts) or refuse the WebSocket upgrade. Measure through nginx with --proxy (nginx, nginx-no-upgrade, nginx-buffering) or through your own proxy with --client-url; the Herald client falls back from WebSocket to SSE to polling by itself.',
  'On mobile networks every request wakes the radio, which then stays powered for seconds: short polling every second keeps it on and drains the battery; one long-lived connection idles between messages.',
  'These figures come from one machine over loopback, with the clients in one process: they compare the transports with each other; they are not the latency or throughput of a real network.',
];

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

const BAR_H = 16;
const LABEL_W = 150;
const CHART_W = 720;

interface Bar {
  readonly label: string;
  readonly value: number;
  readonly colour: string;
  readonly opacity: number;
  readonly text: string;
}

interface Group {
  readonly name: string;
  readonly bars: readonly Bar[];
}

/** A horizontal grouped bar chart; `log` draws a base-10 axis from 0.1 (latencies spread over four decades). */
function barChart(title: string, groups: readonly Group[], unit: string, log: boolean): string {
  const plotW = CHART_W - LABEL_W - 150;
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const lo = 0.1;
  // A linear axis ends on a round step of 1, 2 or 5 times a power of ten, in four steps or fewer.
  const magnitude = 10 ** Math.floor(Math.log10(max / 4));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s * 4 >= max) ?? 10 * magnitude;
  const hi = log ? 10 ** Math.ceil(Math.log10(max)) : Math.ceil(max / step) * step;
  const x = (v: number): number => (log ? (Math.log10(Math.max(lo, v) / lo) / Math.log10(hi / lo)) * plotW : (Math.max(0, v) / hi) * plotW);
  const groupH = (n: number): number => n * (BAR_H + 3) + 14;
  const height = 20 + groups.reduce((h, g) => h + groupH(g.bars.length), 0) + 22;
  const parts: string[] = [];
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : Array.from({ length: Math.round(hi / step) + 1 }, (_, i) => i * step);
  for (const t of ticks) {
    const tx = LABEL_W + x(t);
    parts.push(`<line x1="${tx}" y1="14" x2="${tx}" y2="${height - 20}" class="grid"/>`);
    parts.push(`<text x="${tx}" y="${height - 6}" class="tick" text-anchor="middle">${fmt(t)}</text>`);
  }
  let y = 20;
  for (const g of groups) {
    const h = groupH(g.bars.length);
    parts.push(`<text x="${LABEL_W - 10}" y="${y + (h - 14) / 2 + 4}" class="group" text-anchor="end">${escape(g.name)}</text>`);
    for (const b of g.bars) {
      const w = Math.max(1.5, x(b.value));
      parts.push(
        `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" rx="3" fill="${b.colour}" fill-opacity="${b.opacity}"><title>${escape(`${g.name} ${b.label}: ${b.text}`)}</title></rect>`,
        `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H - 4}" class="value">${escape(b.label ? `${b.label} ${b.text}` : b.text)}</text>`,
      );
      y += BAR_H + 3;
    }
    y += 14;
  }
  return `<figure><figcaption>${escape(title)} <span class="unit">${escape(unit)}${log ? ', log scale' : ''}</span></figcaption><svg viewBox="0 0 ${CHART_W} ${height}" width="100%" role="img" aria-label="${escape(title)}">${parts.join('')}</svg></figure>`;
}

function latencyChart(results: readonly BenchTransportResult[]): string {
  return barChart(
    'Delivery latency, p50 / p95 / p99',
    results.map((r) => ({
      name: LABELS[r.transport],
      bars: (['p50', 'p95', 'p99'] as const).map((p, i) => ({
        label: p,
        value: r.latencyMs[p],
        colour: COLOURS[r.transport],
        opacity: 1 - i * 0.3,
        text: `${fmt(r.latencyMs[p])} ms`,
      })),
    })),
    'ms',
    true,
  );
}

function bandwidthChart(results: readonly BenchTransportResult[]): string {
  return barChart(
    'Bandwidth per client per minute',
    results.map((r) => ({
      name: LABELS[r.transport],
      bars: [
        {
          label: 'down',
          value: r.bytesPerClientPerMinute.serverToClient,
          opacity: 1,
          text: `${fmt(r.bytesPerClientPerMinute.serverToClient)} B`,
        },
        {
          label: 'up',
          value: r.bytesPerClientPerMinute.clientToServer,
          opacity: 0.45,
          text: `${fmt(r.bytesPerClientPerMinute.clientToServer)} B`,
        },
      ].map((b) => ({ ...b, colour: COLOURS[r.transport] })),
    })),
    'bytes, headers and framing included',
    false,
  );
}

function requestsChart(results: readonly BenchTransportResult[]): string {
  return barChart(
    'HTTP requests per minute, all clients',
    results.map((r) => ({
      name: LABELS[r.transport],
      bars: [{ label: '', value: r.requestsPerMinute, colour: COLOURS[r.transport], opacity: 1, text: fmt(r.requestsPerMinute) }],
    })),
    'a WebSocket upgrade counts as one',
    false,
  );
}

function table(results: readonly BenchTransportResult[], failed: BenchReport['failed']): string {
  const rows = results
    .map(
      (r) =>
        `<tr><th scope="row"><span class="dot" style="background:${COLOURS[r.transport]}"></span>${LABELS[r.transport]}</th><td>${fmt(r.latencyMs.p50)}</td><td>${fmt(r.latencyMs.p95)}</td><td>${fmt(r.latencyMs.p99)}</td><td>${fmt(r.bytesPerClientPerMinute.serverToClient)}</td><td>${fmt(r.bytesPerClientPerMinute.clientToServer)}</td><td>${fmt(r.requestsPerMinute)}</td><td class="${r.messages.lost > 0 ? 'bad' : ''}">${fmt(r.messages.lost)} / ${fmt(r.messages.expected)}</td></tr>`,
    )
    .join('');
  const failures = failed
    .map(
      (f) =>
        `<tr><th scope="row"><span class="dot" style="background:${COLOURS[f.transport]}"></span>${LABELS[f.transport]}</th><td class="bad failed" colspan="7">did not work: ${escape(f.reason)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th></th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>down B/client/min</th><th>up B/client/min</th><th>requests/min</th><th>lost</th></tr></thead><tbody>${rows}${failures}</tbody></table>`;
}

const STYLE = `
:root{--bg:#f6f7f9;--surface:#fff;--surface-2:#f1f3f6;--border:#dfe3e8;--text:#1b1f24;--muted:#5f6b7a;--faint:#8a95a3;--accent:#3b5bdb;--bad:#d64545;--radius:10px;
--shadow:0 1px 2px rgba(16,24,40,.05),0 1px 3px rgba(16,24,40,.06);--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace;
--sans:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 var(--sans)}
main{max-width:900px;margin:0 auto;padding:28px 20px 48px}
header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:var(--muted)}
.card{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);box-shadow:var(--shadow);padding:18px 20px;margin-top:18px}
.card h2{margin:0 0 10px;font-size:17px}
.verdict{border-left:4px solid var(--accent)}.verdict .pick{font-size:20px;font-weight:650}
ul{margin:8px 0 0;padding-left:20px}li{margin:4px 0}
code,.mono{font-family:var(--mono);font-size:13px}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:6px 8px;border-bottom:1px solid var(--border);text-align:right;white-space:nowrap}
th:first-child{text-align:left}thead th{color:var(--muted);font-weight:600;font-size:13px}td.bad{color:var(--bad);font-weight:600}td.failed{text-align:left;white-space:normal}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:8px}
.table-scroll{overflow-x:auto}
figure{margin:0}figcaption{font-weight:600;margin-bottom:6px}.unit{color:var(--muted);font-weight:400;font-size:13px}
svg .grid{stroke:var(--border);stroke-width:1}svg .tick{fill:var(--faint);font:11px var(--sans)}
svg .group{fill:var(--text);font:600 13px var(--sans)}svg .value{fill:var(--muted);font:12px var(--sans)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:var(--muted)}dd{margin:0}
footer{margin-top:18px;color:var(--faint);font-size:13px}
`;

/** The self-contained HTML page of `herald bench --html`: no external resource, charts as inline SVG. */
export function benchHtml(report: BenchReport, generatedAt: Date): string {
  const p = report.profile;
  const r = report.recommendation;
  const workload: [string, string][] = [
    ['preset', report.preset],
    ['clients', `${fmt(p.clients)} over ${fmt(p.channels)} channel${p.channels === 1 ? '' : 's'}`],
    ['publishing', `${fmt(p.publishRate)} messages/s per channel, ${fmt(p.messageSize)} B each, for ${fmt(p.duration)} s per transport`],
    ['clients send', `${fmt(p.clientRate)} messages/s each`],
    ['short polling', `every ${fmt(p.pollInterval)} ms`],
    ['proxy', report.proxy === null ? 'none: the clients connect to the hub' : report.proxy.note],
    ['hub', `${report.hub.engine} engine, measured ${generatedAt.toISOString().slice(0, 19).replace('T', ' ')} UTC`],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>herald bench: ${escape(report.preset)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><h1>herald bench: ${escape(report.preset)}</h1><p>WebSocket, SSE, long-polling and short polling, one after another on the same workload.</p></header>
<section class="card verdict" aria-labelledby="verdict"><h2 id="verdict">Recommendation</h2>
<p class="pick">${r.transport === null ? 'None: no transport delivered every message' : escape(LABELS[r.transport])}</p>
<ul>${r.reasons.map((reason) => `<li>${escape(reason)}</li>`).join('')}</ul></section>
<section class="card" aria-labelledby="workload"><h2 id="workload">Workload</h2><dl>${workload.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join('')}</dl></section>
<section class="card" aria-labelledby="figures"><h2 id="figures">Figures</h2><div class="table-scroll">${table(report.transports, report.failed)}</div></section>
<section class="card">${latencyChart(report.transports)}</section>
<section class="card">${bandwidthChart(report.transports)}</section>
<section class="card">${requestsChart(report.transports)}</section>
<section class="card" aria-labelledby="caveats"><h2 id="caveats">What this run does not show</h2><ul>${BENCH_CAVEATS.map((c) => `<li>${escape(c)}</li>`).join('')}</ul></section>
<footer>Generated by <span class="mono">herald bench --html</span>. Latency: publish time carried in each message to receive time, one clock. Bytes: every client socket, headers and framing included.</footer>
</main>
</body>
</html>
`;
}
