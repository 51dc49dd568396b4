"""Failover of a 3-node arca cluster on a 3-member etcd under faults:
kill -9 of the active, SIGSTOP of the active past its lease (fencing), a
partition of the active from etcd, kill -9 of an etcd member.

Writers (cluster.Writers) put unique KV v2 keys through every node while
the fault happens. Afterwards every key is read back through the active:
every acknowledged write is there with its version; a write whose outcome
is unknown is wholly present (data and metadata agree) or wholly absent.
"""

import re
import threading
import time

import pytest

import cluster as C
from harness import uniq

LEASE_S = 2.0   # lock_timeout in the cluster's config
IN_FLIGHT_S = 0.5   # requests sent this soon after a kill may have met it


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    yield from C.cluster_fixture(request, tmp_path_factory)


def _print_failures(records, t0):
    """Failed and unknown writes grouped by node and answer."""
    groups = {}
    for r in records:
        if r.outcome == "ok":
            continue
        key = (r.node, r.outcome, re.sub(r"(https?://[^/\s]+)\S*", r"\1/...", r.detail)[:90])
        first, last, n = groups.get(key, (r.invoke, r.ret, 0))
        groups[key] = (min(first, r.invoke), max(last, r.ret), n + 1)
    for (node, outcome, detail), (first, last, n) in sorted(groups.items()):
        print(f"  node{node} {outcome} x{n} [{first - t0:+.3f}s .. {last - t0:+.3f}s]: {detail}")


def _first_ack_after(records, t):
    acks = [r.ret for r in records if r.outcome == "ok" and r.invoke >= t]
    return min(acks) - t if acks else None


@pytest.mark.deadline(120)
def test_kill9_of_the_active_under_load(cluster):
    old = cluster.ensure_healthy()
    with C.HealthMonitor(cluster) as mon:
        writers = C.Writers(cluster, uniq("kill"), n_clients=6, max_writes=1000, pace=0.02).start()
        try:
            assert writers.wait_acks(30, timeout=20), C.summarize(writers.snapshot())
            t_kill = cluster.kill9(old.index)
            new = cluster.wait_active(exclude=[old], timeout=15)
            assert writers.wait_acks(20, timeout=15, after=t_kill), \
                C.summarize(writers.snapshot())
        finally:
            writers.stop()
    t_new = mon.wait_first(new.index, 200, after=t_kill)[1]
    records = writers.snapshot()
    first = _first_ack_after(records, t_kill)
    print(f"kill -9 {old.name}: {new.name} active after {t_new - t_kill:.3f}s, first accepted "
          f"write {first:.3f}s after the kill; writes: {C.summarize(records)}")
    assert new is not old
    _print_failures(records, t_kill)
    C.assert_no_problems(C.verify_writes(new, records), "after kill -9 of the active")

    cluster.restart(old.index)
    assert cluster.wait_one_active() is new, "the restarted node must come back as standby"
    assert old.health() == 429


@pytest.mark.deadline(120)
def test_paused_active_is_fenced(cluster):
    old = cluster.ensure_healthy()
    others = [n for n in cluster.nodes if n is not old]
    prefix = uniq("fence")
    # Connections to the active, opened before the pause, so the writes
    # sent during the pause sit in its socket buffers.
    n_queued = 6
    sessions = [C.new_session() for _ in range(n_queued)]
    for s in sessions:
        r = old.request("GET", "/v1/sys/health", token=None, session=s)
        assert r.status_code == 200
    go = threading.Event()
    queued = [None] * n_queued

    def send(i):
        go.wait(10)
        queued[i] = C.write_once(old, f"{prefix}/queued{i}", f"queued-{i}", sessions[i],
                                 timeout=30, client=100 + i)

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(n_queued)]
    for t in threads:
        t.start()
    mon = C.HealthMonitor(cluster).__enter__()
    t_stop = cluster.sigstop(old.index)
    try:
        go.set()
        new = cluster.wait_active(exclude=[old], timeout=15)
        t_new = mon.wait_first(new.index, 200, after=t_stop)[1]
        rec = C.write_once(new, f"{prefix}/on-new", "on-new", C.new_session(), timeout=10)
        assert rec.outcome == "ok", rec
        via_standby = next(n for n in others if n is not new)
        rec2 = C.write_once(via_standby, f"{prefix}/via-standby", "via-standby",
                            C.new_session(), timeout=10)
        assert rec2.outcome == "ok", rec2
        # Stay paused well past the lease.
        time.sleep(max(0.0, t_stop + 2 * LEASE_S + 0.5 - time.monotonic()))
    finally:
        t_cont = cluster.sigcont(old.index)
        mon.__exit__(None, None, None)
    print(f"SIGSTOP {old.name}: {new.name} active after {t_new - t_stop:.3f}s; "
          f"paused for {t_cont - t_stop:.3f}s")

    # The old active wakes up as a standby.
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = old.health(timeout=2)
        seen.append((round(time.monotonic() - t_cont, 3), status))
        if status == 429:
            break
        time.sleep(0.05)
    print(f"{old.name} health after SIGCONT (s, status): {seen[:10]}")
    assert seen and seen[-1][1] == 429, seen
    assert cluster.wait_one_active(timeout=10) is new, cluster.describe()

    for t in threads:
        t.join(timeout=40)
    assert not any(t.is_alive() for t in threads), "queued writes did not finish"
    for s in sessions:
        s.close()
    print("writes queued at the paused active: "
          + "; ".join(f"{r.outcome} {r.detail[:60]}" for r in queued))
    # A queued write may have been refused or forwarded to the new active,
    # but a success must be in the new active's history.
    C.assert_no_problems(C.verify_writes(new, queued + [rec, rec2]),
                         "writes sent to the paused active")


@pytest.mark.deadline(120)
def test_partitioned_active_loses_and_cluster_goes_on(cluster):
    old = cluster.ensure_healthy()
    with C.HealthMonitor(cluster) as mon:
        writers = C.Writers(cluster, uniq("part"), n_clients=6, max_writes=1000, pace=0.02).start()
        try:
            assert writers.wait_acks(20, timeout=20), C.summarize(writers.snapshot())
            t_cut = cluster.partition(old.index)
            new = cluster.wait_active(exclude=[old], timeout=15)
            # The cut-off node stops claiming to be active (it cannot renew)
            # and says standby.
            deadline = time.monotonic() + LEASE_S + 5
            while mon.first(old.index, 429, after=t_cut) is None:
                assert time.monotonic() < deadline, \
                    f"{old.name} did not turn standby while cut off from etcd"
                time.sleep(0.05)
            t_new = mon.wait_first(new.index, 200, after=t_cut)[1]
            assert writers.wait_acks(20, timeout=15, after=t_new), C.summarize(writers.snapshot())
            t_heal = cluster.heal(old.index)
            settled = cluster.wait_one_active(timeout=15)
            t_settled = time.monotonic()
            assert writers.wait_acks(10, timeout=15, after=t_settled), \
                C.summarize(writers.snapshot())
        finally:
            writers.stop()
    records = writers.snapshot()
    last_old = mon.last(old.index, 200, after=t_cut)
    old_claimed = (last_old[0] - t_cut) if last_old else 0.0
    overlap = mon.overlap(old.index, new.index, after=t_cut)
    print(f"partition {old.name}: its last 200 on sys/health {old_claimed:.3f}s after the cut; "
          f"{new.name} active {t_new - t_cut:.3f}s after the cut (health overlap "
          f"{overlap * 1000:.0f} ms); after heal one active ({settled.name}) in "
          f"{t_settled - t_heal:.3f}s; writes: {C.summarize(records)}")
    _print_failures(records, t_cut)
    assert old_claimed <= LEASE_S + 1.5, f"{old.name} claimed active {old_claimed:.3f}s into a cut"
    assert settled is new, "the healed node must rejoin as a standby"
    # Nothing written through the cut-off node after the cut was acknowledged
    # unless it reached the new active (verify_writes reads it there).
    C.assert_no_problems(C.verify_writes(settled, records), "after a partition of the active")


def _check_raft_configuration(cluster, active):
    r = active.request("GET", "/v1/sys/storage/raft/configuration")
    assert r.status_code == 200, r.text[:300]
    servers = r.json()["data"]["config"]["servers"]
    assert len(servers) == 3 and sum(s["leader"] for s in servers) == 1, servers


@pytest.mark.deadline(120)
def test_etcd_follower_kill9_is_seamless(cluster):
    active = cluster.ensure_healthy()
    with C.HealthMonitor(cluster) as mon:
        writers = C.Writers(cluster, uniq("etcdf"), n_clients=6, max_writes=1000, pace=0.02).start()
        try:
            assert writers.wait_acks(20, timeout=20), C.summarize(writers.snapshot())
            leader = cluster.etcd_leader()
            victim = next(m for m in cluster.members if m is not leader)
            t_kill = cluster.etcd_kill9(victim.index)
            assert writers.wait_acks(60, timeout=20, after=t_kill), C.summarize(writers.snapshot())
        finally:
            writers.stop()
    records = writers.snapshot()
    failed = [r for r in records if r.outcome != "ok" and r.ret >= t_kill]
    # A txn in flight on the member that died has an unknown outcome (arca
    # answers 503 and must not retry it); anything sent later must succeed.
    late = [r for r in failed if r.invoke > t_kill + IN_FLIGHT_S]
    print(f"kill -9 etcd follower {victim.name}: writes {C.summarize(records)}; "
          f"failures after the kill: {len(failed)} ({len(late)} sent after it)")
    _print_failures(records, t_kill)
    assert not late, "a minority etcd follower loss must only fail requests in flight"
    assert all(r.outcome == "unknown" for r in failed), failed
    assert mon.of(active.index, 429, after=t_kill) == [], "the arca active must not change"
    C.assert_no_problems(C.verify_writes(active, records), "after kill -9 of an etcd follower")
    cluster.etcd_restart(victim.index)
    _check_raft_configuration(cluster, cluster.ensure_healthy())


@pytest.mark.deadline(120)
def test_etcd_leader_kill9_writes_go_on(cluster):
    active = cluster.ensure_healthy()
    with C.HealthMonitor(cluster) as mon:
        writers = C.Writers(cluster, uniq("etcdl"), n_clients=6, max_writes=1000, pace=0.02).start()
        try:
            assert writers.wait_acks(20, timeout=20), C.summarize(writers.snapshot())
            victim = cluster.etcd_leader()
            t_kill = cluster.etcd_kill9(victim.index)
            assert writers.wait_acks(30, timeout=20, after=t_kill), C.summarize(writers.snapshot())
            # etcd elects a new leader within ~2 election timeouts; an arca
            # failover (if the active could not renew meanwhile) within a
            # lease. After that the cluster is stable again.
            time.sleep(max(0.0, t_kill + 2 + LEASE_S + 1 - time.monotonic()))
            settled = cluster.wait_one_active(timeout=15)
            t_settled = time.monotonic()
            assert writers.wait_acks(30, timeout=20, after=t_settled), \
                C.summarize(writers.snapshot())
        finally:
            writers.stop()
    records = writers.snapshot()
    first = _first_ack_after(records, t_kill)
    failed = [r for r in records if r.outcome != "ok" and r.ret >= t_kill]
    last_failure = max((r.ret for r in failed), default=t_kill) - t_kill
    moved = settled is not active
    print(f"kill -9 etcd leader {victim.name}: first accepted write {first:.3f}s later; "
          f"{len(failed)} failures, the last {last_failure:.3f}s after the kill; arca active "
          f"{'moved ' + active.name + ' -> ' + settled.name if moved else 'unchanged'}"
          + (f" ({active.name} turned standby {mon.first(active.index, 429, t_kill)[0] - t_kill:.3f}s "
             "after the kill)" if moved and mon.first(active.index, 429, t_kill) else "")
          + f"; writes {C.summarize(records)}")
    _print_failures(records, t_kill)
    late = [r for r in failed if r.invoke >= t_settled]
    assert not late, [f"{r.path} node{r.node} {r.detail}" for r in late[:5]]
    C.assert_no_problems(C.verify_writes(settled, records), "after kill -9 of the etcd leader")
    cluster.etcd_restart(victim.index)
    _check_raft_configuration(cluster, cluster.ensure_healthy())
