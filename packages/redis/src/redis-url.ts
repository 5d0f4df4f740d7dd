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
      /** The sentinels' own user (sentinel only: the `sentinelUsername` option). */
      readonly sentinelUsername?: string;
      /** The sentinels' own password (sentinel only: the `sentinelPassword` option). */
      readonly sentinelPassword?: string;
    };

const FORMS =
  'redis://host:port, rediss://host:port, redis-cluster://host:port,host:port,… or redis-sentinel://host:port,host:port/<master-name>[?sentinelPassword=…]';

/** The options a `redis-sentinel://` URL takes after `?`. */
const SENTINEL_OPTIONS = ['sentinelUsername', 'sentinelPassword'] as const;
type SentinelOption = (typeof SENTINEL_OPTIONS)[number];

/**
 * Reads a Redis URL: `redis://[user:password@]host:port[/db]` or `rediss://…` (one server, TLS),
 * `redis-cluster://[user:password@]host:port,host:port,…` or `rediss-cluster://…` (a Redis Cluster:
 * the nodes to discover it from), `redis-sentinel://[user:password@]host:port,host:port/<master-name>`
 * or `rediss-sentinel://…` (the sentinels and the primary's name; the credentials and TLS are the
 * data nodes'), with the sentinels' own credentials as options:
 * `…/<master-name>?sentinelUsername=<user>&sentinelPassword=<password>` (percent-encoded; `+` is a
 * plus, not a space). Throws a RangeError naming the mistake (never quoting a password).
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
  if (rawAtInOption(url)) {
    // The value's tail would pass for the host list.
    throw new RangeError('an option of a Redis URL holds a raw "@": percent-encode it (as %40)');
  }
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
  if (rest.includes('#')) throw new RangeError(`"${redactUrl(url)}" takes no fragment`);
  const question = rest.indexOf('?');
  const query = question < 0 ? undefined : rest.slice(question + 1);
  if (question >= 0) rest = rest.slice(0, question);
  if (query !== undefined && mode === 'cluster')
    throw new RangeError(`"${redactUrl(url)}" takes no query (options are for redis-sentinel:// only)`);
  const options = query === undefined ? {} : parseSentinelOptions(query);
  const slash = rest.indexOf('/');
  const hostList = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
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
    ...options,
  };
}

/**
 * Reads `sentinelUsername=…&sentinelPassword=…` (each at most once, percent-encoded, not empty).
 * Errors name the option, never its value (a misspelled option may hold a password).
 */
function parseSentinelOptions(query: string): Partial<Record<SentinelOption, string>> {
  const options: Partial<Record<SentinelOption, string>> = {};
  const known = SENTINEL_OPTIONS.join(' and ');
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    const option = SENTINEL_OPTIONS.find((name) => name === key);
    if (option === undefined) {
      // A name without `=` may be a pasted password: then not quoted either.
      const shown = equals >= 0 && /^[A-Za-z0-9_-]{1,40}$/.test(key) ? `"${key}"` : 'an option it does not know';
      throw new RangeError(`a Redis Sentinel URL takes ${known} after "?", got ${shown}`);
    }
    if (options[option] !== undefined) throw new RangeError(`the ${option} option of a Redis Sentinel URL is given twice`);
    let value: string;
    try {
      value = decodeURIComponent(equals < 0 ? '' : pair.slice(equals + 1));
    } catch {
      throw new RangeError(`the ${option} option of a Redis Sentinel URL is not valid percent-encoding`);
    }
    if (value === '') throw new RangeError(`the ${option} option of a Redis Sentinel URL is empty`);
    options[option] = value;
  }
  return options;
}

/** The query with every option's value hidden but the sentinels' user name (any other may be a password, misspelled or not). */
function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      return pair.slice(0, equals) === 'sentinelUsername' ? pair : `${pair.slice(0, equals)}=***`;
    })
    .join('&');
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
  // Which part is the password is unclear then: none of it is shown.
  if (rawAtInOption(url)) return `${scheme}://(hidden: an option holds a raw "@")`;
  const start = url.indexOf('://') + 3;
  const at = url.lastIndexOf('@');
  let credentials = '';
  if (at >= start) {
    const given = url.slice(start, at);
    const colon = given.indexOf(':');
    const user = colon < 0 ? given : given.slice(0, colon);
    credentials = /[?&=]/.test(user) ? '***@' : colon < 0 ? `${user}@` : `${user}:***@`;
  }
  const rest = url.slice(Math.max(at + 1, start));
  const question = rest.indexOf('?');
  const shown = question < 0 ? rest : `${rest.slice(0, question)}?${redactQuery(rest.slice(question + 1))}`;
  return `${url.slice(0, start)}${credentials}${shown}`;
}

/** Whether the last `@` of `url` is in an option's value (`…?name=va@lue`), not after credentials. */
function rawAtInOption(url: string): boolean {
  const at = url.lastIndexOf('@');
  return at >= 0 && /[?&][^=&#/]*=[^&#]*$/.test(url.slice(0, at)) && !url.slice(at).includes('?');
}

/** Checks a Redis URL (every form of {@link parseRedisUrl}): a clear error for a typo, before any connection attempt. */
export function checkRedisUrl(url: string): void {
  parseRedisUrl(url);
}
