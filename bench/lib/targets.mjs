/**
 * Every measured server, its transport and the client that drives it. `kind` picks the publisher's
 * flow control: push transports pause on socket backlog, polling on how many requests are held.
 * `window` overrides `--window` in the throughput phase.
 */
// Long-polling under load (`poll-load`): at most 4 messages per subscriber in flight, so most polls
// find a few messages already waiting and are answered at once from the log (about 2–4 per answer,
// as with a publisher that keeps 8 messages in flight), instead of the big batches of `--window 32`.
const POLL_LOAD_WINDOW = 4;

export const TARGETS = {
  'herald-ws': { transport: 'ws', kind: 'push', module: 'herald.mjs', options: { transport: 'ws' }, client: 'ws', subscribe: true },
  'ws-naive': { transport: 'ws', kind: 'push', module: 'ws-naive.mjs', client: 'ws' },
  'ws-subscribe': { transport: 'ws', kind: 'push', module: 'ws-subscribe.mjs', client: 'ws', subscribe: true },
  'ws-coalesced': { transport: 'ws', kind: 'push', module: 'ws-coalesced.mjs', client: 'ws' },
  socketio: { transport: 'ws', kind: 'push', module: 'socketio.mjs', client: 'socketio' },
  'herald-sse': { transport: 'sse', kind: 'push', module: 'herald.mjs', options: { transport: 'sse' }, client: 'sse' },
  'sse-raw': { transport: 'sse', kind: 'push', module: 'sse-raw.mjs', client: 'sse' },
  'herald-poll': { transport: 'poll', kind: 'poll', module: 'herald.mjs', options: { transport: 'poll' }, client: 'poll' },
  'poll-raw': { transport: 'poll', kind: 'poll', module: 'poll-raw.mjs', client: 'poll' },
  'herald-poll-load': {
    transport: 'poll-load',
    kind: 'poll',
    module: 'herald.mjs',
    options: { transport: 'poll' },
    client: 'poll',
    window: POLL_LOAD_WINDOW,
  },
  'poll-raw-load': { transport: 'poll-load', kind: 'poll', module: 'poll-raw.mjs', client: 'poll', window: POLL_LOAD_WINDOW },
  'sse-coalesced': { transport: 'sse', kind: 'push', module: 'sse-coalesced.mjs', client: 'sse' },
};

/** Targets per transport, Herald first, in the order they run. */
export const TRANSPORTS = {
  ws: ['herald-ws', 'ws-coalesced', 'ws-naive', 'ws-subscribe', 'socketio'],
  sse: ['herald-sse', 'sse-coalesced', 'sse-raw'],
  poll: ['herald-poll', 'poll-raw'],
  'poll-load': ['herald-poll-load', 'poll-raw-load'],
};

/**
 * The targets: Herald's value divided by the baseline's must reach `min` (throughput) or stay
 * at most `max` (memory per connection).
 */
export const GOALS = [
  { transport: 'ws', metric: 'throughput', herald: 'herald-ws', baseline: 'socketio', min: 4 },
  { transport: 'ws', metric: 'throughput', herald: 'herald-ws', baseline: 'ws-coalesced', min: 0.8 },
  { transport: 'sse', metric: 'throughput', herald: 'herald-sse', baseline: 'sse-raw', min: 0.8 },
  { transport: 'sse', metric: 'throughput', herald: 'herald-sse', baseline: 'sse-coalesced', min: 0.9 },
  { transport: 'poll', metric: 'throughput', herald: 'herald-poll', baseline: 'poll-raw', min: 0.8 },
  { transport: 'poll-load', metric: 'throughput', herald: 'herald-poll-load', baseline: 'poll-raw-load', min: 0.8 },
  // Issue 10: server CPU per WebSocket delivery at most 1.1 × the batching raw `ws` server.
  { transport: 'ws', metric: 'cpu', herald: 'herald-ws', baseline: 'ws-coalesced', max: 1.1 },
  // Issue 10: idle memory per WebSocket at most 1.1 × raw `ws` (1.2 before), accept rate at least 0.9 ×.
  { transport: 'ws', metric: 'memory', herald: 'herald-ws', baseline: 'ws-naive', max: 1.1 },
  { transport: 'ws', metric: 'accept', herald: 'herald-ws', baseline: 'ws-naive', min: 0.9 },
  // The same, against a raw server whose clients make the same subscribe round trip as Herald's
  // (ws-naive counts a connection at open; see BENCHMARKS.md, issue 10, accept rate).
  { transport: 'ws', metric: 'accept', herald: 'herald-ws', baseline: 'ws-subscribe', min: 0.9 },
  { transport: 'sse', metric: 'memory', herald: 'herald-sse', baseline: 'sse-raw', max: 1.2 },
  { transport: 'poll', metric: 'memory', herald: 'herald-poll', baseline: 'poll-raw', max: 1.2 },
];
