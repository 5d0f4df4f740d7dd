/**
 * The cookies of a `Cookie` header by name, values URL-decoded; a value that does not decode is
 * left out (as if the cookie were absent). Only the first cookie of a name counts, readable or not.
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  const seen = new Set<string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (seen.has(name)) continue;
    seen.add(name);
    try {
      cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // not URL-encoded text: unreadable, left out
    }
  }
  return cookies;
}
