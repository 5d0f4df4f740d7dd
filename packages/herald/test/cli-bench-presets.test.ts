import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_PRESETS, type BenchPresetName } from '../src/bench-profile.js';
import { recommend } from '../src/bench-recommendation.js';
import { readBenchReport } from './bench-report.js';
import { killAll, runCli, tempDir } from './cli-process.js';

/** The advice docs/choosing-a-transport.md gives per preset, read from its short-answer table. */
function documentedAnswers(): Record<string, string> {
  const doc = readFileSync(new URL('../../../docs/choosing-a-transport.md', import.meta.url), 'utf8');
  const answers: Record<string, string> = {};
  const anchors: Record<string, BenchPresetName> = { collaboration: 'collab' };
  for (const match of doc.matchAll(/^\| \[[^\]]+\]\(#([a-z-]+)\) \|.*\| \*\*(SSE|WebSocket)\*\*/gm)) {
    const preset = anchors[match[1]!] ?? match[1]!;
    answers[preset] = match[2] === 'SSE' ? 'sse' : 'websocket';
  }
  return answers;
}

/**
 * Runs per preset: 1 in `npm test` (about 15–20 s a run here); the stability check, that the answer
 * is the same run after run, takes `HERALD_BENCH_PRESET_RUNS=3` (see the README).
 */
const RUNS = Math.max(1, Number(process.env['HERALD_BENCH_PRESET_RUNS'] ?? 1) || 1);

// Every preset at its default size, RUNS times.
describe('herald bench presets', () => {
  afterAll(killAll);
  const documented = documentedAnswers();

  it('the transport guide gives an answer for every preset', () => {
    expect(Object.keys(documented).sort()).toEqual(Object.keys(BENCH_PRESETS).sort());
  });

  for (const preset of Object.keys(BENCH_PRESETS) as BenchPresetName[]) {
    it(`${preset}: the same answer run after run, the one the guide gives, and each follows from its figures`, async () => {
      const answers: (string | null)[] = [];
      for (let run = 0; run < RUNS; run++) {
        const json = join(tempDir(), `${preset}-${run}.json`);
        const result = await runCli(['bench', '--preset', preset, '--json', json]);
        expect(result.status, result.stderr).toBe(0);
        const report = readBenchReport(json);
        expect(report.failed).toEqual([]);
        for (const transport of report.transports) expect(transport.messages.lost, transport.transport).toBe(0);
        // The advice is the rule applied to this run's own figures, reasons and all.
        expect(report.recommendation).toEqual(recommend(report.profile, report.transports, report.failed));
        answers.push(report.recommendation.transport);
      }
      expect(answers).toEqual(Array.from({ length: RUNS }, () => documented[preset]));
    }, 150_000);
  }
});
