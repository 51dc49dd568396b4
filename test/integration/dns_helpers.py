"""DNS helpers for the integration tests and bench/dns.py: a real BIND9
named on loopback, a tiny dyndns2 server, a DNS query without dig, and a
Cluster whose nodes carry `dns` stanzas.

    named = NamedServer(tmp / "named", keys={"arca-update": secret}).start()
    c = DnsCluster(tmp / "c", pki, named=named, dyndns=dyn).start()
    ...
    named.a("arca.test.")          # {"127.0.1.2"}

Each node n publishes the fake address 127.0.1.n (every node listens on
127.0.0.1; DNS does not care), so the answer tells which node holds the
name. named runs as the current user in its own session, is killed by
process group, and its log is attached to failing tests' reports.
"""

import base64
import http.server
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Set
from urllib.parse import parse_qs, urlparse

import cluster as C
import harness
from harness import ServerError, hcl_string

NAMED_BIN = os.environ.get("NAMED_BIN", "/usr/sbin/named")
ZONE = "arca.test."
GENERIC = "arca.test."           # the generic name (the nodes' certificates carry it)
BROKEN = "broken.arca.test."     # published with a wrong TSIG key
DYN_HOST = "vault.arca.test"     # the dyndns2 name
DYN_BAD = "badauth.arca.test"    # dyndns2 with a wrong password
UPDATE_KEY = "arca-update"


def node_ip(n: int) -> str:
    return f"127.0.1.{n}"


def new_secret() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def named_available() -> bool:
    return os.access(NAMED_BIN, os.X_OK)


# ---------------------------------------------------------------------------
# DNS queries (no dig: one UDP exchange, parsed here)


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _skip_name(msg: bytes, pos: int) -> int:
    while True:
        n = msg[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n


def query(port: int, name: str, qtype: str = "A", timeout: float = 1.0) -> Optional[Set[str]]:
    """The addresses of `name` from the server on 127.0.0.1:port (no
    recursion); None when it does not answer in time."""
    t = {"A": 1, "AAAA": 28}[qtype]
    qid = random.randrange(65536)
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + _encode_name(name) + struct.pack(">HH", t, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(msg, ("127.0.0.1", port))
            while True:
                data, _ = s.recvfrom(4096)
                if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                    break
        except (socket.timeout, OSError):
            return None
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    pos = 12
    for _ in range(qd):
        pos = _skip_name(data, pos) + 4
    out = set()
    for _ in range(an):
        pos = _skip_name(data, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        rdata = data[pos:pos + rdlen]
        pos += rdlen
        if rtype == 1 and rtype == t:
            out.add(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and rtype == t:
            out.add(socket.inet_ntop(socket.AF_INET6, rdata))
    return out


# ---------------------------------------------------------------------------
# named


class NamedServer:
    """BIND9 named on 127.0.0.1:port serving ZONE, updatable with the TSIG
    keys in `keys` (name -> base64 secret, hmac-sha256)."""

    def __init__(self, directory: Path, keys: Dict[str, str]):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keys = dict(keys)
        self.port = C.free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = self.dir / "named.log"
        self.name = "named"
        self.addr = f"127.0.0.1:{self.port}"

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def write_files(self) -> None:
        d = self.dir
        keys = "".join(f'key "{k}" {{ algorithm hmac-sha256; secret "{v}"; }};\n'
                       for k, v in self.keys.items())
        allowed = "".join(f' key "{k}";' for k in self.keys)
        (d / "named.conf").write_text(
            "options {\n"
            f'  directory "{d}";\n  pid-file "{d}/named.pid";\n'
            f'  session-keyfile "{d}/session.key";\n  managed-keys-directory "{d}";\n'
            f"  listen-on port {self.port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n"
            "  recursion no;\n  dnssec-validation no;\n  notify no;\n};\n"
            "controls { };\n" + keys +
            f'zone "{ZONE.rstrip(".")}" {{ type primary; file "{d}/zone.db";'
            f" allow-update {{{allowed} }}; }};\n")
        (d / "zone.db").write_text(
            "$TTL 60\n"
            f"@ IN SOA ns.{ZONE} hostmaster.{ZONE} 1 3600 600 86400 60\n"
            f"@ IN NS ns.{ZONE}\n"
            "ns IN A 127.0.0.1\n")
        jnl = d / "zone.db.jnl"
        if jnl.exists():
            jnl.unlink()
        os.chmod(d / "named.conf", 0o600)

    def start(self, timeout: float = 15.0) -> "NamedServer":
        self.write_files()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [NAMED_BIN, "-g", "-n", "1", "-c", str(self.dir / "named.conf"),
                 "-p", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        C._track(self.proc.pid)
        with harness._LIVE_LOCK:
            harness.LIVE_SERVERS.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"named exited with {self.proc.returncode}\n{self.log_tail()}")
            if query(self.port, "ns." + ZONE, timeout=0.3):
                return self
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"named did not answer within {timeout}s\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            C._kill_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc is not None:
            C._untrack(self.proc.pid)
        with harness._LIVE_LOCK:
            if self in harness.LIVE_SERVERS:
                harness.LIVE_SERVERS.remove(self)

    def log_tail(self, max_bytes: int = 4000) -> str:
        try:
            text = self.log_path.read_bytes()[-max_bytes:].decode("utf-8", "replace")
        except OSError as e:
            text = f"(no log: {e})"
        return f"[named {self.addr}]\n{text}"

    def a(self, name: str = GENERIC) -> Optional[Set[str]]:
        return query(self.port, name, "A")

    def nsupdate(self, name: str, ip: str, key: str = UPDATE_KEY) -> None:
        """Someone else points `name` at `ip` (nsupdate with our key)."""
        script = (f"server 127.0.0.1 {self.port}\nzone {ZONE}\n"
                  f"update delete {name} A\nupdate add {name} 60 A {ip}\nsend\n")
        r = subprocess.run(["nsupdate", "-y", f"hmac-sha256:{key}:{self.keys[key]}"],
                           input=script.encode(), capture_output=True, timeout=15)
        if r.returncode != 0:
            raise AssertionError(f"nsupdate: {r.stderr.decode()[:500]}")

    def wait_a(self, want: Set[str], name: str = GENERIC, timeout: float = 15.0,
               interval: float = 0.02) -> float:
        """Polls until `name` has exactly the addresses `want`; returns the
        monotonic time of the first such answer."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.a(name)
            if last == want:
                return time.monotonic()
            time.sleep(interval)
        raise AssertionError(f"{name} is {last}, not {want}, after {timeout}s")


# ---------------------------------------------------------------------------
# dyndns2


class Dyndns2Server:
    """A dyndns2 service (the nsupdate.info protocol) on 127.0.0.1: Basic
    auth with username = host and a per-host password; answers good <ip>,
    nochg <ip>, badauth (401), nohost; keeps the current address of each
    host and every request it saw."""

    def __init__(self, passwords: Dict[str, str]):
        self.passwords = dict(passwords)
        self.current: Dict[str, str] = {}
        self.seen: List[dict] = []
        self.abuse = False
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, body = outer._handle(self)
                data = body.encode()
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate",
                                     'Basic realm="authenticate to update DNS"')
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name="dyndns2")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/nic/update"

    def _handle(self, req):
        u = urlparse(req.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        auth = req.headers.get("Authorization", "")
        user = pw = None
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                pass
        host, ip = q.get("hostname", user), q.get("myip")
        with self._lock:
            self.seen.append({"path": u.path, "hostname": host, "myip": ip, "user": user,
                              "agent": req.headers.get("User-Agent", "")})
            if u.path != "/nic/update":
                return 404, "not found"
            if user is None or self.passwords.get(user) != pw:
                return 401, "badauth"
            if host != user:
                return 200, "nohost"
            if self.abuse:
                return 403, "abuse"
            if self.current.get(host) == ip:
                return 200, f"nochg {ip}"
            self.current[host] = ip
            return 200, f"good {ip}"

    def address(self, host: str) -> Optional[str]:
        with self._lock:
            return self.current.get(host)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------
# The cluster with dns stanzas


class DnsCluster(C.Cluster):
    """A Cluster whose node n publishes 127.0.1.n for GENERIC (rfc2136, the
    right key), for BROKEN (rfc2136, a wrong key) and, with a dyndns2
    server, for DYN_HOST (right password) and DYN_BAD (wrong one). The
    harness's config text is kept; the stanzas are appended."""

    def __init__(self, workdir: Path, pki, named: NamedServer,
                 dyndns: Optional[Dyndns2Server] = None, reassert: str = "2s",
                 broken: bool = True, **kwargs):
        self.named = named
        self.dyndns = dyndns
        self.reassert = reassert
        self.broken = broken
        self.secret_dir = Path(workdir) / "dns-secrets"
        self.secret_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(workdir, pki, **kwargs)

    def _secret_file(self, name: str, text: str) -> str:
        p = self.secret_dir / name
        p.write_text(text)
        os.chmod(p, 0o600)
        return str(p)

    def dns_stanzas(self, n: int) -> str:
        ip = node_ip(n)
        key_file = self._secret_file(
            "tsig.key", f'key "{UPDATE_KEY}" {{\n  algorithm hmac-sha256;\n'
                        f'  secret "{self.named.keys[UPDATE_KEY]}";\n}};\n')
        out = (f'\ndns "rfc2136" {{\n'
               f"  hostname         = {hcl_string(GENERIC)}\n"
               f"  addresses        = [{hcl_string(ip)}]\n"
               "  ttl              = 5\n"
               f"  reassert         = {hcl_string(self.reassert)}\n"
               f"  server           = {hcl_string(self.named.server)}\n"
               f"  zone             = {hcl_string(ZONE)}\n"
               f"  tsig_key_name    = {hcl_string(UPDATE_KEY)}\n"
               '  tsig_algorithm   = "hmac-sha256"\n'
               f"  tsig_secret_file = {hcl_string(key_file)}\n"
               '  timeout          = "2s"\n'
               f"  pause_file       = {hcl_string(str(self.secret_dir / f'pause-node{n}'))}\n"
               "}\n")
        if self.broken:
            out += (f'\ndns "rfc2136" {{\n'
                    f"  hostname      = {hcl_string(BROKEN)}\n"
                    f"  addresses     = [{hcl_string(ip)}]\n"
                    f"  reassert      = {hcl_string(self.reassert)}\n"
                    f"  server        = {hcl_string(self.named.server)}\n"
                    f"  tsig_key_name = {hcl_string(UPDATE_KEY)}\n"
                    f"  tsig_secret   = {hcl_string(new_secret())}\n"
                    '  timeout       = "2s"\n'
                    "}\n")
        if self.dyndns is not None:
            pw_file = self._secret_file("dyndns.pw", self.dyndns.passwords[DYN_HOST] + "\n")
            for host, pw in ((DYN_HOST, f"password_file = {hcl_string(pw_file)}"),
                             (DYN_BAD, 'password = "wrong"')):
                out += (f'\ndns "dyndns2" {{\n'
                        f"  hostname  = {hcl_string(host)}\n"
                        f"  addresses = [{hcl_string(ip)}]\n"
                        f"  reassert  = {hcl_string(self.reassert)}\n"
                        f"  url       = {hcl_string(self.dyndns.url)}\n"
                        f"  {pw}\n"
                        '  timeout   = "2s"\n'
                        "}\n")
        return out

    def write_config(self, node) -> None:
        super().write_config(node)
        with open(node.config_path, "a") as f:
            f.write(self.dns_stanzas(node.index))

    def pause_file(self, n: int) -> Path:
        return self.secret_dir / f"pause-node{n}"

    def ha_status(self, via) -> dict:
        r = via.request("GET", "/v1/sys/ha-status", timeout=5)
        r.raise_for_status()
        return r.json()["data"]

    def dns_status(self, via, hostname: str = GENERIC) -> dict:
        for d in self.ha_status(via).get("dns", []):
            if d["hostname"] == hostname:
                return d
        raise AssertionError(f"no dns entry for {hostname} in sys/ha-status of {via!r}")

    def holder(self) -> Optional[int]:
        """The node whose address GENERIC has now, if exactly one."""
        got = self.named.a(GENERIC) or set()
        for node in self.nodes:
            if got == {node_ip(node.index)}:
                return node.index
        return None
