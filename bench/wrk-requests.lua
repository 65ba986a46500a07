-- wrk script for bench/ingest.ts: sends each pre-built raw HTTP request once, in order, from
-- the file named by BENCH_REQUESTS (requests separated by NUL bytes, which no signed request
-- contains), and prints its counts as one JSON line. One wrk thread: `sent` is its global.
local path = os.getenv("BENCH_REQUESTS")
local reqs = {}
local n = 0
sent = 0

init = function(args)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while true do
    local s = string.find(data, "\0", pos, true)
    if not s then break end
    n = n + 1
    reqs[n] = string.sub(data, pos, s - 1)
    pos = s + 1
  end
end

request = function()
  sent = sent + 1
  -- Past the end the last request goes again; the driver sees sent > n and refuses the run.
  return reqs[math.min(sent, n)]
end

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("sent") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"sent":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, total))
end
