-- The least Redis can do for one page of 25 customers (26 read, to know if
-- there is more): their IDs in order from an ID index (built by id_index.lua),
-- their records, the count. The raw side of the page figure: the store itself
-- pages from its in-memory orders after one catch-up round trip
-- (server/src/store/order.rs).
-- KEYS: records, ids. ARGV: first bound, second bound, count.
local ids = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[3])
local total = redis.call('ZCARD', KEYS[2])
if #ids == 0 then
  return {total, {}}
end
return {total, redis.call('HMGET', KEYS[1], unpack(ids))}
