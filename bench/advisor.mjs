#!/usr/bin/env node
// The transport advisor's seven presets, run after run: `herald bench --preset <p> --json` N times
// each, one after another, at each preset's default size. Per preset it prints the wall time of each
// run, the answer of each run, and the median over runs of each transport's figures, as the Markdown
// table docs/choosing-a-transport.md shows; it checks that every run of a preset gives the same
// answer, loses nothing and takes under two minutes, and exits 1 when one does not.
//
//   npm run build && node bench/advisor.mjs [--runs 3] [--presets chat,game] [--proxy nginx]
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PRESETS = ['chat', 'notifications', 'dashboard', 'flash-sale', 'feed', 'game', 'collab'];
const LIMIT_MS = 120_000;
const HELP = `usage: node bench/advisor.mjs [--runs N] [--presets LIST] [--proxy KIND] [--out FILE]

Runs \`herald bench --preset P --json\` N times for each preset (default: all seven, 3 runs) with
the built CLI; writes the Markdown summary to --out (default bench/results/advisor-<time>.md).
--proxy is passed to herald bench (nginx, nginx-no-upgrade, nginx-buffering).`;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    presets: { type: 'string', default: PRESETS.join(',') },
    proxy: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new RangeError('--runs must be an integer ≥ 1');
const presets = values.presets.split(',');
for (const p of presets) if (!PRESETS.includes(p)) throw new RangeError(`--presets: unknown preset "${p}" (${PRESETS.join(', ')})`);

const bin = fileURLToPath(new URL('../packages/herald/bin/herald.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'herald-advisor-'));
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (n) => n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) < 1 ? 2 : 1 });
const LABELS = { websocket: 'WebSocket', sse: 'SSE', 'long-polling': 'long-polling', 'short-polling': 'short polling' };

/** One `herald bench` run; resolves with its report and wall time. */
function bench(preset, run) {
  const json = join(dir, `${preset}-${run}.json`);
  const args = [bin, 'bench', '--preset', preset, '--json', json, ...(values.proxy ? ['--proxy', values.proxy] : [])];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0 && code !== 2) return reject(new Error(`herald bench --preset ${preset} exited ${code}: ${stderr.trim()}`));
      resolve({ report: JSON.parse(readFileSync(json, 'utf8')), ms, code });
    });
  });
}

const lines = [];
const problems = [];
const notes = [];
const summary = [];
const when = new Date();
lines.push(
  `# herald bench presets, ${runs} run${runs === 1 ? '' : 's'} each${values.proxy ? `, through --proxy ${values.proxy}` : ''}`,
  '',
);
lines.push(
  `Measured ${when.toISOString()} with \`node bench/advisor.mjs --runs ${runs}${values.proxy ? ` --proxy ${values.proxy}` : ''}\`; figures are medians over the runs.`,
  '',
);
for (const preset of presets) {
  const results = [];
  for (let run = 1; run <= runs; run++) {
    process.stderr.write(`advisor: ${preset} run ${run}/${runs}…`);
    let result;
    try {
      result = await bench(preset, run);
    } catch (error) {
      process.stderr.write(' failed\n');
      problems.push(`${preset}: run ${run}: ${error.message}`);
      continue;
    }
    results.push(result);
    process.stderr.write(` ${result.report.recommendation.transport ?? 'none'} in ${(result.ms / 1000).toFixed(1)} s\n`);
  }
  if (results.length === 0) continue;
  const answers = results.map((r) => r.report.recommendation.transport);
  if (new Set(answers).size !== 1) problems.push(`${preset}: answers differ between runs: ${answers.join(', ')}`);
  for (const r of results) {
    if (r.ms > LIMIT_MS) problems.push(`${preset}: a run took ${(r.ms / 1000).toFixed(1)} s (limit ${LIMIT_MS / 1000} s)`);
    for (const t of r.report.transports) if (t.messages.lost > 0) problems.push(`${preset}: ${t.transport} lost ${t.messages.lost}`);
    // Without a proxy every transport must work; through one, a transport that does not is the finding.
    if (!values.proxy) for (const f of r.report.failed) problems.push(`${preset}: ${f.transport} did not work: ${f.reason}`);
  }
  const profile = results[0].report.profile;
  const seconds = results.map((r) => r.ms / 1000);
  summary.push(
    `| ${preset} | ${profile.clients} clients, ${profile.channels} channel${profile.channels === 1 ? '' : 's'}, ${fmt(profile.publishRate)} msg/s, ${profile.messageSize} B, clients send ${fmt(profile.clientRate)}/s | ${answers.map((a) => LABELS[a] ?? 'none').join(', ')} | ${fmt(median(seconds))} s (max ${fmt(Math.max(...seconds))}) |`,
  );
  lines.push(`## ${preset}`, '');
  lines.push(
    `Answers: ${answers.map((a) => LABELS[a] ?? 'none').join(', ')}; wall time per run: ${seconds.map((s) => `${fmt(s)} s`).join(', ')}.`,
    '',
  );
  lines.push('| transport | p50 ms | p95 ms | p99 ms | down B/client/min | up B/client/min | requests/min | lost |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const transport of Object.keys(LABELS)) {
    const of = results.map((r) => r.report.transports.find((t) => t.transport === transport)).filter(Boolean);
    const reasons = [...new Set(results.flatMap((r) => r.report.failed.filter((f) => f.transport === transport).map((f) => f.reason)))];
    if (of.length === 0) {
      lines.push(`| ${LABELS[transport]} | did not work: ${reasons.join('; ')} |`);
      continue;
    }
    if (of.length < results.length)
      notes.push(
        `${preset}: ${LABELS[transport]} worked in ${of.length} of ${results.length} runs (medians over those); otherwise: ${reasons.join('; ')}`,
      );
    const m = (pick) => fmt(median(of.map(pick)));
    const lost = of.reduce((sum, t) => sum + t.messages.lost, 0);
    const expected = of.reduce((sum, t) => sum + t.messages.expected, 0);
    lines.push(
      `| ${LABELS[transport]} | ${m((t) => t.latencyMs.p50)} | ${m((t) => t.latencyMs.p95)} | ${m((t) => t.latencyMs.p99)} | ${m((t) => t.bytesPerClientPerMinute.serverToClient)} | ${m((t) => t.bytesPerClientPerMinute.clientToServer)} | ${m((t) => t.requestsPerMinute)} | ${fmt(lost)}/${fmt(expected)} |`,
    );
  }
  lines.push('');
}
lines.splice(4, 0, '| preset | workload | answer of each run | wall time per run (median) |', '| --- | --- | --- | --- |', ...summary, '');
if (notes.length > 0) lines.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
if (problems.length > 0) lines.push('## Problems', '', ...problems.map((p) => `- ${p}`), '');
const out = values.out ?? fileURLToPath(new URL(`./results/advisor-${when.toISOString().replace(/[:.]/g, '-')}.md`, import.meta.url));
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, lines.join('\n'));
rmSync(dir, { recursive: true, force: true });
console.log(lines.join('\n'));
console.error(`advisor: written to ${out}`);
if (problems.length > 0) {
  console.error(`advisor: ${problems.length} problem(s):\n${problems.join('\n')}`);
  process.exit(1);
}
