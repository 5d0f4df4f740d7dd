// Hub processes a test run left behind. Every process the run starts inherits HERALD_TEST_RUN (set
// by scripts/test.mjs or vitest.config.ts; not a hub setting), so only this run's hubs are found,
// never those of another checkout or of someone's benchmark. Linux only (/proc).
import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable that marks a test run's processes. */
export const RUN_VARIABLE = 'HERALD_TEST_RUN';

const read = (path) => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

/** Whether `pid` is alive (a zombie counts as gone). */
const alive = (pid) => {
  const stat = read(`/proc/${pid}/stat`)?.toString();
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
};

/** Whether a command line runs `herald start`: the CLI itself, or npx/npm starting it. */
const isHub = (args) =>
  args.includes('start') && args.some((arg) => arg.endsWith('herald.js') || arg.endsWith('/.bin/herald') || arg === 'herald');

/** Live processes of run `runId` that run `herald start`: `{ pid, command }`. */
export function findLeftoverHubs(runId) {
  const marker = `${RUN_VARIABLE}=${runId}`;
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const environ = read(`/proc/${pid}/environ`);
    if (environ === undefined || !environ.toString().split('\0').includes(marker)) continue;
    const args = (read(`/proc/${pid}/cmdline`)?.toString() ?? '').split('\0').filter(Boolean);
    if (isHub(args) && alive(pid)) found.push({ pid, command: args.join(' ') });
  }
  return found;
}

/**
 * Waits up to `graceMs` for the run's hubs to go (test processes kill theirs as they exit), then
 * SIGKILLs every one left, prints each to stderr, and returns how many there were.
 */
export async function reapLeftoverHubs(runId, graceMs = 3000) {
  const deadline = Date.now() + graceMs;
  let left = findLeftoverHubs(runId);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = findLeftoverHubs(runId);
  }
  for (const { pid, command } of left) {
    process.stderr.write(`\nLEFT BEHIND: hub process ${pid} outlived the tests that started it (killed): ${command}\n`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  return left.length;
}
