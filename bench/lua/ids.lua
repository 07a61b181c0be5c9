-- Requests against ids read from a file, one path template per workload.
--   KB_IDS: file with one record id per line
--   KB_PATH: path with "{id}" where the id goes (may be without it)
--   KB_METHOD: GET (default), POST, PATCH
--   KB_BODY: request body (for POST/PATCH); "{n}" is replaced by a counter
--   KB_TOKEN: Authorization header value (optional)
--   KB_WRITE_EVERY: for a mixed load, every Nth request is a PATCH of KB_BODY (0 = never)

local ids = {}
local path = os.getenv("KB_PATH") or "/"
local method = os.getenv("KB_METHOD") or "GET"
local body = os.getenv("KB_BODY")
local token = os.getenv("KB_TOKEN")
local write_every = tonumber(os.getenv("KB_WRITE_EVERY") or "0")
local counter = 0

local file = os.getenv("KB_IDS")
if file then
  for line in io.lines(file) do
    ids[#ids + 1] = line
  end
end

math.randomseed(os.time())

local headers = { ["Content-Type"] = "application/json" }
if token and token ~= "" then
  headers["Authorization"] = token
end

request = function()
  counter = counter + 1
  local id = #ids > 0 and ids[math.random(#ids)] or ""
  -- "%" in a replacement means a capture in Lua: escape it (url-encoded ids have them)
  local p = string.gsub(path, "{id}", (string.gsub(id, "%%", "%%%%")))
  local m = method
  local b = body
  if write_every > 0 and counter % write_every == 0 then
    m = "PATCH"
  end
  if b then
    b = string.gsub(b, "{n}", tostring(counter))
  end
  if m == "GET" then
    return wrk.format("GET", p, headers, nil)
  end
  return wrk.format(m, p, headers, b)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KB_RESULT %d %d %d %d %d\n", summary.requests, latency:percentile(50),
    latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout, summary.duration))
end
