import { readFileSync } from 'node:fs';
import type { BenchReport } from '../src/bench-command.js';

/** The report `herald bench --json FILE` wrote. */
export function readBenchReport(file: string): BenchReport {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
}
