// A server process: runs one target and publishes into it on request. Started by run.mjs with
// --expose-gc, so memory is read after a full collection.
import { serve } from './lib/ipc.mjs';
import { ProgressReceiver } from './lib/progress.mjs';
import { runPublisher } from './lib/publisher.mjs';
import { TARGETS } from './lib/targets.mjs';

const name = process.argv[2];
const spec = TARGETS[name];
if (spec === undefined) throw new Error(`unknown target ${name}`);

let target;
const progress = new ProgressReceiver();

function rss() {
  // Two passes: the first may only schedule finalisers whose memory the second frees.
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

serve({
  async start({ historySize }) {
    const module = await import(`./targets/${spec.module}`);
    target = await module.start({ ...spec.options, historySize });
    return { port: target.port, progressPort: await progress.listen() };
  },
  rss: () => rss(),
  subscribers: () => target.subscribers(),
  publish({ phase, mode, rate, burst, window, durationMs, subscribers }) {
    progress.begin(phase);
    // Room for whole messages while at most `window` per subscriber are published but not yet received.
    const room = (published) => Math.floor(window - (published * subscribers - progress.received) / subscribers);
    return runPublisher({ publish: (data) => target.publish(data), room, mode, rate, burst, durationMs });
  },
  /** This process's CPU time so far, µs (user + system, all threads). */
  cpu() {
    const used = process.cpuUsage();
    return used.user + used.system;
  },
  status: () => ({ failures: target.failures() }),
});
