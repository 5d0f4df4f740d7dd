/**
 * Checks and normalises a mount path: `''` or `'/'` is the root (`''`); anything else must start
 * with `/`, loses one trailing `/`, and may hold only URL path characters (no `?`, `#`, `%`,
 * whitespace, empty or `.`/`..` segments). A bad one throws a `TypeError` naming it.
 *
 * @returns `''` for the root, otherwise `/a/b` (leading slash, no trailing slash)
 */
export function normalizeMountPath(path: string | undefined, name = 'path'): string {
  if (path === undefined || path === '' || path === '/') return '';
  if (typeof path !== 'string') throw new TypeError(`${name} must be a string such as '/realtime'`);
  if (!path.startsWith('/')) throw new TypeError(`${name} must start with '/' (got ${JSON.stringify(path)})`);
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = trimmed.slice(1).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment)))
    throw new TypeError(
      `${name} must be '/' or segments of letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ joined by '/' (got ${JSON.stringify(path)})`,
    );
  return trimmed;
}

/** One path segment's allowed characters (RFC 3986 pchar without percent-encoding). */
const SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;

/**
 * The part of `pathname` under `mountPath` (from {@link normalizeMountPath}): `/events` for
 * `/realtime/events`, `''` for `/realtime` itself, and `undefined` when the path is not under it
 * (`/realtimeX/events`, `/other`). The root mount path takes every path unchanged.
 */
export function pathUnder(pathname: string, mountPath: string): string | undefined {
  if (mountPath === '') return pathname;
  if (!pathname.startsWith(mountPath)) return undefined;
  if (pathname.length === mountPath.length) return '';
  return pathname.charCodeAt(mountPath.length) === SLASH ? pathname.slice(mountPath.length) : undefined;
}

const SLASH = 0x2f;

/**
 * The path of a request target as sent (before `?` or `#`), with no decoding and no dot-segment
 * resolution: what the app's router sees too, so the hub and the app agree on whose a request is.
 * `undefined` when it is not an origin-form path (`*`, `http://…`) or starts with `//` (which a URL
 * parser would read as a host).
 */
export function requestPath(target: string | undefined): string | undefined {
  const path = shownPath({ url: target });
  return path.startsWith('/') && !path.startsWith('//') ? path : undefined;
}

/** The request target's path for messages (`no route for GET …`): as sent, before `?` or `#`. */
export function shownPath(req: { readonly url?: string | undefined }): string {
  const raw = req.url ?? '/';
  const end = raw.search(/[?#]/);
  return end === -1 ? raw : raw.slice(0, end);
}
