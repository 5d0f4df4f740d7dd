// The hub of `npm run bench:wire`: one Herald started in-process from the built server package, with
// the options the orchestrator passes (a delta namespace, compression settings), publishing on
// request. Started with --expose-gc so memory is read after a full collection.
import { serve } from './lib/ipc.mjs';
import { payloadFor } from './lib/wire-payloads.mjs';

const entry = process.env.HERALD_SERVER_ENTRY ?? new URL('../packages/server/dist/index.js', import.meta.url).href;
const { createHeraldServer } = await import(entry);

let herald;

/** RSS, and the JS heap plus memory outside it (buffers, zlib), after two full collections. */
function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heap: heapUsed + external };
}

serve({
  async start({ options }) {
    herald = createHeraldServer(options);
    return { port: await herald.listen(0, '127.0.0.1') };
  },
  /**
   * Publishes messages `from` … `from + count - 1` of `payload` on `channel`, each once the previous
   * one is stored and `interval` ms have passed.
   */
  async publish({ channel, payload, count, from, interval = 0 }) {
    for (let i = 0; i < count; i++) {
      if (i > 0 && interval > 0) await new Promise((resolve) => setTimeout(resolve, interval));
      await herald.hub.publish(channel, payloadFor(payload, from + i));
    }
    return true;
  },
  cpu() {
    const used = process.cpuUsage();
    return used.user + used.system;
  },
  memory: () => memory(),
  connections: () => herald.stats(),
  async stop() {
    await herald.close();
    return true;
  },
});
