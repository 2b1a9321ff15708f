-- hold_add.lua -- holds a path for a study's (patient's) pending events: scored by Redis' time, so a
-- release decided from a state read earlier leaves a path held after that read.
-- Keys: holds:LEVEL:ID (zset: path by the ms it was last held at).
-- ARGV: the level's name ('study', 'patient': level.c), its id, path, ttl (s) of the holds.
local key = P .. 'holds:' .. ARGV[1] .. ':' .. ARGV[2]
redis.call('ZADD', key, now_ms(), ARGV[3])
redis.call('EXPIRE', key, tonumber(ARGV[4]))
return 1
