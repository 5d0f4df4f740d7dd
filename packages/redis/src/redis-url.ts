/** Where Herald's Redis is: one server, a Redis Cluster, or a primary found through Redis Sentinel. */
export type RedisTarget =
  | { readonly mode: 'single'; readonly url: string }
  | {
      readonly mode: 'cluster' | 'sentinel';
      /** The seed nodes (cluster) or the sentinels (sentinel). */
      readonly hosts: readonly { readonly host: string; readonly port: number }[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
      /** The monitored primary's name (sentinel only; `''` for a cluster). */
      readonly masterName: string;
    };

const FORMS =
  'redis://host:port, rediss://host:port, redis-cluster://host:port,host:port,… or redis-sentinel://host:port,host:port/<master-name>';

/**
 * Reads a Redis URL: `redis://[user:password@]host:port[/db]` or `rediss://…` (one server, TLS),
 * `redis-cluster://[user:password@]host:port,host:port,…` or `rediss-cluster://…` (a Redis Cluster:
 * the nodes to discover it from), `redis-sentinel://[user:password@]host:port,host:port/<master-name>`
 * or `rediss-sentinel://…` (the sentinels and the primary's name; the credentials and TLS are the
 * data nodes'). Throws a RangeError naming the mistake.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (typeof url !== 'string') throw new RangeError(`a Redis URL must be a string (${FORMS})`);
  const scheme = /^([a-z-]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      new URL(url);
    } catch {
      throw new RangeError(`not a Redis URL: "${redactUrl(url)}" (expected ${FORMS})`);
    }
    return { mode: 'single', url };
  }
  const mode =
    scheme === 'redis-cluster' || scheme === 'rediss-cluster'
      ? 'cluster'
      : scheme === 'redis-sentinel' || scheme === 'rediss-sentinel'
        ? 'sentinel'
        : undefined;
  if (mode === undefined || scheme === undefined)
    throw new RangeError(`a Redis URL starts with redis://, rediss://, redis-cluster:// or redis-sentinel://, got "${redactUrl(url)}"`);
  let rest = url.slice(scheme.length + 3);
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    try {
      username = decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
      if (colon >= 0) password = decodeURIComponent(credentials.slice(colon + 1));
    } catch {
      throw new RangeError(`the credentials of "${redactUrl(url)}" are not valid percent-encoding`);
    }
    if (username === '') username = undefined;
  }
  const slash = rest.indexOf('/');
  const hostList = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  if (rest.includes('?') || rest.includes('#')) throw new RangeError(`"${redactUrl(url)}" takes no query or fragment`);
  let masterName = '';
  if (mode === 'cluster') {
    if (path !== '') throw new RangeError(`a Redis Cluster URL has no path (a cluster has only database 0), got "${redactUrl(url)}"`);
  } else {
    if (path === '' || path.includes('/')) throw new RangeError(`a Redis Sentinel URL ends with /<master-name>, got "${redactUrl(url)}"`);
    try {
      masterName = decodeURIComponent(path);
    } catch {
      throw new RangeError(`the master name of "${redactUrl(url)}" is not valid percent-encoding`);
    }
  }
  const hosts = hostList.split(',').map((entry) => parseHost(entry, url));
  return {
    mode,
    hosts,
    tls: scheme.startsWith('rediss'),
    masterName,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
  };
}

function parseHost(entry: string, url: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s]+):(\d{1,5})$/.exec(entry.trim());
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`"${entry}" in "${redactUrl(url)}" is not host:port`);
  }
  const host = match[1]!;
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port };
}

/** The URL with any password hidden, for logs and errors (every form of {@link parseRedisUrl}). */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return '(unparsable Redis URL)';
  const scheme = /^([a-z-]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      const parsed = new URL(url);
      if (parsed.password !== '') parsed.password = '***';
      return parsed.toString();
    } catch {
      return '(unparsable Redis URL)';
    }
  }
  if (scheme === undefined) return '(unparsable Redis URL)';
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const start = url.indexOf('://') + 3;
  const credentials = url.slice(start, at);
  const colon = credentials.indexOf(':');
  if (colon < 0) return url;
  return `${url.slice(0, start)}${credentials.slice(0, colon)}:***${url.slice(at)}`;
}

/** Checks a Redis URL (every form of {@link parseRedisUrl}): a clear error for a typo, before any connection attempt. */
export function checkRedisUrl(url: string): void {
  parseRedisUrl(url);
}
