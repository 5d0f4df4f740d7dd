/**
 * Delay before retry `attempt` (0 for the first retry), in ms: "full jitter", uniform in
 * [0, min(max, base · 2^attempt)], so backends that failed at the same moment do not retry together.
 */
export function retryDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  return random() * Math.min(max, base * 2 ** attempt);
}

/** An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP dates are sent in. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * The `Retry-After` header in seconds (delta-seconds form; an HTTP date relative to `now`, in ms
 * since the Unix epoch), or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!HTTP_DATE.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
