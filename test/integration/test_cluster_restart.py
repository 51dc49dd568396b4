"""Restarts of a 3-node arca cluster on a 3-member etcd: the whole cluster
(every arca node and every etcd member stopped, started, unsealed) and a
rolling restart of every arca node under load, where no request may fail
outside the windows in which a node was being restarted.
"""

import time

import pytest

import cluster as C
from harness import uniq

GRACE_S = 1.0   # after a window, for answers that were already on their way


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    yield from C.cluster_fixture(request, tmp_path_factory)


@pytest.mark.deadline(120)
def test_whole_cluster_restart_keeps_data(cluster):
    active = cluster.ensure_healthy()
    prefix = uniq("whole")
    written = {}
    s = C.new_session()
    for i in range(40):
        via = cluster.nodes[i % 3]
        path = f"{prefix}/k{i}"
        rec = C.write_once(via, path, f"value-{i}", s, timeout=10)
        assert rec.outcome == "ok", rec
        written[path] = rec
    # A second version of a few keys.
    for i in range(5):
        rec = C.write_once(active, f"{prefix}/k{i}", f"value-{i}-b", s, timeout=10)
        assert rec.outcome == "ok" and rec.version == 2, rec
        written[rec.path] = rec
    s.close()

    t0 = time.monotonic()
    for node in cluster.nodes:
        cluster.stop_node(node.index)
    for m in cluster.members:
        m.stop()
    cluster.events.add("every etcd member stopped")
    cluster.start_etcd()
    for node in cluster.nodes:
        cluster.start_node(node)
        assert node.sealed(), f"{node.name} must come back sealed"
        assert node.health() == 503
    cluster.unseal_all()
    active = cluster.wait_one_active(timeout=20)
    print(f"whole-cluster restart: {active.name} active {time.monotonic() - t0:.3f}s after "
          f"the stop began")
    for node in cluster.nodes:
        C.assert_no_problems(C.verify_writes(node, list(written.values())),
                             f"read through {node.name} after the restart")
    # And it takes writes again.
    rec = C.write_once(cluster.nodes[0], f"{prefix}/after", "after", C.new_session(), timeout=10)
    assert rec.outcome == "ok", rec


@pytest.mark.deadline(150)
def test_rolling_restart_under_load(cluster):
    active = cluster.ensure_healthy()
    # Standbys first, the active last, as an operator would.
    order = [n for n in cluster.nodes if n is not active] + [active]
    writers = C.Writers(cluster, uniq("roll"), n_clients=6, max_writes=2000, pace=0.01).start()
    windows = []
    try:
        assert writers.wait_acks(20, timeout=20), C.summarize(writers.snapshot())
        for node in order:
            start = time.monotonic()
            cluster.restart(node.index)
            now_active = cluster.wait_one_active(timeout=20)
            end = time.monotonic()
            windows.append((node.name, start, end, now_active.name))
            cluster.events.add(f"window {node.name}: {end - start:.3f}s")
            # Load outside any window, to show the cluster is clean between.
            time.sleep(1.5)
            assert writers.wait_acks(5, timeout=10, after=end + GRACE_S)
    finally:
        writers.stop()
    records = writers.snapshot()
    failures = [r for r in records if r.outcome != "ok"]

    def in_window(r):
        return any(r.invoke <= end + GRACE_S and r.ret >= start for _, start, end, _ in windows)

    outside = [r for r in failures if not in_window(r)]
    t0 = windows[0][1]
    print("rolling restart windows: " + "; ".join(
        f"{name} [{s - t0:.3f}s, {e - t0:.3f}s] ({e - s:.3f}s, active after: {a})"
        for name, s, e, a in windows))
    print(f"writes: {C.summarize(records)}; failures inside windows: "
          f"{len(failures) - len(outside)}, outside: {len(outside)}")
    assert not outside, [f"{r.path} node{r.node} [{r.invoke - t0:.3f}, {r.ret - t0:.3f}] "
                         f"{r.detail}" for r in outside[:8]]
    active = cluster.wait_one_active()
    C.assert_no_problems(C.verify_writes(active, records), "after the rolling restart")
