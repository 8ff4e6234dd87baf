-- wrk script: cycle through valid and invalid requests; count answers by status class.
local requests = {
  {"/v1/predict", '{"text": "Egypt will train Libyan police cadres."}'},
  {"/v1/predict", '{"texts": ["Islamic State claimed the attack.", "The embassy reopened."]}'},
  {"/v1/tag-article", '{"text": "Ministers met in Tripoli. They agreed to reopen the embassy."}'},
  {"/v1/predict", '{not json'},
  {"/v1/predict", '{"texts": "not a list"}'},
  {"/v1/predict", '{"texts": []}'},
  {"/v1/predict", '{"text": "   "}'},
  {"/v1/nowhere", '{}'},
}
local counter = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, client_errors, server_errors = 0, 0, 0
end

function request()
  counter = counter + 1
  local r = requests[(counter % #requests) + 1]
  return wrk.format("POST", r[1], {["Content-Type"] = "application/json"}, r[2])
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 400 then client_errors = client_errors + 1
  else ok = ok + 1 end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("ok"); b = b + t:get("client_errors"); c = c + t:get("server_errors")
  end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "ok": %d, "4xx": %d, "5xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_timeout": %d}\n', summary.requests, summary.duration, a, b, c,
    latency:percentile(50), latency:percentile(99), summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
