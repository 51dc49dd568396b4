"""A linearizability checker for histories of KV v2 operations.

The algorithm is Wing & Gong's search with Lowe's improvements (as in
Porcupine and Knossos' "wgl" checker): the history becomes a doubly linked
list of call and return events in time order; the search linearizes a call
("lifts" it and its return out of the list), backtracks with an undo stack
when it meets a return whose call could not be linearized, and memoises
every (set of linearized ops as a bitset, model state) it has seen so no
configuration is explored twice. The check is P-compositional: every key is
an independent object, checked on its own.

Model: one KV v2 key, state = (version, value), initially (0, None) (no
versions). Operations and results:

    read()                       -> Found(version, value) | NOT_FOUND
    write(value)                 -> the new version (int)
    cas(expected_version, value) -> CasOk(new_version) | MISMATCH

Any result may be UNKNOWN (timeout, 5xx, connection error): the operation
may or may not have taken effect. Its return time is +inf; it may be
linearized anywhere after its invocation, or never. Unknown reads constrain
nothing and are dropped.

On failure the report names the key, the first operation whose completion
makes the history non-linearizable (found by bisecting on time: every
prefix of a linearizable history is linearizable) and a minimal window: the
shortest suffix of that prefix which is already non-linearizable on its own
from an arbitrary starting state (operations that began before the window
and overlap it may be used or ignored). Such a window is a sound
explanation: if the whole history were linearizable, so would the window be.

Pure Python, no threads; `check` is safe to call from any thread.
"""

import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Hashable, Iterable, List, Optional, Sequence, Tuple


# ---------------------------------------------------------------------------
# Results


class _Sentinel:
    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self):
        return self._name


UNKNOWN = _Sentinel("UNKNOWN")
NOT_FOUND = _Sentinel("NOT_FOUND")
MISMATCH = _Sentinel("MISMATCH")


@dataclass(frozen=True)
class Found:
    """A read that returned the latest version of the key and its value."""
    version: int
    value: Hashable


@dataclass(frozen=True)
class CasOk:
    """A check-and-set that took effect and created `version`."""
    version: int


READ, WRITE, CAS = "read", "write", "cas"


@dataclass(frozen=True)
class Op:
    """One operation of one client on one key.

    args: () for read, (value,) for write, (expected_version, value) for cas.
    ret is math.inf when result is UNKNOWN.
    """
    client: Any
    key: str
    kind: str
    args: Tuple
    invoke: float
    ret: float
    result: Any

    @property
    def unknown(self) -> bool:
        return self.result is UNKNOWN

    def describe(self, t0: float = 0.0) -> str:
        if self.kind == READ:
            call = "read()"
        elif self.kind == WRITE:
            call = f"write({self.args[0]!r})"
        else:
            call = f"cas(expected={self.args[0]}, {self.args[1]!r})"
        res = self.result
        if isinstance(res, Found):
            res_text = f"version {res.version} = {res.value!r}"
        elif isinstance(res, CasOk):
            res_text = f"ok, version {res.version}"
        elif self.kind == WRITE and res is not UNKNOWN:
            res_text = f"version {res}"
        else:
            res_text = repr(res)
        ret = "      inf" if math.isinf(self.ret) else f"{self.ret - t0:9.4f}"
        return (f"[{self.invoke - t0:9.4f} .. {ret}] client {self.client!s:>4} "
                f"{call} -> {res_text}")


# ---------------------------------------------------------------------------
# Recording a history from concurrent clients


class Recorder:
    """Thread-safe history recorder.

        h = rec.invoke(client, key, "write", (value,))
        ... do the request ...
        rec.complete(h, 3)          # or rec.unknown(h), or rec.discard(h)

    discard() is for operations known not to have happened at all (e.g. a
    request refused before reaching any server); when in doubt, unknown().
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: Dict[int, Tuple] = {}
        self._ops: List[Op] = []
        self._next = 0

    def now(self) -> float:
        return self._clock()

    def invoke(self, client, key: str, kind: str, args: Tuple = ()) -> int:
        assert kind in (READ, WRITE, CAS), kind
        t = self._clock()
        with self._lock:
            h = self._next
            self._next += 1
            self._pending[h] = (client, key, kind, tuple(args), t)
        return h

    def complete(self, handle: int, result) -> Op:
        t = self._clock()
        with self._lock:
            client, key, kind, args, t0 = self._pending.pop(handle)
            op = Op(client, key, kind, args, t0, math.inf if result is UNKNOWN else t, result)
            self._ops.append(op)
        return op

    def unknown(self, handle: int) -> Op:
        return self.complete(handle, UNKNOWN)

    def discard(self, handle: int) -> None:
        with self._lock:
            self._pending.pop(handle)

    def history(self) -> List[Op]:
        """Completed ops, plus every still-pending op as UNKNOWN."""
        with self._lock:
            ops = list(self._ops)
            for client, key, kind, args, t0 in self._pending.values():
                ops.append(Op(client, key, kind, args, t0, math.inf, UNKNOWN))
        return sorted(ops, key=lambda o: (o.invoke, o.ret))


def dump_history(ops: Iterable[Op], path) -> None:
    """Writes a history as JSON lines (for the record and for re-checking)."""
    import json

    def enc(res):
        if res is UNKNOWN or res is NOT_FOUND or res is MISMATCH:
            return {"t": repr(res)}
        if isinstance(res, Found):
            return {"t": "Found", "version": res.version, "value": res.value}
        if isinstance(res, CasOk):
            return {"t": "CasOk", "version": res.version}
        return {"t": "int", "version": res}

    with open(path, "w") as f:
        for o in ops:
            f.write(json.dumps({"client": o.client, "key": o.key, "kind": o.kind,
                                "args": list(o.args), "invoke": o.invoke,
                                "ret": None if math.isinf(o.ret) else o.ret,
                                "result": enc(o.result)}) + "\n")


def load_history(path) -> List[Op]:
    import json

    def dec(d):
        t = d["t"]
        if t in ("UNKNOWN", "NOT_FOUND", "MISMATCH"):
            return {"UNKNOWN": UNKNOWN, "NOT_FOUND": NOT_FOUND, "MISMATCH": MISMATCH}[t]
        if t == "Found":
            return Found(d["version"], d["value"])
        if t == "CasOk":
            return CasOk(d["version"])
        return d["version"]

    ops = []
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            ops.append(Op(d["client"], d["key"], d["kind"], tuple(d["args"]), d["invoke"],
                          math.inf if d["ret"] is None else d["ret"], dec(d["result"])))
    return ops


# ---------------------------------------------------------------------------
# The model

INITIAL = (0, None)
# An arbitrary, not yet known state (the start of a window): transitions
# from it accept whatever the first operation reveals.
FREE = None


def _step(state, op: Op) -> Tuple[bool, Any]:
    """(legal, next state) for linearizing op in state."""
    kind, res = op.kind, op.result
    if kind == READ:
        if res is NOT_FOUND:
            if state is FREE:
                return True, INITIAL
            return state[0] == 0, state
        if isinstance(res, Found):
            if state is FREE:
                return True, (res.version, res.value)
            return state == (res.version, res.value), state
        return False, state
    if kind == WRITE:
        value = op.args[0]
        if res is UNKNOWN:
            if state is FREE:
                return True, FREE
            return True, (state[0] + 1, value)
        if not isinstance(res, int):
            return False, state
        if state is FREE:
            return True, (res, value)
        return res == state[0] + 1, (res, value)
    if kind == CAS:
        expected, value = op.args
        if res is UNKNOWN:
            # Only the "it happened" branch: "it did not" is the same as
            # never linearizing the op, which the search allows anyway.
            if state is FREE or state[0] == expected:
                return True, (expected + 1, value)
            return False, state
        if res is MISMATCH:
            if state is FREE:
                return True, FREE
            return state[0] != expected, state
        if isinstance(res, CasOk):
            if res.version != expected + 1:
                return False, state
            if state is FREE:
                return True, (res.version, value)
            return state[0] == expected, (res.version, value)
        return False, state
    return False, state


# ---------------------------------------------------------------------------
# Wing & Gong / Lowe search for one key


OK, ILLEGAL, BUDGET = "ok", "illegal", "budget exceeded"


@dataclass
class _KeyOutcome:
    status: str
    steps: int
    longest: List[int]  # op indexes of the longest partial linearization


def _search(ops: Sequence[Op], optional: Sequence[bool], initial, budget: int,
            prune: bool = True) -> _KeyOutcome:
    """Is `ops` linearizable from `initial`? Optional ops (unknown outcome,
    or window ops that may be ignored) have no return event: they may be
    linearized after their call or never. prune=False turns off the two
    prunings below (for cross-checking them)."""
    n = len(ops)
    events = []
    for i, op in enumerate(ops):
        events.append((op.invoke, 0, i))
        if not optional[i]:
            events.append((op.ret, 1, i))
    # Ties: calls before returns, so ops touching at one instant count as
    # concurrent (the permissive reading of equal timestamps).
    events.sort()
    m = len(events)
    head = m
    nil = -1
    nxt = [0] * (m + 1)
    prv = [0] * (m + 1)
    is_call = [False] * m
    op_of = [0] * m
    ret_node = [nil] * n
    call_node = [nil] * n
    for pos, (_, kind, i) in enumerate(events):
        is_call[pos] = kind == 0
        op_of[pos] = i
        if kind == 0:
            call_node[i] = pos
        else:
            ret_node[i] = pos
    order = [head] + list(range(m))
    for a, b in zip(order, order[1:]):
        nxt[a] = b
        prv[b] = a
    nxt[order[-1]] = nil
    prv[head] = nil

    def unlink(x):
        p, q = prv[x], nxt[x]
        nxt[p] = q
        if q != nil:
            prv[q] = p

    def relink(x):
        p, q = prv[x], nxt[x]
        nxt[p] = x
        if q != nil:
            prv[q] = x

    # Version bound. Versions never decrease, and a known op can only be
    # linearized in a state of one version (its `required` version), so once
    # the state passes the required version of a known op not yet
    # linearized, the branch is dead. Counts of pending required versions
    # live in a Fenwick tree (prefix sums).
    required = [None if optional[i] or not prune else _required(ops[i]) for i in range(n)]
    # A claimed version below 1 can never be linearized; _step refuses it.
    required = [None if r is not None and r < 0 else r for r in required]
    size = max([r for r in required if r is not None], default=0) + 2
    tree = [0] * (size + 1)

    def bump(v, d):
        v += 1
        while v <= size:
            tree[v] += d
            v += v & -v

    def pending_below(v):  # pending ops whose required version is < v
        v = max(0, min(v, size))
        total = 0
        while v > 0:
            total += tree[v]
            v -= v & -v
        return total

    for r in required:
        if r is not None:
            bump(r, 1)
    pending_required = sum(1 for r in required if r is not None)
    # Pending reads by version, and by (version, value): a read of (v, x)
    # is dead once the state is at version v with another value.
    read_key = [(ops[i].result.version, ops[i].result.value)
                if prune and not optional[i] and ops[i].kind == READ
                and isinstance(ops[i].result, Found) else None for i in range(n)]
    reads_at: Dict[int, int] = defaultdict(int)
    reads_of: Dict[Tuple, int] = defaultdict(int)
    for rk in read_key:
        if rk is not None:
            reads_at[rk[0]] += 1
            reads_of[rk] += 1
    # Ops that may raise the version when linearized. The version can rise
    # by at most their number, so every pending required version must be
    # within reach: a lower bound to go with the upper one.
    raises = [prune and _may_raise(ops[i]) for i in range(n)]
    raisers_left = sum(raises)

    remaining = m - n  # return events left
    linearized = 0
    state = initial
    # (call entry, state before, whether it left the state unchanged)
    stack: List[Tuple[int, Any, bool]] = []
    cache = set()
    longest: List[int] = []
    steps = 0
    entry = nxt[head]
    while remaining > 0:
        steps += 1
        if steps > budget:
            return _KeyOutcome(BUDGET, steps, longest)
        if entry != nil and is_call[entry]:
            i = op_of[entry]
            legal, new_state = _step(state, ops[i])
            if legal and prune and new_state is not FREE and (
                    state is FREE or new_state[0] != state[0]):
                v = new_state[0]
                mine = required[i]
                own_below = 1 if mine is not None and mine < v else 0
                reach = v + raisers_left - (1 if raises[i] else 0)
                own_above = 1 if mine is not None and mine > reach else 0
                legal = (pending_below(v) - own_below == 0 and
                         pending_required - pending_below(reach + 1) - own_above == 0)
                if legal and reads_at.get(v):
                    rk = read_key[i]
                    mine_here = 1 if rk is not None and rk[0] == v else 0
                    mine_same = 1 if rk == new_state else 0
                    legal = (reads_at[v] - mine_here) == (reads_of.get(new_state, 0) - mine_same)
            if legal and optional[i] and (state is FREE or new_state == state):
                # Pointless: leaving it out is the same (FREE already stands
                # for whatever state it would lead to).
                legal = False
            if legal:
                noop = prune and new_state == state
                new_lin = linearized | (1 << i)
                memo = (new_lin, new_state)
                if memo not in cache:
                    cache.add(memo)
                    stack.append((entry, state, noop))
                    state = new_state
                    linearized = new_lin
                    unlink(entry)
                    r = ret_node[i]
                    if r != nil:
                        unlink(r)
                        remaining -= 1
                    if required[i] is not None:
                        bump(required[i], -1)
                        pending_required -= 1
                    raisers_left -= raises[i]
                    if read_key[i] is not None:
                        reads_at[read_key[i][0]] -= 1
                        reads_of[read_key[i]] -= 1
                    if len(stack) > len(longest):
                        longest = [op_of[c] for c, _, _ in stack]
                    entry = nxt[head]
                    continue
                if not noop:
                    entry = nxt[entry]
                    continue
                # A legal no-op already explored from here: as below.
            else:
                entry = nxt[entry]
                continue
        # A return event (or the end, or see above): undo the last
        # linearization and try the next call in its place. An op that left
        # the state unchanged needs no alternatives: it was legal at the
        # earliest point it could take, and moving a legal no-op to that
        # point never breaks a linearization, so if the branch with it
        # first failed, every branch from there fails; undo further.
        while True:
            if not stack:
                return _KeyOutcome(ILLEGAL, steps, longest)
            entry, state, noop = stack.pop()
            i = op_of[entry]
            linearized &= ~(1 << i)
            r = ret_node[i]
            if r != nil:
                relink(r)
                remaining += 1
            relink(entry)
            if required[i] is not None:
                bump(required[i], 1)
                pending_required += 1
            raisers_left += raises[i]
            if read_key[i] is not None:
                reads_at[read_key[i][0]] += 1
                reads_of[read_key[i]] += 1
            if not noop:
                break
        entry = nxt[entry]
    return _KeyOutcome(OK, steps, longest)


def _required(op: Op) -> Optional[int]:
    """The only version a state can have for this known op to be
    linearized in it; None when there is no single one."""
    res = op.result
    if op.kind == READ:
        if res is NOT_FOUND:
            return 0
        return res.version if isinstance(res, Found) else None
    if op.kind == WRITE:
        return res - 1 if isinstance(res, int) and res is not UNKNOWN else None
    if isinstance(res, CasOk):
        return res.version - 1
    return None


def _may_raise(op: Op) -> bool:
    """Whether linearizing op can raise the version."""
    if op.kind == WRITE:
        return True
    return op.kind == CAS and (op.unknown or isinstance(op.result, CasOk))


def _prepare(ops: Iterable[Op]) -> List[Op]:
    """Unknown reads removed; sorted by invocation."""
    kept = [o for o in ops if not (o.kind == READ and o.unknown)]
    return sorted(kept, key=lambda o: (o.invoke, o.ret))


def _check_ops(ops: Sequence[Op], budget: int, initial=INITIAL,
               optional_extra: Sequence[bool] = (), prune: bool = True) -> _KeyOutcome:
    optional = [o.unknown for o in ops]
    for i, extra in enumerate(optional_extra):
        optional[i] = optional[i] or extra
    return _search(ops, optional, initial, budget, prune)


# ---------------------------------------------------------------------------
# Public API


@dataclass
class KeyStats:
    ops: int
    unknown: int
    steps: int
    seconds: float
    status: str


@dataclass
class CheckResult:
    status: str                      # OK, ILLEGAL or BUDGET
    key: Optional[str] = None        # the first key that is not OK
    culprit: Optional[Op] = None     # first op whose completion breaks the key
    window: List[Op] = field(default_factory=list)
    window_from_initial: bool = False  # True: no shorter window, from (0, None)
    window_start: float = 0.0        # ops invoked before it may be ignored
    longest: List[Op] = field(default_factory=list)
    stats: Dict[str, KeyStats] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def report(self) -> str:
        lines = []
        total = sum(s.ops for s in self.stats.values())
        lines.append(f"linearizability: {self.status} ({len(self.stats)} keys, {total} ops)")
        for key, s in sorted(self.stats.items()):
            lines.append(f"  key {key!r}: {s.status}, {s.ops} ops ({s.unknown} unknown), "
                         f"{s.steps} search steps, {s.seconds:.2f}s")
        if self.status == OK:
            return "\n".join(lines)
        if self.status == BUDGET:
            lines.append(f"search budget exhausted on key {self.key!r}: neither proven "
                         "linearizable nor refuted")
            return "\n".join(lines)
        t0 = self.window_start
        lines.append(f"key {self.key!r} is NOT linearizable.")
        if self.culprit is not None:
            lines.append("the first completion that cannot be linearized:")
            lines.append("  " + self.culprit.describe(t0))
        start = "the initial state (0, None)" if self.window_from_initial else "any state"
        early = [o for o in self.window if o.invoke < t0]
        lines.append(f"minimal window ({len(self.window)} ops, already impossible from {start}; "
                     "times relative to its start, * = culprit, ? = unknown outcome or "
                     "started before the window: may be ignored):")
        if len(early) > 6:
            lines.append(f"  ? ... {len(early) - 3} earlier ops that started before the window "
                         "and never returned or overlap it, the last 3:")
            early_shown = set(map(id, early[-3:]))
        else:
            early_shown = set(map(id, early))
        for op in self.window:
            if op.invoke < t0 and id(op) not in early_shown:
                continue
            mark = "*" if op is self.culprit else ("?" if op.unknown or op.invoke < t0 else " ")
            lines.append(f"  {mark} {op.describe(t0)}")
        if self.longest:
            lines.append(f"longest partial linearization found ({len(self.longest)} ops), last 8:")
            for op in self.longest[-8:]:
                lines.append("    " + op.describe(t0))
        return "\n".join(lines)


def check(history: Iterable[Op], budget_per_key: int = 3_000_000,
          minimize: bool = True, window_budget: int = 200_000) -> CheckResult:
    """Checks every key; stops at the first key that is not linearizable.

    budget_per_key bounds the search steps of one key; BUDGET is reported
    when it runs out (not a pass). With minimize, an ILLEGAL result carries
    the culprit and a minimal window (extra searches, each bounded by
    window_budget steps)."""
    by_key: Dict[str, List[Op]] = defaultdict(list)
    for op in history:
        by_key[op.key].append(op)
    result = CheckResult(status=OK)
    for key in sorted(by_key):
        ops = _prepare(by_key[key])
        started = time.monotonic()
        outcome = _check_ops(ops, budget_per_key)
        result.stats[key] = KeyStats(
            ops=len(ops), unknown=sum(1 for o in ops if o.unknown), steps=outcome.steps,
            seconds=time.monotonic() - started, status=outcome.status)
        if outcome.status == OK:
            continue
        result.status = outcome.status
        result.key = key
        result.longest = [ops[i] for i in outcome.longest]
        if outcome.status == ILLEGAL and minimize:
            _explain(result, ops, window_budget)
        return result
    return result


def _prefix(ops: Sequence[Op], t: float) -> List[Op]:
    """The history as it stood at time t: ops invoked by then; those not
    returned by then become unknown."""
    out = []
    for o in ops:
        if o.invoke > t:
            continue
        if o.ret > t and not o.unknown:
            o = replace(o, ret=math.inf, result=UNKNOWN)
        out.append(o)
    return _prepare(out)


def _explain(result: CheckResult, ops: Sequence[Op], budget: int) -> None:
    returns = sorted({o.ret for o in ops if not o.unknown})
    # Smallest return time whose prefix is already illegal (monotone).
    lo, hi = 0, len(returns) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _check_ops(_prefix(ops, returns[mid]), budget).status == OK:
            lo = mid + 1
        else:
            hi = mid
    t_fail = returns[lo] if returns else math.inf
    prefix = _prefix(ops, t_fail)
    culprit = next((o for o in ops if o.ret == t_fail), None)
    result.culprit = culprit
    # Grow a window backwards from the culprit's call until it is illegal
    # from an arbitrary state; ops that started before the window but
    # overlap it may be used or ignored (optional).
    starts = sorted({o.invoke for o in prefix if culprit is None or o.invoke <= culprit.invoke},
                    reverse=True)
    spent = 0
    for t_s in starts[:400]:
        if spent > 20 * budget:
            break  # give up on minimising; report the whole prefix
        window = [o for o in prefix if o.invoke >= t_s or o.ret >= t_s]
        optional = [o.invoke < t_s for o in window]
        outcome = _check_ops(window, budget, initial=FREE, optional_extra=optional)
        spent += outcome.steps
        if outcome.status == ILLEGAL:
            result.window = window
            result.window_start = t_s
            break
    if not result.window:
        result.window = prefix
        result.window_from_initial = True
        result.window_start = prefix[0].invoke if prefix else 0.0
    if culprit is not None:
        # Use the very object from the window so the report can mark it.
        for o in result.window:
            if o == culprit:
                result.culprit = o
                break
