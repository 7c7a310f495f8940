-- wrk script: POST comments with a valid form token; every body is different (the run's start
-- time, thread id and a counter), so the duplicate check does not refuse them, even on a second
-- run against the same database. TOKEN comes from bench/run.
local token = os.getenv("FOLIO_BENCH_TOKEN")
local threads = {}
local thread_id = 0
local counter = 0
local run = os.time()

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  thread_id = wrk.thread:get("id")
end

function request()
  counter = counter + 1
  local body = "token=" .. token .. "&name=Bench+Reader&comment=Load+test+comment+"
    .. run .. "-" .. thread_id .. "-" .. counter
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
