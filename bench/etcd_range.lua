-- wrk script: linearizable etcd v3 reads of one key through etcd's gateway.
-- "YmVuY2gvcmVhZA==" is base64("bench/read").
request = function()
  return wrk.format("POST", "/v3/kv/range", {["Content-Type"] = "application/json"},
                    '{"key":"YmVuY2gvcmVhZA=="}')
end
