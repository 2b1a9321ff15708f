-- enqueue.lua -- writes a whole event's job graph at once.
-- ARGV[1]: {"v":1,"event":ID,"jobs":[{"id","name","func","queue","kwargs" (JSON text),
--            "timeout" (s, -1 none),"deps":[ids],"retry_max","retry_interval"}]}
-- A dependency is a job earlier in the list or a job already in Redis. Nothing is written
-- unless the whole graph is valid. Returns the number of jobs written.
local n, err = write_graph(ARGV[1])
if not n then return redis.error_reply(err) end
return n
