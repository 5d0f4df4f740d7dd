#!/usr/bin/env node
// Prints the tables of one or more result files of run.mjs, with medians over all their runs
// together (e.g. two sessions of --runs 3 give medians of 6).
// Usage: node bench/tools/report.mjs bench/results/fanout-….json [more.json …]
import { readFileSync } from 'node:fs';
import { checkGoals, formatReport, summarise } from '../lib/report.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: report.mjs RESULTS.json [RESULTS.json …]');
  process.exit(2);
}
const results = files.flatMap((file) => JSON.parse(readFileSync(file, 'utf8')).results);
const summary = summarise(results);
console.log(formatReport(summary, checkGoals(summary)));
