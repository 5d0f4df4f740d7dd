/**
 * Microseconds on the system-wide monotonic clock (CLOCK_MONOTONIC behind process.hrtime), so a
 * timestamp taken in the server process compares directly with one taken in a client process.
 */
export function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}
