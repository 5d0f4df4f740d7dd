import type { Reporter, TestModule } from 'vitest/node';
import { reapLeftoverHubs, RUN_VARIABLE } from './leftover-hubs.mjs';

/**
 * Prints one plain final line, `N passed, N failed`, that CI reads. A hub process this run started
 * and left running is killed, printed, and counts as one failure.
 */
export default class SummaryReporter implements Reporter {
  async onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): Promise<void> {
    let passed = 0;
    let failed = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
      }
      // A file that failed without a failed test (it did not load, or a beforeAll hook threw and its
      // tests were skipped) counts as one failure.
      if (module.state() === 'failed' && ![...module.children.allTests()].some((test) => test.result().state === 'failed')) failed++;
    }
    failed += unhandledErrors.length;
    const runId = process.env[RUN_VARIABLE];
    const left = runId === undefined ? 0 : await reapLeftoverHubs(runId);
    if (left > 0) {
      failed += left;
      process.exitCode = 1;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  }
}
