"""A 3-node arca cluster on a 3-member etcd: roles, sys/health, sys/leader,
forwarding from standbys, the 307 mode, sys/ha-status, the raft
configuration, step-down and snapshot save/restore.

One cluster for the module (cluster.py); every test starts from a healthy
cluster (cluster.ensure_healthy) and uses its own key names.
"""

import time

import pytest

import cluster as C
from harness import is_rfc3339, uniq


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    yield from C.cluster_fixture(request, tmp_path_factory)


def _others(cluster, node):
    return [n for n in cluster.nodes if n is not node]


@pytest.mark.deadline(90)
def test_one_active_two_standbys(cluster):
    active = cluster.ensure_healthy()
    health = cluster.health_all()
    assert sorted(health.values()) == [200, 429, 429], health
    assert health[active.index] == 200
    for node in cluster.nodes:
        r = node.request("GET", "/v1/sys/health", token=None)
        body = r.json()
        assert body["initialized"] is True and body["sealed"] is False, body
        assert body["standby"] is (node is not active), (node, body)
        assert body["performance_standby"] is False
        # standbyok turns a standby's 429 into 200.
        ok = node.request("GET", "/v1/sys/health?standbyok=true", token=None)
        assert ok.status_code == 200, (node, ok.status_code)
        # HEAD carries the same status, no body.
        head = node.request("HEAD", "/v1/sys/health", token=None)
        assert head.status_code == health[node.index] and head.content == b""
    # The cluster agrees on one identity.
    ids = {n.request("GET", "/v1/sys/health", token=None).json().get("cluster_id")
           for n in cluster.nodes}
    assert len(ids) == 1 and None not in ids, ids


def test_leader_on_every_node_names_the_active(cluster):
    active = cluster.ensure_healthy()
    for node in cluster.nodes:
        body = cluster.leader_of(node)
        assert body["ha_enabled"] is True, body
        assert body["is_self"] is (node is active), (node, body)
        assert body["leader_address"] == active.addr, (node, body)
        assert body["leader_cluster_address"] == f"https://127.0.0.1:{active.cluster_port}", body
        # Always a parseable time (the zero time on a standby).
        assert is_rfc3339(body["active_time"]), body


def test_write_through_a_standby_reads_back_through_every_node(cluster):
    active = cluster.ensure_healthy()
    path = uniq("fwd")
    for writer in _others(cluster, active):
        # hvac against a standby: every request is forwarded to the active.
        client = writer.client()
        resp = client.secrets.kv.v2.create_or_update_secret(
            path=f"{path}/{writer.name}", secret={"by": writer.name}, mount_point=C.KV_MOUNT)
        assert resp["data"]["version"] == 1, resp
        client.adapter.close()
    for reader in cluster.nodes:
        client = reader.client()
        for writer in _others(cluster, active):
            got = client.secrets.kv.v2.read_secret_version(
                path=f"{path}/{writer.name}", mount_point=C.KV_MOUNT)
            assert got["data"]["data"] == {"by": writer.name}, (reader, got)
        keys = client.secrets.kv.v2.list_secrets(path=path, mount_point=C.KV_MOUNT)
        assert sorted(keys["data"]["keys"]) == sorted(n.name for n in _others(cluster, active))
        client.adapter.close()
    # A standby's own token checks happen on the active: a bad token is
    # refused the same way everywhere.
    for node in cluster.nodes:
        r = node.request("GET", f"/v1/{C.KV_MOUNT}/data/{path}/x", token="not-a-token")
        assert r.status_code == 403, (node, r.status_code, r.text[:200])


def test_forwarding_keeps_method_query_and_status(cluster):
    active = cluster.ensure_healthy()
    standby = _others(cluster, active)[0]
    path = uniq("fq")
    for i in range(3):
        r = C.kv_write(standby, path, {"n": str(i)})
        assert r.status_code == 200 and r.json()["data"]["version"] == i + 1, r.text
    # The query string survives forwarding.
    r = C.kv_read(standby, path, version=2)
    assert r.status_code == 200 and r.json()["data"]["data"] == {"n": "1"}, r.text
    # LIST (a custom method) and errors pass through unchanged.
    r = standby.request("LIST", f"/v1/{C.KV_MOUNT}/metadata/")
    assert r.status_code == 200 and f"{path}" in r.json()["data"]["keys"], r.text
    r = C.kv_write(standby, path, {"n": "x"}, cas=1)
    assert C.is_cas_mismatch(r), (r.status_code, r.text)
    assert r.headers.get("Content-Type") == "application/json"
    r = C.kv_read(standby, uniq("missing"))
    assert r.status_code == 404 and r.json() == {"errors": []}, r.text


@pytest.mark.deadline(90)
def test_redirect_mode_answers_307_to_the_active(cluster):
    active = cluster.ensure_healthy()
    standby = _others(cluster, active)[0]
    path = uniq("r307")
    try:
        cluster.restart(standby.index, disable_forwarding=True)
        active = cluster.wait_one_active()
        if active is standby:   # unlikely; redirect needs it to be a standby
            pytest.fail("the restarted node took over; cannot test 307 on it")
        target = f"/v1/{C.KV_MOUNT}/data/{path}?version=1"
        r = standby.request("GET", target)
        assert r.status_code == 307, (r.status_code, r.text[:300])
        assert r.headers.get("Location") == active.addr + target, r.headers
        assert r.content == b""
        # Raw endpoints are still answered locally.
        assert standby.health() == 429
        assert cluster.leader_of(standby)["leader_address"] == active.addr
        # requests/hvac follow a 307 keeping method and body.
        r = C.kv_write(standby, path, {"via": "307"})
        assert r.status_code == 307
        s = C.new_session()
        try:
            r = s.post(standby.url(f"/v1/{C.KV_MOUNT}/data/{path}"),
                       headers={"X-Vault-Token": cluster.root_token},
                       json={"data": {"via": "307"}}, verify=cluster.pki.ca, timeout=10)
        finally:
            s.close()
        assert r.status_code == 200 and r.json()["data"]["version"] == 1, r.text
        client = standby.client()   # hvac follows redirects by default
        got = client.secrets.kv.v2.read_secret_version(path=path, mount_point=C.KV_MOUNT)
        assert got["data"]["data"] == {"via": "307"}
        client.adapter.close()
    finally:
        cluster.restart(standby.index, disable_forwarding=False)
        cluster.wait_one_active()
    r = C.kv_read(standby, path)
    assert r.status_code == 200, "forwarding is back after the restart"


def test_ha_status_lists_three_nodes(cluster):
    active = cluster.ensure_healthy()
    for via in (active, _others(cluster, active)[0]):
        r = via.request("GET", "/v1/sys/ha-status")
        assert r.status_code == 200, (via, r.status_code, r.text[:300])
        nodes = r.json()["data"]["nodes"]
        assert len(nodes) == 3, nodes
        by_name = {n["hostname"]: n for n in nodes}
        assert set(by_name) == {"node1", "node2", "node3"}, nodes
        for node in cluster.nodes:
            entry = by_name[node.name]
            assert entry["api_address"] == node.addr, entry
            assert entry["cluster_address"] == f"https://127.0.0.1:{node.cluster_port}", entry
            assert entry["active_node"] is (node is active), entry
            if node is active:
                assert entry["last_echo"] is None, entry
            else:
                assert is_rfc3339(entry["last_echo"]), entry
            assert isinstance(entry["version"], str) and entry["version"], entry
    # Needs a token.
    assert active.request("GET", "/v1/sys/ha-status", token=None).status_code in (400, 403)


def test_raft_configuration_lists_the_etcd_members(cluster):
    active = cluster.ensure_healthy()
    leader = cluster.etcd_leader()
    for via in (active, _others(cluster, active)[0]):
        r = via.request("GET", "/v1/sys/storage/raft/configuration")
        assert r.status_code == 200, (r.status_code, r.text[:300])
        config = r.json()["data"]["config"]
        assert isinstance(config["index"], int) and config["index"] > 0, config
        servers = config["servers"]
        assert sorted(s["node_id"] for s in servers) == ["etcd1", "etcd2", "etcd3"], servers
        leaders = [s for s in servers if s["leader"] is True]
        assert len(leaders) == 1, servers
        assert leaders[0]["node_id"] == leader.name, (servers, leader.name)
        for s in servers:
            m = next(m for m in cluster.members if m.name == s["node_id"])
            assert s["address"] == f"127.0.0.1:{m.peer_port}", s
            assert s["voter"] is True and s["protocol_version"] == "3", s
    client = active.client()
    assert len(client.sys.read_raft_config()["data"]["config"]["servers"]) == 3
    client.adapter.close()


@pytest.mark.deadline(90)
def test_step_down_moves_the_active(cluster):
    active = cluster.ensure_healthy()
    timings = []
    for via_standby in (False, True):
        via = _others(cluster, active)[0] if via_standby else active
        t0 = time.monotonic()
        r = via.request("PUT", "/v1/sys/step-down")
        assert r.status_code == 204, (via, r.status_code, r.text[:300])
        new = cluster.wait_active(exclude=[active], timeout=10)
        took = time.monotonic() - t0
        timings.append(took)
        print(f"step-down sent to {'a standby' if via_standby else 'the active'} "
              f"({via.name}): {active.name} -> {new.name} in {took:.3f}s")
        assert new is not active
        settled = cluster.wait_one_active()
        assert settled is new, cluster.describe()
        # The old active learns the new leader at its next poll of the lock.
        assert cluster.wait_leader_known(active, timeout=5) == new.addr
        r = C.kv_write(active, uniq("after-stepdown"), {"ok": "1"})
        assert r.status_code == 200, r.text
        active = new
    # Needs sudo: refused without a token.
    assert active.request("PUT", "/v1/sys/step-down", token=None).status_code in (400, 403)


@pytest.mark.deadline(90)
def test_snapshot_save_and_restore(cluster):
    active = cluster.ensure_healthy()
    base = uniq("snap")
    for i in range(5):
        assert C.kv_write(active, f"{base}/early{i}", {"v": f"early{i}"}).status_code == 200
    r = active.request("GET", "/v1/sys/storage/raft/snapshot", timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    snapshot = r.content
    assert len(snapshot) > 100, len(snapshot)
    print(f"snapshot: {len(snapshot)} bytes, Content-Type {r.headers.get('Content-Type')}")

    # Through a standby: forwarded, or redirected to the active (Vault 307s).
    standby = _others(cluster, active)[0]
    r2 = standby.request("GET", "/v1/sys/storage/raft/snapshot", timeout=30)
    if r2.status_code == 307:
        assert r2.headers["Location"].startswith(active.addr), r2.headers
    else:
        assert r2.status_code == 200 and len(r2.content) > 100, (r2.status_code, r2.text[:200])

    # Later changes: a new key, a second version of an early key.
    assert C.kv_write(active, f"{base}/late", {"v": "late"}).status_code == 200
    r = C.kv_write(active, f"{base}/early0", {"v": "changed"})
    assert r.status_code == 200 and r.json()["data"]["version"] == 2

    r = active.request("POST", "/v1/sys/storage/raft/snapshot", data=snapshot,
                       headers={"Content-Type": "application/octet-stream"}, timeout=60)
    assert r.status_code in (200, 204), (r.status_code, r.text[:300])
    active = cluster.wait_one_active(timeout=20)
    for node in cluster.nodes:
        assert C.kv_read(node, f"{base}/late").status_code == 404, node
        for i in range(5):
            r = C.kv_read(node, f"{base}/early{i}")
            assert r.status_code == 200, (node, i, r.status_code, r.text[:200])
            body = r.json()["data"]
            assert body["data"] == {"v": f"early{i}"}, (node, i, body)
            assert body["metadata"]["version"] == 1, (node, i, body)
    # The cluster goes on working after the restore.
    assert C.kv_write(active, f"{base}/after", {"v": "after"}).status_code == 200

    # Garbage is refused and changes nothing.
    r = active.request("POST", "/v1/sys/storage/raft/snapshot", data=b"not a snapshot",
                       headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert C.kv_read(active, f"{base}/after").status_code == 200
