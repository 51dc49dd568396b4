"""sys/init, sys/unseal, sys/seal-status, sys/seal, sys/health, sys/leader
(vault-api.md 2.1–2.6) through hvac 0.11.2 and raw requests."""

import base64
import binascii
import re

import hvac
import pytest
import requests

import harness
from harness import assert_error, assert_json_content_type, is_int, is_rfc3339

ROOT_TOKEN_RE = re.compile(r"^hvs\.[0-9A-Za-z]{24}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def seal_status(srv):
    r = srv.request("GET", "/v1/sys/seal-status", token=None)
    assert r.status_code == 200, r.text
    assert_json_content_type(r)
    return r.json()


def assert_seal_status_shape(st):
    assert st["type"] == "shamir"
    for key in ("initialized", "sealed", "migration", "recovery_seal"):
        assert isinstance(st[key], bool), (key, st)
    for key in ("t", "n", "progress"):
        assert is_int(st[key]), (key, st)
    for key in ("nonce", "version", "build_date", "storage_type"):
        assert isinstance(st[key], str), (key, st)
    assert "request_id" not in st, "seal-status is raw JSON, not an envelope"


def health(srv, method="GET", **params):
    return srv.request(method, "/v1/sys/health", token=None, params=params)


# ---------------------------------------------------------------------------
# A fresh, uninitialised server


def test_uninitialised_server_reports_state(make_server):
    srv = make_server("tls", init=False)
    c = srv.client(token=None)

    r = srv.request("GET", "/v1/sys/init", token=None)
    assert r.status_code == 200
    assert_json_content_type(r)
    assert r.json() == {"initialized": False}
    assert c.sys.is_initialized() is False

    st = seal_status(srv)
    assert_seal_status_shape(st)
    assert st["initialized"] is False
    assert st["sealed"] is True
    assert (st["t"], st["n"], st["progress"]) == (0, 0, 0)
    assert st["nonce"] == ""
    assert "cluster_name" not in st and "cluster_id" not in st

    r = health(srv)
    assert r.status_code == 501
    assert_json_content_type(r)
    body = r.json()
    assert body["initialized"] is False
    assert body["sealed"] is True
    assert isinstance(body["standby"], bool)
    assert is_int(body["server_time_utc"])

    r = health(srv, "HEAD")
    assert r.status_code == 501
    assert r.content == b""

    # uninitcode overrides, and takes precedence over sealedcode.
    assert health(srv, uninitcode=200).status_code == 200
    assert health(srv, "HEAD", uninitcode=299).status_code == 299
    assert health(srv, sealedcode=299).status_code == 501
    # hvac never raises for sys/health and returns the Response for non-200.
    resp = c.sys.read_health_status(method="GET")
    assert isinstance(resp, requests.Response) and resp.status_code == 501
    assert c.sys.read_health_status(method="GET", uninit_code=200)["initialized"] is False

    # Logical requests are refused while uninitialised.
    r = srv.request("GET", "/v1/auth/token/lookup-self", token="whatever")
    assert_error(r, 503, "Vault is sealed")

    # Unseal before init.
    r = srv.request("PUT", "/v1/sys/unseal", token=None, json={"key": "ab" * 33})
    assert_error(r, 400, "not initialized")


def test_init_rejects_bad_seal_configuration(make_server):
    srv = make_server("tls", init=False)
    for body, fragment in (
            ({"secret_shares": 3, "secret_threshold": 5}, "threshold cannot be larger than shares"),
            ({"secret_shares": 0, "secret_threshold": 0}, "shares must be at least one"),
            ({"secret_shares": 3, "secret_threshold": 1},
             "threshold must be greater than one for multiple shares"),
            ({"secret_shares": 256, "secret_threshold": 3}, "shares must be less than 256"),
    ):
        r = srv.request("PUT", "/v1/sys/init", token=None, json=body)
        assert_error(r, 400, fragment)
    assert srv.client(token=None).sys.is_initialized() is False


def test_init_unseal_sequence(make_server):
    srv = make_server("tls", init=False)
    c = srv.client(token=None)

    result = c.sys.initialize(secret_shares=5, secret_threshold=3)
    assert set(result) >= {"keys", "keys_base64", "root_token"}
    assert "recovery_keys" not in result
    assert len(result["keys"]) == 5 and len(result["keys_base64"]) == 5
    assert len(set(result["keys"])) == 5
    for hex_key, b64_key in zip(result["keys"], result["keys_base64"]):
        assert len(hex_key) == 66 and harness.HEX_RE.match(hex_key), hex_key
        raw = base64.b64decode(b64_key, validate=True)
        assert len(raw) == 33
        assert binascii.hexlify(raw).decode() == hex_key
    assert ROOT_TOKEN_RE.match(result["root_token"]), result["root_token"]
    srv.root_token, srv.keys = result["root_token"], result["keys"]

    st = seal_status(srv)
    assert_seal_status_shape(st)
    assert st["initialized"] is True and st["sealed"] is True
    assert (st["t"], st["n"], st["progress"]) == (3, 5, 0)
    assert st["storage_type"] == "file"
    assert health(srv).status_code == 503

    # Second init is refused.
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already initialized"):
        c.sys.initialize(secret_shares=5, secret_threshold=3)

    # First key: progress 1 and an attempt nonce.
    st = c.sys.submit_unseal_key(result["keys"][0])
    assert st["sealed"] is True and st["progress"] == 1
    assert UUID_RE.match(st["nonce"]), st["nonce"]
    nonce = st["nonce"]
    # The same share again is a no-op.
    st = c.sys.submit_unseal_key(result["keys"][0])
    assert st["progress"] == 1 and st["nonce"] == nonce
    # A share that is neither hex nor base64.
    r = srv.request("PUT", "/v1/sys/unseal", token=None, json={"key": "not a key!"})
    assert_error(r, 400, "must be a valid hex or base64 string")
    # Neither key nor reset.
    r = srv.request("PUT", "/v1/sys/unseal", token=None, json={})
    assert_error(r, 400, "'key' must be specified")
    # The second share in base64 is accepted as well.
    st = c.sys.submit_unseal_key(result["keys_base64"][1])
    assert st["progress"] == 2 and st["sealed"] is True
    # Reset discards the progress.
    st = c.sys.submit_unseal_key(reset=True)
    assert st["progress"] == 0 and st["sealed"] is True and st["nonce"] == ""

    st = c.sys.submit_unseal_keys(result["keys"][2:5])
    assert st["sealed"] is False
    assert st["progress"] == 0
    assert (st["t"], st["n"]) == (3, 5)
    assert isinstance(st["cluster_name"], str) and st["cluster_name"]
    assert isinstance(st["cluster_id"], str) and st["cluster_id"]
    srv.wait_health((200,))

    # The root token works now.
    me = srv.client().auth.token.lookup_self()["data"]
    assert me["policies"] == ["root"]
    assert me["id"] == result["root_token"]

    # Submitting again while unsealed reports the unsealed status.
    st = c.sys.submit_unseal_key(result["keys"][0])
    assert st["sealed"] is False
    r = srv.request("PUT", "/v1/sys/unseal", token=None, json={"reset": True})
    assert_error(r, 400, "vault is unsealed")


def test_single_share_key_is_the_raw_root_key(make_server):
    srv = make_server("tls", init=False)
    result = srv.client(token=None).sys.initialize(secret_shares=1, secret_threshold=1)
    assert len(result["keys"]) == 1
    assert len(result["keys"][0]) == 64 and harness.HEX_RE.match(result["keys"][0])
    assert len(base64.b64decode(result["keys_base64"][0])) == 32
    st = srv.client(token=None).sys.submit_unseal_key(result["keys"][0])
    assert st["sealed"] is False and (st["t"], st["n"]) == (1, 1)


def test_wrong_shares_fail_to_unseal(make_server):
    srv = make_server("tls", init=False)
    c = srv.client(token=None)
    c.sys.initialize(secret_shares=3, secret_threshold=2)
    other = make_server("tls", init=False)
    foreign = other.client(token=None).sys.initialize(secret_shares=3, secret_threshold=2)
    c.sys.submit_unseal_key(foreign["keys"][0])
    r = srv.request("PUT", "/v1/sys/unseal", token=None, json={"key": foreign["keys"][1]})
    assert_error(r, 400, "Unseal failed, invalid key")
    st = seal_status(srv)
    assert st["sealed"] is True and st["progress"] == 0


# ---------------------------------------------------------------------------
# Sealing an initialised server


def test_seal_requires_root_and_blocks_logical_requests(tls_file_server):
    srv = tls_file_server
    root = srv.client()
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret(path="before-seal", secret={"v": "kept"},
                                               mount_point="kv")
    weak = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]

    r = srv.request("PUT", "/v1/sys/seal", token=weak)
    assert_error(r, 403)
    assert seal_status(srv)["sealed"] is False

    resp = root.sys.seal()
    assert resp.status_code == 204
    st = seal_status(srv)
    assert st["sealed"] is True and st["initialized"] is True
    assert (st["t"], st["n"], st["progress"]) == (3, 5, 0)

    r = health(srv)
    assert r.status_code == 503
    body = r.json()
    assert body["sealed"] is True and body["initialized"] is True
    assert health(srv, "HEAD").status_code == 503
    assert health(srv, sealedcode=200).status_code == 200
    assert health(srv, "HEAD", sealedcode=299).status_code == 299
    assert root.sys.read_health_status().status_code == 503  # hvac HEAD

    r = srv.request("GET", "/v1/kv/data/before-seal")
    assert_error(r, 503, "Vault is sealed")
    # sys/leader: 200 without HA, 503 "Vault is sealed" with HA (the CLI tolerates both).
    r = srv.request("GET", "/v1/sys/leader", token=None)
    if r.status_code == 200:
        assert r.json()["ha_enabled"] is False
        assert is_rfc3339(r.json()["active_time"])
    else:
        assert_error(r, 503, "Vault is sealed")
    with pytest.raises(hvac.exceptions.VaultDown):
        root.auth.token.lookup_self()

    # Sealing a sealed server is a no-op.
    r = srv.request("PUT", "/v1/sys/seal")
    assert r.status_code == 204, r.text

    srv.unseal()
    data = root.secrets.kv.v2.read_secret_version(path="before-seal", mount_point="kv")
    assert data["data"]["data"] == {"v": "kept"}


def test_restart_keeps_data_and_needs_unseal(tls_file_server):
    srv = tls_file_server
    root = srv.client()
    root.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret(path="survivor", secret={"a": "b"},
                                               mount_point="kv1")
    srv.restart(unseal=False)
    st = seal_status(srv)
    assert st["initialized"] is True and st["sealed"] is True
    srv.unseal()
    assert root.secrets.kv.v1.read_secret(path="survivor", mount_point="kv1")["data"] == {"a": "b"}


# ---------------------------------------------------------------------------
# An active, unsealed server (dev and TLS)


def test_seal_status_unsealed(server):
    st = seal_status(server)
    assert_seal_status_shape(st)
    assert st["initialized"] is True and st["sealed"] is False
    assert st["progress"] == 0 and st["nonce"] == ""
    assert st["migration"] is False and st["recovery_seal"] is False
    if server.name == "dev":
        assert (st["t"], st["n"]) == (1, 1)
        assert st["storage_type"] == "inmem"
    else:
        assert (st["t"], st["n"]) == (3, 5)
        assert st["storage_type"] == "file"
    assert isinstance(st["cluster_name"], str) and st["cluster_name"]
    assert isinstance(st["cluster_id"], str) and st["cluster_id"]
    assert server.client(token=None).sys.is_sealed() is False


def test_health_active_default(server):
    r = health(server)
    assert r.status_code == 200
    assert_json_content_type(r)
    assert r.headers.get("Cache-Control") == "no-store"
    body = r.json()
    assert body["initialized"] is True
    assert body["sealed"] is False
    assert body["standby"] is False
    assert body["performance_standby"] is False
    assert body["replication_performance_mode"] == "disabled"
    assert body["replication_dr_mode"] == "disabled"
    assert is_int(body["server_time_utc"]) and body["server_time_utc"] > 1_600_000_000
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["cluster_name"], str) and body["cluster_name"]
    assert isinstance(body["cluster_id"], str) and body["cluster_id"]
    assert "request_id" not in body

    r = health(server, "HEAD")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers.get("Content-Type") == "application/json"


def test_health_query_overrides_on_active_node(server):
    # Only activecode applies to an active, unsealed, initialised node.
    assert health(server, activecode=202).status_code == 202
    assert health(server, "HEAD", activecode=202).status_code == 202
    for params in ({"standbyok": "True"}, {"standbyok": "true"}, {"standbyok": "1"},
                   {"standbycode": 299}, {"sealedcode": 299}, {"uninitcode": 299},
                   {"perfstandbyok": "true"}, {"drsecondarycode": 299},
                   {"performancestandbycode": 299}):
        r = health(server, **params)
        assert r.status_code == 200, (params, r.status_code, r.text)
        assert r.json()["sealed"] is False

    r = health(server, activecode="abc")
    assert_error(r, 400)
    assert r.json()["errors"] == []


def test_health_through_hvac(server):
    c = server.client(token=None)
    body = c.sys.read_health_status(method="GET", standby_ok=True)
    assert isinstance(body, dict) and body["sealed"] is False
    resp = c.sys.read_health_status(method="GET", active_code=299)
    assert isinstance(resp, requests.Response) and resp.status_code == 299
    resp = c.sys.read_health_status()  # HEAD
    assert resp.status_code == 200 and resp.content == b""


def test_health_ignores_tokens_and_rejects_other_methods(server):
    r = server.request("GET", "/v1/sys/health", token="not-a-token")
    assert r.status_code == 200
    for method in ("POST", "PUT", "DELETE"):
        r = server.request(method, "/v1/sys/health", token=None)
        assert_error(r, 405)


def test_leader(server):
    r = server.request("GET", "/v1/sys/leader", token=None)
    assert r.status_code == 200
    assert_json_content_type(r)
    body = r.json()
    assert isinstance(body["ha_enabled"], bool)
    assert isinstance(body["is_self"], bool)
    assert isinstance(body["leader_address"], str)
    assert isinstance(body["leader_cluster_address"], str)
    assert isinstance(body["performance_standby"], bool)
    assert is_int(body["performance_standby_last_remote_wal"])
    assert is_rfc3339(body["active_time"]), body["active_time"]
    if body["ha_enabled"]:
        assert body["is_self"] is True
        assert body["leader_address"] == server.addr
    else:
        assert body["is_self"] is False
        assert body["leader_address"] == "" and body["leader_cluster_address"] == ""
    assert server.client(token=None).sys.read_leader_status() == body


def test_unauthenticated_raw_endpoints_ignore_bad_tokens(server):
    for path in ("/v1/sys/init", "/v1/sys/seal-status", "/v1/sys/leader"):
        r = server.request("GET", path, token="bogus-token")
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert "request_id" not in r.json()
