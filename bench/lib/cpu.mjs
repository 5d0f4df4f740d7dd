import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

// The machine is shared with other work. These readings of /proc tell how much CPU *other* processes
// took, so a measurement disturbed by them can be recognised and repeated. Where /proc does not exist
// every reading is null and the benchmark runs without the check.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const CORES = cpus().length;

function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** CPU time a process has used so far (user + system), in clock ticks (1/100 s on Linux); 0 if unknown. */
export function processTicks(pid) {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** CPU (in cores) used by processes other than `pids` between `start()` and `stop()`. */
export class BackgroundCpu {
  #pids;
  #machine;
  #own;

  constructor(pids) {
    this.#pids = pids;
  }

  start() {
    this.#machine = machineTicks();
    this.#own = this.#pids.reduce((sum, pid) => sum + processTicks(pid), 0);
  }

  /** Cores used by others since `start()`, or null without /proc. */
  stop() {
    const machine = machineTicks();
    if (machine === undefined || this.#machine === undefined || machine.total === this.#machine.total) return null;
    const own = this.#pids.reduce((sum, pid) => sum + processTicks(pid), 0) - this.#own;
    const others = machine.busy - this.#machine.busy - own;
    return Math.max(0, (others / (machine.total - this.#machine.total)) * CORES);
  }
}

/**
 * Before a measurement (when none of the benchmark's processes run), waits up to `maxWaitMs` for other
 * work to use less than `maxCores`. Resolves with the last reading (cores), or null without /proc.
 */
export async function waitForQuiet(maxCores, maxWaitMs) {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const meter = new BackgroundCpu([]);
    meter.start();
    await sleep(1000);
    const busy = meter.stop();
    if (busy === null || busy <= maxCores || Date.now() >= deadline) return busy;
  }
}
