// The hub process of bench/pusher.mjs: one Herald server with one Pusher app, on 127.0.0.1. Started
// with --expose-gc so RSS is read after a full collection. Publishes come over HTTP from the
// orchestrator (Herald's POST /api/publish, or the Pusher HTTP API), so both rows pay for parsing
// their publishes here.
import { serve } from './ipc.mjs';

const entry = process.env.HERALD_SERVER_ENTRY ?? new URL('../../packages/server/dist/index.js', import.meta.url).href;
const { createHeraldServer } = await import(entry);

let herald;

function rss() {
  // Two passes: the first may only schedule finalisers whose memory the second frees.
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

serve({
  async start({ app, historySize }) {
    herald = createHeraldServer({
      historySize,
      // A load client publishes far faster than a person: the defaults would refuse it.
      commandsPerSecond: 1e6,
      commandBurst: 1e6,
      pusher: { apps: [app] },
    });
    return { port: await herald.listen(0, '127.0.0.1') };
  },
  rss: () => rss(),
  /** Connections per transport (`websocket`, `pusher`, …). */
  stats: () => herald.stats(),
  /** This process's CPU time so far, µs (user + system, all threads). */
  cpu() {
    const used = process.cpuUsage();
    return used.user + used.system;
  },
});
