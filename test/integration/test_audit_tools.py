"""The file audit device and sys/audit-hash (vault-api.md 2.13), sys/tools/random
and sys/tools/hash (2.17), and sys/metrics?format=prometheus (2.15)."""

import base64
import hashlib
import json
import re
import time

import hvac
import pytest

from harness import assert_envelope, assert_error, is_rfc3339, uniq

HMAC_RE = re.compile(r"^hmac-sha256:[0-9a-f]{64}$")


def read_audit_lines(path, want_at_least=1, timeout=5.0):
    """The audit log as parsed JSON objects (bounded wait for them to appear)."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        try:
            with open(path, encoding="utf-8") as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
        except FileNotFoundError:
            lines = []
        if len(lines) >= want_at_least:
            break
        time.sleep(0.05)
    entries = []
    for ln in lines:
        try:
            entries.append(json.loads(ln))
        except ValueError:
            raise AssertionError(f"audit line is not JSON: {ln[:300]!r}")
    return lines, entries


def test_file_audit_device_hashes_secrets(dev_server, tmp_path):
    srv = dev_server
    root = srv.client()
    log_path = tmp_path / "audit.log"

    resp = root.sys.enable_audit_device("file", path="file", options={"file_path": str(log_path)})
    assert resp.status_code == 204
    listed = root.sys.list_enabled_audit_devices()
    assert listed["data"]["file/"] == {"type": "file", "description": "",
                                       "options": {"file_path": str(log_path)},
                                       "local": False, "path": "file/"}
    assert listed["file/"] == listed["data"]["file/"]  # top-level injection

    secret_value = "s3cr3t-" + uniq()
    path = uniq("audited")
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"password": secret_value})
    assert root.secrets.kv.v2.read_secret_version(path=path)["data"]["data"]["password"] == secret_value
    child = root.auth.token.create(policies=["default"], ttl="1h")["auth"]
    srv.client(token=child["client_token"]).auth.token.lookup_self()
    denied_path = "secret/data/" + uniq("denied")
    r = srv.request("GET", "/v1/" + denied_path, token=child["client_token"])
    assert r.status_code == 403

    raw_lines, entries = read_audit_lines(log_path, want_at_least=8)
    text = "\n".join(raw_lines)
    assert entries, "audit log is empty"
    for clear in (secret_value, srv.root_token, child["client_token"], child["accessor"]):
        assert clear not in text, f"{clear[:6]}... appears in clear text in the audit log"

    for e in entries:
        assert e["type"] in ("request", "response"), e
        assert is_rfc3339(e["time"]), e["time"]
        assert isinstance(e["request"], dict)
        assert isinstance(e["request"]["path"], str)

    def find(kind, operation, p):
        return [e for e in entries if e["type"] == kind and e["request"]["path"] == p
                and e["request"]["operation"] == operation]

    writes = find("request", "update", f"secret/data/{path}") + find("request", "create", f"secret/data/{path}")
    assert writes, "no audit entry for the KV write"
    w = writes[0]
    hashed_value = w["request"]["data"]["data"]["password"]
    assert HMAC_RE.match(hashed_value), hashed_value
    assert HMAC_RE.match(w["request"]["client_token"]), w["request"]["client_token"]
    assert HMAC_RE.match(w["auth"]["client_token"]), w["auth"]
    assert w["request"]["mount_type"] == "kv"
    assert w["request"]["namespace"] == {"id": "root"}
    assert w["auth"]["policies"] == ["root"]

    reads = find("response", "read", f"secret/data/{path}")
    assert reads, "no audit response entry for the KV read"
    assert reads[0]["response"]["data"]["data"]["password"] == hashed_value
    # Non-string values are not hashed.
    assert reads[0]["response"]["data"]["metadata"]["version"] == 1

    # The token-create response carries the new token only hashed.
    creates = find("response", "update", "auth/token/create")
    assert creates
    new_auth = creates[0]["response"]["auth"]
    assert HMAC_RE.match(new_auth["client_token"]), new_auth
    assert HMAC_RE.match(new_auth["accessor"]), new_auth

    # A denied request is audited with an error.
    denied = [e for e in entries if e["request"]["path"] == denied_path]
    assert denied, "the denied request was not audited"
    assert any("permission denied" in (e.get("error") or "") for e in denied), denied

    # sys/audit-hash uses the same salt.
    h = root.sys.calculate_hash(path="file", input_to_hash=secret_value)
    assert h["data"]["hash"] == hashed_value
    assert h["hash"] == hashed_value  # top-level injection
    tok_hash = root.sys.calculate_hash(path="file", input_to_hash=srv.root_token)["data"]["hash"]
    assert tok_hash == w["request"]["client_token"]

    assert root.sys.disable_audit_device(path="file").status_code == 204
    assert "file/" not in root.sys.list_enabled_audit_devices()["data"]
    size = log_path.stat().st_size
    root.secrets.kv.v2.read_secret_version(path=path)
    assert log_path.stat().st_size == size, "disabled device still writes"


def test_audit_table_empty_is_200(dev_server):
    # Vault answers an empty table with 200 and data {} (the CLI then prints
    # "No audit devices are enabled."); hvac must not raise.
    r = dev_server.request("GET", "/v1/sys/audit")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json()["data"] == {}
    assert dev_server.client().sys.list_enabled_audit_devices()["data"] == {}


def test_audit_device_errors_and_sudo(dev_server, tmp_path):
    root = dev_server.client()
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("not a directory")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="sanity check failed"):
        root.sys.enable_audit_device("file", path="bad",
                                     options={"file_path": str(blocker / "a.log")})
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.enable_audit_device("nonsense-type", path="x", options={})
    tok = root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    r = dev_server.request("PUT", "/v1/sys/audit/mine", token=tok,
                           json={"type": "file", "options": {"file_path": str(tmp_path / "a.log")}})
    assert_error(r, 403)
    r = dev_server.request("GET", "/v1/sys/audit", token=tok)
    assert_error(r, 403)


def test_audit_log_raw_and_hmac_accessor_options(dev_server, tmp_path):
    root = dev_server.client()
    log_path = tmp_path / "raw.log"
    root.sys.enable_audit_device("file", path="raw",
                                 options={"file_path": str(log_path), "log_raw": "true"})
    value = "visible-" + uniq()
    root.secrets.kv.v2.create_or_update_secret(path=uniq("raw"), secret={"v": value})
    raw_lines, _ = read_audit_lines(log_path, want_at_least=2)
    assert any(value in ln for ln in raw_lines), "log_raw=true should log values unhashed"


# ---------------------------------------------------------------------------
# sys/tools


def test_tools_random(server, root):
    r = server.request("POST", "/v1/sys/tools/random", json={})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_envelope(body)
    assert len(base64.b64decode(body["data"]["random_bytes"])) == 32

    r = server.request("POST", "/v1/sys/tools/random", json={"bytes": 16, "format": "hex"})
    hexed = r.json()["data"]["random_bytes"]
    assert re.match(r"^[0-9a-f]{32}$", hexed), hexed

    r = server.request("POST", "/v1/sys/tools/random/64", json={})
    assert len(base64.b64decode(r.json()["data"]["random_bytes"])) == 64
    r = server.request("POST", "/v1/sys/tools/random/platform/8", json={"format": "hex"})
    assert r.status_code == 200 and len(r.json()["data"]["random_bytes"]) == 16

    a = server.request("POST", "/v1/sys/tools/random", json={}).json()["data"]["random_bytes"]
    b = server.request("POST", "/v1/sys/tools/random", json={}).json()["data"]["random_bytes"]
    assert a != b

    assert_error(server.request("POST", "/v1/sys/tools/random", json={"bytes": 0}), 400)
    assert_error(server.request("POST", "/v1/sys/tools/random", json={"bytes": 200000}), 400)
    assert_error(server.request("POST", "/v1/sys/tools/random", json={"format": "oct"}), 400,
                 "unsupported encoding format")


def test_tools_hash(server, root):
    payload = b"hello arca"
    inp = base64.b64encode(payload).decode()
    r = server.request("POST", "/v1/sys/tools/hash", json={"input": inp})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["sum"] == hashlib.sha256(payload).hexdigest()

    r = server.request("POST", "/v1/sys/tools/hash/sha2-512", json={"input": inp, "format": "base64"})
    assert r.json()["data"]["sum"] == base64.b64encode(hashlib.sha512(payload).digest()).decode()
    r = server.request("POST", "/v1/sys/tools/hash", json={"input": inp, "algorithm": "sha2-384"})
    assert r.json()["data"]["sum"] == hashlib.sha384(payload).hexdigest()

    # In the default policy.
    tok = root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    r = server.request("POST", "/v1/sys/tools/hash", token=tok, json={"input": inp})
    assert r.status_code == 200
    assert_error(server.request("POST", "/v1/sys/tools/hash", json={"input": inp, "algorithm": "md5"}), 400)


# ---------------------------------------------------------------------------
# sys/metrics


def test_metrics_prometheus(server, root):
    root.auth.token.lookup_self()
    r = server.request("GET", "/v1/sys/metrics", params={"format": "prometheus"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers["Content-Type"]
    assert "arca_http_requests_total" in r.text
    # Seal state and storage latency are exported too.
    assert "\narca_core_sealed 0\n" in "\n" + r.text
    assert 'arca_storage_operation_seconds_count{op="get"}' in r.text
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name_and_labels, _, value = line.rpartition(" ")
            assert name_and_labels, line
            float(value)  # every sample line ends with a number
    tok = root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    assert_error(server.request("GET", "/v1/sys/metrics", token=tok, params={"format": "prometheus"}), 403)
