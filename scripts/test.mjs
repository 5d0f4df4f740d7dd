#!/usr/bin/env node
// `npm test`: check what the tests need (programs, a Redis and a NATS: scripts/prerequisites.mjs), build every package (the
// CLI tests run the built hub), type-check sources and tests, lint, then run every test. The last line printed is
// always `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { reapLeftoverHubs, RUN_VARIABLE } from './leftover-hubs.mjs';
import { ensurePrerequisites } from './prerequisites.mjs';

// Before anything is built: a missing program stops the run at once, not as a wall of failed tests.
try {
  const services = await ensurePrerequisites(process.env);
  // Synchronous, so it also runs when a step below exits.
  process.once('exit', services.stop);
} catch (error) {
  console.error(`\n${error instanceof Error ? error.message : String(error)}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const run = (command, args) => spawnSync(command, args, { stdio: 'inherit', shell: false }).status ?? 1;
const steps = [
  ['build', 'npm', ['run', '--silent', 'build']],
  // Tests are type-checked too: each package's tsconfig.json covers src and test.
  ...['protocol', 'server', 'redis', 'sqlite', 'nats', 'client', 'backend', 'react', 'testkit', 'herald']
    .map((pkg) => `packages/${pkg}`)
    .concat(['apps/demo'])
    .map((dir) => [`typecheck ${dir}`, 'npx', ['tsc', '-p', `${dir}/tsconfig.json`]]),
  ['lint', 'npx', ['eslint', '--max-warnings', '0', '.']],
  ['format', 'npx', ['prettier', '--check', '--log-level', 'warn', '.']],
];
for (const [name, command, args] of steps) {
  if (run(command, args) !== 0) {
    console.error(`\n${name} failed`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
// Marks every process of the run. The summary reporter fails the run on a hub left behind; this
// check after vitest catches the ones left when vitest itself did not get to report.
process.env[RUN_VARIABLE] = randomUUID();
const status = run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
const left = await reapLeftoverHubs(process.env[RUN_VARIABLE], 3000);
if (left > 0) {
  console.error(`\n${left} hub process(es) outlived the test run (killed, listed above)`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
process.exit(status);
