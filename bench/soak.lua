-- wrk script for bench/soak: a reader's mix. Mostly cached pages, some searches (200 different
-- queries), and one comment POST in fifty, spread over the newest posts.
local token_for = {}
local posts = {}
local pages = {}
local counter = 0
local thread_id = 0
local run = os.time()

for word in string.gmatch(os.getenv("FOLIO_SOAK_PAGES") or "/", "%S+") do
  table.insert(pages, word)
end
-- "path token" pairs, one per post
for path, token in string.gmatch(os.getenv("FOLIO_SOAK_POSTS") or "", "(%S+)%s+(%S+)") do
  table.insert(posts, path)
  token_for[path] = token
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  thread_id = wrk.thread:get("id")
end

function request()
  counter = counter + 1
  if counter % 50 == 0 and #posts > 0 then
    local path = posts[(counter / 50) % #posts + 1]
    local body = "token=" .. token_for[path] .. "&name=Soak+Reader&comment=Soak+comment+"
      .. run .. "-" .. thread_id .. "-" .. counter
    return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  elseif counter % 10 == 0 then
    return wrk.format("GET", "/search?q=garden+" .. (counter % 200))
  end
  return wrk.format("GET", pages[counter % #pages + 1])
end
