"""KV version 2 at secret/ (vault-api.md 5.2–5.8, 9.5, 9.6) through hvac 0.11.2
kv.v2 and raw requests."""

import hvac
import pytest

from harness import assert_envelope, assert_error, assert_json_content_type, is_int, is_rfc3339, uniq

MOUNT = "secret"


@pytest.fixture
def kv(root):
    return root.secrets.kv.v2


def assert_version_metadata(md, version):
    assert md["version"] == version, md
    assert is_rfc3339(md["created_time"]) and md["created_time"].endswith("Z"), md
    assert isinstance(md["deletion_time"], str), md
    assert isinstance(md["destroyed"], bool), md
    assert "custom_metadata" in md, md


def test_write_read_versions_and_cas(server, kv):
    path = uniq("v2")
    resp = kv.create_or_update_secret(path=path, secret={"a": "1"})
    assert_envelope(resp)  # 200 with a body, not 204
    assert_version_metadata(resp["data"], 1)
    assert resp["data"]["deletion_time"] == ""
    assert resp["data"]["destroyed"] is False
    assert resp["data"]["custom_metadata"] is None

    # cas=0: only if the key does not exist.
    with pytest.raises(hvac.exceptions.InvalidRequest,
                       match="check-and-set parameter did not match the current version"):
        kv.create_or_update_secret(path=path, secret={"a": "x"}, cas=0)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="did not match"):
        kv.create_or_update_secret(path=path, secret={"a": "x"}, cas=5)
    assert kv.create_or_update_secret(path=path, secret={"a": "2"}, cas=1)["data"]["version"] == 2
    assert kv.create_or_update_secret(path=uniq("fresh"), secret={"a": "1"}, cas=0)["data"]["version"] == 1

    latest = kv.read_secret_version(path=path)
    assert_envelope(latest)
    assert latest["lease_duration"] == 0
    assert latest["data"]["data"] == {"a": "2"}
    assert_version_metadata(latest["data"]["metadata"], 2)
    old = kv.read_secret_version(path=path, version=1)
    assert old["data"]["data"] == {"a": "1"}
    assert old["data"]["metadata"]["version"] == 1

    # Out-of-range version: plain 404.
    r = server.request("GET", f"/v1/{MOUNT}/data/{path}", params={"version": 9})
    assert assert_error(r, 404) == []


def test_write_errors(server):
    path = uniq("bad")
    assert_error(server.request("POST", f"/v1/{MOUNT}/data/{path}", json={"options": {}}), 400,
                 "no data provided")
    assert_error(server.request("POST", f"/v1/{MOUNT}/data/{path}",
                                json={"data": {"a": "b"}, "options": {"cas": "notanumber"}}), 400)
    # Body without options (the vault CLI always sends it, curl users do not).
    r = server.request("PUT", f"/v1/{MOUNT}/data/{path}", json={"data": {"a": "b"}})
    assert r.status_code == 200 and r.json()["data"]["version"] == 1


def test_numbers_and_types_round_trip(server, kv):
    path = uniq("types")
    secret = {"int": 12345678901234567890, "odd": 9007199254740993, "f": 0.5, "b": False,
              "n": None, "l": [1, 2, [3]], "o": {"x": {"y": "z"}}, "u": "ünïcödé"}
    kv.create_or_update_secret(path=path, secret=secret)
    assert kv.read_secret_version(path=path)["data"]["data"] == secret


def test_numbers_keep_their_text_as_json_number(server):
    # Vault decodes bodies with json.Number: what a client wrote comes back
    # as written (vault-api.md 9), in data, old versions and patches.
    path = uniq("numtext")
    body = '{"data":{"a":1e3,"b":1.10,"c":123456789012345678901234567890,"l":[2.50,{"g":1E-7}]}}'
    r = server.request("POST", f"/v1/{MOUNT}/data/{path}", data=body,
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    want = '{"a":1e3,"b":1.10,"c":123456789012345678901234567890,"l":[2.50,{"g":1E-7}]}'
    r = server.request("GET", f"/v1/{MOUNT}/data/{path}")
    assert r.status_code == 200
    assert '"data":{"data":' + want + ',"metadata"' in r.text
    r = server.request("PATCH", f"/v1/{MOUNT}/data/{path}", data='{"data":{"z":0.50}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text
    r = server.request("GET", f"/v1/{MOUNT}/data/{path}")
    assert '"b":1.10,' in r.text and '"z":0.50}' in r.text
    r = server.request("GET", f"/v1/{MOUNT}/data/{path}", params={"version": 1})
    assert '"data":{"data":' + want + ',"metadata"' in r.text
    # An integer field given a literal that is not an int64 is refused.
    r = server.request("POST", f"/v1/{MOUNT}/data/{path}",
                       data='{"data":{"a":1},"options":{"cas":2e0}}',
                       headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_patch_client_side_and_http_patch(server, kv):
    path = uniq("patch")
    kv.create_or_update_secret(path=path, secret={"a": "1", "b": "2"})
    resp = kv.patch(path=path, secret={"b": "20", "c": "3"})  # hvac: read, merge, write with cas
    assert resp["data"]["version"] == 2
    assert kv.read_secret_version(path=path)["data"]["data"] == {"a": "1", "b": "20", "c": "3"}

    # Real HTTP PATCH (RFC 7396): null removes a key.
    r = server.request("PATCH", f"/v1/{MOUNT}/data/{path}",
                       headers={"Content-Type": "application/merge-patch+json"},
                       json={"data": {"a": None, "d": {"e": "f"}}, "options": {}})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["version"] == 3
    assert kv.read_secret_version(path=path)["data"]["data"] == {"b": "20", "c": "3", "d": {"e": "f"}}

    r = server.request("PATCH", f"/v1/{MOUNT}/data/{path}", json={"data": {"x": "y"}})
    assert_error(r, 415, "application/merge-patch+json")
    r = server.request("PATCH", f"/v1/{MOUNT}/data/{path}",
                       headers={"Content-Type": "application/merge-patch+json"},
                       json={"data": {"x": "y"}, "options": {"cas": 1}})
    assert_error(r, 400, "check-and-set")
    r = server.request("PATCH", f"/v1/{MOUNT}/data/{uniq('missing')}",
                       headers={"Content-Type": "application/merge-patch+json"},
                       json={"data": {"x": "y"}})
    assert r.status_code == 404


def test_list(server, kv):
    base = uniq("list")
    for p in ("b", "a", "dir/one", "dir/two"):
        kv.create_or_update_secret(path=f"{base}/{p}", secret={"p": p})
    listed = kv.list_secrets(path=base)
    assert_envelope(listed)
    assert listed["data"]["keys"] == ["a", "b", "dir/"]
    assert kv.list_secrets(path=f"{base}/dir")["data"]["keys"] == ["one", "two"]
    assert f"{base}/" in kv.list_secrets(path="")["data"]["keys"]  # LIST secret/metadata (no slash)
    for method, params in (("LIST", None), ("GET", {"list": "true"})):
        r = server.request(method, f"/v1/{MOUNT}/metadata/{base}", params=params)
        assert r.status_code == 200 and r.json()["data"]["keys"] == ["a", "b", "dir/"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.list_secrets(path=uniq("empty"))
    assert assert_error(server.request("LIST", f"/v1/{MOUNT}/metadata/{uniq('empty')}"), 404) == []


def test_metadata_read_and_update(server, kv):
    path = uniq("meta")
    for i in range(3):
        kv.create_or_update_secret(path=path, secret={"i": str(i)})
    md = kv.read_secret_metadata(path=path)
    assert_envelope(md)
    d = md["data"]
    assert d["current_version"] == 3
    assert d["oldest_version"] == 0
    assert d["max_versions"] == 0
    assert d["cas_required"] is False
    assert d["delete_version_after"] == "0s"
    assert d["custom_metadata"] is None
    assert is_rfc3339(d["created_time"]) and is_rfc3339(d["updated_time"])
    assert set(d["versions"]) == {"1", "2", "3"}
    for v in d["versions"].values():
        assert is_rfc3339(v["created_time"])
        assert v["deletion_time"] == "" and v["destroyed"] is False

    resp = kv.update_metadata(path=path, max_versions=5, cas_required=True, delete_version_after="3h")
    assert resp.status_code == 204
    r = server.request("POST", f"/v1/{MOUNT}/metadata/{path}",
                       json={"custom_metadata": {"owner": "alice", "team": "ops"}})
    assert r.status_code == 204, r.text
    d = kv.read_secret_metadata(path=path)["data"]
    assert d["max_versions"] == 5
    assert d["cas_required"] is True
    assert d["delete_version_after"] == "3h0m0s"
    assert d["custom_metadata"] == {"owner": "alice", "team": "ops"}

    # cas_required on the key: a write without cas is refused.
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set parameter required"):
        kv.create_or_update_secret(path=path, secret={"i": "x"})
    resp = kv.create_or_update_secret(path=path, secret={"i": "3"}, cas=3)
    assert resp["data"]["version"] == 4
    assert resp["data"]["custom_metadata"] == {"owner": "alice", "team": "ops"}
    # delete_version_after schedules a deletion time in the future.
    assert is_rfc3339(resp["data"]["deletion_time"])
    latest = kv.read_secret_version(path=path)["data"]["metadata"]
    assert latest["custom_metadata"] == {"owner": "alice", "team": "ops"}

    # PATCH on metadata merges fields; null removes a custom_metadata key.
    r = server.request("PATCH", f"/v1/{MOUNT}/metadata/{path}",
                       headers={"Content-Type": "application/merge-patch+json"},
                       json={"custom_metadata": {"team": None, "env": "prod"}, "max_versions": 7})
    assert r.status_code == 204, r.text
    d = kv.read_secret_metadata(path=path)["data"]
    assert d["custom_metadata"] == {"owner": "alice", "env": "prod"}
    assert d["max_versions"] == 7 and d["cas_required"] is True

    r = server.request("POST", f"/v1/{MOUNT}/metadata/{path}", json={"custom_metadata": {"": "x"}})
    assert_error(r, 400, "custom_metadata")


def test_metadata_can_be_created_before_data(server, kv):
    path = uniq("pre")
    kv.update_metadata(path=path, max_versions=2)
    d = kv.read_secret_metadata(path=path)["data"]
    assert d["current_version"] == 0 and d["versions"] == {} and d["max_versions"] == 2


def test_max_versions_prunes_old_versions(server, kv):
    path = uniq("prune")
    kv.update_metadata(path=path, max_versions=2)
    for i in range(1, 5):
        kv.create_or_update_secret(path=path, secret={"i": str(i)})
    d = kv.read_secret_metadata(path=path)["data"]
    assert d["current_version"] == 4
    assert set(d["versions"]) == {"3", "4"}
    assert d["oldest_version"] == 3
    r = server.request("GET", f"/v1/{MOUNT}/data/{path}", params={"version": 1})
    assert assert_error(r, 404) == []
    assert kv.read_secret_version(path=path, version=3)["data"]["data"] == {"i": "3"}


def _raw_read(server, path, version=None):
    params = {"version": version} if version is not None else None
    return server.request("GET", f"/v1/{MOUNT}/data/{path}", params=params)


def assert_deleted_body(r, version, destroyed):
    """404 whose body is the full envelope with data.data null and metadata."""
    assert r.status_code == 404, r.text
    assert_json_content_type(r)
    body = r.json()
    assert "errors" not in body, body
    assert_envelope(body)
    assert body["data"]["data"] is None
    md = body["data"]["metadata"]
    assert md["version"] == version
    assert md["destroyed"] is destroyed
    if not destroyed:
        assert is_rfc3339(md["deletion_time"]), md


def test_delete_undelete_destroy(server, kv):
    path = uniq("life")
    for i in range(1, 4):
        kv.create_or_update_secret(path=path, secret={"i": str(i)})

    # Soft-delete the latest version.
    assert kv.delete_latest_version_of_secret(path=path).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path)
    assert_deleted_body(_raw_read(server, path), 3, destroyed=False)
    assert kv.read_secret_version(path=path, version=2)["data"]["data"] == {"i": "2"}

    assert kv.undelete_secret_versions(path=path, versions=[3]).status_code == 204
    assert kv.read_secret_version(path=path)["data"]["data"] == {"i": "3"}
    assert kv.read_secret_version(path=path)["data"]["metadata"]["deletion_time"] == ""

    assert kv.delete_secret_versions(path=path, versions=[1, 2]).status_code == 204
    assert_deleted_body(_raw_read(server, path, 1), 1, destroyed=False)
    assert_deleted_body(_raw_read(server, path, 2), 2, destroyed=False)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path, version=1)

    assert kv.destroy_secret_versions(path=path, versions=[1]).status_code == 204
    assert_deleted_body(_raw_read(server, path, 1), 1, destroyed=True)
    # Destroyed versions cannot be undeleted; deleted ones can.
    kv.undelete_secret_versions(path=path, versions=[1, 2])
    assert_deleted_body(_raw_read(server, path, 1), 1, destroyed=True)
    assert kv.read_secret_version(path=path, version=2)["data"]["data"] == {"i": "2"}

    md = kv.read_secret_metadata(path=path)["data"]["versions"]
    assert md["1"]["destroyed"] is True
    assert md["2"]["destroyed"] is False and md["2"]["deletion_time"] == ""

    # versions given as strings and as a comma string are accepted.
    r = server.request("POST", f"/v1/{MOUNT}/delete/{path}", json={"versions": "2,3"})
    assert r.status_code == 204, r.text
    r = server.request("POST", f"/v1/{MOUNT}/undelete/{path}", json={"versions": ["2", "3"]})
    assert r.status_code == 204, r.text
    assert kv.read_secret_version(path=path)["data"]["metadata"]["version"] == 3

    for op in ("delete", "undelete", "destroy"):
        r = server.request("POST", f"/v1/{MOUNT}/{op}/{path}", json={"versions": []})
        assert_error(r, 400)


def test_delete_metadata_removes_everything(server, kv):
    path = uniq("wipe")
    kv.create_or_update_secret(path=path, secret={"a": "1"})
    kv.create_or_update_secret(path=path, secret={"a": "2"})
    assert kv.delete_metadata_and_all_versions(path=path).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata(path=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path)
    assert assert_error(_raw_read(server, path), 404) == []
    # Versions restart at 1.
    assert kv.create_or_update_secret(path=path, secret={"a": "3"})["data"]["version"] == 1
    assert kv.delete_metadata_and_all_versions(path=uniq("never")).status_code == 204


def test_engine_configuration(server, root):
    mount = uniq("kvcfg-")
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": 2})
    kv = root.secrets.kv.v2
    assert kv.read_configuration(mount_point=mount)["data"] == {
        "max_versions": 0, "cas_required": False, "delete_version_after": "0s"}
    assert kv.configure(max_versions=7, cas_required=True, delete_version_after="1h",
                        mount_point=mount).status_code == 204
    assert kv.read_configuration(mount_point=mount)["data"] == {
        "max_versions": 7, "cas_required": True, "delete_version_after": "1h0m0s"}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set parameter required"):
        kv.create_or_update_secret(path="x", secret={"a": "b"}, mount_point=mount)
    assert kv.create_or_update_secret(path="x", secret={"a": "b"}, cas=0,
                                      mount_point=mount)["data"]["version"] == 1
    kv.configure(max_versions=0, cas_required=False, delete_version_after="0s", mount_point=mount)
    assert kv.read_configuration(mount_point=mount)["data"]["cas_required"] is False


def test_subkeys(server, kv):
    path = uniq("subkeys")
    kv.create_or_update_secret(path=path, secret={"a": "1", "b": {"c": "2", "d": {"e": 3}}})
    r = server.request("GET", f"/v1/{MOUNT}/subkeys/{path}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert_envelope(body)
    assert body["data"]["subkeys"] == {"a": None, "b": {"c": None, "d": {"e": None}}}
    assert body["data"]["metadata"]["version"] == 1
    r = server.request("GET", f"/v1/{MOUNT}/subkeys/{path}", params={"depth": 1})
    assert r.json()["data"]["subkeys"] == {"a": None, "b": None}
    kv.delete_latest_version_of_secret(path=path)
    r = server.request("GET", f"/v1/{MOUNT}/subkeys/{path}")
    assert r.status_code == 404


def test_invalid_v2_paths_warn(server):
    r = server.request("GET", f"/v1/{MOUNT}/{uniq('flat')}")
    assert r.status_code == 404
    assert_json_content_type(r)
    body = r.json()
    assert body.get("data") is None
    assert any(w.startswith("Invalid path for a versioned K/V secrets engine")
               for w in body.get("warnings") or []), body
    r = server.request("POST", f"/v1/{MOUNT}/data/", json={"data": {"a": "b"}})
    assert_error(r, (400, 404))


def test_non_root_token_with_kv_v2_policy(server, root, kv):
    base = uniq("team")
    pol = uniq("kvpol")
    root.sys.create_or_update_policy(name=pol, policy=(
        f'path "secret/data/{base}/*" {{ capabilities = ["create", "read", "update"] }}\n'
        f'path "secret/metadata/{base}/*" {{ capabilities = ["list", "read"] }}\n'))
    tok = root.auth.token.create(policies=[pol], ttl="10m")["auth"]["client_token"]
    user = server.client(token=tok).secrets.kv.v2
    user.create_or_update_secret(path=f"{base}/x", secret={"k": "v"})
    assert user.read_secret_version(path=f"{base}/x")["data"]["data"] == {"k": "v"}
    assert user.list_secrets(path=base)["data"]["keys"] == ["x"]
    with pytest.raises(hvac.exceptions.Forbidden):
        user.delete_latest_version_of_secret(path=f"{base}/x")
    with pytest.raises(hvac.exceptions.Forbidden):
        user.destroy_secret_versions(path=f"{base}/x", versions=[1])
    # HTTP PATCH needs the patch capability.
    r = server.request("PATCH", f"/v1/{MOUNT}/data/{base}/x", token=tok,
                       headers={"Content-Type": "application/merge-patch+json"},
                       json={"data": {"k": "w"}})
    assert_error(r, 403)
    # hvac's patch (read + write with cas) works with read+update.
    user.patch(path=f"{base}/x", secret={"k2": "v2"})
    assert kv.read_secret_version(path=f"{base}/x")["data"]["data"] == {"k": "v", "k2": "v2"}
