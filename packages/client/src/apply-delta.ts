const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';

/**
 * Applies a Fossil delta to `source` (both strings, taken as UTF-16 code units, as the hub makes
 * them: docs/protocol.md, "Deltas"); returns the target. Throws on a malformed delta, a copy outside
 * `source`, or a target whose length or checksum differs from what the delta says (a wrong base).
 */
export function applyDelta(source: string, delta: string): string {
  let pos = 0;
  const int = (): number => {
    let value = 0;
    let digit: number;
    while (pos < delta.length && (digit = DIGITS.indexOf(delta[pos]!)) >= 0) {
      value = value * 64 + digit;
      pos++;
    }
    return value;
  };
  const fail = (): never => {
    throw new Error('bad delta');
  };
  const size = int();
  if (delta[pos++] !== '\n') fail();
  let out = '';
  while (pos < delta.length) {
    const count = int();
    const op = delta[pos++];
    if (op === '@') {
      const at = int();
      if (delta[pos++] !== ',' || at + count > source.length) fail();
      out += source.slice(at, at + count);
    } else if (op === ':') {
      if (pos + count > delta.length) fail();
      out += delta.slice(pos, (pos += count));
    } else if (op === ';') {
      if (out.length !== size || count !== checksum(out)) fail();
      return out;
    } else fail();
    if (out.length > size) fail();
  }
  return fail();
}

/** Fossil's 32-bit checksum, over code units. */
function checksum(text: string): number {
  const sums = [0, 0, 0, 0];
  const whole = text.length - (text.length % 4);
  for (let i = 0; i < whole; i++) sums[i & 3] = (sums[i & 3]! + text.charCodeAt(i)) | 0;
  let sum = (sums[3]! + (sums[2]! << 8) + (sums[1]! << 16) + (sums[0]! << 24)) | 0;
  for (let i = whole; i < text.length; i++) sum = (sum + (text.charCodeAt(i) << (24 - 8 * (i - whole)))) | 0;
  return sum >>> 0;
}
