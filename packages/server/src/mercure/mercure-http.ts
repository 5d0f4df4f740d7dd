import type { IncomingMessage, ServerResponse } from 'node:http';

/** The hub's path, from the well-known URI. */
export const MERCURE_PATH = '/.well-known/mercure';

/** The `Link` header that advertises the hub (discovery), relative to the request's own URL. */
export function discoveryLink(req: IncomingMessage): string {
  const path = new URL(req.url ?? '/', 'http://hub').pathname;
  const at = path.indexOf(MERCURE_PATH);
  const hub = at === -1 ? MERCURE_PATH : path.slice(0, at + MERCURE_PATH.length);
  return `<${hub}>; rel="mercure"`;
}

/** A Mercure error: plain text, as Mercure hubs answer; 401 carries the `WWW-Authenticate: Bearer` challenge. */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  const extra: Record<string, string> = status === 401 ? { 'WWW-Authenticate': 'Bearer realm="mercure"' } : {};
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra, ...headers });
  res.end(text);
}
