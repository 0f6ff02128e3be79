-- wrk_chunks.lua - walks the v1 chunk numbers 0..TOTAL-1 in turn (each wrk
-- thread on its own), as devices fetching an update do. Environment:
-- TOTAL, PREFIX, SUFFIX (path = PREFIX .. n .. SUFFIX), DEV_ID, DEV_TOKEN
-- (sent as X-Device-Id / X-Device-Token; nginx ignores them).
local total = tonumber(os.getenv("TOTAL") or "1043")
local prefix = os.getenv("PREFIX") or "/c/"
local suffix = os.getenv("SUFFIX") or ""
local n = 0

function setup(thread)
end

function init(args)
  wrk.headers["X-Device-Id"] = os.getenv("DEV_ID") or "bench-1"
  wrk.headers["X-Device-Token"] = os.getenv("DEV_TOKEN") or ""
  n = math.random(0, total - 1)
end

function request()
  local path = prefix .. n .. suffix
  n = (n + 1) % total
  return wrk.format("GET", path)
end
