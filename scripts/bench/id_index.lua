-- The sorted set of IDs that page.lua reads (and that builds up to ce149f9 page
-- and count from), built from the records once, after an import. The store
-- keeps no such index now (it pages from its in-memory orders): the raw page
-- script gets one so that it measures the least Redis can do for a page, not a
-- scan. KEYS: records, ids. Returns the count indexed.
local ids = redis.call('HKEYS', KEYS[1])
redis.call('DEL', KEYS[2])
for first = 1, #ids, 1000 do
  local members = {}
  for i = first, math.min(first + 999, #ids) do
    members[#members + 1] = 0
    members[#members + 1] = ids[i]
  end
  redis.call('ZADD', KEYS[2], unpack(members))
end
return #ids
