-- Pacing for wrk scripts (dofile'd by them): each connection waits between its answer and
-- its next request, and the wait is corrected every second so that the thread's rate comes to
-- its share of the aim whatever the latency (a fixed wait would lose rate to every slow
-- answer). Needs `pace_share` (requests a second for this thread) and `pace_connections`.
local wait_ms, this_second, answered_now, seconds_seen = nil, 0, 0, 0

function pace_delay()
  if wait_ms == nil then
    wait_ms = pace_connections * 1000 / pace_share
  end
  return wait_ms
end

function pace_answered()
  local now = os.time()
  if now ~= this_second then
    seconds_seen = seconds_seen + 1
    -- The first second counted is only part of one: nothing to learn from it.
    if seconds_seen > 2 and answered_now > 0 and wait_ms ~= nil then
      -- Too few answers: wait less; too many: wait more. Bounded steps keep it steady.
      local ratio = math.max(0.5, math.min(2, answered_now / pace_share))
      wait_ms = wait_ms * ratio
    end
    this_second = now
    answered_now = 0
  end
  answered_now = answered_now + 1
end
