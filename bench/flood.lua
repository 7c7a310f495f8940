-- wrk script for bench/federation's inbox flood: POSTs the signed activities of
-- FOLIO_FLOOD_REQUESTS (one a line: date, digest, signature, body; bench/gen-flood.py) to the
-- shared inbox, each once (thread k of FOLIO_FLOOD_THREADS takes every k-th), at about
-- FOLIO_FLOOD_RATE a second over FOLIO_FLOOD_CONNECTIONS connections (bench/pace.lua). Writes
-- the answers' statuses, counted, to FOLIO_FLOOD_OUT.
dofile("bench/pace.lua")
local file = os.getenv("FOLIO_FLOOD_REQUESTS")
local rate = tonumber(os.getenv("FOLIO_FLOOD_RATE"))
local host = os.getenv("FOLIO_FLOOD_HOST")
local out_file = os.getenv("FOLIO_FLOOD_OUT")
local thread_count = tonumber(os.getenv("FOLIO_FLOOD_THREADS"))
local connections = tonumber(os.getenv("FOLIO_FLOOD_CONNECTIONS"))
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  requests = {}
  local n = 0
  for line in io.lines(file) do
    if n % thread_count == id - 1 then
      local date, digest, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      table.insert(requests, wrk.format("POST", "/fediverse/inbox", {
        ["Host"] = host,
        ["Date"] = date,
        ["Digest"] = digest,
        ["Signature"] = signature,
        ["Content-Type"] = "application/activity+json",
      }, body))
    end
    n = n + 1
  end
  next_request = 0
  statuses = {}
  sent = 0
end

pace_share = rate / thread_count
pace_connections = connections / thread_count

function delay()
  return pace_delay()
end

function request()
  next_request = next_request + 1
  if next_request > #requests then
    -- All sent: a request nobody counts, answered 404.
    return wrk.format("GET", "/fediverse/none")
  end
  sent = sent + 1
  return requests[next_request]
end

function response(status, headers, body)
  pace_answered()
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local out = io.open(out_file, "w")
  for status, n in pairs(totals) do
    out:write(status .. " " .. n .. "\n")
  end
  out:close()
end
