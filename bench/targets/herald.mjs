import { CHANNEL } from '../lib/payload.mjs';

// run.mjs points this at its copy of the build (see lib/build-snapshot.mjs).
const entry = process.env.HERALD_SERVER_ENTRY ?? new URL('../../packages/server/dist/index.js', import.meta.url).href;
const { createHeraldServer } = await import(entry);

/**
 * Herald itself, started in-process from the built server package with its defaults (memory
 * engine, 1 MiB send queue per session). Messages are published through `hub.publish`, the same path
 * `POST /api/publish` ends in, so the measurement is fan-out and not HTTP parsing of publishes.
 */
export async function start({ transport, historySize }) {
  const herald = createHeraldServer({ historySize });
  const port = await herald.listen(0, '127.0.0.1');
  let failures = 0;
  const onFailure = () => failures++;
  return {
    port,
    publish(data) {
      herald.hub.publish(CHANNEL, data).catch(onFailure);
    },
    subscribers() {
      const stats = herald.stats();
      return transport === 'ws' ? stats.websocket : transport === 'sse' ? stats.sse : stats.polling;
    },
    failures: () => failures,
    close: () => herald.close(),
  };
}
