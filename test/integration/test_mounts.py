"""sys/mounts, sys/mounts/<p>/tune, sys/remount and sys/auth (vault-api.md 2.9,
2.10, 9.11) through hvac 0.11.2."""

import re
import time

import hvac
import pytest

from harness import assert_envelope, assert_error, is_int, uniq

SYSTEM_DEFAULT_TTL = 2764800


def assert_mount_entry(path, m):
    assert isinstance(m, dict), (path, m)
    assert isinstance(m["type"], str) and m["type"], (path, m)
    assert isinstance(m["description"], str), (path, m)
    assert re.match(r"^[a-z0-9-]+_[0-9a-f]{8}$", m["accessor"]), (path, m["accessor"])
    assert m["accessor"].startswith(m["type"] + "_"), (path, m["accessor"])
    assert isinstance(m["uuid"], str) and m["uuid"], (path, m)
    for key in ("local", "seal_wrap", "external_entropy_access"):
        assert isinstance(m[key], bool), (path, key, m)
    assert m["options"] is None or (
        isinstance(m["options"], dict)
        and all(isinstance(v, str) for v in m["options"].values())), (path, m["options"])
    cfg = m["config"]
    assert is_int(cfg["default_lease_ttl"]) and is_int(cfg["max_lease_ttl"]), (path, cfg)
    assert isinstance(cfg["force_no_cache"], bool), (path, cfg)


def test_list_mounts_default_table(server, root):
    resp = root.sys.list_mounted_secrets_engines()
    assert_envelope(resp)
    data = resp["data"]
    for path in ("cubbyhole/", "identity/", "sys/"):
        assert path in data, data.keys()
    for path, m in data.items():
        assert path.endswith("/"), path
        assert_mount_entry(path, m)
        # Top-level injection of the data keys (legacy clients read them there).
        assert resp[path] == m, path
    assert data["cubbyhole/"]["type"] == "cubbyhole"
    assert data["cubbyhole/"]["local"] is True
    assert data["identity/"]["type"] == "identity"
    assert data["sys/"]["type"] == "system"
    assert data["secret/"]["type"] == "kv"
    assert data["secret/"]["options"] == {"version": "2"}


def test_fresh_config_server_mount_table(tls_file_server):
    data = tls_file_server.client().sys.list_mounted_secrets_engines()["data"]
    assert set(data) == {"cubbyhole/", "identity/", "sys/"}
    assert data["sys/"]["config"].get("passthrough_request_headers") == ["Accept"]


def test_enable_kv_v1_and_v2_and_read_config(root):
    v1, v2 = uniq("kv1-"), uniq("kv2-")
    resp = root.sys.enable_secrets_engine("kv", path=v1, description="version one")
    assert resp.status_code == 204
    resp = root.sys.enable_secrets_engine("kv", path=v2, options={"version": 2})
    assert resp.status_code == 204

    data = root.sys.list_mounted_secrets_engines()["data"]
    assert data[v1 + "/"]["type"] == "kv"
    assert data[v1 + "/"]["description"] == "version one"
    assert data[v1 + "/"]["options"] in (None, {}, {"version": "1"}, {"version": ""})
    # Options are stored as strings even though hvac sent the integer 2.
    assert data[v2 + "/"]["options"] == {"version": "2"}
    assert_mount_entry(v2 + "/", data[v2 + "/"])

    tune = root.sys.read_mount_configuration(v2)
    assert tune["data"]["default_lease_ttl"] == SYSTEM_DEFAULT_TTL
    assert tune["data"]["max_lease_ttl"] == SYSTEM_DEFAULT_TTL
    assert tune["data"]["force_no_cache"] is False
    assert tune["data"]["options"] == {"version": "2"}
    assert isinstance(tune["data"]["description"], str)

    one = root.read("sys/mounts/" + v2)
    assert one["data"]["type"] == "kv"
    assert one["data"]["options"] == {"version": "2"}

    # The engine works at its path with the right version.
    root.secrets.kv.v2.create_or_update_secret(path="x", secret={"a": "1"}, mount_point=v2)
    assert root.secrets.kv.v2.read_secret_version(path="x", mount_point=v2)["data"]["data"] == {"a": "1"}
    root.secrets.kv.v1.create_or_update_secret(path="x", secret={"a": "1"}, mount_point=v1)
    assert root.secrets.kv.v1.read_secret(path="x", mount_point=v1)["data"] == {"a": "1"}


def test_enable_with_type_alias_kv_v2(root):
    path = uniq("alias-")
    root.sys.enable_secrets_engine("kv-v2", path=path)
    data = root.sys.list_mounted_secrets_engines()["data"]
    assert data[path + "/"]["type"] == "kv"
    assert data[path + "/"]["options"] == {"version": "2"}


def test_enable_duplicate_and_invalid_mounts(root):
    path = uniq("dup-")
    root.sys.enable_secrets_engine("kv", path=path)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already in use"):
        root.sys.enable_secrets_engine("kv", path=path)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.enable_secrets_engine("kv", path="sys")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.enable_secrets_engine("no-such-engine-type", path=uniq("bad-"))


def test_tune_default_lease_ttl(root):
    path = uniq("tune-")
    root.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    resp = root.sys.tune_mount_configuration(path, default_lease_ttl="1h", max_lease_ttl="2h")
    assert isinstance(resp, dict) or resp.status_code == 204  # 200 only with warnings

    tune = root.sys.read_mount_configuration(path)["data"]
    assert tune["default_lease_ttl"] == 3600
    assert tune["max_lease_ttl"] == 7200
    cfg = root.sys.list_mounted_secrets_engines()["data"][path + "/"]["config"]
    assert cfg["default_lease_ttl"] == 3600
    assert cfg["max_lease_ttl"] == 7200

    # KV v1 reads carry the mount's default TTL as lease_duration.
    root.secrets.kv.v1.create_or_update_secret(path="s", secret={"a": "b"}, mount_point=path)
    assert root.secrets.kv.v1.read_secret(path="s", mount_point=path)["lease_duration"] == 3600

    # default greater than max is refused.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.tune_mount_configuration(path, default_lease_ttl="3h")


def test_disable_mount(server, root):
    path = uniq("gone-")
    root.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret(path="s", secret={"a": "b"}, mount_point=path)
    resp = root.sys.disable_secrets_engine(path)
    assert resp.status_code == 204
    assert path + "/" not in root.sys.list_mounted_secrets_engines()["data"]
    r = server.request("GET", f"/v1/{path}/s")
    assert_error(r, 404, "no handler for route")
    # Disabling an absent mount is fine as well.
    assert root.sys.disable_secrets_engine(uniq("never-")).status_code == 204
    # A new mount at the same path starts empty.
    root.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v1.read_secret(path="s", mount_point=path)


def test_remount_moves_data(server, root):
    src, dst = uniq("from-"), uniq("to-")
    root.sys.enable_secrets_engine("kv", path=src, options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret(path="moved", secret={"k": "v"}, mount_point=src)
    resp = root.sys.move_backend(src, dst)
    assert isinstance(resp, dict) or resp.status_code == 204  # 1.14 answers 200 + migration_id

    # Vault 1.14 moves asynchronously; wait (bounded) for the move to finish.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mounts = root.sys.list_mounted_secrets_engines()["data"]
        if dst + "/" in mounts and src + "/" not in mounts:
            break
        time.sleep(0.1)
    mounts = root.sys.list_mounted_secrets_engines()["data"]
    assert dst + "/" in mounts and src + "/" not in mounts
    assert mounts[dst + "/"]["options"] == {"version": "2"}
    got = root.secrets.kv.v2.read_secret_version(path="moved", mount_point=dst)
    assert got["data"]["data"] == {"k": "v"}
    assert_error(server.request("GET", f"/v1/{src}/data/moved"), 404)


def test_list_auth_methods(root):
    resp = root.sys.list_auth_methods()
    assert_envelope(resp)
    data = resp["data"]
    assert "token/" in data
    tok = data["token/"]
    assert tok["type"] == "token"
    assert re.match(r"^auth_token_[0-9a-f]{8}$", tok["accessor"]), tok["accessor"]
    assert tok["description"] == "token based credentials"
    assert tok["config"]["token_type"] == "default-service"
    assert is_int(tok["config"]["default_lease_ttl"])
    assert is_int(tok["config"]["max_lease_ttl"])
    assert tok["options"] is None or all(isinstance(v, str) for v in tok["options"].values())
    assert resp["token/"] == tok  # top-level injection
    for path, m in data.items():
        assert path.endswith("/") and isinstance(m, dict) and "type" in m, (path, m)


def test_token_auth_mount_cannot_be_disabled(server):
    r = server.request("DELETE", "/v1/sys/auth/token")
    assert_error(r, 400)
    assert "token/" in server.client().sys.list_auth_methods()["data"]
