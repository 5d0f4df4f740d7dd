import { createHash } from 'node:crypto';
import type { Route } from './route.js';

/**
 * `GET /sdk/<file>`: a browser bundle of the client SDK (`HeraldOptions.clientBundle`,
 * `clientShareBundle`, `clientBundles`), readable from any origin. `Cache-Control: no-cache` with an
 * `ETag` (the bundle's SHA-256): a browser asks again each time and gets `304` while the hub serves
 * the same bundle, so an upgraded hub's next page load gets the new one.
 */
export function sdkRoute(bundle: string): Route {
  const body = Buffer.from(bundle);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const headers = {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': 'no-cache',
    'Access-Control-Allow-Origin': '*',
    ETag: etag,
  };
  return {
    methods: 'GET,HEAD',
    // A page of any site may load the SDK from the hub it talks to; the bundle is public.
    anyOrigin: true,
    handle(req, res) {
      if (matchesEtag(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}

/** Whether an `If-None-Match` header names `etag` (or is `*`); weak forms (`W/"…"`) match too. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
