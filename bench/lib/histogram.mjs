/**
 * A log-linear latency histogram in microseconds: exact below 64 µs, then 32 buckets per power of
 * two (about 3 % error), so millions of samples cost a fixed 900 counters and merge across processes
 * by adding arrays.
 */
const EXACT = 64;
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const SIZE = EXACT + (31 - 6) * SUB;

function indexOf(value) {
  const v = value <= 0 ? 0 : value >= 2 ** 31 - 1 ? 2 ** 31 - 1 : Math.floor(value);
  if (v < EXACT) return v;
  const exponent = 31 - Math.clz32(v);
  return EXACT + (exponent - 6) * SUB + ((v >>> (exponent - SUB_BITS)) & (SUB - 1));
}

/** The middle of bucket `i`, in µs. */
function valueAt(i) {
  if (i < EXACT) return i;
  const exponent = 6 + Math.floor((i - EXACT) / SUB);
  const width = 1 << (exponent - SUB_BITS);
  return (SUB + ((i - EXACT) % SUB)) * width + width / 2;
}

export class Histogram {
  constructor(counts) {
    this.counts = counts ? Float64Array.from(counts) : new Float64Array(SIZE);
    this.total = this.counts.reduce((a, b) => a + b, 0);
  }

  /** Records one latency in µs. */
  record(us) {
    this.counts[indexOf(us)]++;
    this.total++;
  }

  merge(other) {
    for (let i = 0; i < SIZE; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  /** The `q`-quantile (0..1) in µs, or null without samples. */
  quantile(q) {
    if (this.total === 0) return null;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i];
      if (seen >= rank) return valueAt(i);
    }
    return valueAt(SIZE - 1);
  }

  /** Plain array for IPC (structured clone of typed arrays is fine too, but JSON files are not). */
  toJSON() {
    return Array.from(this.counts);
  }
}
