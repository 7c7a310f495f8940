-- wrk script for bench/soak-all. FOLIO_SOAK_ROLE says who this wrk is:
--   reader     GETs the hot pages in turn (FOLIO_SOAK_PAGES: paths separated by spaces);
--   commenter  POSTs "Post a Comment" forms on the hot posts, one per FOLIO_SOAK_COMMENT_MS per
--              connection, each from its own client address (X-Forwarded-For, with
--              FOLIO_TRUST_PROXY on), with a valid form token (FOLIO_SOAK_POSTS: "path token
--              parent" triples, parent an approved comment of that post). In ten comments: one
--              pitches pills (the trained filter's to catch), two leave an email address and tick
--              "Notify me of replies" (one of them "...and of every new comment"); one in four
--              answers the parent comment. Every text carries "[soak RUN-thread-n]".
--              Answers are counted by status; each 303 is an acknowledged comment, and its id
--              (from Location's #c{id}; a comment stored as spam goes back to the form instead)
--              is written with the totals to FOLIO_SOAK_ACKS when wrk ends.
local role = os.getenv("FOLIO_SOAK_ROLE") or "reader"
local run = os.getenv("FOLIO_SOAK_RUN") or tostring(os.time())

local pages = {}
for path in string.gmatch(os.getenv("FOLIO_SOAK_PAGES") or "/", "%S+") do
  table.insert(pages, path)
end

local targets = {}
for path, token, parent in string.gmatch(os.getenv("FOLIO_SOAK_POSTS") or "", "(%S+)%s+(%S+)%s+(%S+)") do
  table.insert(targets, { path = path, token = token, parent = parent })
end

local hams = {}
for text in string.gmatch(os.getenv("FOLIO_SOAK_HAM") or "Lovely write-up, thank you.", "[^|]+") do
  table.insert(hams, text)
end

local pitches = {
  "Buy cheap viagra and cialis online without prescription, discount pharmacy pills shipped overnight.",
  "Win big at our online casino: free spins, jackpot slots and a 500% deposit bonus today.",
  "Double your bitcoin in 24 hours with our guaranteed crypto investment platform, withdraw profits instantly.",
  "Best replica watches and designer handbags, cheap prices, free shipping worldwide, order now.",
}

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local thread_id = 0
counter = 0
statuses = {}
acked_ids = {}
acked_without_id = 0

function init(args)
  thread_id = wrk.thread:get("id")
end

local function encode(text)
  return (string.gsub(text, "[^%w%-%._~ ]", function(c)
    return string.format("%%%02X", string.byte(c))
  end):gsub(" ", "+"))
end

local function form(fields)
  local parts = {}
  for _, pair in ipairs(fields) do
    table.insert(parts, pair[1] .. "=" .. encode(pair[2]))
  end
  return table.concat(parts, "&")
end

local function comment()
  counter = counter + 1
  local target = targets[counter % #targets + 1]
  local mark = run .. "-" .. thread_id .. "-" .. counter
  local kind = counter % 10
  local name, email, website, text = "Soak Reader " .. counter, "", "", ""
  local notify, notify_all, parent = "", "", ""
  if kind == 0 then
    name = "Pharmacy Deals"
    email = "offers-" .. mark .. "@cheap-pills.example"
    website = "https://cheap-pills.example/deal/" .. counter
    text = pitches[(counter / 10) % #pitches + 1] .. " https://cheap-pills.example/deal/" .. counter
  else
    text = hams[counter % #hams + 1]
    if kind == 1 or kind == 2 then
      email = "soak-" .. mark .. "@example.test"
      notify = "replies"
      if kind == 2 then notify_all = "post" end
    end
    if counter % 4 == 3 then parent = target.parent end
  end
  text = text .. " [soak " .. mark .. "]"
  -- A client address of its own: the per-client limit is not what this measures.
  local address = string.format("10.%d.%d.%d", thread_id % 250,
    math.floor(counter / 250) % 250, counter % 250 + 1)
  local body = form({
    { "token", target.token }, { "parent", parent }, { "name", name }, { "email", email },
    { "website", website }, { "comment", text }, { "address", "" },
    { "notify", notify }, { "notify_all", notify_all },
  })
  return wrk.format("POST", target.path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = address,
  }, body)
end

local function page()
  counter = counter + 1
  return wrk.format("GET", pages[counter % #pages + 1])
end

if role == "commenter" then
  request = comment
  local pause = tonumber(os.getenv("FOLIO_SOAK_COMMENT_MS") or "1000")
  function delay()
    return pause
  end
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 303 then
      local location = headers["location"] or headers["Location"] or ""
      local id = string.match(location, "#c(%d+)$")
      if id then
        table.insert(acked_ids, id)
      else
        acked_without_id = acked_without_id + 1
      end
    end
  end
else
  request = page
end

function done(summary, latency, requests)
  local path = os.getenv("FOLIO_SOAK_ACKS")
  if role ~= "commenter" or not path then return end
  local out = assert(io.open(path, "w"))
  local totals, ids, without = {}, {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      totals[status] = (totals[status] or 0) + n
    end
    for _, id in ipairs(thread:get("acked_ids") or {}) do
      table.insert(ids, id)
    end
    without = without + (thread:get("acked_without_id") or 0)
  end
  for status, n in pairs(totals) do
    out:write("status " .. status .. " " .. n .. "\n")
  end
  out:write("acked_without_id " .. without .. "\n")
  for _, id in ipairs(ids) do
    out:write("id " .. id .. "\n")
  end
  out:close()
end
