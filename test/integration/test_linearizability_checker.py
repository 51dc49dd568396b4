"""Unit tests of linearizability.py on hand-made histories (no servers).

Times are plain numbers. Helpers: r/w/c build a read, write or cas op of one
client on one key; U is an unknown outcome.
"""

import itertools
import math
import random

import pytest

import linearizability as lin
from linearizability import CAS, MISMATCH, NOT_FOUND, READ, UNKNOWN, WRITE, CasOk, Found, Op

U = UNKNOWN


def r(client, t0, t1, result, key="k"):
    """read -> (version, value) tuple, NOT_FOUND or U."""
    if isinstance(result, tuple):
        result = Found(*result)
    return Op(client, key, READ, (), t0, math.inf if result is U else t1, result)


def w(client, t0, t1, value, version, key="k"):
    return Op(client, key, WRITE, (value,), t0, math.inf if version is U else t1, version)


def c(client, t0, t1, expected, value, result, key="k"):
    """cas -> new version (int), MISMATCH or U."""
    if isinstance(result, int):
        result = CasOk(result)
    return Op(client, key, CAS, (expected, value), t0, math.inf if result is U else t1, result)


def assert_ok(history):
    res = lin.check(history)
    assert res.ok, res.report()
    return res


def assert_illegal(history, key="k"):
    res = lin.check(history)
    assert res.status == lin.ILLEGAL, res.report()
    assert res.key == key
    text = res.report()
    assert "NOT linearizable" in text and repr(key) in text
    return res


# ---------------------------------------------------------------------------
# Valid histories


def test_empty_history_is_linearizable():
    assert lin.check([]).ok


def test_sequential_history_is_linearizable():
    assert_ok([
        r(1, 0, 1, NOT_FOUND),
        w(1, 2, 3, "a", 1),
        r(2, 4, 5, (1, "a")),
        c(2, 6, 7, 1, "b", 2),
        c(1, 8, 9, 1, "x", MISMATCH),
        r(1, 10, 11, (2, "b")),
        w(2, 12, 13, "c", 3),
    ])


def test_read_concurrent_with_write_may_see_either_value():
    base = [w(1, 0, 1, "a", 1), w(1, 2, 6, "b", 2)]
    assert_ok(base + [r(2, 3, 4, (1, "a"))])
    assert_ok(base + [r(2, 3, 4, (2, "b"))])


def test_concurrent_writes_may_take_versions_in_any_order():
    # Client 1 invoked first but got the later version.
    assert_ok([w(1, 0, 5, "a", 2), w(2, 1, 4, "b", 1), r(3, 6, 7, (2, "a"))])


def test_reads_may_see_concurrent_writes_in_either_order_but_consistently():
    hist = [w(1, 0, 10, "a", 1), w(2, 0, 10, "b", 2),
            r(3, 1, 2, (1, "a")), r(3, 3, 4, (2, "b"))]
    assert_ok(hist)


def test_concurrent_cas_one_wins_one_mismatches():
    assert_ok([
        w(1, 0, 1, "a", 1),
        c(1, 2, 5, 1, "x", 2),
        c(2, 2, 5, 1, "y", MISMATCH),
        r(3, 6, 7, (2, "x")),
    ])


def test_cas_zero_creates_the_key():
    assert_ok([c(1, 0, 1, 0, "a", 1), r(1, 2, 3, (1, "a")), c(2, 4, 5, 0, "b", MISMATCH)])


def test_touching_intervals_count_as_concurrent():
    # The write returned at 2 and the read was invoked at 2: either order.
    assert_ok([w(1, 0, 1, "a", 1), w(1, 1.5, 2, "b", 2), r(2, 2, 3, (1, "a"))])


# ---------------------------------------------------------------------------
# Violations


def test_stale_read_after_acknowledged_write_fails():
    res = assert_illegal([
        w(1, 0, 1, "a", 1),
        w(1, 2, 3, "b", 2),
        r(2, 4, 5, (1, "a")),
    ])
    assert res.culprit is not None and res.culprit.kind == READ
    kinds = [o.kind for o in res.window]
    assert READ in kinds and WRITE in kinds, res.report()


def test_lost_acknowledged_write_fails_on_version_reuse():
    assert_illegal([
        w(1, 0, 1, "a", 1),
        w(2, 2, 3, "b", 2),
        w(3, 4, 5, "c", 2),     # version 2 again: b was lost
    ])


def test_lost_acknowledged_write_fails_on_not_found():
    assert_illegal([w(1, 0, 1, "a", 1), r(2, 2, 3, NOT_FOUND)])


def test_cas_succeeding_twice_on_one_version_fails():
    res = assert_illegal([
        w(1, 0, 1, "a", 1),
        c(1, 2, 5, 1, "x", 2),
        c(2, 2, 5, 1, "y", 2),
    ])
    assert all(o.kind == CAS for o in res.window if o is res.culprit)


def test_cas_mismatch_on_the_current_version_fails():
    assert_illegal([w(1, 0, 1, "a", 1), c(2, 2, 3, 1, "x", MISMATCH)])


def test_read_of_a_value_never_written_fails():
    assert_illegal([w(1, 0, 1, "a", 1), r(2, 2, 3, (1, "zzz"))])


def test_write_reporting_a_skipped_version_fails():
    assert_illegal([w(1, 0, 1, "a", 1), w(1, 2, 3, "b", 3)])


def test_read_going_back_in_time_fails_even_when_all_concurrent_with_writes():
    # Both writes are concurrent with both reads, but reads by one client
    # in sequence cannot see version 2 and then version 1.
    assert_illegal([w(1, 0, 10, "a", 1), w(2, 0, 10, "b", 2),
                    r(3, 1, 2, (2, "b")), r(3, 3, 4, (1, "a"))])


# ---------------------------------------------------------------------------
# Unknown outcomes, both ways


def test_unknown_write_that_happened():
    assert_ok([w(1, 0, 1, "a", 1), w(2, 2, 3, "b", U), r(3, 4, 5, (2, "b")),
               w(3, 6, 7, "c", 3)])


def test_unknown_write_that_did_not_happen():
    assert_ok([w(1, 0, 1, "a", 1), w(2, 2, 3, "b", U), r(3, 4, 5, (1, "a")),
               w(3, 6, 7, "c", 2), r(3, 8, 9, (2, "c"))])


def test_unknown_write_may_take_effect_long_after_its_call():
    assert_ok([w(2, 0, 1, "b", U), w(1, 2, 3, "a", 1), r(3, 4, 5, (1, "a")),
               r(3, 6, 7, (2, "b"))])


def test_unknown_write_cannot_be_seen_before_it_was_sent():
    assert_illegal([r(3, 0, 1, (1, "b")), w(2, 2, 3, "b", U)])


def test_unknown_write_cannot_happen_twice():
    assert_illegal([w(1, 0, 1, "b", U), r(2, 2, 3, (1, "b")), w(3, 4, 5, "a", 2),
                    r(2, 6, 7, (3, "b"))])


def test_unknown_cas_both_ways():
    base = [w(1, 0, 1, "a", 1), c(2, 2, 3, 1, "x", U)]
    assert_ok(base + [r(3, 4, 5, (2, "x"))])
    assert_ok(base + [r(3, 4, 5, (1, "a")), w(3, 6, 7, "b", 2)])
    # Its expected version never was current after its call: cannot apply.
    assert_illegal([w(1, 0, 1, "a", 1), w(1, 1.5, 1.8, "b", 2), c(2, 2, 3, 1, "x", U),
                    r(3, 4, 5, (3, "x"))])


def test_unknown_reads_are_ignored():
    res = assert_ok([w(1, 0, 1, "a", 1), r(2, 2, 3, U), w(1, 4, 5, "b", 2)])
    assert res.stats["k"].ops == 2


def test_many_unknown_ops_stay_tractable():
    hist, t = [], 0.0
    version = 0
    for i in range(300):
        if i % 3 == 0:
            hist.append(c(9, t, t + 0.5, version + 5, f"never{i}", U))  # cannot apply
        version += 1
        hist.append(w(1, t, t + 1, f"v{i}", version))
        hist.append(r(2, t + 1.5, t + 2, (version, f"v{i}")))
        t += 3
    res = lin.check(hist, budget_per_key=200_000)
    assert res.ok, res.report()


# ---------------------------------------------------------------------------
# Composition, budget, reporting


def test_checks_each_key_independently_and_names_the_bad_key():
    good = [w(1, 0, 1, "a", 1, key="good"), r(2, 2, 3, (1, "a"), key="good")]
    bad = [w(1, 0, 1, "a", 1, key="bad"), w(1, 2, 3, "b", 2, key="bad"),
           r(2, 4, 5, (1, "a"), key="bad")]
    # Interleaved on one timeline; on a single key "good" would not even type.
    res = assert_illegal(good + bad, key="bad")
    assert all(o.key == "bad" for o in res.window)


def test_same_version_on_two_keys_is_fine():
    assert_ok([w(1, 0, 1, "a", 1, key="x"), w(2, 0, 1, "a", 1, key="y")])


def test_budget_exhaustion_is_reported_not_passed():
    # Twelve concurrent writes of unknown outcome, then a read of a value
    # none of them wrote, at a reachable version: refuting it means trying
    # the orders of every subset (the version bounds do not help).
    hist = [w(i, 0, 10, f"v{i}", U) for i in range(12)]
    hist.append(r(99, 11, 12, (12, "zzz")))
    res = lin.check(hist, budget_per_key=20)
    assert res.status == lin.BUDGET and not res.ok
    assert "budget" in res.report()
    assert lin.check(hist, minimize=False).status == lin.ILLEGAL


def test_minimal_window_is_small_in_a_long_history():
    rng = random.Random(7)
    hist, t, version, value = [], 0.0, 0, None
    stale_at = 150
    for i in range(300):
        version += 1
        value = f"v{i}"
        # Three clients; each write overlaps a read by another client.
        hist.append(w(i % 3, t, t + 1.0, value, version))
        hist.append(r((i + 1) % 3, t + 0.2, t + 0.4, (version - 1, f"v{i-1}") if i else NOT_FOUND))
        after = (version, value)
        if i == stale_at:
            after = (version - 1, f"v{i-1}")  # stale: the write returned already
        hist.append(r((i + 2) % 3, t + 1.5, t + 1.8 + rng.random() * 0.1, after))
        t += 2.0
    res = assert_illegal(hist)
    assert res.culprit.kind == READ and res.culprit.result == Found(stale_at, f"v{stale_at-1}")
    assert 2 <= len(res.window) <= 6, res.report()
    assert any(o.kind == WRITE and o.args == (f"v{stale_at}",) for o in res.window), res.report()
    assert not res.window_from_initial
    assert all(o.invoke >= res.window_start or o.ret >= res.window_start for o in res.window)
    # The report lists the window and marks the culprit.
    report = res.report()
    assert "minimal window" in report and "* [" in report


def test_window_from_initial_state_when_no_shorter_one_exists():
    res = assert_illegal([r(1, 0, 1, (1, "a"))])
    assert res.window_from_initial
    assert len(res.window) == 1


def test_recorder_marks_pending_and_unknown_ops():
    clock = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).__next__
    rec = lin.Recorder(clock=clock)
    h1 = rec.invoke("a", "k", WRITE, ("x",))      # t=1
    rec.invoke("b", "k", READ)                    # t=2, never completes
    rec.complete(h1, 1)                           # t=3
    h3 = rec.invoke("c", "k", CAS, (1, "y"))      # t=4
    rec.unknown(h3)                               # t=5
    hist = rec.history()
    assert [o.client for o in hist] == ["a", "b", "c"]
    assert hist[0].ret == 3.0 and hist[0].result == 1
    assert hist[1].result is UNKNOWN and math.isinf(hist[1].ret)   # still pending
    assert hist[2].result is UNKNOWN and math.isinf(hist[2].ret)
    assert lin.check(hist).ok


# ---------------------------------------------------------------------------
# Cross-check against brute force on small random histories


def _brute_force(ops, initial=(0, None), droppable=()):
    """Tries every real-time-respecting order of every subset of the
    unknown and droppable ops (plus all other ops) on a straightforward
    sequential model starting in `initial`."""
    ops = [o for o in ops if not (o.kind == READ and o.unknown)]
    drop = set(map(id, droppable))
    known = [o for o in ops if not o.unknown and id(o) not in drop]
    unknown = [o for o in ops if o.unknown or id(o) in drop]

    def legal(seq):
        version, value = initial
        for o in seq:
            if o.kind == READ:
                want = NOT_FOUND if version == 0 else Found(version, value)
                if o.result != want:
                    return False
            elif o.kind == WRITE:
                version, value = version + 1, o.args[0]
                if not o.unknown and o.result != version:
                    return False
            else:
                expected, new = o.args
                if version == expected:
                    version, value = version + 1, new
                    if not o.unknown and o.result != CasOk(version):
                        return False
                elif not o.unknown and o.result is not MISMATCH:
                    return False
        return True

    def respects_time(seq):
        for i, a in enumerate(seq):
            for b in seq[i + 1:]:
                if b.ret < a.invoke:   # b finished before a started
                    return False
        return True

    for k in range(len(unknown) + 1):
        for subset in itertools.combinations(unknown, k):
            for perm in itertools.permutations(known + list(subset)):
                if respects_time(perm) and legal(perm):
                    return True
    return False


def _random_history(rng):
    n = rng.randint(1, 6)
    intervals = []
    for _ in range(n):
        t0 = rng.randint(0, 8)
        intervals.append((t0, t0 + rng.randint(0, 4)))
    # Execute in the order of a random point inside each interval: a legal
    # history, then maybe corrupt one result.
    points = sorted(range(n), key=lambda i: rng.uniform(*intervals[i]) if
                    intervals[i][0] < intervals[i][1] else intervals[i][0])
    version, value = 0, None
    results = {}
    specs = {}
    for i in points:
        kind = rng.choice([READ, WRITE, CAS])
        if kind == READ:
            specs[i] = (READ, ())
            results[i] = NOT_FOUND if version == 0 else Found(version, value)
        elif kind == WRITE:
            v = f"w{i}"
            specs[i] = (WRITE, (v,))
            version, value = version + 1, v
            results[i] = version
        else:
            expected = max(0, version - rng.randint(0, 1))
            v = f"c{i}"
            specs[i] = (CAS, (expected, v))
            if expected == version:
                version, value = version + 1, v
                results[i] = CasOk(version)
            else:
                results[i] = MISMATCH
    if rng.random() < 0.5:
        i = rng.randrange(n)
        kind = specs[i][0]
        if kind == READ:
            results[i] = rng.choice([NOT_FOUND, Found(rng.randint(1, 3), f"w{rng.randrange(n)}")])
        elif kind == WRITE:
            results[i] = rng.randint(1, 4)
        else:
            results[i] = rng.choice([MISMATCH, CasOk(rng.randint(1, 4))])
    ops = []
    for i in range(n):
        kind, args = specs[i]
        res = results[i]
        if rng.random() < 0.2:
            res = UNKNOWN
        t0, t1 = intervals[i]
        ops.append(Op(i % 3, "k", kind, args, float(t0), math.inf if res is UNKNOWN else float(t1),
                      res))
    return ops


def test_agrees_with_brute_force_on_random_small_histories():
    rng = random.Random(20240601)
    seen = {True: 0, False: 0}
    for _ in range(1500):
        hist = _random_history(rng)
        expected = _brute_force(hist)
        got = lin.check(hist)
        assert got.status in (lin.OK, lin.ILLEGAL)
        assert got.ok == expected, "\n".join(o.describe() for o in hist) + "\n" + got.report()
        seen[expected] += 1
    # Both outcomes well represented.
    assert seen[True] > 300 and seen[False] > 300, seen


def test_windows_are_sound_on_random_histories():
    """A window reported for an illegal history is itself illegal by brute
    force when checked from the initial state or any state it implies."""
    rng = random.Random(99)
    checked = windows = 0
    for _ in range(600):
        hist = _random_history(rng)
        res = lin.check(hist)
        if res.ok:
            continue
        checked += 1
        assert res.window, res.report()
        assert res.culprit in res.window
        # The prefix up to the culprit's return is illegal too.
        prefix = lin._prefix(sorted(hist, key=lambda o: o.invoke), res.culprit.ret)
        assert not _brute_force(prefix), res.report()
        # And the window is impossible from every state it could start in,
        # even dropping the ops that began before it.
        if res.window_from_initial:
            continue
        early = [o for o in res.window if o.invoke < res.window_start]
        values = {None} | {o.args[-1] for o in hist if o.args}
        for version in range(0, 7):
            for value in values:
                assert not _brute_force(res.window, (version, value), early), (
                    f"window legal from {(version, value)}:\n{res.report()}")
        windows += 1
    assert checked > 100 and windows > 20, (checked, windows)


def _random_medium_history(rng, n):
    """Like _random_history, bigger: 4 clients, each op's effect at a random
    point of its interval, some results corrupted, some unknown."""
    t_client = [0.0] * 4
    events = []
    for k in range(n):
        cl = k % 4
        t0 = t_client[cl] + rng.random()
        t1 = t0 + rng.random() * 3
        events.append((rng.uniform(t0, t1), cl, t0, t1))
        t_client[cl] = t1
    events.sort()
    version, value = 0, None
    ops = []
    for point, cl, t0, t1 in events:
        kind = rng.choice([READ, WRITE, CAS])
        if kind == READ:
            args, res = (), (NOT_FOUND if version == 0 else Found(version, value))
        elif kind == WRITE:
            args = (f"v{len(ops)}",)
            version, value = version + 1, args[0]
            res = version
        else:
            expected = max(0, version - rng.randint(0, 1))
            args = (expected, f"c{len(ops)}")
            if expected == version:
                version, value = version + 1, args[1]
                res = CasOk(version)
            else:
                res = MISMATCH
        roll = rng.random()
        if roll < 0.15:
            res = UNKNOWN
        elif roll < 0.18:
            if kind == READ:
                res = Found(max(1, version - 1), value) if version > 1 else NOT_FOUND
            elif kind == WRITE:
                res = version + rng.choice([-1, 1])
            else:
                res = MISMATCH if isinstance(res, CasOk) else CasOk(expected + 1)
        ops.append(Op(cl, "k", kind, args, t0, math.inf if res is UNKNOWN else t1, res))
    return lin._prepare(ops)


def test_prunings_agree_with_the_plain_search_on_random_histories():
    rng = random.Random(4242)
    compared, illegal = 0, 0
    for _ in range(1000):
        ops = _random_medium_history(rng, rng.randint(10, 40))
        plain = lin._check_ops(ops, 30_000, prune=False)
        if plain.status == lin.BUDGET:
            continue
        pruned = lin._check_ops(ops, 30_000)
        assert pruned.status == plain.status, "\n".join(o.describe() for o in ops)
        assert pruned.steps <= plain.steps
        compared += 1
        illegal += plain.status == lin.ILLEGAL
    assert compared > 800 and 200 < illegal < compared - 200, (compared, illegal)


def test_many_unknown_writes_around_a_failover_stay_tractable():
    # As in a kill -9 of the active: 30 writes with no answer, none of which
    # happened, then the history goes on; without the version bound the
    # search tries every subset of them.
    hist, t = [], 0.0
    for i in range(20):
        hist.append(w(1, t, t + 0.5, f"a{i}", i + 1))
        t += 1
    for i in range(30):
        hist.append(w(2 + i % 5, t + i * 0.01, t + 1, f"lost{i}", U))
    t += 2
    for i in range(20):
        hist.append(w(1, t, t + 0.5, f"b{i}", 21 + i))
        hist.append(r(2, t + 0.6, t + 0.9, (21 + i, f"b{i}")))
        t += 1
    res = lin.check(hist, budget_per_key=100_000)
    assert res.ok, res.report()
    assert res.stats["k"].steps < 20_000, res.stats


@pytest.mark.deadline(120)
def test_large_concurrent_legal_history_checks_quickly():
    rng = random.Random(3)
    # 8 clients, 1,500 ops on one key, each op's effect at a random point
    # inside its interval; about 5% unknown.
    n_clients, per_client = 8, 190
    t_client = [0.0] * n_clients
    events = []
    for cl in range(n_clients):
        for _ in range(per_client):
            t0 = t_client[cl] + rng.random() * 0.01
            t1 = t0 + 0.002 + rng.random() * 0.02
            events.append((rng.uniform(t0, t1), cl, t0, t1))
            t_client[cl] = t1
    events.sort()
    version, value = 0, None
    hist = []
    for point, cl, t0, t1 in events:
        kind = rng.choice([READ, WRITE, CAS])
        if kind == READ:
            res, args = (NOT_FOUND if version == 0 else Found(version, value)), ()
        elif kind == WRITE:
            args = (f"v{len(hist)}",)
            version, value = version + 1, args[0]
            res = version
        else:
            expected = max(0, version - rng.randint(0, 1))
            args = (expected, f"c{len(hist)}")
            if expected == version:
                version, value = version + 1, args[1]
                res = CasOk(version)
            else:
                res = MISMATCH
        if rng.random() < 0.05:
            res = UNKNOWN
        hist.append(Op(cl, "k", kind, args, t0, math.inf if res is UNKNOWN else t1, res))
    res = lin.check(hist)
    assert res.ok, res.report()
    print(res.report())
