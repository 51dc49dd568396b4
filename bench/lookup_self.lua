-- wrk script: token lookup-self.
local token = os.getenv("ARCA_TOKEN")
request = function()
  return wrk.format("GET", "/v1/auth/token/lookup-self", {["X-Vault-Token"] = token})
end
