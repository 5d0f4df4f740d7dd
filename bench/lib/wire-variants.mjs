// The wire formats `npm run bench:wire` compares. Each variant: its transport (`ws`, `sse`, `poll`),
// what the client asks for (WebSocket subprotocol, permessage-deflate, query parameters,
// Accept-Encoding, subscribe fields), the channel namespace it uses, and the hub options it needs
// (merged over every variant of a run). `<transport>-json` is each transport's baseline.
export const VARIANTS = {
  'ws-json': { transport: 'ws' },
  'sse-json': { transport: 'sse' },
  'poll-json': { transport: 'poll' },
};
