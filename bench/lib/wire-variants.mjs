// The wire formats `npm run bench:wire` compares. Each variant: its transport (`ws`, `sse`, `poll`),
// what the client asks for (WebSocket subprotocol, permessage-deflate, query parameters,
// Accept-Encoding, subscribe fields), the channel namespace it uses, and the hub options it needs
// (merged over every variant of a run). `<transport>-json` is each transport's baseline.
/** Deltas on the `live` namespace (the hub's option), which the delta variants' clients ask for. */
const DELTA = { namespace: 'live', server: { deltaNamespaces: ['live'] } };
const DELTA_WS = { ...DELTA, subscribe: { delta: true } };

export const VARIANTS = {
  'ws-json': { transport: 'ws' },
  'sse-json': { transport: 'sse' },
  'poll-json': { transport: 'poll' },
  'ws-compact': { transport: 'ws', protocol: 'herald.compact' },
  'ws-msgpack': { transport: 'ws', protocol: 'herald.msgpack' },
  'sse-compact': { transport: 'sse', query: { format: 'compact' } },
  'poll-compact': { transport: 'poll', query: { format: 'compact' } },
  'ws-deflate': { transport: 'ws', deflate: true },
  'ws-compact-deflate': { transport: 'ws', protocol: 'herald.compact', deflate: true },
  'sse-gzip': { transport: 'sse', encoding: 'gzip' },
  'poll-gzip': { transport: 'poll', encoding: 'gzip' },
  'poll-br': { transport: 'poll', encoding: 'br' },
  // Deltas (a namespace with deltas on; the client asks): JSON `delta` pushes, compact `-ref-1` items.
  'ws-delta': { transport: 'ws', ...DELTA_WS },
  'ws-compact-delta': { transport: 'ws', protocol: 'herald.compact', ...DELTA_WS },
  'ws-msgpack-delta': { transport: 'ws', protocol: 'herald.msgpack', ...DELTA_WS },
  'ws-delta-deflate': { transport: 'ws', deflate: true, ...DELTA_WS },
  'sse-delta': { transport: 'sse', ...DELTA, query: { delta: '1' } },
  'sse-compact-delta': { transport: 'sse', ...DELTA, query: { format: 'compact', delta: '1' } },
  'poll-delta': { transport: 'poll', ...DELTA, pollBase: true, query: { delta: '1' } },
  'poll-compact-delta': { transport: 'poll', ...DELTA, pollBase: true, query: { format: 'compact', delta: '1' } },
};
