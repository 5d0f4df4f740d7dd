/** Parses a flag value as an integer in [min, max], or throws a RangeError naming the flag. */
export function parseIntegerFlag(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
