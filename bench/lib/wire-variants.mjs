// The wire formats `npm run bench:wire` compares. Each variant: its transport (`ws`, `sse`, `poll`),
// what the client asks for (WebSocket subprotocol, permessage-deflate, query parameters,
// Accept-Encoding, subscribe fields), the channel namespace it uses, and the hub options it needs
// (merged over every variant of a run). `<transport>-json` is each transport's baseline.
/** Hub options of the delta variants: deltas on the `live` namespace. */
const DELTAS = { deltaNamespaces: ['live'] };

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
  'ws-delta': { transport: 'ws', namespace: 'live', subscribe: { delta: true }, server: DELTAS },
  'ws-delta-deflate': { transport: 'ws', namespace: 'live', subscribe: { delta: true }, deflate: true, server: DELTAS },
  'sse-delta': { transport: 'sse', namespace: 'live', query: { delta: '1' }, server: DELTAS },
  'poll-delta': { transport: 'poll', namespace: 'live', query: { delta: '1' }, pollBase: true, server: DELTAS },
};
