-- wrk script for benchmarks/load/run.sh.
--
-- LOAD_HEADER_NAME / LOAD_HEADER_VALUE (environment): one extra request header, the
-- credential (`Cookie` or `Authorization`); unset, the request carries none.
--
-- Every response's status is checked here, because wrk's own "Non-2xx or 3xx responses"
-- only counts statuses >= 400. done() prints one machine-readable line for run.sh:
--   LOAD_RESULT requests=... duration_us=... p50_us=... p99_us=... non2xx=... first_bad=...
--               connect=... read=... write=... timeout=...

local header_name = os.getenv("LOAD_HEADER_NAME")
local header_value = os.getenv("LOAD_HEADER_VALUE")
if header_name and header_name ~= "" then
  wrk.headers[header_name] = header_value
end

-- Each wrk thread has its own Lua state; keep them to sum their counters at the end.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  first_bad = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then
      first_bad = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    local status = thread:get("first_bad")
    if first == 0 and status ~= 0 then
      first = status
    end
  end
  local errors = summary.errors
  io.write(string.format(
    "LOAD_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d first_bad=%d "
      .. "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, first, errors.connect, errors.read, errors.write, errors.timeout))
end
