#!/usr/bin/python3
"""arca single-node benchmark.

Starts, in one run on this machine: nginx serving a small fixed JSON body over
TLS (the limit), and arca over TLS on `file` storage (durable). Drives both
with wrk over HTTPS keep-alive with 32 connections and prints req/s, p50, p99
and each ratio to nginx, plus arca's idle RSS. Everything runs on 127.0.0.1 and
stops by itself. nginx, the KV v2 read and lookup-self take turns for
--rounds rounds and the median round of each is reported (the per-round
ratios are printed too). Usage: bench/run.py [--duration 10] [--rounds 3]
[--arca build/arca]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(d):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return crt, key


def call(addr, method, path, ctx, token=None, body=None):
    req = urllib.request.Request(addr + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("X-Vault-Token", token)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        data = r.read()
        return json.loads(data) if data else None


def wait_port(port, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


def wrk(url, script, duration, conns, env):
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--latency", "-s", script, url],
                         capture_output=True, text=True, env=env, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": lat(50), "p99_ms": lat(99),
            "non2xx": int(errors.group(1)) if errors else 0}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--arca", default=os.path.join(ROOT, "build", "arca"))
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "openssl"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"bench: {tool} not found (run scripts/install-deps.sh)")

    tmp = tempfile.mkdtemp(prefix="arca-bench-")
    procs = []
    try:
        crt, key = make_cert(tmp)
        ctx = ssl.create_default_context(cafile=crt)

        # nginx: same TLS certificate, keep-alive, a fixed small JSON body.
        nport = free_port()
        body = '{"request_id":"x","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"user":"alice"}}}'
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx-body;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{nport} ssl;
    ssl_certificate {crt};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{ default_type application/json; return 200 '{body}'; }}
  }}
}}
""")
        nginx = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(nginx)

        # arca: TLS, file storage, initialised and unsealed through the API.
        aport = free_port()
        data_dir = os.path.join(tmp, "data")
        hcl = os.path.join(tmp, "arca.hcl")
        with open(hcl, "w") as f:
            f.write(f"""
storage "file" {{ path = "{data_dir}" }}
listener "tcp" {{
  address = "127.0.0.1:{aport}"
  tls_cert_file = "{crt}"
  tls_key_file = "{key}"
}}
disable_mlock = true
log_level = "warn"
""")
        arca = subprocess.Popen([args.arca, "server", f"-config={hcl}"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "arca.log"), "w"))
        procs.append(arca)
        wait_port(nport)
        wait_port(aport)
        addr = f"https://127.0.0.1:{aport}"
        init = call(addr, "PUT", "/v1/sys/init", ctx, body={"secret_shares": 1, "secret_threshold": 1})
        call(addr, "PUT", "/v1/sys/unseal", ctx, body={"key": init["keys"][0]})
        token = init["root_token"]
        call(addr, "POST", "/v1/sys/mounts/secret", ctx, token, {"type": "kv", "options": {"version": "2"}})
        call(addr, "POST", "/v1/secret/data/bench/read", ctx, token,
             {"data": {"user": "alice", "password": "s3cr3t"}})
        time.sleep(1)
        idle_rss = rss_kb(arca.pid)

        env = dict(os.environ, ARCA_TOKEN=token)
        d, c = args.duration, args.connections
        # The ratios to nginx: nginx and arca take turns, --rounds times, and
        # each figure is the round with the median rate, so that a burst of
        # load from elsewhere on the machine skews one round, not the ratio.
        rounds = {"nginx fixed JSON": [], "arca KV v2 read": [], "arca token lookup-self": []}
        targets = {"nginx fixed JSON": (f"https://127.0.0.1:{nport}/", "kv_read.lua"),
                   "arca KV v2 read": (addr, "kv_read.lua"),
                   "arca token lookup-self": (addr, "lookup_self.lua")}
        for _ in range(args.rounds):
            for name, (url, script) in targets.items():
                rounds[name].append(wrk(url, os.path.join(HERE, script), d, c, env))
        results = {name: sorted(rs, key=lambda r: r["rps"])[len(rs) // 2] for name, rs in rounds.items()}
        results["arca KV v2 write (file, durable)"] = wrk(addr, os.path.join(HERE, "kv_write.lua"), d, c, env)
        base = results["nginx fixed JSON"]["rps"]
        print(f"\narca benchmark: HTTPS keep-alive, {c} connections, {d}s each, wrk -t2, {os.cpu_count()} cores,"
              f" median of {args.rounds} alternating rounds\n")
        print(f"{'workload':36} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs nginx':>9} {'non-2xx':>8}")
        for name, r in results.items():
            print(f"{name:36} {r['rps']:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['rps']/base:8.2f}x {r['non2xx']:8}")
        print("\nrounds (req/s): " + "; ".join(
            f"{name}: " + ", ".join(f"{r['rps']:.0f}" for r in rs) for name, rs in rounds.items()))
        per_round = [a["rps"] / n["rps"] for a, n in zip(rounds["arca KV v2 read"], rounds["nginx fixed JSON"])]
        print("KV v2 read / nginx per round: " + ", ".join(f"{x:.2f}x" for x in per_round))
        print(f"\narca idle RSS after startup: {idle_rss/1024:.1f} MB")
        print(f"arca RSS after the run:      {rss_kb(arca.pid)/1024:.1f} MB")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
