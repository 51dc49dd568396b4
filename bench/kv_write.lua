-- wrk script: KV v2 writes, each request a new key so versions do not pile up.
local counter = 0
local thread_id = 0
local token = os.getenv("ARCA_TOKEN")

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  counter = 0
end

request = function()
  counter = counter + 1
  local path = string.format("/v1/secret/data/bench/t%d/k%d", tid, counter % 5000)
  local body = string.format('{"data":{"user":"alice","password":"s3cr3t-%d","n":%d}}', counter, counter)
  return wrk.format("POST", path, {["X-Vault-Token"] = token, ["Content-Type"] = "application/json"}, body)
end
