-- wrk script for bench/wave: comment POSTs from many client addresses (X-Forwarded-For; Folio
-- runs with FOLIO_TRUST_PROXY), ham and spam from the corpus (FOLIO_WAVE_BODIES, one form body a
-- line), each made unique by the run's mark so the duplicate check takes none of them. Half go
-- to the first post of FOLIO_WAVE_TARGETS ("path token path token ..."), the post readers read;
-- the rest spread over the others. One request in twenty comes from one of four busy addresses,
-- which the per-client limit refuses once they have sent their five a minute.
-- Counts each answer by outcome and writes them, with the ids acknowledged, to FOLIO_WAVE_OUT.
local bodies_file = os.getenv("FOLIO_WAVE_BODIES")
local targets_env = os.getenv("FOLIO_WAVE_TARGETS")
local mark = os.getenv("FOLIO_WAVE_RUN")
local out_file = os.getenv("FOLIO_WAVE_OUT")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  bodies = {}
  for line in io.lines(bodies_file) do
    table.insert(bodies, line)
  end
  targets = {}
  local words = {}
  for word in string.gmatch(targets_env, "%S+") do
    table.insert(words, word)
  end
  for i = 1, #words, 2 do
    table.insert(targets, { path = words[i], token = words[i + 1] })
  end
  counter = 0
  math.randomseed(id * 7919 + os.time())
  shown, held, spam, limited, busy, rejected, other = 0, 0, 0, 0, 0, 0, 0
  ids = {}
end

function request()
  counter = counter + 1
  local target = targets[1]
  if math.random() >= 0.5 then
    target = targets[math.random(2, #targets)]
  end
  local address
  if math.random() < 0.05 then
    address = "203.0.113." .. math.random(1, 4)
  else
    address = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  end
  local body = bodies[math.random(1, #bodies)] .. "+%0A%0A%28wave+" .. mark .. "-" .. id .. "-" .. counter
    .. "%29&token=" .. target.token
  return wrk.format("POST", target.path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = address,
  }, body)
end

function response(status, headers, body)
  if status == 303 then
    local location = headers["location"] or headers["Location"] or ""
    local cookie = headers["set-cookie"] or headers["Set-Cookie"] or ""
    if string.find(location, "#post-a-comment", 1, true) then
      spam = spam + 1
    else
      local id = string.match(location, "#c(%d+)$")
      if id then
        table.insert(ids, id)
      end
      if string.find(cookie, "folio_own=", 1, true) then
        held = held + 1
      else
        shown = shown + 1
      end
    end
  elseif status == 429 then
    limited = limited + 1
  elseif status == 503 then
    busy = busy + 1
  elseif status == 422 then
    rejected = rejected + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { shown = 0, held = 0, spam = 0, limited = 0, busy = 0, rejected = 0, other = 0 }
  local all_ids = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
    local thread_ids = thread:get("ids")
    for _, id in ipairs(thread_ids) do
      table.insert(all_ids, id)
    end
  end
  local file = io.open(out_file, "w")
  for _, name in ipairs({ "shown", "held", "spam", "limited", "busy", "rejected", "other" }) do
    file:write(name .. " " .. totals[name] .. "\n")
  end
  file:write(string.format("p50_us %d\np99_us %d\nseconds %.3f\n", latency:percentile(50),
    latency:percentile(99), summary.duration / 1e6))
  file:write("ids " .. table.concat(all_ids, ",") .. "\n")
  file:close()
end
