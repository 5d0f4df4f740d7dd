#!/usr/bin/env node
// `npm test`: type-check and build every package (the CLI tests run the built hub), lint, then run
// every test. The last line printed is always `N passed, N failed`.
import { spawnSync } from 'node:child_process';

const run = (command, args) => spawnSync(command, args, { stdio: 'inherit', shell: false }).status ?? 1;
const steps = [
  ['build', 'npx', ['tsc', '-b', 'packages/herald/tsconfig.build.json', 'packages/testkit/tsconfig.build.json', 'packages/client/tsconfig.build.json']],
  ['lint', 'npx', ['eslint', '--max-warnings', '0', '.']],
];
for (const [name, command, args] of steps) {
  if (run(command, args) !== 0) {
    console.error(`\n${name} failed`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
process.exit(run('npx', ['vitest', 'run', ...process.argv.slice(2)]));
