import type { Route } from './route.js';

/** `GET /`: the landing page (`HeraldOptions.landingPage`). */
export function landingRoute(html: string): Route {
  return {
    methods: 'GET,HEAD',
    handle(_req, res) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(html);
    },
  };
}

/**
 * The mount path itself (`/realtime`): `308` to `/realtime/` with the same query, where the landing
 * page's relative URLs (`api/messages`, `events`, `ws`, `sdk/herald-client.js`) resolve under the
 * mount path.
 */
export const landingRedirectRoute: Route = {
  methods: 'GET,HEAD',
  handle(req, res, { cors }) {
    const target = req.url ?? '/';
    const query = target.indexOf('?');
    const location = query === -1 ? `${target}/` : `${target.slice(0, query)}/${target.slice(query)}`;
    res.writeHead(308, { ...cors, Location: location, 'Content-Length': '0' });
    res.end();
  },
};
