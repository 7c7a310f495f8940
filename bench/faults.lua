-- wrk script for bench/faults: comment POSTs that write the id of every acknowledged comment
-- (303 to #c<id>) to a file per thread, so the script can check each one is in the database.
local token = os.getenv("FOLIO_BENCH_TOKEN")
local out_dir = os.getenv("FOLIO_FAULTS_OUT")
local threads = {}
local thread_id = 0
local counter = 0
local run = os.time()
local file

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  thread_id = wrk.thread:get("id")
  file = io.open(out_dir .. "/acked-" .. thread_id, "w")
end

function request()
  counter = counter + 1
  local body = "token=" .. token .. "&name=Fault+Reader&comment=Through+the+restart+"
    .. run .. "-" .. thread_id .. "-" .. counter
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function response(status, headers, body)
  if status == 303 then
    local id = string.match(headers["Location"] or headers["location"] or "", "#c(%d+)")
    if id then
      file:write(id .. "\n")
      file:flush()
    end
  end
end
