import { createHeraldServer, type HeraldServer, type Logger } from '@herald/server';
import { loadLandingPage } from './landing-page.js';
import type { StartOptions } from './start-options.js';

/** A started hub: the server plus the URL it answers on. */
export interface RunningHub {
  readonly server: HeraldServer;
  readonly url: string;
  readonly port: number;
}

/**
 * Starts a hub in the dev profile: memory engine, anyone may publish and subscribe, CORS open, the
 * landing page at `/`.
 */
export async function startHub(options: StartOptions, logger: Logger): Promise<RunningHub> {
  const server = createHeraldServer({
    historySize: options.historySize,
    historyTtl: options.historyTtl,
    allowOrigin: '*',
    landingPage: loadLandingPage(),
    logger,
  });
  const port = await server.listen(options.port, options.host);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { server, port, url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}` };
}
