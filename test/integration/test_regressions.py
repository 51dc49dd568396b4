"""Regressions found by adversarial testing: each test pins one fixed bug."""

import json
import os

import pytest

from harness import assert_error


def test_seal_with_an_audit_device_enabled(tls_file_server, tmp_path):
    """sys/seal used to crash the server when an audit device was enabled."""
    srv = tls_file_server
    root = srv.client()
    log = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", options={"file_path": str(log)})
    assert root.sys.seal().status_code == 204
    assert srv.request("GET", "/v1/sys/seal-status", token=None).json()["sealed"] is True
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    seal_lines = [l for l in lines if l.get("request", {}).get("path") == "sys/seal"]
    assert [l["type"] for l in seal_lines] == ["request", "response"]
    srv.unseal()
    assert root.sys.list_enabled_audit_devices()["data"]["file/"]["type"] == "file"


@pytest.mark.parametrize("kind,path", [("mounts", "team-x"), ("auth", "team-y")])
@pytest.mark.parametrize("builtin", ["token", "system", "identity", "cubbyhole"])
def test_builtin_backends_cannot_be_mounted_again(dev_server, kind, path, builtin):
    """A second token store (or sys backend) at a user path would bypass auth/token ACLs."""
    r = dev_server.request("POST", f"/v1/sys/{kind}/{path}", json={"type": builtin})
    assert_error(r, 400)
    listing = dev_server.request("GET", f"/v1/sys/{kind}").json()["data"]
    assert f"{path}/" not in listing


def test_invalid_utf8_in_paths_and_forms_is_refused(tls_file_server):
    """Invalid UTF-8 once reached the mount table: 500s, then lost mounts after restart."""
    srv = tls_file_server
    assert_error(srv.request("POST", "/v1/sys/mounts/%ff", json={"type": "kv"}), 400, "UTF-8")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_error(srv.request("POST", "/v1/sys/mounts/u8d", data="type=kv&description=%ff",
                             headers=form), 400, "UTF-8")
    assert_error(srv.request("POST", "/v1/auth/token/create", data="meta=a%3D%ff",
                             headers=form), 400, "UTF-8")
    # Later mount changes still work and survive a restart.
    assert srv.request("POST", "/v1/sys/mounts/after1", json={"type": "kv"}).status_code == 204
    assert srv.request("POST", "/v1/after1/k", json={"v": "AFTER1"}).status_code == 204
    srv.restart()
    r = srv.request("GET", "/v1/after1/k")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"v": "AFTER1"}


@pytest.mark.parametrize("to", ["secret/sub", "secret"])
def test_remount_into_itself_is_refused(dev_server, to):
    r = dev_server.request("POST", "/v1/sys/remount", json={"from": "secret", "to": to})
    assert_error(r, 400, "path already in use")
    assert "secret/" in dev_server.request("GET", "/v1/sys/mounts").json()["data"]


@pytest.mark.parametrize("te", ["gzip", "identity", "xchunked"])
def test_unknown_transfer_encoding_is_refused_and_closed(dev_server, te):
    """An unframeable body must not be read as the next request (smuggling)."""
    import socket
    host, port = dev_server.addr.split("//")[1].rsplit(":", 1)
    smuggled = b"GET /v1/sys/seal-status HTTP/1.1\r\nHost: x\r\n\r\n"
    req = (f"POST /v1/secret/data/te HTTP/1.1\r\nHost: x\r\nX-Vault-Token: {dev_server.root_token}\r\n"
           f"Transfer-Encoding: {te}\r\n\r\n").encode() + smuggled
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert data.count(b"HTTP/1.1 ") == 1, data  # the connection closed; nothing smuggled
