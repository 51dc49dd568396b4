"""Cubbyhole and fedcloudclient's "locker" (egi-clients.md 1.3), and the vault
CLI's KV preflight sys/internal/ui/mounts (vault-api.md 2.18, 9.4)."""

import hvac
import pytest

from harness import assert_envelope, assert_error, new_session, uniq


def locker_put(server, token, path, values):
    """Exactly what fedcloudclient's locker does: requests.post(data=dict)."""
    with new_session() as s:
        return s.post(server.url("/v1/cubbyhole/" + path), data=values,
                      headers={"X-Vault-Token": token}, verify=server.verify, timeout=15)


def locker_get(server, token, path):
    with new_session() as s:
        return s.get(server.url("/v1/cubbyhole/" + path), headers={"X-Vault-Token": token},
                     verify=server.verify, timeout=15)


def locker_list(server, token, path=""):
    with new_session() as s:
        return s.get(server.url("/v1/cubbyhole/" + path) + "?list=true",
                     headers={"X-Vault-Token": token}, verify=server.verify, timeout=15)


def test_cubbyhole_form_encoded_write(server, root):
    tok = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    r = locker_put(server, tok, "x", {"k": "v", "other": "a b&c=d"})
    assert r.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert r.status_code == 204, r.text
    r = locker_get(server, tok, "x")
    assert r.status_code == 200, r.text
    body = r.json()
    assert_envelope(body)
    assert body["data"] == {"k": "v", "other": "a b&c=d"}

    # JSON bodies work too, whatever the Content-Type says.
    r = server.request("POST", "/v1/cubbyhole/dir/j", token=tok, data='{"j": "son"}',
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 204, r.text
    assert locker_get(server, tok, "dir/j").json()["data"] == {"j": "son"}

    r = locker_list(server, tok)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["keys"] == ["dir/", "x"]

    r = server.request("DELETE", "/v1/cubbyhole/x", token=tok)
    assert r.status_code == 204
    assert_error(locker_get(server, tok, "x"), 404)


def test_cubbyhole_is_private_per_token_and_dies_with_it(server, root):
    a = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    b = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    assert locker_put(server, a, "mine", {"secret": "of-a"}).status_code == 204
    assert_error(locker_get(server, b, "mine"), 404)
    assert_error(locker_get(server, server.root_token, "mine"), 404)
    assert_error(locker_list(server, b), 404)
    root.auth.token.revoke(a)
    assert_error(locker_get(server, a, "mine"), 403)


def test_locker_flow(server, root):
    """fedcloudclient `secret locker create --ttl 24h --num-uses 2`, then put and get."""
    creator = uniq("jwtrole")
    root.sys.create_or_update_policy(
        name=creator, policy='path "auth/token/create" { capabilities = ["update"] }')
    user_token = root.auth.token.create(policies=[creator], ttl="1h")["auth"]["client_token"]
    user = server.client(token=user_token)

    renewed = user.auth.token.renew_self(increment="24h")
    assert renewed["auth"]["lease_duration"] == 86400

    with new_session() as s:
        r = s.post(server.url("/v1/auth/token/create"), verify=server.verify, timeout=15,
                   headers={"X-Vault-Token": user_token},
                   json={"policies": ["default"], "no_parent": False, "no_default_policy": False,
                         "renewable": False, "ttl": "24h", "display_name": "token", "num_uses": 2})
    assert r.status_code == 200, r.text
    auth = r.json()["auth"]
    assert auth["policies"] == ["default"]
    assert auth["renewable"] is False
    assert auth["num_uses"] == 2
    assert auth["lease_duration"] == 86400
    assert auth["orphan"] is False
    locker = auth["client_token"]

    # Use 1: put (form-encoded, as the client does).
    r = locker_put(server, locker, "deploy", {"data": "payload-for-the-vm"})
    assert r.status_code == 204, r.text
    # Use 2: get.
    r = locker_get(server, locker, "deploy")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"data": "payload-for-the-vm"}
    # Use 3: refused, the token is gone.
    assert_error(locker_get(server, locker, "deploy"), 403)
    assert_error(server.request("GET", "/v1/auth/token/lookup-self", token=locker), 403)
    # The parent is still fine.
    assert user.auth.token.lookup_self()["data"]["id"] == user_token


def test_locker_dies_with_parent(server, root):
    creator = uniq("jwtrole")
    root.sys.create_or_update_policy(
        name=creator, policy='path "auth/token/create" { capabilities = ["update"] }')
    user_token = root.auth.token.create(policies=[creator], ttl="1h")["auth"]["client_token"]
    locker = server.client(token=user_token).auth.token.create(
        policies=["default"], ttl="24h", renewable=False, num_uses=10)["auth"]["client_token"]
    assert locker_put(server, locker, "x", {"a": "b"}).status_code == 204
    root.auth.token.revoke(user_token)
    assert_error(locker_get(server, locker, "x"), 403)


def test_locker_check_is_lookup_self(server, root):
    locker = root.auth.token.create(policies=["default"], ttl="1h", num_uses=3,
                                    renewable=False)["auth"]["client_token"]
    info = server.client(token=locker).auth.token.lookup_self()["data"]
    for key in ("accessor", "creation_time", "creation_ttl", "display_name", "expire_time",
                "explicit_max_ttl", "id", "issue_time", "meta", "num_uses", "orphan", "path",
                "policies", "renewable", "ttl", "type"):
        assert key in info, key
    assert info["renewable"] is False
    assert info["policies"] == ["default"]
    assert server.client(token=locker).auth.token.revoke_self().status_code == 204


# ---------------------------------------------------------------------------
# vault CLI preflight


def test_ui_mounts_preflight(server, root):
    r = server.request("GET", "/v1/sys/internal/ui/mounts/secret/foo")
    assert r.status_code == 200, r.text
    body = r.json()
    assert_envelope(body)
    data = body["data"]
    assert data["path"] == "secret/"
    assert data["type"] == "kv"
    assert data["options"]["version"] == "2"
    assert isinstance(data["options"]["version"], str)

    v1 = uniq("pre-v1-")
    root.sys.enable_secrets_engine("kv", path=v1, options={"version": "1"})
    r = server.request("GET", f"/v1/sys/internal/ui/mounts/{v1}/some/key")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["path"] == v1 + "/"
    assert (r.json()["data"]["options"] or {}).get("version", "1") in ("1", "")

    # A token with access somewhere under the mount passes the preflight.
    pol = uniq("pre")
    root.sys.create_or_update_policy(name=pol, policy='path "secret/data/app/*" { capabilities = ["read"] }')
    tok = root.auth.token.create(policies=[pol], ttl="10m")["auth"]["client_token"]
    r = server.request("GET", "/v1/sys/internal/ui/mounts/secret/app/x", token=tok)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["path"] == "secret/"


def test_ui_mounts_preflight_denied(server, root):
    tok = root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    r = server.request("GET", "/v1/sys/internal/ui/mounts/secret/foo", token=tok)
    assert_error(r, 403)
    r = server.request("GET", "/v1/sys/internal/ui/mounts/secret/foo", token=None)
    assert_error(r, 403)
    r = server.request("GET", f"/v1/sys/internal/ui/mounts/{uniq('nomount')}/x")
    assert_error(r, (403, 404))


def test_ui_mounts_listing(server, root):
    r = server.request("GET", "/v1/sys/internal/ui/mounts")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) >= {"auth", "secret"}
    assert data["secret"]["secret/"]["type"] == "kv"
    assert data["secret"]["secret/"]["options"] == {"version": "2"}
    assert data["auth"]["token/"]["type"] == "token"
