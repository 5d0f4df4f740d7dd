import type { Route } from './route.js';

/** `GET /`: the landing page (`HeraldServerOptions.landingPage`). */
export function landingRoute(html: string): Route {
  return {
    methods: 'GET,HEAD',
    handle(_req, res) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(html);
    },
  };
}
