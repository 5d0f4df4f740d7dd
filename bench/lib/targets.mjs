/**
 * Every measured server, its transport and the client that drives it. `kind` picks the publisher's
 * flow control: push transports pause on socket backlog, polling on how many requests are held.
 */
export const TARGETS = {
  'herald-ws': { transport: 'ws', kind: 'push', module: 'herald.mjs', options: { transport: 'ws' }, client: 'ws', subscribe: true },
  'ws-naive': { transport: 'ws', kind: 'push', module: 'ws-naive.mjs', client: 'ws' },
  'ws-coalesced': { transport: 'ws', kind: 'push', module: 'ws-coalesced.mjs', client: 'ws' },
  socketio: { transport: 'ws', kind: 'push', module: 'socketio.mjs', client: 'socketio' },
  'herald-sse': { transport: 'sse', kind: 'push', module: 'herald.mjs', options: { transport: 'sse' }, client: 'sse' },
  'sse-raw': { transport: 'sse', kind: 'push', module: 'sse-raw.mjs', client: 'sse' },
  'herald-poll': { transport: 'poll', kind: 'poll', module: 'herald.mjs', options: { transport: 'poll' }, client: 'poll' },
  'poll-raw': { transport: 'poll', kind: 'poll', module: 'poll-raw.mjs', client: 'poll' },
};

/** Targets per transport, Herald first, in the order they run. */
export const TRANSPORTS = {
  ws: ['herald-ws', 'ws-coalesced', 'ws-naive', 'socketio'],
  sse: ['herald-sse', 'sse-raw'],
  poll: ['herald-poll', 'poll-raw'],
};

/**
 * The targets: Herald's value divided by the baseline's must reach `min` (throughput) or stay
 * at most `max` (memory per connection).
 */
export const GOALS = [
  { transport: 'ws', metric: 'throughput', herald: 'herald-ws', baseline: 'socketio', min: 4 },
  { transport: 'ws', metric: 'throughput', herald: 'herald-ws', baseline: 'ws-coalesced', min: 0.8 },
  { transport: 'sse', metric: 'throughput', herald: 'herald-sse', baseline: 'sse-raw', min: 0.8 },
  { transport: 'poll', metric: 'throughput', herald: 'herald-poll', baseline: 'poll-raw', min: 0.8 },
  { transport: 'ws', metric: 'memory', herald: 'herald-ws', baseline: 'ws-naive', max: 1.2 },
  { transport: 'sse', metric: 'memory', herald: 'herald-sse', baseline: 'sse-raw', max: 1.2 },
  { transport: 'poll', metric: 'memory', herald: 'herald-poll', baseline: 'poll-raw', max: 1.2 },
];
