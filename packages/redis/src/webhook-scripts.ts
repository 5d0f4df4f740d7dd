import { Script } from './scripts.js';

// The webhook queue's scripts. KEYS are always, in order: due, events, state, dead, deadInfo,
// deadSeq (see Keys.webhooks), so every script sees the same keys (one hash tag, one slot).

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
 * ARGV: now, max, lease end. Moves up to max due ids (score ≤ now) to the lease end (the lease is
 * the due time: once it passes, any node claims them again) and returns id, event, state for each.
 */
export const WEBHOOK_CLAIM = new Script(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = id
    out[#out + 1] = json
    out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`);

/** ARGV: ids. Deletes queued events (a dead letter of the same id stays). */
export const WEBHOOK_ACK = new Script(`
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return 0
`);

/** ARGV: id, due time, state JSON: a queued event due again, its state recorded. */
export const WEBHOOK_RETRY = new Script(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
return 0
`);

/** ARGV: id, dead info JSON: a queued event moved to the dead-letter list (next burial number). */
export const WEBHOOK_BURY = new Script(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  local seq = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[4], seq, ARGV[1])
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 0
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

/** ARGV: ids. Moves dead letters back to the queue, due at their event's time; returns how many moved. */
export const WEBHOOK_REPLAY = new Script(`
local moved = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[4], id) == 1 then
    redis.call('HDEL', KEYS[5], id)
    local json = redis.call('HGET', KEYS[2], id)
    if json then
      local ok, event = pcall(cjson.decode, json)
      local time = (ok and type(event) == 'table' and tonumber(event['time'])) or 0
      redis.call('ZADD', KEYS[1], time, id)
      moved = moved + 1
    end
  end
end
return moved
`);
