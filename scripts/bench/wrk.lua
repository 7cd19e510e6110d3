-- wrk script for scripts/bench.sh. Builds the requests of one benchmark mode and,
-- when the run ends, prints one line `BENCH {json}` with the throughput, latency
-- percentiles (milliseconds) and error counts, for scripts/bench/measure.py.
--
-- Environment:
--   BENCH_MODE    get     GET /get/{random existing id}
--                 set     POST /set, a JSON customer, distinct IDs per thread
--                 list    GET / as a program (JSON of every customer)
--                 page    GET / as a browser (the server-rendered customers page)
--                 search  POST /api/list_customers (the UI's search server function)
--   BENCH_N       how many customers exist (IDs c00000000 .. c{N-1}, zero-padded)
--   BENCH_SEARCH  the search text of the search mode
--   BENCH_AUTH    an `Authorization` header value for every request (optional)

local mode = os.getenv("BENCH_MODE") or "get"
-- BENCH_AUTH: an `Authorization` header value sent with every request.
local authorization = os.getenv("BENCH_AUTH") or ""
if authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
local n = tonumber(os.getenv("BENCH_N") or "1000")
local search = os.getenv("BENCH_SEARCH") or "a"

local function customer_id(index)
  return string.format("c%08d", index)
end

local function form_encode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

-- Runs in the main Lua state: number the threads so each gets its own ID range.
local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

-- The static modes use wrk's prebuilt request (fastest); the others build one each time.
if mode == "list" then
  wrk.method = "GET"
  wrk.headers["Accept"] = "*/*"
elseif mode == "page" then
  wrk.method = "GET"
  wrk.headers["Accept"] = "text/html"
elseif mode == "search" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  wrk.body = "search=" .. form_encode(search)
elseif mode == "get" then
  function init(args)
    math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
  end
  function request()
    return wrk.format("GET", "/get/" .. customer_id(math.random(0, n - 1)))
  end
elseif mode == "set" then
  -- Each thread walks the existing IDs from its own start, so every write in a run
  -- has a distinct ID (until a thread wraps around) and the customer count stays N.
  local next_index = 0
  local written = 0
  local headers = { ["Content-Type"] = "application/json" }
  function init(args)
    math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
    next_index = math.random(0, n - 1)
  end
  function request()
    local id = customer_id(next_index)
    next_index = (next_index + 1) % n
    written = written + 1
    local body = string.format(
      '{"customerID":"%s","firstName":"Bench%d","lastName":"Writer"}', id, written)
    return wrk.format("POST", "/set", headers, body)
  end
else
  error("unknown BENCH_MODE " .. mode)
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local function ms(us) return us / 1000 end
  io.write(string.format(
    'BENCH {"mode":"%s","requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d}\n',
    mode, summary.requests, seconds, summary.requests / seconds, summary.bytes,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency.max), ms(latency.mean),
    e.connect, e.read, e.write, e.status, e.timeout))
end
