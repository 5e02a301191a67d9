-- wrk script for bench/serve_bench.sh: sends the requests of REQUESTS_LUA (made by
-- serve_requests.py) in turn, each thread from its own offset, and checks every answer: a valid
-- request must get exactly the answer it got when asked alone (matched by its echoed "id"; image
-- answers, which carry no id, must be one of the answers of the images sent), a malformed one a
-- 4xx. Counts 5xx and mismatches; wrk reports socket errors (dropped connections) itself.
local list = dofile(os.getenv("REQUESTS_LUA"))
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7)
  table.insert(threads, thread)
end

function init(args)
  requests, valid, byId, answers = {}, {}, {}, {}
  for i, r in ipairs(list) do
    requests[i] = wrk.format("POST", r.path, r.headers, r.body)
    valid[i] = r.valid
    if r.valid then
      local id = r.expected:match('"id":"(r%d+)"')
      if id then byId[id] = r.expected end
      answers[r.expected] = true
    end
  end
  n = offset or 0
  sent_valid, sent_bad, ok, mismatched, c4xx, c5xx, other = 0, 0, 0, 0, 0, 0, 0
end

function request()
  n = n + 1
  local i = (n % #requests) + 1
  if valid[i] then sent_valid = sent_valid + 1 else sent_bad = sent_bad + 1 end
  return requests[i]
end

function response(status, headers, body)
  if status >= 500 then
    c5xx = c5xx + 1
  elseif status >= 400 then
    c4xx = c4xx + 1
  elseif status == 200 then
    local id = body:match('"id":"(r%d+)"')
    local expected = id and byId[id]
    if (expected and expected == body) or (not id and answers[body]) then ok = ok + 1 else mismatched = mismatched + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = {sent_valid = 0, sent_bad = 0, ok = 0, mismatched = 0, c4xx = 0, c5xx = 0, other = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"sent_valid": %d, "sent_malformed": %d, "ok_identical": %d, "mismatched": %d, "status_4xx": %d, "status_5xx": %d, "status_other": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    t.sent_valid, t.sent_bad, t.ok, t.mismatched, t.c4xx, t.c5xx, t.other, e.connect, e.read, e.write, e.timeout))
end
