-- wrk script: etcd v3 puts through etcd's HTTP/JSON gateway (/v3/kv/put),
-- keys and values base64 as the gateway wants; a new key per request.
local counter = 0
local thread_id = 0
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({"", "==", "="})[#data % 3 + 1])
end

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

request = function()
  counter = counter + 1
  local key = b64(string.format("bench/t%d/k%d", tid, counter % 5000))
  local value = b64(string.format('{"user":"alice","password":"s3cr3t-%d","n":%d}', counter, counter))
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
                    string.format('{"key":"%s","value":"%s"}', key, value))
end
