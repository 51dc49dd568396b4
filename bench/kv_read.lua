-- wrk script: KV v2 reads of one secret.
local token = os.getenv("ARCA_TOKEN")
request = function()
  return wrk.format("GET", "/v1/secret/data/bench/read", {["X-Vault-Token"] = token})
end
