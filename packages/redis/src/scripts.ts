import { createHash } from 'node:crypto';
import { ErrorReply } from '@redis/client';
import type { RedisLink } from './redis-link.js';

/**
 * A Lua script run with EVALSHA, sent in full once per connection when Redis does not know it yet.
 * On a cluster it runs on the primary of its first key's slot: every key it touches must share
 * that slot (the keys of one channel share the hash tag `{channel}`).
 */
export class Script {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; rejects when Redis does not answer within the link's command timeout. */
  async run(link: RedisLink, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const first = keys[0];
    try {
      return await link.command(first, ['EVALSHA', this.#sha, String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof ErrorReply) || !error.message.startsWith('NOSCRIPT')) throw error;
      return link.command(first, ['EVAL', this.#source, String(keys.length), ...keys, ...args]);
    }
  }
}

/**
 * Drops the retained messages of stream KEYS[2] whose time (field `t`) is at or before `cutoff`.
 * Offsets grow with time, so the expired ones are a prefix; the common case reads one entry.
 */
const TRIM_EXPIRED = `
local function trim_expired(log, cutoff)
  local batch = 1
  while true do
    local entries = redis.call('XRANGE', log, '-', '+', 'COUNT', batch)
    if #entries == 0 then return end
    for i = 1, #entries do
      if tonumber(entries[i][2][2]) > cutoff then
        if i > 1 then redis.call('XTRIM', log, 'MINID', entries[i][1]) end
        return
      end
    end
    local last = tonumber(string.match(entries[#entries][1], '^(%d+)'))
    redis.call('XTRIM', log, 'MINID', (last + 1) .. '-0')
    batch = 100
  end
end
`;

/**
 * The channel's epoch and top, creating the channel (a fresh epoch, top 0) when Redis has none: a
 * lost log (Redis restarted without persistence, keys evicted) starts a new epoch, so old positions
 * are recognised as foreign. An empty channel's meta expires `empty_ttl` ms after it was last read
 * or watched, unless published to.
 */
const ENSURE = `
local function ensure(meta, log, candidate, empty_ttl, refresh)
  local found = redis.call('HMGET', meta, 'epoch', 'top')
  if found[1] then
    local top = tonumber(found[2])
    -- Still empty: whoever reads or watches it keeps its epoch alive (a publish sets its own expiry).
    if refresh and top == 0 then redis.call('PEXPIRE', meta, empty_ttl) end
    return found[1], top
  end
  -- HSET first: Redis checks a script against maxmemory at its first write, and only when that
  -- write may grow memory (DEL may not), so a full Redis refuses here instead of growing on.
  redis.call('HSET', meta, 'epoch', candidate, 'top', 0)
  redis.call('DEL', log)
  redis.call('PEXPIRE', meta, empty_ttl)
  return candidate, 0
end
`;

/**
 * Appends a message and fans it out, atomically: nobody sees the offset before the message is
 * stored, and every node receives the channel's messages in offset order.
 *
 * KEYS: meta, log, idempotency key (the log again when none). ARGV: epoch candidate, now (ms), size,
 * ttl (ms), channel (as JSON), data (JSON), pub/sub channel, empty-channel ttl (ms), key lifetime
 * (ms, '0' = no key), key expiry (ms since the epoch), data fingerprint, the publish command
 * (`PUBLISH`, or `SPUBLISH` on a cluster: the pub/sub channel shares the channel's slot), fence
 * ('0' none (one server), '1' with Sentinel, '2' on a cluster, see below). Returns
 * `{epoch, offset, duplicate, fingerprint}`: with `duplicate` 1, the key was used within its
 * lifetime (for data of that fingerprint) and nothing was stored.
 *
 * The live payload is `<offset> <epoch> <time> <envelope>`: the receiving node reads the position
 * without parsing the envelope.
 *
 * Fencing (a primary that took over): replication is asynchronous, so a replica promoted after its
 * primary failed may lack the last messages the old primary acknowledged (and fanned out). Its
 * next offsets would repeat offsets subscribers already got, with other messages. With fencing the
 * meta hash records the replication id of the primary that wrote it (`rid`). With Sentinel a
 * publish on a primary with another replication id (a promoted replica gets a new one) starts a new
 * epoch with an empty log first, so every subscriber gets an explicit epoch gap instead of reused
 * offsets. On a cluster keys also arrive whole from another shard (MIGRATE or RESTORE during a
 * resharding: synchronous copies, nothing lost), so there only a `rid` equal to this primary's
 * previous replication id (`master_replid2`: a promoted replica keeps its old primary's id as the
 * previous one) fences; any other `rid` is re-stamped, the epoch and the log are kept.
 * Not fenced on a cluster: two failovers of the shard in a row with no publish to the channel in
 * between (`rid` is then older than the previous id), and a primary restarted from its own disk
 * (Redis 7.0 gives it a new id and no previous one); the hub's regression check (`renewEpoch`, when
 * a node saw an offset the log no longer has) still covers the channels a node watches.
 */
export const PUBLISH = new Script(`${TRIM_EXPIRED}${ENSURE}
if ARGV[9] ~= '0' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local e, o, x, f = string.match(seen, '^(%S+) (%d+) (%d+) (%S+)$')
    if e and tonumber(x) > tonumber(ARGV[2]) then return {e, tonumber(o), 1, f} end
  end
end
local epoch = ensure(KEYS[1], KEYS[2], ARGV[1], ARGV[8], false)
if ARGV[13] ~= '0' then
  local replication = redis.call('INFO', 'replication')
  local rid = string.match(replication, 'master_replid:(%w+)')
  local had = redis.call('HGET', KEYS[1], 'rid')
  -- With Sentinel any other id fences. On a cluster only the id of the primary this one took over
  -- from (its previous replication id): another id means the keys came whole by MIGRATE/RESTORE.
  if had and had ~= rid and (ARGV[13] == '1' or had == string.match(replication, 'master_replid2:(%w+)')) then
    epoch = ARGV[1]
    redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
    redis.call('DEL', KEYS[2])
  end
  if had ~= rid then redis.call('HSET', KEYS[1], 'rid', rid) end
end
-- The first write of a known channel: HINCRBY may grow memory, so a full Redis refuses the publish here.
local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
local size = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
-- With an age limit the channel is forgotten once everything expired and it stayed empty a while
-- (a later publish starts a new epoch, which loses nothing); without one it is kept.
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl + tonumber(ARGV[8])) else redis.call('PERSIST', KEYS[1]) end
local envelope = '{"type":"message","channel":' .. ARGV[5] .. ',"offset":' .. top .. ',"epoch":"' .. epoch .. '","time":' .. ARGV[2] .. ',"data":' .. ARGV[6] .. '}'
if size > 0 then
  if ttl > 0 then trim_expired(KEYS[2], tonumber(ARGV[2]) - ttl) end
  redis.call('XADD', KEYS[2], 'MAXLEN', size, top .. '-0', 't', ARGV[2], 'j', envelope)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
else
  redis.call('DEL', KEYS[2])
end
redis.call(ARGV[12], ARGV[7], top .. ' ' .. epoch .. ' ' .. ARGV[2] .. ' ' .. envelope)
if ARGV[9] ~= '0' then redis.call('SET', KEYS[3], epoch .. ' ' .. top .. ' ' .. ARGV[10] .. ' ' .. ARGV[11], 'PX', ARGV[9]) end
return {epoch, top, 0}
`);

/**
 * A consistent snapshot of a channel's log after a position.
 *
 * KEYS: meta, log. ARGV: epoch candidate, now (ms), ttl (ms), since epoch ('' for none), since
 * offset, limit, empty-channel ttl (ms). Returns `{epoch, top, oldest, entries}`.
 */
export const READ = new Script(`${TRIM_EXPIRED}${ENSURE}
local epoch, top = ensure(KEYS[1], KEYS[2], ARGV[1], ARGV[7], true)
local ttl = tonumber(ARGV[3])
if ttl > 0 then trim_expired(KEYS[2], tonumber(ARGV[2]) - ttl) end
local oldest = top + 1
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #first > 0 then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
local after = oldest - 1
if ARGV[4] == epoch then
  local since = tonumber(ARGV[5])
  if since >= oldest - 1 and since <= top then after = since end
end
local limit = tonumber(ARGV[6])
local entries = {}
if limit > 0 and after < top then
  entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+', 'COUNT', limit)
end
return {epoch, top, oldest, entries}
`);

/** KEYS: meta, log. ARGV: epoch candidate, empty-channel ttl (ms). Returns `{epoch, top}`. */
export const POSITION = new Script(`${ENSURE}
local epoch, top = ensure(KEYS[1], KEYS[2], ARGV[1], ARGV[2], true)
return {epoch, top}
`);

/**
 * Adds or refreshes members. KEYS: members, alive. ARGV: expiry (ms since epoch), key ttl (ms), then
 * client/member pairs (the member as JSON: its user, or `{"user", "info"}`).
 */
export const PRESENCE_ADD = new Script(`
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`);

/**
 * A node holds a member several nodes may hold (see `PresenceStore.hold`). KEYS: the member's
 * holders (sorted set node → expiry ms). ARGV: now (ms), the hold's expiry (ms), node, key ttl (ms).
 * Returns 1 when no other node held it (expired holds, of dead nodes, dropped first).
 */
export const PRESENCE_HOLD = new Script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local others = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then others = others - 1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if others == 0 then return 1 end
return 0
`);

/**
 * A node lets go of a member it held (see {@link PRESENCE_HOLD}). KEYS: the member's holders. ARGV:
 * now (ms), node. Returns 1 when no other node holds it (the key is then deleted).
 */
export const PRESENCE_RELEASE = new Script(`
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);

/**
 * The live members, dropping those whose node stopped refreshing them. KEYS: members, alive, and
 * optionally owners (counted members are not dropped here: see {@link PRESENCE_COUNT_ADD}). ARGV:
 * now (ms). Returns a flat list client, member, client, member… (members as stored).
 */
export const PRESENCE_LIST = new Script(`
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for i = 1, #expired do
  -- A counted member (KEYS[3], the owners) is left to the counting scripts' sweep, which uncounts it.
  if not KEYS[3] or redis.call('HEXISTS', KEYS[3], expired[i]) == 0 then
    redis.call('HDEL', KEYS[1], expired[i])
    redis.call('ZREM', KEYS[2], expired[i])
  end
end
local clients = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local out = {}
if #clients == 0 then return out end
-- HMGET in chunks: unpack() of a very large table would overflow Lua's stack.
for from = 1, #clients, 1000 do
  local to = math.min(from + 999, #clients)
  local users = redis.call('HMGET', KEYS[1], unpack(clients, from, to))
  for i = from, to do
    local user = users[i - from + 1]
    if user then
      out[#out + 1] = clients[i]
      out[#out + 1] = user
    end
  end
end
return out
`);

/**
 * Starts a new epoch with an empty log when the channel is still in epoch ARGV[1] (a node saw
 * offset ARGV[2] there, beyond what the log holds: acknowledged messages were lost). KEYS: meta,
 * log. ARGV: seen epoch, seen offset, new epoch. Returns 1 when renewed.
 */
export const RENEW_EPOCH = new Script(`
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'epoch', ARGV[3], 'top', 0)
redis.call('DEL', KEYS[2])
return 1
`);

/**
 * Issues a ticket within its holder's limits and the store's, atomically, so the counts are exact
 * however many nodes issue at once. A holder's sorted set maps its tickets to their expiry: expired
 * ones leave by score, redeemed ones because their ticket key is gone (the redeeming node need not
 * know the holder). The holder's token bucket is a hash `{tokens, at}`.
 *
 * KEYS: ticket, holder's tickets, holder's bucket, all tickets. ARGV: now (ms), lifetime (ms),
 * identity (JSON), per holder, per second, burst, max, ticket key prefix, ticket id. Returns
 * `{0, 0}` when issued, else `{reason, retry after (ms)}`: 1 per holder, 2 rate, 3 store full.
 */
export const TICKET_ISSUE = new Script(`
local now = tonumber(ARGV[1])
local life = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local count, earliest = 0, nil
for i = 1, #held, 2 do
  if redis.call('EXISTS', ARGV[8] .. held[i]) == 1 then
    count = count + 1
    local expires = tonumber(held[i + 1])
    if earliest == nil or expires < earliest then earliest = expires end
  else
    redis.call('ZREM', KEYS[2], held[i])
  end
end
if count >= tonumber(ARGV[4]) then return {1, math.ceil(earliest - now)} end
local rate, burst = tonumber(ARGV[5]), tonumber(ARGV[6])
local bucket = redis.call('HMGET', KEYS[3], 'tokens', 'at')
local tokens = burst
if bucket[1] then tokens = math.min(burst, tonumber(bucket[1]) + math.max(0, now - tonumber(bucket[2])) * rate / 1000) end
if tokens < 1 then return {2, math.ceil((1 - tokens) * 1000 / rate)} end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[7]) then
  local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  return {3, math.ceil(tonumber(first[2]) - now)}
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', life)
for _, set in ipairs({KEYS[2], KEYS[4]}) do
  redis.call('ZADD', set, now + life, ARGV[9])
  -- A set lives as long as its last ticket.
  if redis.call('PTTL', set) < life then redis.call('PEXPIRE', set, life) end
end
redis.call('HSET', KEYS[3], 'tokens', tostring(tokens - 1), 'at', tostring(now))
-- Forgotten once full again: a missing bucket is a full one.
redis.call('PEXPIRE', KEYS[3], math.ceil((burst - tokens + 1) * 1000 / rate) + 1)
return {0, 0}
`);

/** Redeems a ticket once: KEYS: ticket, all tickets. ARGV: ticket id. Returns the identity (JSON) or nil. */
export const TICKET_REDEEM = new Script(`
local identity = redis.call('GET', KEYS[1])
if identity then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return identity
`);

/**
 * Takes `cost` requests from a rate bucket (the generic cell rate algorithm, as `takeFromBucket` of
 * `@herald/server`). KEYS: the bucket (its value: the time, ms, it is full again). ARGV: now (ms),
 * interval (ms per request), burst, cost (1 when absent). Returns 0 when taken, else the ms until
 * `cost` requests are available.
 * The key expires when the bucket is full again: a missing bucket is a full one.
 */
export const RATE_TAKE = new Script(`
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cost = tonumber(ARGV[4] or '1')
local capacity = burst * interval
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
-- Never further ahead than a bucket can be: a node whose clock is behind refuses one interval at most.
at = math.min(math.max(at, now), now + capacity)
local wait = at - now - (capacity - cost * interval)
if wait > 0 then return math.ceil(wait) end
at = at + cost * interval
redis.call('SET', KEYS[1], string.format('%.3f', at), 'PX', math.max(1, math.ceil(at - now)))
return 0
`);

/**
 * Drops the members whose node stopped refreshing them (KEYS 1–4: members, alive, owners, user
 * counts; `now` ms), uncounting the counted ones. Returns a flat list of user key, client for each
 * user whose last member expired, and whether the channel's last counted members expired.
 */
const SWEEP = `
local function sweep(now)
  local gone = {}
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  if #expired == 0 then return gone, 0 end
  local before = redis.call('HLEN', KEYS[3])
  for i = 1, #expired do
    local client = expired[i]
    redis.call('HDEL', KEYS[1], client)
    redis.call('ZREM', KEYS[2], client)
    local owner = redis.call('HGET', KEYS[3], client)
    if owner then
      redis.call('HDEL', KEYS[3], client)
      if redis.call('HINCRBY', KEYS[4], owner, -1) <= 0 then
        redis.call('HDEL', KEYS[4], owner)
        gone[#gone + 1] = owner
        gone[#gone + 1] = client
      end
    end
  end
  if before > 0 and redis.call('HLEN', KEYS[3]) == 0 then return gone, 1 end
  return gone, 0
end
`;

/**
 * Counts a member (already added with {@link PRESENCE_ADD}) for the webhook presence events, after
 * sweeping dead nodes' members. KEYS: members, alive, owners, user counts, the user's leave marker,
 * the channel's vacate marker. ARGV: now (ms), key ttl (ms), client, user key. Returns `{added,
 * channel members, user members, user returned, channel returned, swept vacated, user key, client…}`
 * where "returned" means the add deleted a pending marker.
 */
export const PRESENCE_COUNT_ADD = new Script(`${SWEEP}
local gone, vacated = sweep(ARGV[1])
local added, user_returned, channel_returned = 0, 0, 0
local owner = redis.call('HGET', KEYS[3], ARGV[3])
if not owner then
  owner = ARGV[4]
  added = 1
  redis.call('HSET', KEYS[3], ARGV[3], owner)
  if redis.call('HINCRBY', KEYS[4], owner, 1) == 1 and redis.call('DEL', KEYS[5]) == 1 then user_returned = 1 end
  if redis.call('HLEN', KEYS[3]) == 1 and redis.call('DEL', KEYS[6]) == 1 then channel_returned = 1 end
end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
local out = {added, redis.call('HLEN', KEYS[3]), tonumber(redis.call('HGET', KEYS[4], owner) or '0'), user_returned, channel_returned, vacated}
for i = 1, #gone do out[#out + 1] = gone[i] end
return out
`);

/**
 * Removes a member and uncounts it, after sweeping dead nodes' members; a count that reaches 0
 * leaves its marker. KEYS: members, alive, owners, user counts, the user's leave marker, the
 * channel's vacate marker. ARGV: now (ms), client, marker token ('' = no marker), marker ttl (ms).
 * Returns `{removed, channel members, user members, swept vacated, user key, client…}`.
 */
export const PRESENCE_COUNT_REMOVE = new Script(`${SWEEP}
local gone, vacated = sweep(ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
local owner = redis.call('HGET', KEYS[3], ARGV[2])
local removed, left = 0, 0
if owner then
  removed = 1
  redis.call('HDEL', KEYS[3], ARGV[2])
  left = redis.call('HINCRBY', KEYS[4], owner, -1)
  if left <= 0 then
    left = 0
    redis.call('HDEL', KEYS[4], owner)
    if ARGV[3] ~= '' then redis.call('SET', KEYS[5], ARGV[3], 'PX', ARGV[4]) end
  end
  if redis.call('HLEN', KEYS[3]) == 0 and ARGV[3] ~= '' then redis.call('SET', KEYS[6], ARGV[3], 'PX', ARGV[4]) end
end
local out = {removed, redis.call('HLEN', KEYS[3]), left, vacated}
for i = 1, #gone do out[#out + 1] = gone[i] end
return out
`);

/**
 * Drops the channel's members whose node stopped refreshing them and uncounts them (the sweep of
 * {@link PRESENCE_COUNT_ADD}, alone): a periodic sweep of a dead node's channels. KEYS: members,
 * alive, owners, user counts. ARGV: now (ms). Returns `{swept vacated, user key, client…}`.
 */
export const PRESENCE_SWEEP = new Script(`${SWEEP}
local gone, vacated = sweep(ARGV[1])
local out = {vacated}
for i = 1, #gone do out[#out + 1] = gone[i] end
return out
`);

/**
 * Claims a pending marker. KEYS: the marker, its claim record. ARGV: token, hold (ms). When the
 * marker holds the token it is deleted and the claim recorded for `hold` ms; returns 1 then, or when
 * the record already names the token (a repeated claim), else 0.
 */
export const PRESENCE_CLAIM_MARKER = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end
  return 1
end
if redis.call('GET', KEYS[2]) == ARGV[1] then return 1 end
return 0
`);

/**
 * Acknowledges a position for a user. KEYS: the channel's hash user → `<epoch> <offset> <time>`, its
 * sorted set user → time. ARGV: user, epoch, offset, now (ms), ttl (ms), most users per channel,
 * the stored epoch the ack replaces ('' for none). Drops up to 1000 expired users first; writes
 * nothing when the stored position is of another epoch than the ack's and not the one it replaces
 * (`ackDecision`: the hub confirms the ack's epoch and calls again); keeps the stored position when
 * it has the same epoch and an offset at least as high; stamps the time, drops the least recently
 * acknowledged users past the bound, and lets both keys expire `ttl` after the last ack. Returns
 * {epoch, offset, moved (0/1), other epoch (0/1)}.
 */
export const ACK = new Script(`
local user, epoch, offset, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, max = tonumber(ARGV[5]), tonumber(ARGV[6])
local cutoff = tonumber(now) - ttl
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff, 'LIMIT', 0, 1000)
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
local moved = 1
local stored = redis.call('HGET', KEYS[1], user)
if stored then
  local e, o = string.match(stored, '^(%S+) (%d+)')
  if e == epoch then
    if tonumber(o) >= tonumber(offset) then
      moved = 0
      offset = o
    end
  elseif e ~= ARGV[7] then
    return {e, o, 0, 1}
  end
end
redis.call('HSET', KEYS[1], user, epoch .. ' ' .. offset .. ' ' .. now)
redis.call('ZADD', KEYS[2], now, user)
local count = redis.call('ZCARD', KEYS[2])
if count > max then
  local old = redis.call('ZRANGE', KEYS[2], 0, count - max - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, count - max - 1)
  redis.call('HDEL', KEYS[1], unpack(old))
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {epoch, offset, moved, 0}
`);

/**
 * Lists acknowledged positions. KEYS: as {@link ACK}. ARGV: cutoff (ms: positions acknowledged at
 * or before it are expired), limit, and optionally one user. Returns a flat list user, value, …,
 * the most recently acknowledged first.
 */
export const ACK_LIST = new Script(`
local users
if ARGV[3] then
  local t = redis.call('ZSCORE', KEYS[2], ARGV[3])
  if t and tonumber(t) > tonumber(ARGV[1]) then users = {ARGV[3]} else users = {} end
else
  users = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
end
local out = {}
for _, user in ipairs(users) do
  local value = redis.call('HGET', KEYS[1], user)
  if value then
    out[#out + 1] = user
    out[#out + 1] = value
  end
end
return out
`);
