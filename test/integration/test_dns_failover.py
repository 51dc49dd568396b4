"""The generic DNS name follows the active node (issue 5).

A real BIND9 named on loopback serves arca.test. with a TSIG-protected
zone; a 3-node cluster (cluster.py) whose node n publishes 127.0.1.n for
the generic name arca.test. (plus a name with a wrong TSIG key and two
dyndns2 names against a small Python dyndns2 server). DNS queries show the
name following the active through kill -9, step-down and restart; the
wrong key is refused by named and reported in sys/ha-status and metrics.
"""

import subprocess
import time

import pytest

import cluster as C
import dns_helpers as D
import harness

REASSERT_S = 2.0
FOLLOW_S = 10.0     # bound for the name to follow a new active (target: < 5 s)


@pytest.fixture(scope="module")
def dyndns():
    s = D.Dyndns2Server({D.DYN_HOST: "dyn-" + D.new_secret()[:12], D.DYN_BAD: "right"})
    yield s
    s.close()


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    if not D.named_available():
        pytest.skip(f"named not found at {D.NAMED_BIN}")
    n = D.NamedServer(tmp_path_factory.mktemp("named"), {D.UPDATE_KEY: D.new_secret()})
    n.start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory, named, dyndns):
    if not harness.binary_available():
        pytest.skip(f"arca binary not found at {harness.ARCA_BIN} (set ARCA_BIN)")
    if not C.os.access(C.ETCD_BIN, C.os.X_OK):
        pytest.skip(f"etcd not found at {C.ETCD_BIN}")
    pki = C.cluster_pki(tmp_path_factory)
    c = D.DnsCluster(tmp_path_factory.mktemp("dnscluster"), pki, named=named, dyndns=dyndns,
                     reassert=f"{REASSERT_S:g}s")
    try:
        c.start()
        c.bootstrap()
        yield c
    finally:
        c.stop()


def _follows(cluster, active, t0=None):
    """Waits until the name carries `active`'s address; returns seconds since t0."""
    t = cluster.named.wait_a({D.node_ip(active.index)}, timeout=FOLLOW_S)
    return None if t0 is None else t - t0


@pytest.mark.deadline(180)
def test_the_active_publishes_its_address(cluster):
    active = cluster.ensure_healthy()
    _follows(cluster, active)
    st = cluster.dns_status(active)
    assert st["publishing"] is True and st["last_ok"] is True, st
    assert st["last_result"] == "NOERROR", st
    assert st["updater"] == "rfc2136" and st["addresses"] == [D.node_ip(active.index)]
    assert harness.is_rfc3339(st["last_success"]), st
    assert st["consecutive_failures"] == 0
    # The nodes' certificates carry the generic name: clients can use it.
    for n in cluster.nodes:
        text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                               cluster.pki.node_tls[n.index].cert],
                              capture_output=True, text=True, timeout=30).stdout
        assert "DNS:arca.test" in text and f"DNS:node{n.index}.arca.test" in text, text


@pytest.mark.deadline(120)
def test_a_standby_never_publishes_and_the_active_reasserts(cluster):
    active = cluster.ensure_healthy()
    _follows(cluster, active)
    # Someone points the name elsewhere: the active (alone) puts it back
    # within `reassert`; the standbys never point it at themselves.
    cluster.named.nsupdate(D.GENERIC, "192.0.2.99")
    seen = set()
    deadline = time.monotonic() + REASSERT_S + 5
    while time.monotonic() < deadline:
        got = cluster.named.a() or set()
        seen |= got
        if got == {D.node_ip(active.index)}:
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"not re-asserted within {REASSERT_S + 5}s: {seen}")
    standby_ips = {D.node_ip(n.index) for n in cluster.nodes if n is not active}
    assert not (seen & standby_ips), seen


@pytest.mark.deadline(180)
def test_the_name_follows_kill9_of_the_active(cluster):
    old = cluster.ensure_healthy()
    _follows(cluster, old)
    t0 = cluster.kill9(old.index)
    new = cluster.wait_active(exclude=[old], timeout=15)
    took = _follows(cluster, new, t0)
    print(f"kill -9 node{old.index}: {D.GENERIC} -> node{new.index} in {took:.2f}s")
    assert took < FOLLOW_S
    # The killed node comes back as a standby: the name stays on the active.
    cluster.restart(old.index)
    cluster.wait_one_active()
    time.sleep(REASSERT_S + 0.5)
    assert cluster.holder() == cluster.active().index


@pytest.mark.deadline(180)
def test_the_name_follows_step_down(cluster):
    old = cluster.ensure_healthy()
    _follows(cluster, old)
    env = harness.clean_env({"VAULT_ADDR": old.addr, "VAULT_TOKEN": cluster.root_token,
                             "VAULT_CACERT": cluster.pki.ca})
    t0 = time.monotonic()
    r = subprocess.run([harness.ARCA_BIN, "operator", "step-down"], capture_output=True,
                       text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    new = cluster.wait_active(exclude=[old], timeout=15)
    took = _follows(cluster, new, t0)
    print(f"step-down of node{old.index}: {D.GENERIC} -> node{new.index} in {took:.2f}s")
    assert took < FOLLOW_S


@pytest.mark.deadline(180)
def test_the_name_follows_a_restart_of_the_active(cluster):
    old = cluster.ensure_healthy()
    _follows(cluster, old)
    t0 = cluster.stop_node(old.index)
    new = cluster.wait_active(exclude=[old], timeout=15)
    took = _follows(cluster, new, t0)
    print(f"restart of node{old.index}: {D.GENERIC} -> node{new.index} in {took:.2f}s")
    cluster.restart(old.index)
    cluster.wait_one_active()
    assert cluster.holder() == cluster.active().index


@pytest.mark.deadline(120)
def test_a_wrong_tsig_key_is_refused_and_reported(cluster):
    active = cluster.ensure_healthy()
    deadline = time.monotonic() + 10
    st = {}
    while time.monotonic() < deadline:
        st = cluster.dns_status(active, D.BROKEN)
        if st["last_result"]:
            break
        time.sleep(0.1)
    assert st["publishing"] is True, st
    assert st["last_ok"] is False and st["last_result"] == "NOTAUTH", st
    assert "BADSIG" in st["last_error"], st
    assert st["consecutive_failures"] >= 1 and st["last_success"] is None, st
    assert cluster.named.a(D.BROKEN) == set()
    log = cluster.named.log_path.read_text(errors="replace")
    assert "tsig" in log.lower(), log[-2000:]
    r = active.request("GET", "/v1/sys/metrics", params={"format": "prometheus"}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert f'arca_dns_updates_total{{name="{D.BROKEN}",result="NOTAUTH"}}' in r.text, \
        [l for l in r.text.splitlines() if "arca_dns" in l]
    assert f'arca_dns_last_success_seconds{{name="{D.GENERIC}"}}' in r.text


@pytest.mark.deadline(180)
def test_dyndns2_follows_the_active_and_reports_badauth(cluster, dyndns):
    old = cluster.ensure_healthy()
    deadline = time.monotonic() + 10
    while dyndns.address(D.DYN_HOST) != D.node_ip(old.index) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dyndns.address(D.DYN_HOST) == D.node_ip(old.index), dyndns.seen[-5:]
    st = cluster.dns_status(old, D.DYN_HOST)
    assert st["last_ok"] is True and st["last_result"] in ("good", "nochg"), st
    # Basic auth with the FQDN as user; every request carried our agent.
    mine = [s for s in dyndns.seen if s["hostname"] == D.DYN_HOST]
    assert mine and all(s["user"] == D.DYN_HOST and "arca" in s["agent"] for s in mine)
    bad = cluster.dns_status(old, D.DYN_BAD)
    assert bad["last_ok"] is False and bad["last_result"] == "badauth", bad
    # Re-asserting an unchanged address is nochg, still a success.
    time.sleep(REASSERT_S + 0.5)
    assert cluster.dns_status(old, D.DYN_HOST)["last_result"] == "nochg"
    # Failover: the new active sets its own address.
    cluster.kill9(old.index)
    new = cluster.wait_active(exclude=[old], timeout=15)
    deadline = time.monotonic() + FOLLOW_S
    while dyndns.address(D.DYN_HOST) != D.node_ip(new.index) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dyndns.address(D.DYN_HOST) == D.node_ip(new.index)
    cluster.restart(old.index)
    cluster.wait_one_active()


@pytest.mark.deadline(180)
def test_pause_file_pins_the_name_during_maintenance(cluster):
    """The documented maintenance recipe: create every node's pause_file,
    point the name where you want (here by hand), do the work (a
    step-down), remove the files: the active takes the name back."""
    active = cluster.ensure_healthy()
    _follows(cluster, active)
    for n in cluster.nodes:
        cluster.pause_file(n.index).write_text("maintenance\n")
    try:
        cluster.named.nsupdate(D.GENERIC, "192.0.2.50")
        r = active.request("PUT", "/v1/sys/step-down")
        assert r.status_code == 204, r.text
        new = cluster.wait_active(exclude=[active], timeout=15)
        time.sleep(REASSERT_S + 1)
        assert cluster.named.a() == {"192.0.2.50"}
        assert cluster.dns_status(new)["paused"] is True
    finally:
        for n in cluster.nodes:
            cluster.pause_file(n.index).unlink(missing_ok=True)
    _follows(cluster, cluster.wait_one_active())


# ---------------------------------------------------------------------------
# arca endpoint watch: the outside check (the seed's cron script, as a daemon)

WATCHED = "watch.arca.test."


def _watch_ip(n: int) -> str:
    return f"127.0.2.{n}"


def _watch_args(cluster, tmp_path, *extra):
    key = tmp_path / "watch-tsig.b64"
    key.write_text(cluster.named.keys[D.UPDATE_KEY] + "\n")
    key.chmod(0o600)
    cfg = tmp_path / "endpoint.hcl"
    cfg.write_text(f'dns "rfc2136" {{\n'
                   f'  hostname = "{WATCHED}"\n'
                   "  ttl = 5\n"
                   f'  server = "{cluster.named.server}"\n'
                   f'  tsig_key_name = "{D.UPDATE_KEY}"\n'
                   f'  tsig_secret_file = "{key}"\n'
                   '  timeout = "2s"\n'
                   "}\n")
    nodes = ",".join(n.addr for n in cluster.nodes)
    return [harness.ARCA_BIN, "endpoint", "watch", f"-nodes={nodes}",
            *[f"-node-address={n.addr}={_watch_ip(n.index)}" for n in cluster.nodes],
            "-timeout=1s", f"-config={cfg}", f"-ca-cert={cluster.pki.ca}", *extra]


@pytest.mark.deadline(180)
def test_endpoint_watch_moves_the_name_when_the_active_stops(cluster, tmp_path):
    active = cluster.ensure_healthy()
    log_path = tmp_path / "watch.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(_watch_args(cluster, tmp_path, "-interval=1s", "-follow-active"),
                                stdout=log, stderr=subprocess.STDOUT, env=harness.clean_env(),
                                start_new_session=True)
    C._track(proc.pid)
    try:
        cluster.named.wait_a({_watch_ip(active.index)}, name=WATCHED, timeout=15)
        t0 = cluster.stop_node(active.index)
        new = cluster.wait_active(exclude=[active], timeout=15)
        t = cluster.named.wait_a({_watch_ip(new.index)}, name=WATCHED, timeout=15)
        print(f"endpoint watch: {WATCHED} -> node{new.index} {t - t0:.2f}s after the stop")
        assert proc.poll() is None, log_path.read_text()
    finally:
        C._kill_group(proc.pid)
        proc.wait(timeout=10)
        C._untrack(proc.pid)
        print(log_path.read_text()[-2000:])
    cluster.restart(active.index)
    cluster.wait_one_active()


@pytest.mark.deadline(120)
def test_endpoint_watch_once_with_a_pin(cluster, tmp_path):
    active = cluster.ensure_healthy()
    pinned = next(n for n in cluster.nodes if n is not active)  # a healthy standby
    r = subprocess.run(_watch_args(cluster, tmp_path, "-once", f"-pin={pinned.addr}"),
                       capture_output=True, text=True, timeout=60, env=harness.clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"-> {pinned.addr} (standby)" in r.stdout, r.stdout
    assert cluster.named.a(WATCHED) == {_watch_ip(pinned.index)}
    # A wrong key: refused by named, exit code 2, the rcode printed.
    bad = tmp_path / "bad.hcl"
    bad.write_text(f'dns "rfc2136" {{\n  hostname = "{WATCHED}"\n'
                   f'  server = "{cluster.named.server}"\n  tsig_key_name = "{D.UPDATE_KEY}"\n'
                   f'  tsig_secret = "{D.new_secret()}"\n}}\n')
    args = [a if not a.startswith("-config=") else f"-config={bad}"
            for a in _watch_args(cluster, tmp_path, "-once")]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=harness.clean_env())
    assert r.returncode == 2, r.stdout + r.stderr
    assert "NOTAUTH" in r.stderr, r.stderr
    assert cluster.named.a(WATCHED) == {_watch_ip(pinned.index)}
