"""Self-tests of cluster.py that need no arca binary: the fault proxy
against a local echo server, and the 3-member mutual-TLS etcd cluster
reached through a node's proxies (etcdctl), with a partition and a member
kill.
"""

import os
import socket
import subprocess
import threading
import time

import pytest

import cluster as C


@pytest.fixture
def echo_server():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.2)
    stop = threading.Event()
    conns = []

    def serve(conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()
    for conn in conns:
        try:
            conn.close()
        except OSError:
            pass
    t.join(timeout=2)


def _roundtrip(port, payload=b"ping", timeout=1.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_proxy_forwards_and_cuts(echo_server):
    p = C.FaultProxy("t", echo_server)
    try:
        assert _roundtrip(p.port) == b"ping"
        big = os.urandom(300_000)
        assert _roundtrip(p.port, big, timeout=5) == big

        # An open connection is closed by cut(); new ones hang (black hole).
        s = socket.create_connection(("127.0.0.1", p.port), timeout=1)
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        p.cut()
        s.settimeout(1)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        s.close()
        t0 = time.monotonic()
        with pytest.raises(socket.timeout):
            _roundtrip(p.port, timeout=0.5)
        assert time.monotonic() - t0 >= 0.4

        # refuse: closed at once.
        p.cut("refuse")
        t0 = time.monotonic()
        try:
            got = _roundtrip(p.port, timeout=2)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        assert got == b"" and time.monotonic() - t0 < 1.5

        p.heal()
        assert _roundtrip(p.port) == b"ping"
    finally:
        p.close()


def test_proxy_freeze_holds_bytes_until_heal(echo_server):
    p = C.FaultProxy("f", echo_server)
    try:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=2)
        s.sendall(b"a")
        assert s.recv(1) == b"a"
        p.cut("freeze")
        s.sendall(b"b")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(1)
        p.heal()
        s.settimeout(2)
        assert s.recv(1) == b"b"
        s.close()
    finally:
        p.close()


def test_proxy_bounds_its_connections(echo_server):
    p = C.FaultProxy("b", echo_server)
    socks = []
    try:
        for _ in range(C.FaultProxy.MAX_LINKS):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=2)
            s.sendall(b"z")
            assert s.recv(1) == b"z"
            socks.append(s)
        # One over the bound is reset (possibly before connect() returns).
        try:
            extra = socket.create_connection(("127.0.0.1", p.port), timeout=2)
        except ConnectionResetError:
            extra = None
        if extra is not None:
            extra.settimeout(2)
            try:
                extra.sendall(b"z")
                assert extra.recv(1) == b""
            except (ConnectionResetError, BrokenPipeError):
                pass
            extra.close()
        assert threading.active_count() < 200
    finally:
        for s in socks:
            s.close()
        p.close()


def test_proxy_to_a_dead_target_refuses():
    port = C.free_port()
    p = C.FaultProxy("d", port)
    try:
        try:
            got = _roundtrip(p.port, timeout=2)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        assert got == b""
    finally:
        p.close()


@pytest.mark.deadline(90)
def test_etcd_cluster_through_the_proxies(tmp_path, tmp_path_factory):
    if not os.access(C.ETCD_BIN, os.X_OK):
        pytest.skip("no etcd")
    pki = C.cluster_pki(tmp_path_factory)
    c = C.Cluster(tmp_path / "c", pki)
    try:
        c.start_etcd()
        assert {m.name for m in c.members} == {"etcd1", "etcd2", "etcd3"}
        leader = c.etcd_leader()
        assert leader in c.members

        eps = ",".join(f"https://127.0.0.1:{p.port}" for p in c.node(2).proxies)

        def ctl(*args, cert=pki.node_client[2]):
            return subprocess.run(
                [C.ETCDCTL_BIN, f"--endpoints={eps}", f"--cacert={pki.ca}",
                 f"--cert={cert.cert}", f"--key={cert.key}", "--dial-timeout=1s",
                 "--command-timeout=1s", *args],
                capture_output=True, text=True, timeout=20, env=C.clean_env())

        assert ctl("put", "k", "v").returncode == 0
        assert ctl("get", "k", "--print-value-only").stdout.strip() == "v"
        # Mutual TLS: another node's certificate works, none is refused.
        assert ctl("get", "k", cert=pki.node_client[1]).returncode == 0
        nocert = subprocess.run(
            [C.ETCDCTL_BIN, f"--endpoints={c.member(1).addr}", f"--cacert={pki.ca}",
             "--dial-timeout=1s", "--command-timeout=1s", "get", "k"],
            capture_output=True, text=True, timeout=20, env=C.clean_env())
        assert nocert.returncode != 0

        c.partition(2)
        assert ctl("get", "k").returncode != 0
        c.heal(2)
        assert ctl("get", "k", "--print-value-only").stdout.strip() == "v"

        # One member down: the others (a majority) still serve, and it
        # comes back with its data.
        c.etcd_kill9(leader.index)
        deadline = time.monotonic() + 10
        while ctl("put", "k2", "v2").returncode != 0:
            assert time.monotonic() < deadline, "no write with one etcd member down"
        c.etcd_restart(leader.index)
        assert len(c.etcd_status()) == 3
    finally:
        c.stop()
    assert not any(m.alive() for m in c.members)
