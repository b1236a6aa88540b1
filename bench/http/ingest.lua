-- wrk script: POST /api/v1/ingest/consumption with BATCH consumption events per request.
-- Event ids are unique per run (RUN), thread and request, so every record is new; SKUs spread
-- over PARTS parts mapped in sku_map (ERP SKU 100000000 + i).
-- Environment: TOKEN (ingest scope), BATCH (default 1000), PARTS (default 10000), RUN (a tag).

local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local batch = tonumber(os.getenv("BATCH") or "1000")
local parts = tonumber(os.getenv("PARTS") or "10000")
local run = os.getenv("RUN") or "r"
local token = os.getenv("TOKEN")
local n = 0
local headers

function init(args)
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  math.randomseed(1000 + tid)
end

function request()
  n = n + 1
  local parts_out = {}
  local prefix = string.format('{"event_id":"%s-%d-%d-', run, tid, n)
  for j = 1, batch do
    local sku = 100000000 + math.random(0, parts - 1)
    local sec = math.random(0, 59)
    parts_out[j] = string.format(
      '%s%d","source":"ERP","external_sku":"%d","quantity":%d,"consumed_at":"2026-11-%02dT%02d:%02d:%02dZ"}',
      prefix, j, sku, math.random(1, 3), math.random(1, 28), math.random(0, 23), math.random(0, 59), sec)
  end
  return wrk.format("POST", "/api/v1/ingest/consumption", headers, "[" .. table.concat(parts_out, ",") .. "]")
end

local non2xx = 0
function response(status, headers, body)
  if status >= 300 then
    non2xx = non2xx + 1
    if non2xx <= 3 then
      io.stderr:write("ingest answered " .. status .. ": " .. body:sub(1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  -- Only acknowledged (2xx) requests count; every record of a batch is new, so each is accepted.
  local ok = summary.requests - summary.errors.status
  io.write(string.format("acknowledged records/s: %.0f (%d acknowledged requests x %d records in %.2f s)\n",
    ok * batch / (summary.duration / 1e6), ok, batch, summary.duration / 1e6))
end
