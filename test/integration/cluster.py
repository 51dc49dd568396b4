"""A 3-node arca HA cluster on a 3-member etcd cluster, with faults.

    pki = cluster_pki(tmp_path_factory)        # one CA + certs per session
    c = Cluster(tmp_path / "c", pki).start()   # etcd, fault proxies, arca nodes
    c.init(); c.unseal_all(); c.wait_one_active()
    ...
    c.stop()                                   # always: kills every process group

Topology: every arca node N reaches every etcd member M through its own
FaultProxy (N, M), a small threaded TCP proxy on loopback, so
`partition(N)` cuts node N off from etcd while the other nodes and etcd's
own peer traffic are untouched. TLS is end to end (the proxy only moves
bytes): etcd runs mutual TLS on client and peer ports; each arca node has
its own listener certificate (SANs localhost, nodeN.arca.test, arca.test,
127.0.0.1) and its own etcd client certificate.

Every wait is bounded. Processes run in their own sessions and are killed
by process group; an atexit hook kills whatever a crashed test run left.
Node, etcd member and event-timeline logs are registered in
harness.LIVE_SERVERS, so conftest.py attaches their tails to the report of
a failing test.
"""

import atexit
import concurrent.futures
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import requests

import harness
from harness import ArcaServer, ServerError, clean_env, hcl_string, new_session

ETCD_BIN = os.environ.get("ETCD_BIN", "/usr/bin/etcd")
ETCDCTL_BIN = os.environ.get("ETCDCTL_BIN", "/usr/bin/etcdctl")

ETCD_START_TIMEOUT_S = 20.0
NODE_START_TIMEOUT_S = 20.0
ACTIVE_TIMEOUT_S = 15.0
HEALTH_TIMEOUT_S = 1.0     # one sys/health probe (a SIGSTOPped node never answers)
KV_MOUNT = "secret"


# ---------------------------------------------------------------------------
# Process bookkeeping


_ALL_PGIDS = set()
_PGID_LOCK = threading.Lock()


def _track(pid: int) -> None:
    with _PGID_LOCK:
        _ALL_PGIDS.add(pid)


def _untrack(pid: int) -> None:
    with _PGID_LOCK:
        _ALL_PGIDS.discard(pid)


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@atexit.register
def _kill_leftovers() -> None:
    with _PGID_LOCK:
        pids = list(_ALL_PGIDS)
        _ALL_PGIDS.clear()
    for pid in pids:
        _kill_group(pid, signal.SIGCONT)
        _kill_group(pid, signal.SIGKILL)


_USED_PORTS = set()


def free_port(pair: bool = False) -> int:
    """A free loopback port never handed out before in this run; with pair,
    port+1 is free too (arca's cluster_addr)."""
    for _ in range(200):
        port = harness.find_free_port()
        if port in _USED_PORTS or (pair and (port + 1) in _USED_PORTS):
            continue
        if pair:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            _USED_PORTS.add(port + 1)
        _USED_PORTS.add(port)
        return port
    raise ServerError("no free port found")


# ---------------------------------------------------------------------------
# Event timeline


class Events:
    """Timestamped record of what the harness and tests did to the cluster.
    Quacks like an ArcaServer for conftest's log attachment."""

    def __init__(self):
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self._lines: List[str] = []
        self.name = "cluster-events"
        self.addr = "(timeline)"

    def add(self, what: str) -> float:
        t = time.monotonic()
        with self._lock:
            self._lines.append(f"{t - self.t0:8.3f}s  {what}")
        return t

    def rel(self, t: float) -> float:
        return t - self.t0

    def log_tail(self, max_lines: int = 200) -> str:
        with self._lock:
            return "\n".join(self._lines[-max_lines:])


# ---------------------------------------------------------------------------
# PKI


@dataclass
class CertKey:
    cert: str
    key: str


@dataclass
class ClusterPki:
    directory: Path
    ca: str
    etcd: Dict[int, CertKey]          # member i: server + peer + client usage
    node_tls: Dict[int, CertKey]      # arca node n: listener certificate
    node_client: Dict[int, CertKey]   # arca node n: etcd client certificate
    admin: CertKey                    # the tests' own etcd client certificate


def _openssl(*args) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


# ECDSA P-256: key generation is instant, unlike RSA on a busy machine.
_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def make_cluster_pki(directory: Path, n_nodes: int = 3, n_etcd: int = 3) -> ClusterPki:
    """One CA, then leaf certificates for every etcd member and arca node."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca-key.pem", directory / "ca.pem"
    _openssl("req", "-x509", "-new", *_EC_KEY, "-nodes", "-sha256",
             "-keyout", str(ca_key), "-out", str(ca), "-days", "3",
             "-subj", "/CN=arca cluster test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash")

    def leaf(name: str, cn: str, sans: str, usage: str) -> CertKey:
        key, csr, pem = (directory / f"{name}-key.pem", directory / f"{name}.csr",
                         directory / f"{name}.pem")
        ext = directory / f"{name}.ext"
        lines = [
            "basicConstraints = critical, CA:FALSE",
            "keyUsage = critical, digitalSignature",
            f"extendedKeyUsage = {usage}",
            "subjectKeyIdentifier = hash",
            "authorityKeyIdentifier = keyid, issuer",
        ]
        if sans:
            lines.append(f"subjectAltName = {sans}")
        ext.write_text("\n".join(lines) + "\n")
        _openssl("req", "-new", *_EC_KEY, "-nodes", "-sha256",
                 "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-out", str(pem), "-days", "3", "-sha256",
                 "-extfile", str(ext))
        os.chmod(key, 0o600)
        return CertKey(str(pem), str(key))

    local = "IP:127.0.0.1, DNS:localhost"
    etcd = {i: leaf(f"etcd{i}", f"etcd{i}", local, "serverAuth, clientAuth")
            for i in range(1, n_etcd + 1)}
    node_tls = {n: leaf(f"node{n}", f"node{n}.arca.test",
                        f"DNS:localhost, DNS:node{n}.arca.test, DNS:arca.test, IP:127.0.0.1",
                        "serverAuth, clientAuth")
                for n in range(1, n_nodes + 1)}
    node_client = {n: leaf(f"node{n}-client", f"node{n}", "", "clientAuth")
                   for n in range(1, n_nodes + 1)}
    admin = leaf("admin-client", "root", "", "clientAuth")
    return ClusterPki(directory, str(ca), etcd, node_tls, node_client, admin)


_PKI_CACHE: Dict[str, ClusterPki] = {}


def cluster_pki(tmp_path_factory) -> ClusterPki:
    """The session's PKI, made once ."""
    base = str(tmp_path_factory.getbasetemp())
    if base not in _PKI_CACHE:
        _PKI_CACHE[base] = make_cluster_pki(tmp_path_factory.mktemp("cluster-pki"))
    return _PKI_CACHE[base]


# ---------------------------------------------------------------------------
# The fault proxy


class _Link:
    """One proxied connection: client socket <-> upstream socket."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class FaultProxy:
    """A TCP proxy 127.0.0.1:port -> 127.0.0.1:target_port with faults.

    cut(mode):
      "blackhole" (default): close every open connection; accept new ones
                  but never forward a byte (they hang until the peer's
                  deadline), like a network that drops packets;
      "refuse":   close every open connection; close new ones at once;
      "freeze":   keep connections open but stop forwarding (bytes queue
                  in the kernel), black-hole new ones.
    heal() forwards again (held black-holed connections are closed).
    At most MAX_LINKS forwarded connections (one thread each) plus one
    accept thread; over the limit a new connection is closed.
    """

    MAX_LINKS = 32
    MAX_HELD = 64
    SEND_TIMEOUT_S = 10.0

    def __init__(self, name: str, target_port: int, events: Optional[Events] = None):
        self.name = name
        self.target_port = target_port
        self.events = events
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._links: List[_Link] = []
        self._held: List[socket.socket] = []
        self._mode = "open"
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._threads: List[threading.Thread] = []
        self.accepted = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"proxy-{name}",
                                          daemon=True)
        self._acceptor.start()

    @property
    def mode(self) -> str:
        return self._mode

    def cut(self, mode: str = "blackhole") -> None:
        assert mode in ("blackhole", "refuse", "freeze"), mode
        with self._lock:
            self._mode = mode
            if mode == "freeze":
                self._flowing.clear()
                return
            self._flowing.set()
            links, self._links = self._links, []
        for link in links:
            link.close()

    def heal(self) -> None:
        with self._lock:
            self._mode = "open"
            held, self._held = self._held, []
            self._flowing.set()
        for s in held:
            _close_quietly(s)

    def close(self) -> None:
        self._stopped.set()
        self._flowing.set()
        with self._lock:
            links, self._links = self._links, []
            held, self._held = self._held, []
        for link in links:
            link.close()
        for s in held:
            _close_quietly(s)
        _close_quietly(self._sock)
        self._acceptor.join(timeout=2)
        for t in list(self._threads):
            t.join(timeout=2)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            with self._lock:
                mode = self._mode
                if mode in ("blackhole", "freeze"):
                    self._held.append(conn)
                    if len(self._held) > self.MAX_HELD:
                        _close_quietly(self._held.pop(0))
                    continue
                if mode == "refuse" or len(self._links) >= self.MAX_LINKS:
                    _reset(conn)
                    continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                _reset(conn)   # the member is down: as if refused
                continue
            for s in (conn, upstream):
                s.settimeout(self.SEND_TIMEOUT_S)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(conn, upstream)
            with self._lock:
                if self._mode != "open":
                    link.close()
                    continue
                self._links.append(link)
            t = threading.Thread(target=self._pump, args=(link,), name=f"pump-{self.name}",
                                 daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _pump(self, link: _Link) -> None:
        pair = {link.client: link.upstream, link.upstream: link.client}
        try:
            while not link.closed and not self._stopped.is_set():
                if not self._flowing.is_set():
                    self._flowing.wait(0.1)
                    continue
                readable, _, _ = select.select(list(pair), [], [], 0.2)
                for s in readable:
                    if not self._flowing.is_set():
                        break
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            link.close()
            with self._lock:
                if link in self._links:
                    self._links.remove(link)


def _close_quietly(s: socket.socket) -> None:
    try:
        s.close()
    except OSError:
        pass


def _reset(s: socket.socket) -> None:
    """Close with RST, the closest thing to a refused connection."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    _close_quietly(s)


# ---------------------------------------------------------------------------
# etcd members


@dataclass(eq=False)
class EtcdMember:
    index: int
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    certs: CertKey
    ca: str
    initial_cluster: str = ""
    cluster_token: str = ""
    proc: Optional[subprocess.Popen] = None
    paused: bool = False

    @property
    def addr(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"https://127.0.0.1:{self.peer_port}"

    def args(self) -> List[str]:
        return [
            ETCD_BIN, f"--name={self.name}", f"--data-dir={self.data_dir}",
            f"--listen-client-urls={self.addr}", f"--advertise-client-urls={self.addr}",
            f"--listen-peer-urls={self.peer_url}",
            f"--initial-advertise-peer-urls={self.peer_url}",
            f"--initial-cluster={self.initial_cluster}", "--initial-cluster-state=new",
            f"--initial-cluster-token={self.cluster_token}",
            "--client-cert-auth", f"--trusted-ca-file={self.ca}",
            f"--cert-file={self.certs.cert}", f"--key-file={self.certs.key}",
            "--peer-client-cert-auth", f"--peer-trusted-ca-file={self.ca}",
            f"--peer-cert-file={self.certs.cert}", f"--peer-key-file={self.certs.key}",
            "--heartbeat-interval=100", "--election-timeout=1000",
            "--logger=zap", "--log-level=error",
        ]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.alive():
            raise ServerError(f"etcd {self.name}: already running")
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.name}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=clean_env(),
                                         start_new_session=True)
        self.paused = False
        _track(self.proc.pid)
        with harness._LIVE_LOCK:
            if self not in harness.LIVE_SERVERS:
                harness.LIVE_SERVERS.append(self)

    def healthy(self, admin: CertKey, timeout: float = 1.0) -> bool:
        try:
            s = new_session()
            try:
                r = s.get(self.addr + "/health", cert=(admin.cert, admin.key), verify=self.ca,
                          timeout=timeout)
            finally:
                s.close()
            return r.status_code == 200 and r.json().get("health") == "true"
        except (requests.RequestException, ValueError):
            return False

    def _forget(self) -> None:
        if self.proc is not None:
            _untrack(self.proc.pid)
        with harness._LIVE_LOCK:
            if self in harness.LIVE_SERVERS:
                harness.LIVE_SERVERS.remove(self)

    def kill9(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _kill_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.paused = False
        self._forget()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, SIGKILL after the bound."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _kill_group(self.proc.pid, signal.SIGCONT)
            _kill_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.paused = False
        self._forget()

    def sigstop(self) -> None:
        _kill_group(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def sigcont(self) -> None:
        _kill_group(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def log_tail(self, max_bytes: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - max_bytes))
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"
        state = "running" if self.alive() else "stopped"
        return f"[etcd {self.name} {self.addr}: {state}]\n{text}"


# ---------------------------------------------------------------------------
# arca nodes


@dataclass(eq=False)
class ArcaNode(ArcaServer):
    """An arca node of the cluster (an ArcaServer with a process group,
    pause/resume and a standby-aware unseal)."""

    index: int = 0
    cluster_port: int = 0
    proxies: List[FaultProxy] = field(default_factory=list)
    disable_forwarding: bool = False
    paused: bool = False

    def __repr__(self) -> str:
        return f"<node{self.index} :{self.port}>"

    def start(self) -> None:
        super().start()
        self.paused = False
        _track(self.proc.pid)

    def _forget(self) -> None:
        if self.proc is not None:
            _untrack(self.proc.pid)
        with harness._LIVE_LOCK:
            if self in harness.LIVE_SERVERS:
                harness.LIVE_SERVERS.remove(self)

    def kill9(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _kill_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.paused = False
        self._forget()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> Optional[int]:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            _kill_group(self.proc.pid, signal.SIGCONT)
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.paused = False
        self._forget()
        return self.proc.returncode

    def sigstop(self) -> None:
        _kill_group(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def sigcont(self) -> None:
        _kill_group(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def health(self, timeout: float = HEALTH_TIMEOUT_S) -> Optional[int]:
        """sys/health status code, None when there is no answer in time."""
        if not self.alive():
            return None
        try:
            return self.request("GET", "/v1/sys/health", token=None, timeout=timeout).status_code
        except requests.RequestException:
            return None

    def unseal(self, count: int = 2) -> None:
        """Submits keys until unsealed; an HA node is then active or standby."""
        status = None
        for key in self.keys[:count]:
            r = self.request("PUT", "/v1/sys/unseal", token=None, json={"key": key})
            if r.status_code != 200:
                raise ServerError(f"{self!r}: unseal answered {r.status_code}: {r.text[:300]}")
            status = r.json()
            if not status.get("sealed", True):
                break
        if status is None or status.get("sealed", True):
            raise ServerError(f"{self!r}: still sealed after {count} keys: {status}")
        self.wait_health((200, 429), timeout=NODE_START_TIMEOUT_S)

    def sealed(self) -> bool:
        r = self.request("GET", "/v1/sys/seal-status", token=None, timeout=5)
        return bool(r.json().get("sealed"))


# ---------------------------------------------------------------------------
# KV helpers


def kv_write(node: ArcaNode, path: str, data: dict, cas: Optional[int] = None,
             session: Optional[requests.Session] = None, timeout=5.0,
             mount: str = KV_MOUNT) -> requests.Response:
    body = {"data": data, "options": {} if cas is None else {"cas": cas}}
    return node.request("POST", f"/v1/{mount}/data/{path}", session=session, json=body,
                        timeout=timeout)


def kv_read(node: ArcaNode, path: str, version: Optional[int] = None,
            session: Optional[requests.Session] = None, timeout=5.0,
            mount: str = KV_MOUNT) -> requests.Response:
    q = f"?version={version}" if version is not None else ""
    return node.request("GET", f"/v1/{mount}/data/{path}{q}", session=session, timeout=timeout)


def kv_metadata(node: ArcaNode, path: str, session: Optional[requests.Session] = None,
                timeout=5.0, mount: str = KV_MOUNT) -> requests.Response:
    return node.request("GET", f"/v1/{mount}/metadata/{path}", session=session, timeout=timeout)


def is_cas_mismatch(resp: requests.Response) -> bool:
    """Vault's 400 for a check-and-set on the wrong version (the wire
    contract gives no other way to tell it from other 400s)."""
    if resp.status_code != 400:
        return False
    try:
        errors = resp.json().get("errors") or []
    except ValueError:
        return False
    return any("check-and-set parameter did not match" in e for e in errors)


# ---------------------------------------------------------------------------
# The cluster


class Cluster:
    """3 etcd members, a fault proxy per (node, member), N arca nodes.
    Nodes and members are numbered from 1."""

    def __init__(self, workdir: Path, pki: ClusterPki, n_nodes: int = 3, n_etcd: int = 3,
                 disable_forwarding: Sequence[int] = (), lock_timeout: str = "2s",
                 request_timeout: str = "2s", log_level: str = "info"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = pki
        self.events = Events()
        self.lock_timeout = lock_timeout
        self.request_timeout = request_timeout
        self.log_level = log_level
        self.root_token: Optional[str] = None
        self.keys: List[str] = []
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8,
                                                          thread_name_prefix="probe")
        token = f"arca-test-{os.getpid()}-{int(time.time() * 1000) % 100000}"
        self.members: List[EtcdMember] = []
        for i in range(1, n_etcd + 1):
            self.members.append(EtcdMember(
                index=i, name=f"etcd{i}", client_port=free_port(), peer_port=free_port(),
                data_dir=self.workdir / f"etcd{i}.data", log_path=self.workdir / f"etcd{i}.log",
                certs=pki.etcd[i], ca=pki.ca, cluster_token=token))
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for m in self.members:
            m.initial_cluster = initial
        self.nodes: List[ArcaNode] = []
        for n in range(1, n_nodes + 1):
            port = free_port(pair=True)
            ndir = self.workdir / f"node{n}"
            ndir.mkdir(exist_ok=True)
            node = ArcaNode(
                name=f"node{n}", args=[], port=port, workdir=ndir, log_path=ndir / "arca.log",
                ca_cert=pki.ca, config_path=ndir / "arca.hcl", index=n, cluster_port=port + 1,
                disable_forwarding=n in disable_forwarding)
            node.args = ["server", f"-config={node.config_path}"]
            node.proxies = [FaultProxy(f"n{n}-e{m.index}", m.client_port, self.events)
                            for m in self.members]
            self.write_config(node)
            self.nodes.append(node)
        self._started = False

    # -- configuration -----------------------------------------------------

    def write_config(self, node: ArcaNode) -> None:
        n = node.index
        address = ",".join(f"https://127.0.0.1:{p.port}" for p in node.proxies)
        node.config_path.write_text(
            'storage "etcd" {\n'
            f"  address         = {hcl_string(address)}\n"
            '  path            = "/arca/"\n'
            '  ha_enabled      = "true"\n'
            f"  tls_ca_file     = {hcl_string(self.pki.ca)}\n"
            f"  tls_cert_file   = {hcl_string(self.pki.node_client[n].cert)}\n"
            f"  tls_key_file    = {hcl_string(self.pki.node_client[n].key)}\n"
            f"  request_timeout = {hcl_string(self.request_timeout)}\n"
            f"  lock_timeout    = {hcl_string(self.lock_timeout)}\n"
            f"  node_id         = {hcl_string(f'node{n}')}\n"
            "}\n\n"
            'listener "tcp" {\n'
            f"  address       = {hcl_string(f'127.0.0.1:{node.port}')}\n"
            f"  tls_cert_file = {hcl_string(self.pki.node_tls[n].cert)}\n"
            f"  tls_key_file  = {hcl_string(self.pki.node_tls[n].key)}\n"
            "}\n\n"
            f"api_addr           = {hcl_string(node.addr)}\n"
            f"cluster_addr       = {hcl_string(f'https://127.0.0.1:{node.cluster_port}')}\n"
            f"forwarding_ca_file = {hcl_string(self.pki.ca)}\n"
            f"disable_forwarding = {'true' if node.disable_forwarding else 'false'}\n"
            "disable_mlock      = true\n"
            f"log_level          = {hcl_string(self.log_level)}\n")

    # -- lifecycle -----------------------------------------------------------

    def node(self, n: int) -> ArcaNode:
        return self.nodes[n - 1]

    def member(self, i: int) -> EtcdMember:
        return self.members[i - 1]

    def start(self) -> "Cluster":
        with harness._LIVE_LOCK:
            harness.LIVE_SERVERS.append(self.events)
        self._started = True
        try:
            self.start_etcd()
            for node in self.nodes:
                self.start_node(node)
        except BaseException:
            self.stop()
            raise
        return self

    def start_etcd(self, members: Optional[Iterable[EtcdMember]] = None) -> None:
        members = list(members or self.members)
        for m in members:
            m.start()
        self.events.add("etcd started: " + ", ".join(m.name for m in members))
        self.wait_etcd_healthy(members)

    def wait_etcd_healthy(self, members: Optional[Iterable[EtcdMember]] = None,
                          timeout: float = ETCD_START_TIMEOUT_S) -> None:
        members = list(members or self.members)
        deadline = time.monotonic() + timeout
        pending = list(members)
        while pending and time.monotonic() < deadline:
            for m in list(pending):
                if not m.alive():
                    raise ServerError(f"etcd {m.name} exited with {m.proc.returncode}\n"
                                      + m.log_tail())
                if m.healthy(self.pki.admin):
                    pending.remove(m)
            if pending:
                time.sleep(0.1)
        if pending:
            raise ServerError("etcd not healthy within "
                              f"{timeout}s: {[m.name for m in pending]}\n"
                              + "\n".join(m.log_tail() for m in pending))

    def start_node(self, node: ArcaNode) -> None:
        node.start()
        self.events.add(f"node{node.index} started (pid {node.proc.pid})")
        node.wait_listening(timeout=NODE_START_TIMEOUT_S)

    def stop(self) -> None:
        """Everything down, whatever state it is in (kill -9 by process group)."""
        for node in self.nodes:
            node.kill9()
        for m in self.members:
            m.kill9()
        for node in self.nodes:
            for p in node.proxies:
                p.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with harness._LIVE_LOCK:
            if self.events in harness.LIVE_SERVERS:
                harness.LIVE_SERVERS.remove(self.events)
        self.events.add("cluster stopped")

    # -- init and unseal -----------------------------------------------------

    def init(self, shares: int = 3, threshold: int = 2, via: int = 1) -> dict:
        node = self.node(via)
        r = node.request("PUT", "/v1/sys/init", token=None,
                         json={"secret_shares": shares, "secret_threshold": threshold},
                         timeout=30)
        if r.status_code != 200:
            raise ServerError(f"init on node{via}: {r.status_code} {r.text[:500]}")
        body = r.json()
        self.root_token = body["root_token"]
        self.keys = list(body["keys"])
        self.threshold = threshold
        for n in self.nodes:
            n.root_token = self.root_token
            n.keys = self.keys
        self.events.add(f"initialised through node{via}")
        return body

    def unseal(self, n: int) -> None:
        """Unseals node n; a standby is only ready once it knows the leader
        (it learns it from etcd a moment after unsealing)."""
        node = self.node(n)
        node.unseal(count=self.threshold)
        self.events.add(f"node{n} unsealed")
        self.wait_leader_known(node)

    def wait_leader_known(self, node: ArcaNode, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        body = {}
        while time.monotonic() < deadline:
            try:
                body = self.leader_of(node)
            except requests.RequestException as e:
                body = {"error": str(e)}
            if body.get("leader_address"):
                return body["leader_address"]
            time.sleep(0.05)
        raise ServerError(f"{node!r} knows no leader after {timeout}s: {body}")

    def unseal_all(self) -> None:
        for node in self.nodes:
            if node.alive():
                self.unseal(node.index)

    def bootstrap(self) -> ArcaNode:
        """init, unseal every node, wait for one active, mount KV v2 at secret/."""
        self.init()
        self.unseal_all()
        active = self.wait_one_active()
        r = active.request("POST", f"/v1/sys/mounts/{KV_MOUNT}",
                           json={"type": "kv", "options": {"version": "2"}})
        if r.status_code not in (200, 204):
            raise ServerError(f"mount {KV_MOUNT}/: {r.status_code} {r.text[:300]}")
        return active

    # -- roles -----------------------------------------------------------------

    def health_all(self, timeout: float = HEALTH_TIMEOUT_S) -> Dict[int, Optional[int]]:
        """{node index: sys/health status or None}, probed in parallel."""
        futures = {n.index: self._pool.submit(n.health, timeout) for n in self.nodes}
        return {i: f.result(timeout=timeout + 5) for i, f in futures.items()}

    def actives(self) -> List[ArcaNode]:
        return [self.node(i) for i, s in self.health_all().items() if s == 200]

    def standbys(self) -> List[ArcaNode]:
        return [self.node(i) for i, s in self.health_all().items() if s == 429]

    def active(self, timeout: float = ACTIVE_TIMEOUT_S) -> ArcaNode:
        """A node answering 200 on sys/health (bounded poll)."""
        return self.wait_active(timeout=timeout)

    def wait_active(self, timeout: float = ACTIVE_TIMEOUT_S,
                    exclude: Iterable = ()) -> ArcaNode:
        """The first node (not in exclude: nodes or indexes) to answer 200."""
        excluded = {x.index if isinstance(x, ArcaNode) else int(x) for x in exclude}
        deadline = time.monotonic() + timeout
        last = {}
        while time.monotonic() < deadline:
            last = self.health_all()
            for i, status in sorted(last.items()):
                if status == 200 and i not in excluded:
                    return self.node(i)
            time.sleep(0.1)
        raise ServerError(f"no active node (excluding {sorted(excluded)}) within {timeout}s; "
                          f"health {last}")

    def wait_one_active(self, timeout: float = ACTIVE_TIMEOUT_S,
                        nodes: Optional[Iterable[ArcaNode]] = None) -> ArcaNode:
        """Waits until exactly one of the (running) nodes answers 200 and
        every other one 429; returns the active."""
        deadline = time.monotonic() + timeout
        last = {}
        while time.monotonic() < deadline:
            want = {n.index for n in (nodes or self.nodes) if n.alive()}
            last = {i: s for i, s in self.health_all().items() if i in want}
            act = [i for i, s in last.items() if s == 200]
            if len(act) == 1 and all(s == 429 for i, s in last.items() if i != act[0]):
                return self.node(act[0])
            time.sleep(0.1)
        raise ServerError(f"not exactly one active and the rest standby within {timeout}s: "
                          f"health {last}")

    def leader_of(self, node: ArcaNode, timeout: float = 3.0) -> dict:
        r = node.request("GET", "/v1/sys/leader", token=None, timeout=timeout)
        r.raise_for_status()
        return r.json()

    # -- faults ------------------------------------------------------------------

    def kill9(self, n: int) -> float:
        t = self.events.add(f"kill -9 node{n}")
        self.node(n).kill9()
        return t

    def sigstop(self, n: int) -> float:
        self.node(n).sigstop()
        return self.events.add(f"SIGSTOP node{n}")

    def sigcont(self, n: int) -> float:
        self.node(n).sigcont()
        return self.events.add(f"SIGCONT node{n}")

    def stop_node(self, n: int, sig: int = signal.SIGTERM) -> float:
        t = self.events.add(f"stop node{n} (signal {sig})")
        self.node(n).stop(sig)
        self.events.add(f"node{n} exited")
        return t

    def restart(self, n: int, unseal: bool = True, kill: bool = False,
                disable_forwarding: Optional[bool] = None) -> ArcaNode:
        """Stops node n (SIGTERM, or kill -9), optionally rewrites its config,
        starts it and unseals it (it comes back as active or standby)."""
        node = self.node(n)
        if node.alive():
            if kill:
                self.kill9(n)
            else:
                self.stop_node(n)
        if disable_forwarding is not None:
            node.disable_forwarding = disable_forwarding
            self.write_config(node)
        self.start_node(node)
        if unseal and self.keys:
            self.unseal(n)
        return node

    def partition(self, n: int, mode: str = "blackhole") -> float:
        """Cuts node n off from every etcd member."""
        for p in self.node(n).proxies:
            p.cut(mode)
        return self.events.add(f"partition node{n} from etcd ({mode})")

    def heal(self, n: int) -> float:
        for p in self.node(n).proxies:
            p.heal()
        return self.events.add(f"heal node{n}")

    def cut_link(self, n: int, member: int, mode: str = "blackhole") -> float:
        self.node(n).proxies[member - 1].cut(mode)
        return self.events.add(f"cut node{n} -> etcd{member} ({mode})")

    def etcd_kill9(self, i: int) -> float:
        t = self.events.add(f"kill -9 etcd{i}")
        self.member(i).kill9()
        return t

    def etcd_restart(self, i: int, wait: bool = True) -> float:
        m = self.member(i)
        if m.alive():
            m.kill9()
        m.start()
        t = self.events.add(f"etcd{i} restarted")
        if wait:
            self.wait_etcd_healthy([m])
        return t

    def etcd_status(self) -> List[dict]:
        """`etcdctl endpoint status` of every running member (JSON)."""
        eps = ",".join(m.addr for m in self.members if m.alive())
        out = subprocess.run(
            [ETCDCTL_BIN, f"--endpoints={eps}", f"--cacert={self.pki.ca}",
             f"--cert={self.pki.admin.cert}", f"--key={self.pki.admin.key}",
             "--dial-timeout=2s", "--command-timeout=3s", "endpoint", "status", "-w", "json"],
            capture_output=True, timeout=15, env=clean_env({"ETCDCTL_API": "3"}))
        if out.returncode != 0:
            raise ServerError(f"etcdctl endpoint status: {out.stderr.decode()[:500]}")
        return json.loads(out.stdout)

    def etcd_leader(self) -> EtcdMember:
        """The member etcd reports as its raft leader."""
        statuses = self.etcd_status()
        leader_id = statuses[0]["Status"]["leader"]
        for st in statuses:
            if st["Status"]["header"]["member_id"] == leader_id:
                ep = st["Endpoint"]
                return next(m for m in self.members if m.addr == ep)
        raise ServerError(f"etcd leader {leader_id} not among {statuses}")

    # -- repair ------------------------------------------------------------------

    def ensure_healthy(self, timeout: float = 30.0) -> ArcaNode:
        """Undoes every fault: resumes paused processes, heals proxies,
        restarts dead etcd members and nodes (unsealed); returns the active
        once exactly one node is active and the others standby."""
        for node in self.nodes:
            if node.paused and node.alive():
                self.sigcont(node.index)
            if any(p.mode != "open" for p in node.proxies):
                self.heal(node.index)
        for m in self.members:
            if m.paused and m.alive():
                m.sigcont()
        dead = [m for m in self.members if not m.alive()]
        for m in dead:
            m.start()
            self.events.add(f"etcd{m.index} restarted (repair)")
        if dead:
            self.wait_etcd_healthy(dead)
        for node in self.nodes:
            if not node.alive():
                self.start_node(node)
            if self.keys and node.sealed():
                self.unseal(node.index)
        return self.wait_one_active(timeout=timeout)

    # -- reporting -------------------------------------------------------------

    def describe(self) -> str:
        h = self.health_all()
        return ", ".join(f"node{i}={s}" for i, s in sorted(h.items()))


def cluster_fixture(request, tmp_path_factory, **kwargs):
    """A bootstrapped cluster for a test module (KV v2 at secret/); use as

        @pytest.fixture(scope="module")
        def cluster(request, tmp_path_factory):
            yield from cluster_fixture(request, tmp_path_factory)
    """
    import pytest

    if not harness.binary_available():
        pytest.skip(f"arca binary not found at {harness.ARCA_BIN} (set ARCA_BIN)")
    if not os.access(ETCD_BIN, os.X_OK):
        pytest.skip(f"etcd not found at {ETCD_BIN}")
    pki = cluster_pki(tmp_path_factory)
    name = request.module.__name__.split(".")[-1]
    c = Cluster(tmp_path_factory.mktemp(name), pki, **kwargs)
    try:
        c.start()
        c.bootstrap()
        yield c
    finally:
        c.stop()


# ---------------------------------------------------------------------------
# Watching roles over time


class HealthMonitor:
    """Polls sys/health of every node in parallel every `interval` seconds
    in a background thread; keeps (sent, received, node index, status).
    A status held at some instant inside [sent, received]."""

    def __init__(self, cluster: "Cluster", interval: float = 0.05):
        self.cluster = cluster
        self.interval = interval
        self.samples: List[Tuple[float, float, int, Optional[int]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True,
                                          name=f"health-{n.index}") for n in cluster.nodes]

    def __enter__(self) -> "HealthMonitor":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=HEALTH_TIMEOUT_S + 5)

    def _run(self, node: ArcaNode) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            status = node.health(timeout=HEALTH_TIMEOUT_S)
            with self._lock:
                self.samples.append((sent, time.monotonic(), node.index, status))
            self._stop.wait(self.interval)

    def of(self, n: int, status: Optional[int] = 200, after: float = 0.0):
        with self._lock:
            return [(s, r) for s, r, i, st in self.samples if i == n and st == status and s >= after]

    def first(self, n: int, status: Optional[int] = 200, after: float = 0.0):
        """(sent, received) of the first sample of node n with status, or None."""
        found = self.of(n, status, after)
        return min(found) if found else None

    def wait_first(self, n: int, status: Optional[int] = 200, after: float = 0.0,
                   timeout: float = 10.0):
        """first(), waiting up to `timeout` s for the sample (one may still be
        in flight when another check already saw the status)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.first(n, status, after)
            if found is not None:
                return found
            assert time.monotonic() < deadline, f"node{n} never answered {status} after {after:.3f}"
            time.sleep(0.05)

    def last(self, n: int, status: Optional[int] = 200, after: float = 0.0):
        found = self.of(n, status, after)
        return max(found) if found else None

    def overlap(self, old: int, new: int, after: float) -> float:
        """How long (s) `old` was certainly still answering 200 after `new`
        certainly answered 200 (0 if never): old's last 200 request sent
        minus new's first 200 answer received."""
        last_old, first_new = self.last(old, after=after), self.first(new, after=after)
        if last_old is None or first_new is None:
            return 0.0
        return max(0.0, last_old[0] - first_new[1])


# ---------------------------------------------------------------------------
# Load generation


@dataclass
class WriteRecord:
    client: int
    node: int
    path: str
    value: str
    invoke: float
    ret: float
    outcome: str          # "ok", "fail" (a 4xx), "unknown" (no answer, 5xx, 307)
    version: Optional[int] = None
    detail: str = ""


class Writers:
    """n_clients threads writing unique keys (KV v2, version 1 each) through
    the nodes round robin (client i starts at node i % N), until stop() or
    max_writes each. Every write is recorded with its outcome."""

    def __init__(self, cluster: Cluster, prefix: str, n_clients: int = 6,
                 max_writes: int = 400, nodes: Optional[Sequence[int]] = None,
                 timeout: float = 5.0, pace: float = 0.0, pin: bool = False):
        self.cluster = cluster
        self.prefix = prefix
        self.n_clients = n_clients
        self.max_writes = max_writes
        self.nodes = list(nodes or [n.index for n in cluster.nodes])
        self.timeout = timeout
        self.pace = pace
        self.pin = pin
        self.records: List[WriteRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True,
                                          name=f"writer-{i}") for i in range(n_clients)]

    def start(self) -> "Writers":
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            raise AssertionError(f"writer threads still running after {timeout}s: {alive}")

    def _run(self, client: int) -> None:
        sessions: Dict[int, requests.Session] = {}
        try:
            for i in range(self.max_writes):
                if self._stop.is_set():
                    return
                n = self.nodes[(client + (0 if self.pin else i)) % len(self.nodes)]
                node = self.cluster.node(n)
                s = sessions.setdefault(n, new_session())
                path = f"{self.prefix}/c{client}/w{i}"
                value = f"{self.prefix}-{client}-{i}"
                rec = write_once(node, path, value, s, self.timeout, client)
                with self._lock:
                    self.records.append(rec)
                if rec.outcome != "ok":
                    # A broken connection must not poison the next request.
                    sessions.pop(n).close()
                    time.sleep(0.05)
                elif self.pace:
                    time.sleep(self.pace)
        finally:
            for s in sessions.values():
                s.close()

    def snapshot(self) -> List[WriteRecord]:
        with self._lock:
            return list(self.records)

    def acked(self) -> List[WriteRecord]:
        return [r for r in self.snapshot() if r.outcome == "ok"]

    def wait_acks(self, count: int, timeout: float, after: float = 0.0) -> bool:
        """True once `count` writes invoked after `after` were acknowledged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for r in self.snapshot() if r.outcome == "ok" and r.invoke >= after) >= count:
                return True
            time.sleep(0.05)
        return False


def write_once(node: ArcaNode, path: str, value: str, session: requests.Session,
               timeout: float, client: int = 0) -> WriteRecord:
    t0 = time.monotonic()
    try:
        r = kv_write(node, path, {"v": value}, session=session, timeout=timeout)
    except requests.RequestException as e:
        return WriteRecord(client, node.index, path, value, t0, time.monotonic(), "unknown",
                           detail=f"{type(e).__name__}: {str(e)[:160]}")
    t1 = time.monotonic()
    if r.status_code == 200:
        try:
            version = r.json()["data"]["version"]
        except (ValueError, KeyError, TypeError):
            return WriteRecord(client, node.index, path, value, t0, t1, "unknown",
                               detail=f"200 with a bad body {r.text[:160]!r}")
        return WriteRecord(client, node.index, path, value, t0, t1, "ok", version=version)
    # A standby answers 307 when it cannot forward; the forwarded request
    # may have reached the active before the failure: unknown, like a 5xx.
    outcome = "unknown" if r.status_code >= 500 or 300 <= r.status_code < 400 else "fail"
    where = f" -> {r.headers.get('Location')}" if 300 <= r.status_code < 400 else ""
    return WriteRecord(client, node.index, path, value, t0, t1, outcome,
                       detail=f"{r.status_code}{where} {r.text[:160]}")


def read_state(node: ArcaNode, path: str, session: Optional[requests.Session] = None):
    """(data dict or None, metadata dict or None) of a KV v2 key, read
    through `node`; raises on anything but 200/404."""
    r = kv_read(node, path, session=session, timeout=10)
    if r.status_code == 200:
        data = r.json()["data"]
    elif r.status_code == 404:
        data = None
    else:
        raise AssertionError(f"read {path} via node{node.index}: {r.status_code} {r.text[:300]}")
    m = kv_metadata(node, path, session=session, timeout=10)
    if m.status_code == 200:
        meta = m.json()["data"]
    elif m.status_code == 404:
        meta = None
    else:
        raise AssertionError(f"metadata {path} via node{node.index}: {m.status_code} "
                             f"{m.text[:300]}")
    return data, meta


def verify_writes(node: ArcaNode, records: Sequence[WriteRecord],
                  workers: int = 4) -> Dict[str, list]:
    """Reads every recorded key back through `node` (a few threads).
    Returns problems: lost (acked but absent or another version), torn
    (data and metadata disagree), wrong (a value nobody wrote there),
    failed_present (a write answered with a 4xx error is present)."""
    problems = {"lost": [], "torn": [], "wrong": [], "failed_present": []}
    local = threading.local()
    sessions = []
    lock = threading.Lock()

    def one(rec: WriteRecord):
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = new_session()
            with lock:
                sessions.append(s)
        data, meta = read_state(node, rec.path, session=s)
        present = data is not None
        if present and data["data"] != {"v": rec.value}:
            return "wrong", (rec, data)
        if present != (meta is not None) or (
                present and (meta.get("current_version") != data["metadata"]["version"]
                             or str(data["metadata"]["version"]) not in meta["versions"])):
            return "torn", (rec, data, meta)
        if rec.outcome == "ok" and (not present or data["metadata"]["version"] != rec.version):
            return "lost", (rec, data)
        if rec.outcome == "fail" and present:
            return "failed_present", (rec, data)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for found in pool.map(one, records):
            if found is not None:
                problems[found[0]].append(found[1])
    for s in sessions:
        s.close()
    return problems


def assert_no_problems(problems: Dict[str, list], what: str = "") -> None:
    bad = {k: v for k, v in problems.items() if v}
    if bad:
        lines = [f"{what}: " + ", ".join(f"{len(v)} {k}" for k, v in bad.items())]
        for kind, items in bad.items():
            for item in items[:5]:
                rec = item[0]
                lines.append(f"  {kind}: {rec.path} via node{rec.node} outcome={rec.outcome} "
                             f"version={rec.version} {rec.detail} -> {item[1:]}")
        raise AssertionError("\n".join(lines))


def summarize(records: Sequence[WriteRecord]) -> str:
    by = {}
    for r in records:
        by[r.outcome] = by.get(r.outcome, 0) + 1
    return ", ".join(f"{k}={v}" for k, v in sorted(by.items())) or "no writes"
