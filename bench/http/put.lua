-- wrk script: PUT /api/v1/inventory/thresholds/{part_id} with the seed article's payload.
-- Requests come from puts.txt (bench/http/gen.py): line k updates part k % PARTS with sequence
-- k // PARTS + 1. Thread t of n sends the lines with (k mod n) == t, in order; with PARTS a
-- multiple of n, all updates of one part go through one thread, so sequences arrive in increasing
-- order and every request should be answered 200 (a 409 would show as a non-2xx response).
-- Environment: TOKEN (ingest scope), PUTS (path of puts.txt), THREADS (wrk -t value).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local lines = {}
local i = 0
local token = os.getenv("TOKEN")

function init(args)
  local n = tonumber(os.getenv("THREADS") or "1")
  local k = 0
  for line in io.lines(os.getenv("PUTS")) do
    if k % n == tid then
      lines[#lines + 1] = line
    end
    k = k + 1
  end
end

function request()
  i = i + 1
  local line = lines[i]
  if line == nil then
    -- Out of prepared updates: resending would be answered 409, so stop instead.
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local part, seq, sum, lo, re, hi = line:match("(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)")
  local body = string.format(
    '{"part_id":"%s","current_stock":%s,"thresholds":{"min":%s,"reorder":%s,"max":%s},' ..
    '"sequence_id":%s,"sync_timestamp":"2026-11-30T12:00:00Z","checksum":"%s"}',
    part, lo, lo, re, hi, seq, sum)
  return wrk.format("PUT", "/api/v1/inventory/thresholds/" .. part,
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

local non2xx = 0
function response(status, headers, body)
  if status >= 300 then
    non2xx = non2xx + 1
    if non2xx <= 3 then
      io.stderr:write("PUT answered " .. status .. ": " .. body .. "\n")
    end
  end
end
