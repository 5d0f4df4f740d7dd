import { Script } from './scripts.js';

// The webhook queue's scripts. KEYS are always, in order: due, events, state, dead, deadInfo,
// deadSeq, lease (see Keys.webhooks), so every script sees the same keys (one hash tag, one slot).
// An outcome (ack, retry, bury, release) given a lease token ('' for none) applies only to events
// still held under it: `lease` maps each claimed id to its claim's token.

/**
 * ARGV: id, due, json, state, id, due, json, state, …: stores each event not already queued or dead,
 * due at its due time; a state other than '' (an event with a delivery condition) is its first state.
 */
export const WEBHOOK_ADD = new Script(`
for i = 1, #ARGV, 4 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    if ARGV[i + 3] ~= '' then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 3]) end
  end
end
return 0
`);

/**
 * ARGV: now ('' = the Redis server's clock, TIME), max, lease ms, lease token, max bytes ('' =
 * none). Moves up to max due ids (score ≤ now) to the lease end (the lease is the due time: once
 * it passes, any node claims them again), stopping before the event whose JSON would pass max
 * bytes (never before the first), records the token, and returns the time used (ms) then id,
 * event, state for each.
 */
export const WEBHOOK_CLAIM = new Script(`
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local maxBytes = tonumber(ARGV[5]) or math.huge
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = { string.format('%.0f', now) }
local bytes = 0
for _, id in ipairs(ids) do
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    if #out > 1 and bytes + #json > maxBytes then break end
    bytes = bytes + #json
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
    redis.call('HSET', KEYS[7], id, ARGV[4])
    out[#out + 1] = id
    out[#out + 1] = json
    out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`);

/** Whether queued event \`id\` is held under \`token\` ('' = any queued event). */
const HELD = `
local function held(id, token)
  if not redis.call('ZSCORE', KEYS[1], id) then return false end
  return token == '' or redis.call('HGET', KEYS[7], id) == token
end
`;

/** ARGV: token, ids. Deletes queued events (a dead letter of the same id stays); returns how many. */
export const WEBHOOK_ACK = new Script(`${HELD}
local acked = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if held(id, ARGV[1]) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[7], id)
    acked = acked + 1
  end
end
return acked
`);

/** ARGV: id, due time, state JSON, token: a queued event due again, its state recorded; returns 1 or 0. */
export const WEBHOOK_RETRY = new Script(`${HELD}
if not held(ARGV[1], ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('HDEL', KEYS[7], ARGV[1])
return 1
`);

/** ARGV: token, offset ms, ids: events held under token due again at their time + offset (no attempt counted); returns how many. */
export const WEBHOOK_RELEASE = new Script(`${HELD}
local released = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if held(id, ARGV[1]) then
    local ok, event = pcall(cjson.decode, redis.call('HGET', KEYS[2], id))
    local time = (ok and type(event) == 'table' and tonumber(event['time'])) or 0
    redis.call('ZADD', KEYS[1], 'XX', time + tonumber(ARGV[2]), id)
    redis.call('HDEL', KEYS[7], id)
    -- A delivery condition (the only state before a recorded attempt) was claimed before the send: drop it.
    local state = redis.call('HGET', KEYS[3], id)
    if state then
      local okState, decoded = pcall(cjson.decode, state)
      if okState and type(decoded) == 'table' and decoded['condition'] ~= nil then redis.call('HDEL', KEYS[3], id) end
    end
    released = released + 1
  end
end
return released
`);

/** ARGV: id, dead info JSON, token: a queued event moved to the dead-letter list (next burial number); returns 1 or 0. */
export const WEBHOOK_BURY = new Script(`${HELD}
if not held(ARGV[1], ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
local seq = redis.call('INCR', KEYS[6])
redis.call('ZADD', KEYS[4], seq, ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[7], ARGV[1])
return 1
`);

/** ARGV: after, limit. Returns id, burial number, event, dead info for each letter after \`after\`. */
export const WEBHOOK_DEAD = new Script(`
local rows = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #rows, 2 do
  out[#out + 1] = rows[i]
  out[#out + 1] = rows[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], rows[i]) or ''
  out[#out + 1] = redis.call('HGET', KEYS[5], rows[i]) or ''
end
return out
`);

/** ARGV: offset ms, ids. Moves dead letters back to the queue, due at their event's time + offset; returns how many moved. */
export const WEBHOOK_REPLAY = new Script(`
local moved = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[4], id) == 1 then
    redis.call('HDEL', KEYS[5], id)
    local json = redis.call('HGET', KEYS[2], id)
    if json then
      local ok, event = pcall(cjson.decode, json)
      local time = (ok and type(event) == 'table' and tonumber(event['time'])) or 0
      redis.call('ZADD', KEYS[1], time + tonumber(ARGV[1]), id)
      moved = moved + 1
    end
  end
end
return moved
`);

/** ARGV: ids. Deletes dead letters (their event too); returns how many. */
export const WEBHOOK_DELETE_DEAD = new Script(`
local deleted = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[4], id) == 1 then
    redis.call('HDEL', KEYS[5], id)
    redis.call('HDEL', KEYS[2], id)
    deleted = deleted + 1
  end
end
return deleted
`);

/** ARGV: max, most to delete. Deletes the oldest dead letters past the newest max (at most the second number); returns how many. */
export const WEBHOOK_TRIM_DEAD = new Script(`
local over = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[1])
if over <= 0 then return 0 end
if over > tonumber(ARGV[2]) then over = tonumber(ARGV[2]) end
local ids = redis.call('ZRANGE', KEYS[4], 0, over - 1)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[2], id)
end
return #ids
`);
