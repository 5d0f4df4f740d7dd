// The payloads of `npm run bench:wire`, the same in every process: message `seq` of a kind is always
// the same JSON, so byte counts compare between runs and formats.

const PAD = 'x'.repeat(70);

/** A small message: about 100 bytes of JSON (a chat line, a notification). */
function small(seq) {
  return { seq, user: 'u' + (seq % 97), pad: PAD };
}

const REGIONS = 52;

/** A deterministic pseudo-random number in [0, 1) for (seq, i). */
function noise(seq, i) {
  const x = Math.sin(seq * 12.9898 + i * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/**
 * A dashboard state of about 5 KB of JSON (revenue per region, orders, delivery counts): each
 * message is the whole state again with a few numbers changed, as a live dashboard publishes it.
 */
function dashboard(seq) {
  const regions = [];
  for (let i = 0; i < REGIONS; i++) {
    // About one region in eight changes per message.
    const changed = (i + seq) % 8 === 0 ? seq : 0;
    regions.push({
      id: `region-${i}`,
      name: `Region ${i}`,
      revenue: Math.round(100_000 + noise(changed, i) * 50_000),
      orders: 1000 + i * 7 + changed,
      late: Math.round(noise(changed, i + 100) * 40),
      trend: noise(changed, i + 200) > 0.5 ? 'up' : 'down',
    });
  }
  return {
    seq,
    updatedAt: 1_800_000_000_000 + seq * 1000,
    currency: 'EUR',
    totals: { revenue: 5_000_000 + seq * 17, orders: 60_000 + seq },
    regions,
  };
}

/**
 * A live tile of about 1.2 KB of JSON: 20 sensors whose values all move a little from one message
 * to the next. It fits a 4 KB window (context takeover at the default `windowBits` 12), where the
 * dashboard does not.
 */
function tile(seq) {
  const rows = [];
  for (let i = 0; i < 20; i++) {
    rows.push({ id: i, name: `sensor-${i}`, value: Math.round(Math.sin(seq + i) * 10_000) / 100, status: (seq + i) % 7 ? 'ok' : 'warn' });
  }
  return { seq, rows };
}

const KINDS = { small, dashboard, tile };

/** The names of the payload kinds. */
export const PAYLOADS = Object.keys(KINDS);

/** The payloads measured when `--payloads` is not given. */
export const DEFAULT_PAYLOADS = ['small', 'dashboard'];

/** Message `seq` of payload kind `kind`. */
export function payloadFor(kind, seq) {
  const make = KINDS[kind];
  if (make === undefined) throw new Error(`unknown payload ${kind} (${PAYLOADS.join(', ')})`);
  return make(seq);
}
