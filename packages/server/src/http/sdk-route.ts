import type { Route } from './route.js';

/** `GET /sdk/herald-client.js`: the client SDK's browser bundle (`HeraldOptions.clientBundle`), readable from any origin. */
export function sdkRoute(bundle: string): Route {
  return {
    methods: 'GET,HEAD',
    // A page of any site may load the SDK from the hub it talks to; the bundle is public.
    anyOrigin: true,
    handle(_req, res) {
      res.writeHead(200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'no-cache',
        'Access-Control-Allow-Origin': '*',
      });
      res.end(bundle);
    },
  };
}
