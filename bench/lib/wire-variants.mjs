// The wire formats `npm run bench:wire` compares. Each variant: its transport (`ws`, `sse`, `poll`),
// what the client asks for (WebSocket subprotocol, permessage-deflate, query parameters,
// Accept-Encoding, subscribe fields), the channel namespace it uses, and the hub options it needs:
// `server` options are merged over every variant sharing a hub (they only add, like a delta
// namespace); `hub` options change what every other client of that hub would get (compression
// settings), so variants with different `hub` options each get a hub of their own.
// `<transport>-json` is each transport's baseline.
/** Deltas on the `live` namespace (the hub's option), which the delta variants' clients ask for. */
const DELTA = { namespace: 'live', server: { deltaNamespaces: ['live'] } };
const DELTA_WS = { ...DELTA, subscribe: { delta: true } };

/** Compression of every frame, event and answer, however small (`compression.threshold: 0`). */
const THRESHOLD_0 = { hub: { compression: { threshold: 0 } } };

/**
 * WebSocket permessage-deflate with context takeover (`compression.contextTakeover`): a compressor
 * per session with window `windowBits` and `memLevel` (the hub's defaults when absent: 12 and 4).
 */
function takeover(windowBits, memLevel) {
  const compression = {
    contextTakeover: true,
    ...(windowBits !== undefined && { windowBits }),
    ...(memLevel !== undefined && { memLevel }),
  };
  return { transport: 'ws', deflate: true, hub: { compression } };
}

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
  'ws-msgpack-deflate': { transport: 'ws', protocol: 'herald.msgpack', deflate: true },
  'sse-gzip': { transport: 'sse', encoding: 'gzip' },
  'poll-gzip': { transport: 'poll', encoding: 'gzip' },
  'poll-br': { transport: 'poll', encoding: 'br' },
  // The same with `threshold: 0` (a hub of their own): small messages compressed too.
  'ws-deflate-t0': { transport: 'ws', deflate: true, ...THRESHOLD_0 },
  'sse-gzip-t0': { transport: 'sse', encoding: 'gzip', ...THRESHOLD_0 },
  // Context takeover at the hub's defaults (window 12 = 4 KB) and with an 8 KB window, which holds
  // the previous dashboard message. Any `ws-takeover-w<bits>[-m<memLevel>]` is accepted too.
  'ws-takeover': takeover(),
  'ws-takeover-w13': takeover(13),
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

/** The variants a plain `npm run bench:wire` measures: every named one. */
export const DEFAULT_VARIANTS = Object.keys(VARIANTS);

const TAKEOVER = /^ws-takeover-w(9|1[0-5])(?:-m([1-9]))?$/;

/** The variant called `name` (a named one, or `ws-takeover-w<9–15>[-m<1–9>]`); `undefined` if none. */
export function variantFor(name) {
  if (Object.hasOwn(VARIANTS, name)) return VARIANTS[name];
  const match = TAKEOVER.exec(name);
  if (match === null) return undefined;
  return takeover(Number(match[1]), match[2] === undefined ? undefined : Number(match[2]));
}

/** The key of the hub a variant runs on: variants with the same `hub` options share one. */
export function hubKey(variant) {
  return JSON.stringify(variant.hub ?? {});
}
