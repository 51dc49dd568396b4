"""Durability of the file storage: 1,000 secrets written by 16 concurrent hvac
clients into KV v2 and KV v1 on a TLS server; every acknowledged write must
survive a kill -9 in the middle of writing (and, in the clean run, a normal
restart)."""

import queue
import threading
import time
import uuid

import hvac
import pytest
import requests

N_SECRETS = 1000
N_WRITERS = 16
KILL_AFTER_ACKS = 600

V2_MOUNT = "dur-v2"
V1_MOUNT = "dur-v1"


def plan_writes():
    """(index, engine, path, secret) for every write; even → KV v2, odd → KV v1."""
    run = uuid.uuid4().hex[:8]
    plan = []
    for i in range(N_SECRETS):
        engine = "v2" if i % 2 == 0 else "v1"
        path = f"batch-{run}/{(i // 2) % 10}/item-{i:04d}"
        secret = {"index": str(i), "value": f"{run}-{i}-{uuid.uuid4().hex}", "n": i}
        plan.append((i, engine, path, secret))
    return plan


class Writers:
    """N_WRITERS threads, each with its own hvac.Client, draining a work queue."""

    def __init__(self, srv, plan):
        self.srv = srv
        self.work = queue.Queue()
        for item in plan:
            self.work.put(item)
        self.lock = threading.Lock()
        self.acked = {}       # index -> secret, only for acknowledged writes
        self.failed = {}      # index -> exception text
        self.stop = threading.Event()
        self.reached = threading.Event()
        self.ack_target = None
        self.threads = [threading.Thread(target=self._run, name=f"writer-{n}", daemon=True)
                        for n in range(N_WRITERS)]

    def _write(self, client, engine, path, secret):
        if engine == "v2":
            resp = client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=secret, mount_point=V2_MOUNT)
            assert resp["data"]["version"] == 1, resp
        else:
            resp = client.secrets.kv.v1.create_or_update_secret(
                path=path, secret=secret, method="POST", mount_point=V1_MOUNT)
            assert resp.status_code == 204, resp.status_code

    def _run(self):
        client = self.srv.client()
        try:
            while not self.stop.is_set():
                try:
                    i, engine, path, secret = self.work.get_nowait()
                except queue.Empty:
                    return
                try:
                    self._write(client, engine, path, secret)
                except (requests.RequestException, hvac.exceptions.VaultError, AssertionError) as e:
                    with self.lock:
                        self.failed[i] = f"{type(e).__name__}: {e}"
                    if self.stop.is_set():
                        return
                    continue
                with self.lock:
                    self.acked[i] = secret
                    if self.ack_target is not None and len(self.acked) >= self.ack_target:
                        self.reached.set()
        finally:
            client.adapter.close()

    def start(self, ack_target=None):
        self.ack_target = ack_target
        for t in self.threads:
            t.start()

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        assert not alive, f"writer threads still running: {alive}"


def read_back(client, engine, path):
    """The stored secret, or None if absent."""
    try:
        if engine == "v2":
            return client.secrets.kv.v2.read_secret_version(path=path, mount_point=V2_MOUNT)["data"]["data"]
        return client.secrets.kv.v1.read_secret(path=path, mount_point=V1_MOUNT)["data"]
    except hvac.exceptions.InvalidPath:
        return None


def prepare(srv):
    root = srv.client()
    root.sys.enable_secrets_engine("kv", path=V2_MOUNT, options={"version": "2"})
    root.sys.enable_secrets_engine("kv", path=V1_MOUNT, options={"version": "1"})


def restart_and_unseal(srv, kill):
    srv.restart(kill=kill, unseal=False)
    st = srv.client(token=None).sys.read_seal_status()
    assert st["initialized"] is True and st["sealed"] is True, st
    srv.unseal()


@pytest.mark.deadline(240)
def test_acknowledged_writes_survive_kill_9(tls_file_server):
    srv = tls_file_server
    prepare(srv)
    plan = plan_writes()
    writers = Writers(srv, plan)
    writers.start(ack_target=KILL_AFTER_ACKS)
    reached = writers.reached.wait(timeout=150)
    assert reached, (f"only {len(writers.acked)} writes acknowledged in 150 s; "
                     f"failures: {list(writers.failed.items())[:5]}")
    srv.kill9()
    writers.stop.set()
    writers.join(timeout=30)
    with writers.lock:
        acked = dict(writers.acked)
    assert len(acked) >= KILL_AFTER_ACKS
    assert len(acked) < N_SECRETS, "every write finished before the kill; nothing was in flight"

    restart_and_unseal(srv, kill=False)
    client = srv.client()
    lost, wrong = [], []
    for i, engine, path, secret in plan:
        got = read_back(client, engine, path)
        if i in acked:
            if got is None:
                lost.append((i, engine, path))
            elif got != secret:
                wrong.append((i, engine, path, got))
        elif got is not None and got != secret:
            # Unacknowledged writes may be present or absent, never different.
            wrong.append((i, engine, path, got))
    assert not lost, f"{len(lost)} acknowledged writes lost after kill -9, e.g. {lost[:5]}"
    assert not wrong, f"{len(wrong)} secrets read back with a wrong value, e.g. {wrong[:3]}"

    # The server keeps working normally after the crash.
    client.secrets.kv.v2.create_or_update_secret(path="after-crash", secret={"ok": "yes"},
                                                 mount_point=V2_MOUNT)
    assert read_back(client, "v2", "after-crash") == {"ok": "yes"}


@pytest.mark.deadline(240)
def test_clean_run_all_writes_survive_restart(tls_file_server):
    srv = tls_file_server
    prepare(srv)
    plan = plan_writes()
    writers = Writers(srv, plan)
    writers.start()
    writers.join(timeout=180)
    assert not writers.failed, (f"{len(writers.failed)} writes failed on a healthy server, "
                                f"e.g. {list(writers.failed.items())[:5]}")
    assert len(writers.acked) == N_SECRETS

    client = srv.client()
    for i, engine, path, secret in plan[:50]:
        assert read_back(client, engine, path) == secret

    restart_and_unseal(srv, kill=False)
    client = srv.client()
    missing = [(i, path) for i, engine, path, secret in plan
               if read_back(client, engine, path) != secret]
    assert not missing, f"{len(missing)} secrets not read back after restart, e.g. {missing[:5]}"

    # Listing sees every key: 10 folders of 50 keys per engine.
    prefix = plan[0][2].split("/")[0]
    for engine, mount in (("v2", V2_MOUNT), ("v1", V1_MOUNT)):
        lister = client.secrets.kv.v2 if engine == "v2" else client.secrets.kv.v1
        folders = lister.list_secrets(path=prefix, mount_point=mount)["data"]["keys"]
        assert folders == [f"{d}/" for d in range(10)], folders
        total = sum(len(lister.list_secrets(path=f"{prefix}/{d}", mount_point=mount)["data"]["keys"])
                    for d in range(10))
        assert total == N_SECRETS // 2, (engine, total)
