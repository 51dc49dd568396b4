"""KV version 1 (vault-api.md 5.1) through hvac 0.11.2 kv.v1 and raw requests,
the way EGI's clients use `secrets/` (egi-clients.md 1.1, 1.3)."""

import hvac
import pytest

from harness import assert_envelope, assert_error, uniq

SYSTEM_DEFAULT_TTL = 2764800


@pytest.fixture(scope="module")
def mount(server):
    name = uniq("kv1-")
    server.client().sys.enable_secrets_engine("kv", path=name, options={"version": "1"})
    return name


def test_create_then_update_probe_get_then_post_or_put(server, root, mount):
    path = f"users/{uniq('sub')}@egi.eu/app"
    kv = root.secrets.kv.v1
    # Absent: hvac probes with GET (404) and then POSTs.
    resp = kv.create_or_update_secret(path=path, secret={"user": "alice", "pass": "p1"},
                                      mount_point=mount)
    assert resp.status_code == 204
    assert resp.content == b""
    got = kv.read_secret(path=path, mount_point=mount)
    assert_envelope(got)
    assert got["data"] == {"user": "alice", "pass": "p1"}
    # Present: GET (200) then PUT, which replaces the whole object.
    resp = kv.create_or_update_secret(path=path, secret={"user": "bob"}, mount_point=mount)
    assert resp.status_code == 204
    assert kv.read_secret(path=path, mount_point=mount)["data"] == {"user": "bob"}
    # Explicit methods.
    assert kv.create_or_update_secret(path=path, secret={"m": "post"}, method="POST",
                                      mount_point=mount).status_code == 204
    assert kv.read_secret(path=path, mount_point=mount)["data"] == {"m": "post"}
    assert kv.create_or_update_secret(path=path, secret={"m": "put"}, method="PUT",
                                      mount_point=mount).status_code == 204
    assert kv.read_secret(path=path, mount_point=mount)["data"] == {"m": "put"}


def test_read_envelope_and_lease_duration(server, root, mount):
    path = uniq("lease")
    root.secrets.kv.v1.create_or_update_secret(path=path, secret={"a": "b"}, mount_point=mount)
    got = root.secrets.kv.v1.read_secret(path=path, mount_point=mount)
    assert got["lease_duration"] == SYSTEM_DEFAULT_TTL
    assert got["lease_id"] == ""
    assert got["renewable"] is False
    assert got["auth"] is None
    assert got["wrap_info"] is None

    # A `ttl` key in the data sets the lease duration and is returned as data.
    root.secrets.kv.v1.create_or_update_secret(path=path + "-ttl", secret={"a": "b", "ttl": "1h"},
                                               mount_point=mount)
    got = root.secrets.kv.v1.read_secret(path=path + "-ttl", mount_point=mount)
    assert got["lease_duration"] == 3600
    assert got["data"] == {"a": "b", "ttl": "1h"}
    root.secrets.kv.v1.create_or_update_secret(path=path + "-ttl2", secret={"ttl": 90, "x": "y"},
                                               mount_point=mount)
    assert root.secrets.kv.v1.read_secret(path=path + "-ttl2", mount_point=mount)["lease_duration"] == 90


def test_values_of_any_json_type_round_trip(server, root, mount):
    path = uniq("types")
    secret = {"s": "x", "i": 42, "big": 12345678901234567890, "odd": 9007199254740993,
              "neg": -7, "f": 0.25, "t": True, "n": None, "list": [1, "two", {"three": 3}],
              "obj": {"nested": {"deep": "yes"}}, "unicode": "žluťoučký kůň ✓",
              "pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}
    root.secrets.kv.v1.create_or_update_secret(path=path, secret=secret, mount_point=mount)
    assert root.secrets.kv.v1.read_secret(path=path, mount_point=mount)["data"] == secret


def test_large_secret(server, root, mount):
    path = uniq("large")
    value = "A" * (512 * 1024)
    root.secrets.kv.v1.create_or_update_secret(path=path, secret={"blob": value}, mount_point=mount)
    assert root.secrets.kv.v1.read_secret(path=path, mount_point=mount)["data"]["blob"] == value


def test_list_folders_and_keys(server, root, mount):
    base = uniq("dir")
    for p in ("b", "a", "sub/x", "sub/y", "zz/deeper/k"):
        root.secrets.kv.v1.create_or_update_secret(path=f"{base}/{p}", secret={"v": p},
                                                   mount_point=mount)
    listed = root.secrets.kv.v1.list_secrets(path=base, mount_point=mount)
    assert_envelope(listed)
    assert listed["data"]["keys"] == ["a", "b", "sub/", "zz/"]
    assert root.secrets.kv.v1.list_secrets(path=f"{base}/sub", mount_point=mount)["data"]["keys"] == ["x", "y"]
    # The three list spellings are equivalent.
    for method, params in (("LIST", None), ("GET", {"list": "true"}), ("GET", {"list": "True"}),
                           ("GET", {"list": "1"})):
        r = server.request(method, f"/v1/{mount}/{base}/", params=params)
        assert r.status_code == 200, (method, params, r.text)
        assert r.json()["data"]["keys"] == ["a", "b", "sub/", "zz/"]
    r = server.request("GET", f"/v1/{mount}/{base}/", params={"list": "maybe"})
    assert_error(r, 400)
    # The mount root lists top-level folders.
    assert f"{base}/" in root.secrets.kv.v1.list_secrets(path="", mount_point=mount)["data"]["keys"]


def test_missing_secret_and_empty_folder_are_404(server, root, mount):
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v1.read_secret(path=uniq("absent"), mount_point=mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v1.list_secrets(path=uniq("nofolder"), mount_point=mount)
    errors = assert_error(server.request("GET", f"/v1/{mount}/{uniq('absent')}"), 404)
    assert errors == []
    errors = assert_error(server.request("LIST", f"/v1/{mount}/{uniq('nofolder')}/"), 404)
    assert errors == []
    assert root.read(f"{mount}/{uniq('absent')}") is None


def test_delete(server, root, mount):
    path = uniq("del")
    root.secrets.kv.v1.create_or_update_secret(path=path, secret={"a": "b"}, mount_point=mount)
    assert root.secrets.kv.v1.delete_secret(path=path, mount_point=mount).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v1.read_secret(path=path, mount_point=mount)
    # Deleting again (missing key) is still 204.
    assert root.secrets.kv.v1.delete_secret(path=path, mount_point=mount).status_code == 204


def test_write_errors(server, mount):
    assert_error(server.request("POST", f"/v1/{mount}/{uniq('e')}", json={}), 400, "missing data fields")
    assert_error(server.request("PUT", f"/v1/{mount}/{uniq('e')}", data=b""), 400)
    assert_error(server.request("POST", f"/v1/{mount}/{uniq('e')}/", json={"a": "b"}), 400,
                 "cannot write to a path ending in '/'")


def test_mount_slashes_as_egi_clients_send_them(server, root, mount):
    # fedcloudclient passes mount_point="/secrets/"; hvac collapses the //.
    path = uniq("slash")
    root.secrets.kv.v1.create_or_update_secret(path=path, secret={"a": "b"}, mount_point=f"/{mount}/")
    assert root.secrets.kv.v1.read_secret(path=path, mount_point=f"/{mount}/")["data"] == {"a": "b"}
    assert f"{path}" in root.secrets.kv.v1.list_secrets(path="", mount_point=f"/{mount}/")["data"]["keys"]


def test_create_and_update_capabilities_follow_existence(server, root, mount):
    base = uniq("acl")
    pol = uniq("createonly")
    root.sys.create_or_update_policy(name=pol, policy=(
        f'path "{mount}/{base}/*" {{ capabilities = ["create", "read"] }}'))
    tok = root.auth.token.create(policies=[pol], ttl="10m")["auth"]["client_token"]
    # New key: create is enough.
    r = server.request("POST", f"/v1/{mount}/{base}/new", token=tok, json={"v": "1"})
    assert r.status_code == 204, r.text
    # Existing key: update is needed, for POST and PUT alike.
    for method in ("POST", "PUT"):
        r = server.request(method, f"/v1/{mount}/{base}/new", token=tok, json={"v": "2"})
        assert_error(r, 403)
    assert root.secrets.kv.v1.read_secret(path=f"{base}/new", mount_point=mount)["data"] == {"v": "1"}


def test_path_with_spaces_and_unicode(server, root, mount):
    path = uniq("sp") + "/with space/ünïcode"
    root.secrets.kv.v1.create_or_update_secret(path=path, secret={"a": "b"}, mount_point=mount)
    assert root.secrets.kv.v1.read_secret(path=path, mount_point=mount)["data"] == {"a": "b"}


def test_numbers_keep_their_text(server, mount):
    path = uniq("numtext")
    r = server.request("POST", f"/v1/{mount}/{path}", data='{"n":1.10,"big":123456789012345678901234567890}',
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 204, r.text
    r = server.request("GET", f"/v1/{mount}/{path}")
    assert '"data":{"big":123456789012345678901234567890,"n":1.10}' in r.text
    r = server.request("POST", f"/v1/cubbyhole/{path}", data='{"n":1e3}',
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 204, r.text
    assert '"data":{"n":1e3}' in server.request("GET", f"/v1/cubbyhole/{path}").text
