"""Starting and driving real arca servers for the integration tests.

Everything here talks only to 127.0.0.1. Every wait is bounded. A server's
stdout and stderr go to a log file whose tail conftest.py attaches to the
report of any test that fails while the server is alive.
"""

import base64
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import hvac
import requests

ARCA_BIN = os.environ.get("ARCA_BIN", "/work/main/build/arca")

# Servers started and not yet stopped; conftest.py reports their logs.
LIVE_SERVERS: List["ArcaServer"] = []
_LIVE_LOCK = threading.Lock()

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 15.0

HEX_RE = re.compile(r"^[0-9a-f]+$")
BASE62_RE = re.compile(r"^[0-9A-Za-z]+$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


class ServerError(RuntimeError):
    """The server could not be started or did not become ready in time."""


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, chosen below the
    kernel's ephemeral range (32768+): a port the kernel hands out for
    port-0 binds and outgoing connections could otherwise be taken between
    this check and the server's own bind."""
    for _ in range(500):
        port = random.randrange(15000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ServerError("no free port found")


def binary_available() -> bool:
    return os.path.isfile(ARCA_BIN) and os.access(ARCA_BIN, os.X_OK)


def clean_env(extra: Optional[dict] = None) -> dict:
    """The current environment without proxies and Vault settings, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("VAULT_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if extra:
        env.update(extra)
    return env


def new_session() -> requests.Session:
    """A requests session that ignores proxy settings from the environment."""
    s = requests.Session()
    s.trust_env = False
    return s


def is_rfc3339(value) -> bool:
    return isinstance(value, str) and RFC3339_RE.match(value) is not None


def uniq(prefix: str = "t") -> str:
    """A short unique name for paths, policies and mounts."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------
# TLS material


@dataclass
class TlsMaterial:
    ca_cert: str
    server_cert: str
    server_key: str


def make_tls_material(directory: Path) -> TlsMaterial:
    """A self-signed CA and a server certificate for 127.0.0.1/localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = directory / "ca.key", directory / "ca.pem"
    key, csr, pem = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server-ext.cnf"
    ext.write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid, issuer\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", str(ca_key), "-out", str(ca_pem), "-days", "3",
        "-subj", "/CN=arca integration test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(pem), "-days", "3", "-sha256", "-extfile", str(ext))
    return TlsMaterial(ca_cert=str(ca_pem), server_cert=str(pem), server_key=str(key))


def hcl_string(s: str) -> str:
    return json.dumps(str(s))


def write_config(path: Path, *, port: int, data_dir: Path, tls: Optional[TlsMaterial],
                 max_request_size: Optional[int] = None) -> None:
    """A Vault-syntax server config: file storage, one TCP listener."""
    listener = [f"  address = {hcl_string(f'127.0.0.1:{port}')}"]
    if tls is not None:
        listener.append(f"  tls_cert_file = {hcl_string(tls.server_cert)}")
        listener.append(f"  tls_key_file = {hcl_string(tls.server_key)}")
    else:
        listener.append("  tls_disable = true")
    if max_request_size is not None:
        listener.append(f"  max_request_size = {int(max_request_size)}")
    scheme = "https" if tls is not None else "http"
    path.write_text(
        "storage \"file\" {\n"
        f"  path = {hcl_string(str(data_dir))}\n"
        "}\n\n"
        "listener \"tcp\" {\n" + "\n".join(listener) + "\n}\n\n"
        f"api_addr = {hcl_string(f'{scheme}://127.0.0.1:{port}')}\n"
        "disable_mlock = true\n")


# ---------------------------------------------------------------------------
# The server process


@dataclass(eq=False)
class ArcaServer:
    """One arca server process and what the tests need to talk to it."""

    name: str
    args: List[str]
    port: int
    workdir: Path
    log_path: Path
    ca_cert: Optional[str] = None
    root_token: Optional[str] = None
    keys: List[str] = field(default_factory=list)
    keys_base64: List[str] = field(default_factory=list)
    data_dir: Optional[Path] = None
    config_path: Optional[Path] = None
    proc: Optional[subprocess.Popen] = None

    def __repr__(self) -> str:
        return f"<ArcaServer {self.name} {self.addr}>"

    # -- addresses and clients ------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.ca_cert else "http"

    @property
    def addr(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self):
        return self.ca_cert if self.ca_cert else True

    def url(self, path: str) -> str:
        return self.addr + path

    def client(self, token: Optional[str] = "root") -> hvac.Client:
        """An hvac client with its own session; token "root" means the root token."""
        if token == "root":
            token = self.root_token
        return hvac.Client(url=self.addr, token=token, verify=self.verify,
                           timeout=HTTP_TIMEOUT_S, session=new_session())

    def request(self, method: str, path: str, token: Optional[str] = "root",
                session: Optional[requests.Session] = None, **kwargs) -> requests.Response:
        """A raw HTTP request; path starts with "/". token "root" = root token."""
        headers = dict(kwargs.pop("headers", None) or {})
        if token == "root":
            token = self.root_token
        if token is not None:
            headers.setdefault("X-Vault-Token", token)
        kwargs.setdefault("timeout", HTTP_TIMEOUT_S)
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("allow_redirects", False)
        s = session or new_session()
        try:
            return s.request(method, self.url(path), headers=headers, **kwargs)
        finally:
            if session is None:
                s.close()

    def ssl_context(self) -> Optional[ssl.SSLContext]:
        if not self.ca_cert:
            return None
        return ssl.create_default_context(cafile=self.ca_cert)

    def connect(self, timeout: float = 10.0) -> socket.socket:
        """A raw socket (TLS-wrapped for https servers) to the listener."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        ctx = self.ssl_context()
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        return sock

    # -- process control -----------------------------------------------------

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.alive():
            raise ServerError(f"{self.name}: already running")
        log = open(self.log_path, "ab")
        log.write(f"\n===== start: {' '.join(self.args)}\n".encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(
                [ARCA_BIN, *self.args], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=str(self.workdir), env=clean_env(),
                start_new_session=True)
        finally:
            log.close()
        with _LIVE_LOCK:
            if self not in LIVE_SERVERS:
                LIVE_SERVERS.append(self)

    def wait_listening(self, timeout: float = START_TIMEOUT_S) -> int:
        """Polls GET sys/health until the server answers; returns its status."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerError(
                    f"{self.name}: exited with {self.proc.returncode} before answering\n"
                    + self.log_tail())
            try:
                r = self.request("GET", "/v1/sys/health", token=None, timeout=2)
                return r.status_code
            except requests.RequestException as e:
                last_error = e
            time.sleep(0.05)
        raise ServerError(f"{self.name}: no answer on {self.addr} within {timeout}s "
                          f"({last_error})\n" + self.log_tail())

    def wait_health(self, expected=(200,), timeout: float = START_TIMEOUT_S) -> None:
        """Polls sys/health until its status is one of expected (bounded)."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.wait_listening(timeout=max(0.1, deadline - time.monotonic()))
            if status in expected:
                return
            time.sleep(0.05)
        raise ServerError(f"{self.name}: sys/health stayed {status}, wanted {expected}\n"
                          + self.log_tail())

    def stop(self, sig: int = signal.SIGTERM) -> Optional[int]:
        """Stops the process (SIGTERM, then SIGKILL after a bound); returns its code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        with _LIVE_LOCK:
            if self in LIVE_SERVERS:
                LIVE_SERVERS.remove(self)
        return self.proc.returncode

    def kill9(self) -> None:
        """kill -9, no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.stop()

    def restart(self, kill: bool = False, unseal: bool = True) -> None:
        """Restarts on the same port and config; unseals with the stored keys."""
        if kill:
            self.kill9()
        else:
            self.stop()
        self.start()
        self.wait_listening()
        if unseal and self.keys:
            self.unseal()

    # -- init / unseal -------------------------------------------------------

    def initialize(self, shares: int = 5, threshold: int = 3) -> dict:
        result = self.client(token=None).sys.initialize(secret_shares=shares,
                                                        secret_threshold=threshold)
        self.root_token = result["root_token"]
        self.keys = list(result["keys"])
        self.keys_base64 = list(result["keys_base64"])
        return result

    def unseal(self, count: int = 3) -> None:
        c = self.client(token=None)
        status = None
        for key in self.keys[:count]:
            status = c.sys.submit_unseal_key(key)
            if not status["sealed"]:
                break
        if status is None or status["sealed"]:
            raise ServerError(f"{self.name}: still sealed after {count} keys: {status}")
        self.wait_health((200,))

    def log_tail(self, max_bytes: int = 12000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - max_bytes))
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"
        state = "running" if self.alive() else (
            f"exited with {self.proc.returncode}" if self.proc else "never started")
        return f"[{self.name} on {self.addr}: {state}; log {self.log_path}]\n{text}"


def start_dev_server(workdir: Path, root_token: Optional[str] = None) -> ArcaServer:
    """`arca server -dev` on a free port: in memory, unsealed, KV v2 at secret/."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = find_free_port()
    token = root_token or ("devroot" + uuid.uuid4().hex[:16])
    srv = ArcaServer(
        name="dev", port=port, workdir=workdir, log_path=workdir / "arca-dev.log",
        args=["server", "-dev", f"-dev-listen-address=127.0.0.1:{port}",
              f"-dev-root-token-id={token}"],
        root_token=token)
    srv.start()
    try:
        srv.wait_health((200,))
    except Exception:
        srv.stop()
        raise
    return srv


def start_config_server(workdir: Path, tls: Optional[TlsMaterial], *, init: bool = True,
                        max_request_size: Optional[int] = None, shares: int = 5,
                        threshold: int = 3) -> ArcaServer:
    """`arca server -config=...` on file storage; initialised and unsealed if init."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = find_free_port()
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    config = workdir / "arca.hcl"
    write_config(config, port=port, data_dir=data_dir, tls=tls,
                 max_request_size=max_request_size)
    srv = ArcaServer(
        name="tls-file" if tls else "http-file", port=port, workdir=workdir,
        log_path=workdir / "arca.log", args=["server", f"-config={config}"],
        ca_cert=tls.ca_cert if tls else None, data_dir=data_dir, config_path=config)
    srv.start()
    try:
        srv.wait_listening()
        if init:
            srv.initialize(shares=shares, threshold=threshold)
            srv.unseal(count=threshold)
    except Exception:
        srv.stop()
        raise
    return srv


# ---------------------------------------------------------------------------
# Assertions shared by the test modules


def assert_json_content_type(resp: requests.Response) -> None:
    ctype = resp.headers.get("Content-Type")
    assert ctype == "application/json", (
        f"{resp.request.method} {resp.url}: Content-Type {ctype!r}, expected exactly "
        f"'application/json'")


def assert_error(resp: requests.Response, status, contains: Optional[str] = None) -> list:
    """The response is an error with the given status (int or tuple) and a Vault
    error body {"errors":[...]} served as application/json; returns the errors."""
    statuses = (status,) if isinstance(status, int) else tuple(status)
    where = f"{resp.request.method} {resp.url}"
    assert resp.status_code in statuses, (
        f"{where}: status {resp.status_code}, expected {statuses}; body {resp.text[:500]!r}")
    assert_json_content_type(resp)
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError(f"{where}: error body is not JSON: {resp.text[:500]!r}")
    assert isinstance(body, dict) and isinstance(body.get("errors"), list), (
        f"{where}: error body is not {{\"errors\": [...]}}: {body!r}")
    assert all(isinstance(e, str) for e in body["errors"]), body
    if contains is not None:
        assert any(contains in e for e in body["errors"]), (
            f"{where}: no error containing {contains!r} in {body['errors']!r}")
    return body["errors"]


def assert_envelope(body: dict) -> None:
    """The standard logical response envelope, every key present."""
    for key in ("request_id", "lease_id", "renewable", "lease_duration", "data",
                "wrap_info", "warnings", "auth"):
        assert key in body, f"envelope lacks {key!r}: {body!r}"
    assert isinstance(body["request_id"], str)
    assert isinstance(body["lease_id"], str)
    assert isinstance(body["renewable"], bool)
    assert isinstance(body["lease_duration"], int) and not isinstance(body["lease_duration"], bool)
    assert body["data"] is None or isinstance(body["data"], dict)
    assert body["warnings"] is None or isinstance(body["warnings"], list)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()
