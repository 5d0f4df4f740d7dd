import { createServer } from 'node:http';
import { envelope } from '../lib/envelope.mjs';
import { CHANNEL } from '../lib/payload.mjs';
import { listen } from './listen.mjs';

const LIMIT = 1000;

/**
 * Baseline: raw long polling over `node:http`, with Herald's API shape: `GET /api/messages?since=N&wait=S`
 * answers at once with the messages after N (at most 1000, from a window of `historySize`), or holds
 * the request until the next message or S seconds. A message wakes every held request with one body
 * built once.
 */
export async function start({ historySize }) {
  const log = [];
  let top = 0;
  const held = new Set();

  const send = (res, body) => {
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(body);
  };
  const bodyAfter = (since) => {
    const oldest = top - log.length + 1;
    const from = Math.max(since + 1, oldest);
    const items = log.slice(from - oldest, from - oldest + LIMIT);
    return `{"messages":[${items.join(',')}],"cursor":"${from - 1 + items.length}"}`;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://bench.invalid');
    if (url.pathname !== '/api/messages') return res.writeHead(404).end();
    const sinceText = url.searchParams.get('since');
    const since = sinceText === null ? 0 : Number(sinceText);
    const wait = Number(url.searchParams.get('wait') ?? 0);
    if (since < top || wait <= 0) return send(res, bodyAfter(since));
    const entry = { res, timer: undefined };
    entry.timer = setTimeout(() => {
      held.delete(entry);
      send(res, bodyAfter(since));
    }, wait * 1000);
    held.add(entry);
    res.on('close', () => {
      clearTimeout(entry.timer);
      held.delete(entry);
    });
  });

  return {
    port: await listen(server),
    publish(data) {
      const text = envelope(CHANNEL, ++top, JSON.stringify(data));
      log.push(text);
      if (log.length > historySize) log.shift();
      if (held.size === 0) return;
      // Every held request stood at the previous top, so they all get the same one-message body.
      const body = Buffer.from(`{"messages":[${text}],"cursor":"${top}"}`);
      for (const entry of held) {
        clearTimeout(entry.timer);
        send(entry.res, body);
      }
      held.clear();
    },
    subscribers: () => held.size,
    failures: () => 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
