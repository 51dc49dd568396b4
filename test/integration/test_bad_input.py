"""Hostile and broken input, sent with requests, http.client and raw sockets.

One dev server serves the whole module. A canary secret is written first;
after every test the server must still answer and the canary must be
unchanged (checked by an autouse fixture and by the last test). Every error
must be a JSON body {"errors": [...]} with Content-Type exactly
application/json (vault-api.md 1.4, 1.6).
"""

import http.client
import json
import socket
import threading
import time
import uuid

import hvac
import pytest
import requests

import harness
from harness import assert_error, new_session, uniq

CANARY_PATH = "canary/value"
CANARY = {"value": "canary-" + uuid.uuid4().hex, "n": 7}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    if not harness.binary_available():
        pytest.skip(f"arca binary not found at {harness.ARCA_BIN}")
    s = harness.start_dev_server(tmp_path_factory.mktemp("bad-input"))
    s.client().secrets.kv.v2.create_or_update_secret(path=CANARY_PATH, secret=CANARY)
    yield s
    s.stop()


def canary_intact(s):
    r = s.request("GET", f"/v1/secret/data/{CANARY_PATH}", timeout=5)
    return r.status_code == 200 and r.json()["data"]["data"] == CANARY


@pytest.fixture(autouse=True)
def still_serving(srv):
    yield
    assert srv.alive(), f"server died: exit code {srv.proc.returncode}"
    assert srv.request("GET", "/v1/sys/health", token=None, timeout=5).status_code == 200
    assert canary_intact(srv), "canary secret changed or unreadable"


# ---------------------------------------------------------------------------
# Raw HTTP helpers


class Reader:
    """Buffered reads from a socket; bytes past one response are kept for the next."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        self.buf = b""
        sock.settimeout(timeout)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed; unread: {self.buf[:200]!r}")
        self.buf += chunk

    def until(self, delim: bytes, limit: int = 1 << 20) -> bytes:
        while delim not in self.buf:
            assert len(self.buf) < limit, "response head too large"
            self._fill()
        i = self.buf.index(delim) + len(delim)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self) -> bytes:
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out


def read_response(reader):
    """(status, headers, body) of the next HTTP/1.1 response."""
    if not isinstance(reader, Reader):
        reader = Reader(reader)
    head = reader.until(b"\r\n\r\n")[:-4]
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if status in (204, 304) or 100 <= status < 200:
        body = b""
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(reader.until(b"\r\n")[:-2].split(b";")[0], 16)
            body += reader.exact(size)
            reader.exact(2)
            if size == 0:
                break
    elif "content-length" in headers:
        body = reader.exact(int(headers["content-length"]))
    else:  # delimited by the end of the connection
        body = reader.rest()
    return status, headers, body


def raw_exchange(s, data: bytes, timeout=10.0):
    """Sends data on a fresh connection and reads one response."""
    with s.connect(timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        return read_response(Reader(sock, timeout=timeout))


def assert_raw_error(status, headers, body, expected):
    expected = (expected,) if isinstance(expected, int) else tuple(expected)
    assert status in expected, (status, body[:300])
    assert headers.get("content-type") == "application/json", headers
    parsed = json.loads(body)
    assert isinstance(parsed.get("errors"), list), parsed
    return parsed["errors"]


def request_bytes(method, path, token=None, body=b"", extra_headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        lines.append(f"X-Vault-Token: {token}")
    lines.extend(extra_headers)
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------------------
# Bodies


@pytest.mark.parametrize("body", [
    b'{"data": {"a": "b"',
    b'{"data": }',
    b'{data: "x"}',
    b"[1, 2",
    b"\xff\xfe\x00garbage",
])
def test_malformed_json(srv, body):
    r = srv.request("POST", f"/v1/secret/data/{uniq('mj')}", data=body,
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "error parsing JSON")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"just a string"', b"42", b"null-ish"])
def test_json_that_is_not_an_object(srv, body):
    r = srv.request("POST", f"/v1/secret/data/{uniq('nobj')}", data=body)
    assert_error(r, 400)


def test_wrong_field_types(srv):
    r = srv.request("POST", "/v1/auth/token/create", json={"num_uses": "abc"})
    assert_error(r, 400, "Field validation failed")
    r = srv.request("POST", "/v1/auth/token/create", json={"ttl": "forever"})
    assert_error(r, 400)
    r = srv.request("POST", "/v1/auth/token/create", json={"renewable": "perhaps"})
    assert_error(r, 400)
    r = srv.request("POST", "/v1/auth/token/create", json={"meta": "not-a-map"})
    assert_error(r, 400)
    r = srv.request("POST", f"/v1/secret/metadata/{uniq('mv')}", json={"max_versions": "lots"})
    assert_error(r, 400)
    r = srv.request("POST", f"/v1/secret/data/{uniq('d')}", json={"data": "not-an-object"})
    assert_error(r, 400)
    r = srv.request("POST", "/v1/sys/tools/random", json={"bytes": "many"})
    assert_error(r, 400)
    r = srv.request("POST", f"/v1/sys/mounts/{uniq('m')}", json={"type": ["kv"]})
    assert_error(r, 400)


def test_sys_init_string_shares(make_server):
    fresh = make_server("tls", init=False)
    r = fresh.request("PUT", "/v1/sys/init", token=None,
                      json={"secret_shares": "5", "secret_threshold": 3})
    assert_error(r, 400)
    r = fresh.request("PUT", "/v1/sys/init", token=None, data=b'{"secret_shares": 5,')
    assert_error(r, 400)
    r = fresh.request("PUT", "/v1/sys/unseal", token=None, json={"key": 12345})
    assert_error(r, 400)
    assert fresh.client(token=None).sys.is_initialized() is False


def test_nulls_are_accepted(srv):
    # hvac sends many nulls; they mean "absent".
    r = srv.request("POST", f"/v1/sys/mounts/{uniq('nul')}",
                    json={"type": "kv", "description": None, "config": None, "options": None,
                          "plugin_name": None, "local": False, "seal_wrap": False})
    assert r.status_code == 204, r.text
    r = srv.request("POST", "/v1/auth/token/create",
                    json={"policies": None, "meta": None, "ttl": None, "display_name": None,
                          "num_uses": None, "renewable": None, "explicit_max_ttl": None})
    assert r.status_code == 200, r.text


def test_body_over_the_listener_limit(make_server):
    small = make_server("tls", max_request_size=1024)
    c = small.client()
    c.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    r = small.request("POST", "/v1/kv/big", json={"blob": "x" * 2048})
    assert_error(r, 413)
    r = small.request("POST", "/v1/kv/ok", json={"blob": "x" * 800})
    assert r.status_code == 204, r.text
    assert c.secrets.kv.v1.read_secret(path="ok", mount_point="kv")["data"] == {"blob": "x" * 800}
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v1.read_secret(path="big", mount_point="kv")
    # Still serving after the refusal, on the same kind of connection.
    assert small.request("GET", "/v1/sys/health", token=None).status_code == 200


def test_body_over_the_default_limit(srv):
    big = b'{"blob": "' + b"y" * (33 * 1024 * 1024) + b'"}'
    try:
        r = srv.request("POST", f"/v1/secret/data/{uniq('huge')}", data=big, timeout=60)
    except requests.ConnectionError:
        return  # closed on us after refusing; the autouse fixture checks the server lives
    assert_error(r, 413)


def test_chunked_request_body(srv):
    def gen():
        yield b'{"data": '
        yield b'{"chunked": "yes"}}'
    r = srv.request("POST", "/v1/secret/data/chunked-body", data=gen())
    assert r.status_code == 200, r.text
    got = srv.client().secrets.kv.v2.read_secret_version(path="chunked-body")
    assert got["data"]["data"] == {"chunked": "yes"}


def test_bad_content_length(srv):
    status, headers, body = raw_exchange(srv, b"POST /v1/secret/data/cl HTTP/1.1\r\nHost: x\r\n"
                                              b"Content-Length: abc\r\n\r\n{}")
    assert_raw_error(status, headers, body, 400)


# ---------------------------------------------------------------------------
# Routing


def test_unknown_paths(srv):
    errors = assert_error(srv.request("GET", "/v1/" + uniq("nomount") + "/x"), 404, "no handler for route")
    assert errors
    assert assert_error(srv.request("GET", "/nothing-here", token=None), 404) == []
    assert_error(srv.request("GET", "/v2/sys/health", token=None), 404)
    assert_error(srv.request("GET", "/v1/sys/" + uniq("nope")), 404)
    assert_error(srv.request("GET", "/v1/auth/token/" + uniq("nope")), (404, 405))
    # Without a root token the ACL check comes first.
    tok = srv.client().auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    assert_error(srv.request("GET", "/v1/" + uniq("nomount") + "/x", token=tok), 403)


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "TRACE", "CONNECT-ISH", "BREW"])
def test_unknown_verbs(srv, method):
    r = srv.request(method, "/v1/secret/data/" + CANARY_PATH)
    assert_error(r, 405)


def test_known_verbs_on_wrong_endpoints(srv):
    assert_error(srv.request("DELETE", "/v1/sys/seal-status", token=None), 405)
    assert_error(srv.request("GET", "/v1/sys/seal"), 405)
    assert_error(srv.request("PUT", "/v1/sys/leader", token=None), 405)


# ---------------------------------------------------------------------------
# Tokens and permissions


@pytest.mark.parametrize("headers", [
    {"X-Vault-Token": "hvs.this-token-does-not-exist"},
    {"X-Vault-Token": ""},
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-Vault-Token": "x" * 4096},
])
def test_bad_tokens(srv, headers):
    r = srv.request("GET", f"/v1/secret/data/{CANARY_PATH}", token=None, headers=headers)
    assert_error(r, 403, "permission denied")
    assert "canary-" not in r.text


def test_expired_token(srv):
    # Created late in a wall-clock second, so that an expiry computed from a
    # time truncated to whole seconds shows up as expiring ~1 s early.
    time.sleep((0.75 - time.time() % 1.0) % 1.0)
    started = time.monotonic()
    tok = srv.client().auth.token.create(policies=["default"], ttl="2s")["auth"]["client_token"]
    assert srv.request("GET", "/v1/auth/token/lookup-self", token=tok).status_code == 200
    deadline = started + 8
    status = 200
    while time.monotonic() < deadline:
        status = srv.request("GET", "/v1/auth/token/lookup-self", token=tok).status_code
        if status != 200:
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    assert status == 403, f"token with ttl=2s still valid after {elapsed:.1f}s"
    assert elapsed >= 1.9, f"token with ttl=2s expired after only {elapsed:.2f}s"
    r = srv.request("POST", "/v1/auth/token/renew-self", token=tok, json={"increment": "1h"})
    assert_error(r, 403)


def test_token_without_permission(srv):
    tok = srv.client().auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    for method, path, body in (
            ("GET", f"/v1/secret/data/{CANARY_PATH}", None),
            ("POST", f"/v1/secret/data/{CANARY_PATH}", {"data": {"value": "overwritten"}}),
            ("DELETE", f"/v1/secret/metadata/{CANARY_PATH}", None),
            ("LIST", "/v1/secret/metadata/", None),
            ("GET", "/v1/sys/mounts", None),
            ("POST", "/v1/sys/policy/evil", {"policy": 'path "*" { capabilities = ["sudo"] }'}),
            ("PUT", "/v1/sys/seal", None),
            ("LIST", "/v1/auth/token/accessors", None)):
        r = srv.request(method, path, token=tok, json=body)
        assert_error(r, 403)


@pytest.mark.parametrize("text", [
    'path "secret/*" { capabilities = ["read", "teleport"] }',
    'path "secret/*" {',
    '}}}{{{',
    'path { capabilities = ["read"] }',
    '{"path": {"secret/*": {"capabilities": [1, 2]}}}',
    "",
])
def test_broken_policies(srv, text):
    name = uniq("broken")
    assert_error(srv.request("PUT", f"/v1/sys/policy/{name}", json={"policy": text}), 400)
    assert_error(srv.request("GET", f"/v1/sys/policy/{name}"), 404)


# ---------------------------------------------------------------------------
# Paths: dot segments, doubled and encoded separators, NUL bytes


@pytest.fixture(scope="module")
def two_secrets(srv):
    base = uniq("paths")
    kv = srv.client().secrets.kv.v2
    kv.create_or_update_secret(path=f"{base}/a", secret={"who": "a"})
    kv.create_or_update_secret(path=f"{base}/b", secret={"who": "b"})
    kv.create_or_update_secret(path=f"{base}/pub/x", secret={"who": "pub"})
    kv.create_or_update_secret(path=f"{base}/priv", secret={"who": "PRIVATE"})
    return base


def raw_get(srv, path, token):
    """GET with the path sent byte for byte (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("X-Vault-Token", token)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# Documented in src/http/codec.h ("Decisions where arca differs from Vault"):
# runs of '/' are collapsed, %2F decodes to '/' first (as in Vault), and a "."
# or ".." segment (also when percent-encoded) or a NUL/control byte in the
# decoded path is 400 "invalid path" instead of Go's 301.


def test_dot_segments_are_invalid(srv, two_secrets):
    base, root = two_secrets, srv.root_token
    for sent in (f"/v1/secret/data/{base}/b/../a", f"/v1/secret/data/{base}/./a",
                 f"/v1/secret/data/{base}/b/%2E%2E/a", f"/v1/secret/data/{base}/b/%2e%2e/a",
                 f"/v1/secret/data/{base}/b/..%2Fa", f"/v1/secret/data/{base}/..",
                 f"/v1/secret/data/{base}/.", "/v1/secret/../sys/mounts", "/v1/../v1/sys/mounts"):
        status, headers, body = raw_get(srv, sent, root)
        errors = assert_raw_error(status, headers, body, 400)
        assert any("invalid path" in e for e in errors), (sent, errors)


def test_doubled_separators_are_collapsed(srv, two_secrets):
    base, root = two_secrets, srv.root_token
    for sent in (f"/v1/secret/data/{base}//a", f"/v1//secret/data/{base}/a",
                 f"/v1/secret//data///{base}/a"):
        status, headers, body = raw_get(srv, sent, root)
        assert status == 200, (sent, status, body[:300])
        assert json.loads(body)["data"]["data"] == {"who": "a"}, sent


def test_encoded_separators_decode_to_slash(srv, two_secrets):
    base, root = two_secrets, srv.root_token
    for sent in (f"/v1/secret/data/{base}%2Fa", f"/v1/secret/data/{base}%2fa",
                 f"/v1/secret%2Fdata%2F{base}%2Fa"):
        status, headers, body = raw_get(srv, sent, root)
        assert status == 200, (sent, status, body[:300])
        assert json.loads(body)["data"]["data"] == {"who": "a"}, sent
    status, headers, body = raw_get(srv, f"/v1/secret/data/{base}%2Fb", root)
    assert json.loads(body)["data"]["data"] == {"who": "b"}


def test_path_tricks_never_bypass_acl(srv, two_secrets):
    base = two_secrets
    pol = uniq("pubonly")
    c = srv.client()
    c.sys.create_or_update_policy(name=pol, policy=f'path "secret/data/{base}/pub/*" {{ capabilities = ["read"] }}')
    tok = c.auth.token.create(policies=[pol], ttl="5m")["auth"]["client_token"]
    assert raw_get(srv, f"/v1/secret/data/{base}/pub/x", tok)[0] == 200
    for sent in (f"/v1/secret/data/{base}/pub/../priv", f"/v1/secret/data/{base}/pub/%2E%2E/priv",
                 f"/v1/secret/data/{base}/pub/..%2Fpriv", f"/v1/secret/data/{base}/pub%2F..%2Fpriv",
                 f"/v1/secret/data/{base}/pub/x/../../priv", f"/v1/secret/data/{base}/pub//../priv"):
        status, headers, body = raw_get(srv, sent, tok)
        assert b"PRIVATE" not in body, f"{sent} leaked a secret outside the policy"
        assert status == 400, (sent, status, body[:300])

    # Escaping the mount towards sys/ must not write a policy.
    wide = uniq("secretonly")
    c.sys.create_or_update_policy(name=wide, policy='path "secret/*" { capabilities = ["create", "update", "read"] }')
    tok2 = c.auth.token.create(policies=[wide], ttl="5m")["auth"]["client_token"]
    evil = uniq("evil")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        body = json.dumps({"policy": 'path "*" { capabilities = ["sudo", "read"] }'})
        conn.request("PUT", f"/v1/secret/../sys/policy/{evil}", body=body,
                     headers={"X-Vault-Token": tok2, "Content-Type": "application/json"})
        status = conn.getresponse().status
    finally:
        conn.close()
    assert status == 400, f"PUT /v1/secret/../sys/policy/x answered {status}"
    assert_error(srv.request("GET", f"/v1/sys/policy/{evil}"), 404)


def test_nul_bytes(srv):
    for method, kwargs in (("GET", {}), ("POST", {"json": {"data": {"a": "b"}}}),
                           ("DELETE", {}), ("LIST", {})):
        r = srv.request(method, "/v1/secret/data/a%00b", **kwargs)
        assert_error(r, 400, "invalid path")
    r = srv.request("GET", "/v1/secret/data/a%01b")
    assert_error(r, 400, "invalid path")
    status, headers, body = raw_exchange(srv, b"GET /v1/secret/data/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n")
    assert_raw_error(status, headers, body, 400)
    status, headers, body = raw_exchange(
        srv, b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ab\x00cd\r\n\r\n")
    assert 400 <= status < 500 or status == 200, status
    # A NUL inside a JSON string is just data.
    path = uniq("nulval")
    r = srv.request("POST", f"/v1/secret/data/{path}", data=b'{"data": {"k": "a\\u0000b"}}')
    if r.status_code == 200:
        assert srv.client().secrets.kv.v2.read_secret_version(path=path)["data"]["data"] == {"k": "a\x00b"}
    else:
        assert_error(r, 400)


# ---------------------------------------------------------------------------
# Headers


def test_huge_header(srv):
    big = "X-Big: " + "a" * (100 * 1024)
    status, headers, body = raw_exchange(srv, request_bytes("GET", "/v1/sys/health", extra_headers=[big]))
    assert_raw_error(status, headers, body, (400, 431))


def test_many_headers(srv):
    many = [f"X-H{i}: {'v' * 40}" for i in range(3000)]
    status, headers, body = raw_exchange(srv, request_bytes("GET", "/v1/sys/health", extra_headers=many))
    assert_raw_error(status, headers, body, (400, 431))


def test_huge_url(srv):
    status, headers, body = raw_exchange(srv, request_bytes("GET", "/v1/secret/data/" + "p" * (100 * 1024)))
    assert_raw_error(status, headers, body, (400, 404, 414, 431))


def test_garbage_request_line(srv):
    for data in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64):
        try:
            status, headers, body = raw_exchange(srv, data, timeout=5)
        except (ConnectionError, socket.timeout):
            continue  # closing on garbage is fine, as long as the server lives on
        assert 400 <= status < 600, (data[:20], status)


def test_wrap_ttl_header(srv):
    r = srv.request("GET", f"/v1/secret/data/{CANARY_PATH}", headers={"X-Vault-Wrap-TTL": "abc"})
    assert_error(r, 400)
    r = srv.request("GET", f"/v1/secret/data/{CANARY_PATH}", headers={"X-Vault-Wrap-TTL": "-5"})
    assert_error(r, 400)
    r = srv.request("GET", f"/v1/secret/data/{CANARY_PATH}", headers={"X-Vault-Wrap-TTL": "5m"})
    if r.status_code == 200:
        body = r.json()
        assert body["wrap_info"]["ttl"] == 300 and body["data"] is None
        assert "canary-" not in r.text
    else:
        assert_error(r, 400)


# ---------------------------------------------------------------------------
# Connections


def test_slow_clients_do_not_block_others(srv):
    stalled = []
    try:
        for i in range(10):
            sock = srv.connect(timeout=10)
            if i % 2 == 0:  # headers cut in half
                sock.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-")
            else:  # full headers, half the body
                sock.sendall(b"POST /v1/secret/data/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"X-Vault-Token: " + srv.root_token.encode() +
                             b"\r\nContent-Length: 100\r\n\r\n{\"data\": {\"a")
            stalled.append(sock)

        for _ in range(20):
            started = time.monotonic()
            r = srv.request("GET", f"/v1/secret/data/{CANARY_PATH}", timeout=5)
            assert r.status_code == 200
            assert time.monotonic() - started < 2.0, "a request waited behind stalled clients"

        # A slowloris trickling one byte every 50 ms while others are served.
        stop = threading.Event()

        def trickle():
            try:
                with srv.connect(timeout=10) as s:
                    for b in b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"z" * 200:
                        if stop.is_set():
                            return
                        s.sendall(bytes([b]))
                        time.sleep(0.05)
            except OSError:
                pass

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        try:
            with new_session() as s:
                for _ in range(50):
                    r = srv.request("GET", "/v1/sys/health", token=None, session=s, timeout=5)
                    assert r.status_code == 200
        finally:
            stop.set()
            t.join(5)
    finally:
        for sock in stalled:
            sock.close()


def test_half_request_then_close(srv):
    for _ in range(20):
        with srv.connect(timeout=5) as sock:
            sock.sendall(b"POST /v1/secret/data/half HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"da")
    assert srv.request("GET", "/v1/sys/health", token=None).status_code == 200


@pytest.mark.deadline(180)
def test_ten_thousand_requests_on_one_keep_alive_connection(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    path = f"/v1/secret/data/{CANARY_PATH}"
    headers = {"X-Vault-Token": srv.root_token}
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200
        resp.read()
        first_sock = conn.sock
        local = first_sock.getsockname()
        for i in range(10_000):
            health = i % 3 == 0
            if health:
                conn.request("GET", "/v1/sys/health")
            else:
                conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, (i, resp.status, body[:200])
            assert resp.getheader("Connection", "").lower() != "close", i
            assert conn.sock is first_sock and conn.sock.getsockname() == local, (
                f"connection was not kept alive (request {i})")
            if not health:
                assert json.loads(body)["data"]["data"] == CANARY, i
    finally:
        conn.close()


def test_pipelined_requests(srv):
    n = 50
    one = request_bytes("GET", f"/v1/secret/data/{CANARY_PATH}", token=srv.root_token)
    with srv.connect(timeout=10) as sock:
        sock.sendall(one * n)
        reader = Reader(sock)
        for i in range(n):
            status, headers, body = read_response(reader)
            assert status == 200, (i, body[:200])
            assert json.loads(body)["data"]["data"] == CANARY


def test_http_1_0_without_host(srv):
    status, headers, body = raw_exchange(srv, b"GET /v1/sys/health HTTP/1.0\r\n\r\n")
    assert status == 200
    assert json.loads(body)["sealed"] is False


def test_every_error_body_is_json(srv):
    """A sweep over error-producing requests: status >= 400 always carries
    {"errors": [...]} and Content-Type exactly application/json."""
    cases = [
        ("GET", "/v1/secret/data/" + uniq("missing"), {}),
        ("GET", "/v1/sys/policy/" + uniq("missing"), {}),
        ("POST", "/v1/secret/data/x", {"data": b"{bad"}),
        ("POST", "/v1/auth/token/lookup", {"json": {"token": "nope"}}),
        ("PATCH", "/v1/secret/data/" + CANARY_PATH, {"json": {"data": {}}}),
        ("GET", "/v1/sys/health?activecode=notanumber", {}),
        ("GET", "/v1/secret/metadata/?list=maybe", {}),
        ("DELETE", "/v1/sys/policy/root", {}),
        ("PUT", "/v1/sys/unseal", {"json": {}}),
        ("PUT", "/v1/sys/init", {"json": {"secret_shares": 1, "secret_threshold": 1}}),
    ]
    for method, path, kwargs in cases:
        r = srv.request(method, path, **kwargs)
        assert r.status_code >= 400, (method, path, r.status_code)
        assert_error(r, r.status_code)


def test_response_headers_on_every_kind_of_answer(srv):
    """Cache-Control: no-store always; Content-Type exactly application/json on
    JSON bodies (hvac parses errors only then); 204 without a body."""
    cases = [
        ("GET", f"/v1/secret/data/{CANARY_PATH}", {}, 200),
        ("GET", "/v1/sys/health", {}, 200),
        ("GET", "/v1/sys/seal-status", {}, 200),
        ("POST", f"/v1/secret/data/{uniq('hdr')}", {"json": {"data": {"a": "b"}}}, 200),
        ("POST", "/v1/cubbyhole/hdr", {"json": {"a": "b"}}, 204),
        ("GET", f"/v1/secret/data/{uniq('missing')}", {}, 404),
        ("GET", "/v1/secret/data/x", {"token": "bad"}, 403),
        ("POST", "/v1/secret/data/x", {"data": b"{"}, 400),
        ("FOO", "/v1/secret/data/x", {}, 405),
    ]
    for method, path, kwargs, status in cases:
        r = srv.request(method, path, **kwargs)
        assert r.status_code == status, (method, path, r.status_code, r.text[:200])
        assert r.headers.get("Cache-Control") == "no-store", (method, path, r.headers)
        if status == 204:
            assert r.content == b"", (method, path)
        else:
            assert r.headers.get("Content-Type") == "application/json", (method, path, r.headers)
            json.loads(r.content)


def test_x_vault_request_header_is_not_required(srv):
    with new_session() as s:
        r = s.get(srv.url(f"/v1/secret/data/{CANARY_PATH}"), headers={"X-Vault-Token": srv.root_token},
                  timeout=10)
    assert "X-Vault-Request" not in r.request.headers
    assert r.status_code == 200


def test_zz_canary_unchanged_at_the_end(srv):
    assert canary_intact(srv)
    listed = srv.client().secrets.kv.v2.list_secrets(path="canary")["data"]["keys"]
    assert listed == ["value"]
