-- event_take.lua -- after BRPOPLPUSH moved event id into a planner's processing list: counts
-- the take and reads the event, or quarantines a poison event (common.lua's take_event).
-- ARGV: processing list key, id, max takes (0: no limit), ttl (s) of a failed record.
-- Returns {body, received ms, ''} or {'', '0', why it was quarantined}.
return take_event(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
