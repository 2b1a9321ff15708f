-- hold_add.lua -- holds a path for a study's pending events: scored by Redis' time, so a
-- release decided from a state read earlier leaves a path held after that read.
-- Keys: holds:ID (zset: path by the ms it was last held at).
-- ARGV: study id, path, ttl (s) of the holds.
local key = P .. 'holds:' .. ARGV[1]
redis.call('ZADD', key, now_ms(), ARGV[2])
redis.call('EXPIRE', key, tonumber(ARGV[3]))
return 1
