-- wrk script: every request a page address never asked before, so the page cache misses each
-- time (a crawler walking the archive, or the first readers after a change). FOLIO_BENCH_PARAM
-- names a parameter the page reads (and so one that keys the cache): `reply` on a post page
-- (too long to be a comment's id: the page is the plain post), `updated-max` on the home page
-- (an instant far ahead: the newest posts). The run's start time, thread id and a counter make
-- each address unique.
local param = os.getenv("FOLIO_BENCH_PARAM")
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
  local value
  if param == "updated-max" then
    -- An instant far ahead (the newest posts), a minute per thread and a microsecond per request.
    value = string.format("2999-01-01T00:%02d:%02d.%06dZ", thread_id,
      math.floor(counter / 1000000) % 60, counter % 1000000)
  else
    value = string.format("%d%02d%09d", run, thread_id, counter)
  end
  return wrk.format(nil, wrk.path .. "?" .. param .. "=" .. value)
end
