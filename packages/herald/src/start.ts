import { createHeraldServer, type HeraldServer, type Logger } from '@herald/server';
import { loadClientBundle, loadLandingPage } from './landing-page.js';
import type { StartOptions } from './start-options.js';

/** A started hub: the server plus the URL it answers on. */
export interface RunningHub {
  readonly server: HeraldServer;
  readonly url: string;
  readonly port: number;
}

/**
 * Starts a hub in the dev profile: memory engine, anyone may publish and subscribe, CORS open, the
 * landing page at `/` and the client SDK's browser bundle at `/sdk/herald-client.js`.
 */
export async function startHub(options: StartOptions, logger: Logger): Promise<RunningHub> {
  const bundle = loadClientBundle();
  if (bundle === undefined) logger.warn({}, 'the client SDK bundle is not built: /sdk/herald-client.js answers 404 (run npm run build)');
  const server = createHeraldServer({
    historySize: options.historySize,
    historyTtl: options.historyTtl,
    landingPage: loadLandingPage(),
    logger,
    routes: (req, res, url) => {
      if (url.pathname !== '/sdk/herald-client.js' || bundle === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache', 'Access-Control-Allow-Origin': '*' });
      res.end(bundle);
      return true;
    },
  });
  const port = await server.listen(options.port, options.host);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { server, port, url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}` };
}
