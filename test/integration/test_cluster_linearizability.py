"""Linearizability of KV v2 on a 3-node arca cluster under faults.

Several clients read, write and check-and-set (KV v2 `options.cas`) three
keys through all nodes while the active is killed with -9, paused past its
lease and partitioned from etcd. Every operation is recorded (invocation
and return times, result; timeouts, 5xx and connection errors as unknown)
and the history is checked with linearizability.py. The same history with
one read made stale must fail, which shows the check has teeth.
"""

import random
import threading
import time
from dataclasses import replace

import pytest

import cluster as C
import linearizability as lin
from harness import uniq

N_CLIENTS = 6
OP_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    yield from C.cluster_fixture(request, tmp_path_factory)


class Client:
    """One client thread: random ops on random keys through random nodes."""

    def __init__(self, cid, cluster, keys, rec, stop, seed):
        self.cid = cid
        self.cluster = cluster
        self.keys = keys
        self.rec = rec
        self.stop = stop
        self.rng = random.Random(seed)
        self.sessions = {}
        self.seen = {k: 0 for k in keys}   # last version this client saw per key
        self.counter = 0
        self.thread = threading.Thread(target=self.run, name=f"lin-{cid}", daemon=True)

    def session(self, n):
        if n not in self.sessions:
            self.sessions[n] = C.new_session()
        return self.sessions[n]

    def drop_session(self, n):
        s = self.sessions.pop(n, None)
        if s is not None:
            s.close()

    def run(self):
        try:
            while not self.stop.is_set():
                self.one()
        finally:
            for s in self.sessions.values():
                s.close()

    def one(self):
        node = self.rng.choice(self.cluster.nodes)
        key = self.rng.choice(self.keys)
        roll = self.rng.random()
        s = self.session(node.index)
        self.counter += 1
        value = f"c{self.cid}-{self.counter}"
        ok = True
        if roll < 0.4:
            h = self.rec.invoke(self.cid, key, lin.READ)
            try:
                r = C.kv_read(node, key, session=s, timeout=OP_TIMEOUT_S)
            except Exception:   # requests errors; anything else is unknown too
                self.rec.unknown(h)
                ok = False
            else:
                if r.status_code == 200:
                    body = r.json()["data"]
                    version = body["metadata"]["version"]
                    self.rec.complete(h, lin.Found(version, body["data"]["v"]))
                    self.seen[key] = version
                elif r.status_code == 404 and r.json() == {"errors": []}:
                    self.rec.complete(h, lin.NOT_FOUND)
                else:
                    self.rec.unknown(h)
                    ok = False
        elif roll < 0.7:
            h = self.rec.invoke(self.cid, key, lin.WRITE, (value,))
            try:
                r = C.kv_write(node, key, {"v": value}, session=s, timeout=OP_TIMEOUT_S)
            except Exception:
                self.rec.unknown(h)
                ok = False
            else:
                if r.status_code == 200:
                    version = r.json()["data"]["version"]
                    self.rec.complete(h, version)
                    self.seen[key] = version
                else:
                    self.rec.unknown(h)
                    ok = False
        else:
            expected = self.seen[key] - (1 if self.rng.random() < 0.2 and self.seen[key] else 0)
            h = self.rec.invoke(self.cid, key, lin.CAS, (expected, value))
            try:
                r = C.kv_write(node, key, {"v": value}, cas=expected, session=s,
                               timeout=OP_TIMEOUT_S)
            except Exception:
                self.rec.unknown(h)
                ok = False
            else:
                if r.status_code == 200:
                    version = r.json()["data"]["version"]
                    self.rec.complete(h, lin.CasOk(version))
                    self.seen[key] = version
                elif C.is_cas_mismatch(r):
                    self.rec.complete(h, lin.MISMATCH)
                    # Learn the current version for the next try.
                    self.seen[key] += 1
                else:
                    self.rec.unknown(h)
                    ok = False
        if not ok:
            self.drop_session(node.index)
            time.sleep(0.05)


def _faults(cluster, log):
    """kill -9, SIGSTOP past the lease, partition: each on the active."""
    time.sleep(2.5)
    a = cluster.active()
    cluster.kill9(a.index)
    b = cluster.wait_active(exclude=[a], timeout=15)
    log.append(f"kill -9 {a.name} -> {b.name}")
    cluster.restart(a.index)
    cluster.wait_one_active(timeout=15)
    time.sleep(2.0)

    a = cluster.active()
    cluster.sigstop(a.index)
    try:
        b = cluster.wait_active(exclude=[a], timeout=15)
        time.sleep(1.5)
    finally:
        cluster.sigcont(a.index)
    log.append(f"SIGSTOP {a.name} -> {b.name}")
    cluster.wait_one_active(timeout=15)
    time.sleep(2.0)

    a = cluster.active()
    cluster.partition(a.index)
    try:
        b = cluster.wait_active(exclude=[a], timeout=15)
        time.sleep(1.5)
    finally:
        cluster.heal(a.index)
    log.append(f"partition {a.name} -> {b.name}")
    cluster.wait_one_active(timeout=15)
    time.sleep(2.0)


def _make_one_read_stale(history, around):
    """A copy of history where one read that must see version v (the op
    creating v returned before the read began) returns version v-1 with
    its value; the read chosen is the eligible one nearest `around`."""
    produced = {}   # (key, version) -> (value, return time)
    for op in history:
        if op.kind == lin.WRITE and isinstance(op.result, int):
            produced[(op.key, op.result)] = (op.args[0], op.ret)
        elif op.kind == lin.CAS and isinstance(op.result, lin.CasOk):
            produced[(op.key, op.result.version)] = (op.args[1], op.ret)
    values = {k: v for k, (v, _) in produced.items()}
    for op in history:
        if op.kind == lin.READ and isinstance(op.result, lin.Found):
            values.setdefault((op.key, op.result.version), op.result.value)
    eligible = []
    for i, op in enumerate(history):
        if op.kind != lin.READ or not isinstance(op.result, lin.Found):
            continue
        v = op.result.version
        made = produced.get((op.key, v))
        if v >= 2 and made is not None and made[1] < op.invoke and (op.key, v - 1) in values:
            eligible.append((abs(op.invoke - around), i))
    if not eligible:
        return None, None
    _, i = min(eligible)
    op = history[i]
    stale = replace(op, result=lin.Found(op.result.version - 1,
                                         values[(op.key, op.result.version - 1)]))
    return history[:i] + [stale] + history[i + 1:], stale


@pytest.mark.deadline(150)
def test_kv_v2_is_linearizable_under_faults(cluster):
    cluster.ensure_healthy()
    base = uniq("lin")
    keys = [f"{base}/k{i}" for i in range(3)]
    rec = lin.Recorder()
    stop = threading.Event()
    clients = [Client(i, cluster, keys, rec, stop, seed=1000 + i) for i in range(N_CLIENTS)]
    for c in clients:
        c.thread.start()
    log = []
    t0 = time.monotonic()
    try:
        _faults(cluster, log)
    finally:
        stop.set()
        for c in clients:
            c.thread.join(timeout=OP_TIMEOUT_S + 10)
    assert not any(c.thread.is_alive() for c in clients), "client threads did not stop"
    elapsed = time.monotonic() - t0
    history = rec.history()
    completed = [op for op in history if not op.unknown]
    unknown = [op for op in history if op.unknown]
    by_kind = {k: sum(1 for o in completed if o.kind == k) for k in (lin.READ, lin.WRITE, lin.CAS)}
    mismatches = sum(1 for o in completed if o.result is lin.MISMATCH)
    print(f"faults: {'; '.join(log)}")
    print(f"history: {len(history)} ops in {elapsed:.1f}s ({len(completed)} completed: {by_kind}, "
          f"{mismatches} cas mismatches; {len(unknown)} unknown)")
    assert len(completed) >= 150, "too few operations to say anything"
    assert by_kind[lin.CAS] - mismatches >= 10 and mismatches >= 1, by_kind

    lin.dump_history(history, cluster.workdir / "history.jsonl")
    print(f"history saved to {cluster.workdir / 'history.jsonl'}")
    t_check = time.monotonic()
    result = lin.check(history)
    print(result.report())
    print(f"check took {time.monotonic() - t_check:.2f}s")
    assert result.ok, result.report()

    # Plant the stale read in the middle of the faults, among unknown ops.
    mutated, stale = _make_one_read_stale(history, around=t0 + elapsed / 2)
    assert mutated is not None, "no read in the history could be made stale"
    bad = lin.check(mutated)
    print("with one stale read:\n" + bad.report())
    assert bad.status == lin.ILLEGAL, bad.report()
    assert bad.key == stale.key
    assert any(o is stale or o == stale for o in bad.window), bad.report()
    essential = [o for o in bad.window if o.invoke >= bad.window_start and not o.unknown]
    assert len(essential) < 20, "the window should be small, not the whole history"
