// The wire formats `npm run bench:wire` compares. Each variant: its transport (`ws`, `sse`, `poll`),
// what the client asks for (WebSocket subprotocol, permessage-deflate, query parameters,
// Accept-Encoding, subscribe fields), the channel namespace it uses, and the hub options it needs
// (merged over every variant of a run). `<transport>-json` is each transport's baseline.
const DELTA = { namespace: 'dash', server: { deltaNamespaces: ['dash'] } };
const DELTA_WS = { ...DELTA, subscribe: { delta: true } };

export const VARIANTS = {
  'ws-json': { transport: 'ws' },
  'sse-json': { transport: 'sse' },
  'poll-json': { transport: 'poll' },
  'ws-compact': { transport: 'ws', protocol: 'herald.compact' },
  'ws-msgpack': { transport: 'ws', protocol: 'herald.msgpack' },
  'sse-compact': { transport: 'sse', query: { format: 'compact' } },
  'poll-compact': { transport: 'poll', query: { format: 'compact' } },
  // Deltas (a namespace with deltas on; the client asks): JSON `delta` pushes, compact `-ref-1` items.
  'ws-json-delta': { transport: 'ws', ...DELTA_WS },
  'ws-compact-delta': { transport: 'ws', protocol: 'herald.compact', ...DELTA_WS },
  'ws-msgpack-delta': { transport: 'ws', protocol: 'herald.msgpack', ...DELTA_WS },
  'sse-json-delta': { transport: 'sse', ...DELTA, query: { delta: '1' } },
  'sse-compact-delta': { transport: 'sse', ...DELTA, query: { format: 'compact', delta: '1' } },
  'poll-json-delta': { transport: 'poll', ...DELTA, pollBase: true, query: { delta: '1' } },
  'poll-compact-delta': { transport: 'poll', ...DELTA, pollBase: true, query: { format: 'compact', delta: '1' } },
};
