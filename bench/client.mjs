// A client process: opens its share of the subscribers and meters what they receive. run.mjs starts
// one per `--per-client` connections, so client work can spread over both cores.
import { connectPool } from './lib/connect-pool.mjs';
import { serve } from './lib/ipc.mjs';
import { Meter } from './lib/meter.mjs';
import { ProgressSender } from './lib/progress.mjs';
import { TARGETS } from './lib/targets.mjs';

let meter;
const state = { stopped: false };

/** Opens `count` connections, at most `concurrency` handshakes at a time (the listen backlog is finite). */
async function connectAll({ target, port, progressPort, index, count, first, sampleEvery, concurrency }) {
  meter = new Meter(new ProgressSender(progressPort, index));
  const spec = TARGETS[target];
  const client = await import(`./clients/${spec.client}.mjs`);
  const agent = client.createAgent?.();
  return connectPool(count, concurrency, (k) =>
    client.connect({ port, subscribe: spec.subscribe === true, sampled: (first + k) % sampleEvery === 0, meter, agent, state }),
  );
}

serve({
  connect: (message) => connectAll(message),
  reset({ phase }) {
    meter.reset(phase);
    return true;
  },
  progress: () => ({ received: meter.received, closed: meter.closed }),
  report: () => meter.report(),
});
