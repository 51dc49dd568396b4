#!/usr/bin/python3
"""arca 3-node cluster benchmark (issue 3).

Starts, in one run on this machine: 3 etcd members (mutual TLS between them
and for clients) and 3 arca nodes on them, using the test harness's PKI and
process helpers (test/integration/cluster.py) but with every arca node
talking to etcd directly (no fault proxies). Measures with wrk, 32
connections, HTTPS keep-alive for arca:
  * etcd's own put and range through its HTTP/JSON gateway on member 1 (plain
    HTTP on an extra loopback listener: wrk cannot present a client
    certificate, and plain HTTP only favours etcd);
  * arca KV v2 write and read through the active node and through a standby
    (which forwards to the active);
each workload in turn, --rounds times, the round with the median rate
reported (and the per-round write/put ratios); then failover: kill -9 the
active, time until a write is accepted again through a surviving node,
restart and unseal the killed node; --runs times. Prints figures and
ratios. Usage: bench/ha.py [--duration 10] [--rounds 3] [--runs 10]
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import urllib3

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration"))

urllib3.disable_warnings()

import cluster as cl  # noqa: E402
from run import free_port, wrk  # noqa: E402


class BenchMember(cl.EtcdMember):
    """An etcd member with an extra plain-HTTP loopback client listener."""
    http_port: int = 0

    def args(self):
        a = super().args()
        out = []
        for x in a:
            if x.startswith("--listen-client-urls="):
                x = f"{x},http://127.0.0.1:{self.http_port}"
            out.append(x)
        return out


def direct_config(c, node):
    """The harness's node config, with etcd addresses instead of proxies."""
    text = node.config_path.read_text()
    proxied = ",".join(f"https://127.0.0.1:{p.port}" for p in node.proxies)
    direct = ",".join(m.addr for m in c.members)
    node.config_path.write_text(text.replace(proxied, direct))


def put_etcd_key(port):
    requests.post(f"http://127.0.0.1:{port}/v3/kv/put", timeout=10,
                  json={"key": "YmVuY2gvcmVhZA==", "value": "eyJ1c2VyIjoiYWxpY2UifQ=="}).raise_for_status()


def accepted_write(nodes, token, n):
    """Polls a write through each surviving node until one is accepted."""
    s = requests.Session()
    deadline = time.monotonic() + 30
    i = 0
    while time.monotonic() < deadline:
        node = nodes[i % len(nodes)]
        i += 1
        try:
            r = s.post(node.url(f"/v1/secret/data/failover/{n}"), json={"data": {"n": n}},
                       headers={"X-Vault-Token": token}, verify=node.ca_cert, timeout=1)
            if r.status_code == 200:
                return time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(0.01)
    raise RuntimeError("no write accepted within 30 s of the kill")


def create_tokens(node, token, n, threads=16):
    """Creates n service tokens (ttl 2h) through `node`; returns their ids."""
    def work(k):
        s = requests.Session()
        out = []
        for _ in range(k):
            r = s.post(node.url("/v1/auth/token/create"), json={"ttl": "2h"},
                       headers={"X-Vault-Token": token}, verify=node.ca_cert, timeout=30)
            r.raise_for_status()
            out.append(r.json()["auth"]["client_token"])
        return out
    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    with ThreadPoolExecutor(threads) as ex:
        return [t for part in ex.map(work, per) for t in part]


def log_figure(node, pattern, after, timeout):
    """The last match of `pattern` in the node's log past byte `after`, waiting up to timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = node.log_path.read_bytes()[after:].decode(errors="replace")
        found = re.findall(pattern, text)
        if found:
            return found[-1]
        time.sleep(0.2)
    return None


def takeover_with_tokens(c, token, n):
    """Kill -9 of the active with n live tokens: time to the first write, the
    new active's state load, lookups of old tokens, the expiry index load."""
    active = c.wait_one_active()
    t0 = time.monotonic()
    ids = create_tokens(active, token, n)
    made = time.monotonic() - t0
    survivors = [x for x in c.nodes if x is not active]
    marks = {x.index: x.log_path.stat().st_size for x in survivors}
    t0 = time.monotonic()
    active.kill9()
    t_write = accepted_write(survivors, token, "tokens") - t0
    new = c.wait_one_active()
    loaded_ms = log_figure(new, r"now the active node \(state loaded in (\d+) ms\)", marks[new.index], 10)
    s = requests.Session()
    sample = ids[:: max(1, len(ids) // 100)]
    ok = sum(s.get(new.url("/v1/auth/token/lookup-self"), headers={"X-Vault-Token": t},
                   verify=new.ca_cert, timeout=10).status_code == 200 for t in sample)
    index = log_figure(new, r"token expiry index loaded: (\d+) tokens in (\d+) ms", marks[new.index], 300)
    print(f"\ntakeover with {n} live tokens (created in {made:.1f} s): first accepted write "
          f"{t_write:.2f} s after the kill; the new active loaded its state in {loaded_ms} ms; "
          f"{ok}/{len(sample)} old tokens looked up on it")
    if index:
        print(f"  background expiry index: {index[0]} tokens loaded in {index[1]} ms "
              f"(lookups do not wait for it)")
    active.start()
    active.wait_listening()
    c.unseal(active.index)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=10000)
    ap.add_argument("--arca", default=str(ROOT / "build" / "arca"))
    args = ap.parse_args()
    cl.harness.ARCA_BIN = args.arca
    if not shutil.which("wrk") or not os.path.exists(cl.ETCD_BIN):
        sys.exit("bench: wrk and etcd are needed (run scripts/install-deps.sh)")

    tmp = Path(tempfile.mkdtemp(prefix="arca-cluster-bench-"))
    c = None
    try:
        pki = cl.make_cluster_pki(tmp / "pki")
        c = cl.Cluster(tmp / "cluster", pki, lock_timeout="2s", request_timeout="5s",
                       log_level="info")  # info: the takeover figures come from the log
        for i, m in enumerate(c.members):
            bm = BenchMember(**{f: getattr(m, f) for f in m.__dataclass_fields__})
            bm.http_port = free_port()
            c.members[i] = bm
        for node in c.nodes:
            direct_config(c, node)
        c.start()
        active = c.bootstrap()
        token = c.root_token
        standby = c.standbys()[0]
        r = active.request("POST", "/v1/secret/data/bench/read",
                           json={"data": {"user": "alice", "password": "s3cr3t"}})
        r.raise_for_status()
        gw = c.members[0].http_port
        put_etcd_key(gw)

        env = dict(os.environ, ARCA_TOKEN=token)
        d, conns = args.duration, args.connections
        etcd_url = f"http://127.0.0.1:{gw}"
        workloads = [
            ("etcd gateway put", etcd_url, "etcd_put.lua"),
            ("arca KV v2 write, active", active.addr, "kv_write.lua"),
            ("arca KV v2 write, standby", standby.addr, "kv_write.lua"),
            ("etcd gateway range", etcd_url, "etcd_range.lua"),
            ("arca KV v2 read, active", active.addr, "kv_read.lua"),
            ("arca KV v2 read, standby", standby.addr, "kv_read.lua"),
        ]
        # Every workload in turn, --rounds times; each figure is the round
        # with the median rate, so that a burst of load on this shared
        # machine does not land on one side of a ratio only.
        rounds = {name: [] for name, _, _ in workloads}
        for _ in range(args.rounds):
            for name, url, script in workloads:
                rounds[name].append(wrk(url, str(HERE / script), d, conns, env))
        res = {name: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2] for name, rs in rounds.items()}

        put = res["etcd gateway put"]["rps"]
        rng = res["etcd gateway range"]["rps"]
        print(f"\narca cluster benchmark: 3 etcd + 3 arca on one {os.cpu_count()}-core machine, "
              f"{conns} connections, {d}s each, wrk -t2, median of {args.rounds} alternating rounds\n")
        print(f"{'workload':30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>16} {'non-2xx':>8}")
        for name, r in res.items():
            base, label = (put, "etcd put") if "write" in name or "put" in name else (rng, "etcd range")
            print(f"{name:30} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                  f"{r['rps'] / base:6.2f}x {label:>9} {r['non2xx']:8}")
        print("\nrounds (req/s): " + "; ".join(
            f"{name}: " + ", ".join(f"{r['rps']:.0f}" for r in rs) for name, rs in rounds.items()))
        for name in ("arca KV v2 write, active", "arca KV v2 write, standby"):
            per = [a["rps"] / p["rps"] for a, p in zip(rounds[name], rounds["etcd gateway put"])]
            print(f"{name} / etcd put, per round: " + ", ".join(f"{x:.2f}x" for x in per))

        times = []
        for n in range(args.runs):
            victim = c.wait_one_active()
            survivors = [x for x in c.nodes if x is not victim]
            t0 = time.monotonic()
            victim.kill9()
            t1 = accepted_write(survivors, token, n)
            times.append(t1 - t0)
            victim.start()
            victim.wait_listening()
            c.unseal(victim.index)
        print(f"\nfailover, kill -9 of the active to the first accepted write ({len(times)} runs): "
              f"median {statistics.median(times):.2f} s, max {max(times):.2f} s, "
              f"min {min(times):.2f} s")
        print("runs: " + " ".join(f"{t:.2f}" for t in times))
        if args.tokens > 0:
            takeover_with_tokens(c, token, args.tokens)
    finally:
        if c is not None:
            c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
