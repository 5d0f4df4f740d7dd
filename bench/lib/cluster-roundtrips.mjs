import { parseMonitorLine } from './cluster-redis.mjs';

/**
 * Herald's Redis names for one channel (src/keys.ts of @herald/redis with its default prefix): any
 * command naming one of them is this run's. On a Redis Cluster (`clustered`) the live pub/sub
 * channel carries the channel's hash tag.
 */
export function channelNames(channel, { prefix = 'herald:', clustered = false } = {}) {
  const keys = {
    meta: `${prefix}{${channel}}:meta`,
    log: `${prefix}{${channel}}:log`,
    members: `${prefix}{${channel}}:members`,
    alive: `${prefix}{${channel}}:alive`,
  };
  const live = clustered ? `${prefix}live:{${channel}}` : `${prefix}live:${channel}`;
  return { keys, live, all: new Set([...Object.values(keys), live]) };
}

/**
 * Which part of Herald sent a command that names the channel. Scripts are told apart by their keys
 * and argument counts (src/scripts.ts of @herald/redis): PUBLISH takes three keys (meta, log and
 * the idempotency key), READ 7 arguments after meta and log, POSITION 2; PRESENCE_ADD an expiry, a
 * ttl and client/user pairs after members and alive, PRESENCE_LIST the time.
 */
function categorise(args, names) {
  const command = args[0].toUpperCase();
  if (command === 'EVALSHA' || command === 'EVAL') {
    const keyCount = Number(args[2]);
    const first = args[3];
    const rest = args.length - 3 - keyCount;
    if (first === names.keys.meta)
      return keyCount === 3 ? 'publish' : rest === 2 ? 'position check' : rest === 7 ? 'history read' : 'other script';
    if (first === names.keys.members) return rest === 1 ? 'presence list' : 'presence stamp';
    return 'other script';
  }
  if (command === 'PUBLISH' || command === 'SPUBLISH') return args[2]?.startsWith('p') ? 'presence event' : 'other publish';
  if (command === 'HDEL' || command === 'ZREM') return 'presence remove';
  if (/^S?(UN)?SUBSCRIBE$/.test(command)) return 'pub/sub subscription';
  return 'other';
}

/**
 * Attributes the MONITOR lines recorded between two INFO commands of the control connection
 * (`controlClient`, `127.0.0.1:<port>`) to the channel's traffic by kind, and counts the rest as
 * other clients' (commands of other users of a shared Redis, and Herald commands that name no
 * channel: MULTI/EXEC around a presence removal, pings). A script's own commands (client `lua`) are
 * attributed to the script command just before them.
 *
 * Returns `{complete, lines, ours: {kind: {calls, evalFallbacks, inner: {COMMAND: n}, innerCalls,
 * members}}, others: {calls, inner, byCommand}}`; `complete` is false when either marker is missing.
 */
export function attribute(rawLines, channel, controlClient, clustered = false) {
  const names = channelNames(channel, { clustered });
  const ours = {};
  const others = { calls: 0, inner: 0, byCommand: {} };
  let inside = false;
  let complete = false;
  let lines = 0;
  let current;
  for (const raw of rawLines) {
    const line = parseMonitorLine(raw);
    if (line === undefined || line.args.length === 0) continue;
    const command = line.args[0].toUpperCase();
    if (line.client === controlClient && command === 'INFO') {
      if (inside) {
        complete = true;
        break;
      }
      inside = true;
      continue;
    }
    if (!inside) continue;
    lines++;
    if (line.client === 'lua') {
      if (current === undefined) others.inner++;
      else {
        current.inner[command] = (current.inner[command] ?? 0) + 1;
        current.innerCalls++;
      }
      continue;
    }
    if (!line.args.some((arg) => names.all.has(arg))) {
      current = undefined;
      others.calls++;
      others.byCommand[command] = (others.byCommand[command] ?? 0) + 1;
      continue;
    }
    const kind = categorise(line.args, names);
    current = ours[kind] ??= { calls: 0, evalFallbacks: 0, inner: {}, innerCalls: 0, members: 0 };
    current.calls++;
    if (command === 'EVAL') current.evalFallbacks++;
    if (kind === 'presence stamp') current.members += (line.args.length - 3 - Number(line.args[2]) - 2) / 2;
  }
  return { complete, lines, ours, others };
}
