"""The token auth method (vault-api.md 4) through hvac 0.11.2."""

import re

import hvac
import pytest

from harness import BASE62_RE, assert_envelope, assert_error, is_int, is_rfc3339, uniq

SYSTEM_DEFAULT_TTL = 2764800


def make_policy(root, rules):
    name = uniq("tokpol")
    root.sys.create_or_update_policy(name=name, policy=rules)
    return name


def creator_policy(root):
    """A policy that may create child tokens (like an EGI JWT-login role)."""
    return make_policy(root, 'path "auth/token/create" { capabilities = ["update"] }\n'
                             'path "auth/token/create-orphan" { capabilities = ["update"] }\n')


def create_orphan(client, **params):
    """POST auth/token/create-orphan with the body hvac's legacy
    Client.create_token(orphan=True) sends (nulls for everything unset);
    the legacy method itself forces DeprecationWarnings on."""
    body = {"id": None, "policies": None, "meta": None, "no_parent": False, "display_name": None,
            "num_uses": None, "no_default_policy": False, "renewable": None, "ttl": None,
            "explicit_max_ttl": None}
    body.update(params)
    return client.adapter.post("/v1/auth/token/create-orphan", json=body)


def assert_auth_block(auth):
    assert isinstance(auth["client_token"], str) and auth["client_token"].startswith("hvs.")
    assert len(auth["accessor"]) == 24 and BASE62_RE.match(auth["accessor"]), auth["accessor"]
    assert isinstance(auth["policies"], list) and auth["policies"] == sorted(auth["policies"])
    assert auth["metadata"] is None or (
        isinstance(auth["metadata"], dict)
        and all(isinstance(v, str) for v in auth["metadata"].values()))
    assert is_int(auth["lease_duration"])
    assert isinstance(auth["renewable"], bool)
    assert isinstance(auth["entity_id"], str)
    assert auth["token_type"] == "service"
    assert isinstance(auth["orphan"], bool)
    assert is_int(auth["num_uses"])


def test_create_token_with_everything(root):
    pol = make_policy(root, 'path "secret/data/x" { capabilities = ["read"] }')
    resp = root.auth.token.create(policies=[pol], ttl="1h", num_uses=0,
                                  meta={"team": "blue", "n": "1"}, display_name="my app")
    assert_envelope(resp)
    assert resp["data"] is None
    auth = resp["auth"]
    assert_auth_block(auth)
    assert auth["policies"] == sorted(["default", pol])
    assert auth["token_policies"] == sorted(["default", pol])
    assert auth["metadata"] == {"team": "blue", "n": "1"}
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["entity_id"] == ""
    assert auth["orphan"] is False
    assert auth["num_uses"] == 0

    info = root.auth.token.lookup(auth["client_token"])["data"]
    assert info["id"] == auth["client_token"]
    assert info["accessor"] == auth["accessor"]
    assert info["display_name"] == "token-my-app"
    assert info["meta"] == {"team": "blue", "n": "1"}
    assert info["policies"] == sorted(["default", pol])
    assert info["path"] == "auth/token/create"
    assert info["creation_ttl"] == 3600
    assert 3500 <= info["ttl"] <= 3600
    assert info["num_uses"] == 0
    assert info["orphan"] is False
    assert info["renewable"] is True
    assert info["type"] == "service"
    assert info["explicit_max_ttl"] == 0
    assert info["entity_id"] == ""
    assert is_int(info["creation_time"]) and info["creation_time"] > 1_600_000_000
    assert is_rfc3339(info["issue_time"]), info["issue_time"]
    assert is_rfc3339(info["expire_time"]), info["expire_time"]


def test_create_defaults_and_policy_normalisation(root):
    resp = root.auth.token.create(policies=["Default", "ZZ-Pol", "aa-pol", "zz-pol"])
    auth = resp["auth"]
    assert auth["policies"] == ["aa-pol", "default", "zz-pol"]
    assert auth["lease_duration"] == SYSTEM_DEFAULT_TTL
    assert auth["metadata"] is None
    warnings = resp["warnings"] or []
    assert isinstance(warnings, list)

    # no_default_policy drops default (root caller).
    auth = root.auth.token.create(policies=["only"], no_default_policy=True)["auth"]
    assert auth["policies"] == ["only"]


def test_root_token_lookup_self(server, root):
    resp = root.auth.token.lookup_self()
    assert_envelope(resp)
    info = resp["data"]
    assert info["id"] == server.root_token
    assert info["policies"] == ["root"]
    assert info["ttl"] == 0
    assert info["creation_ttl"] == 0
    assert info["expire_time"] is None
    assert info["display_name"] == "root"
    assert info["path"] == "auth/token/root"
    assert info["orphan"] is True
    assert info["num_uses"] == 0
    assert info["meta"] is None
    assert info["entity_id"] == ""
    assert len(info["accessor"]) == 24


def test_two_use_token_is_refused_on_third_use(server, root):
    auth = root.auth.token.create(policies=["default"], ttl="1h", num_uses=2)["auth"]
    assert auth["num_uses"] == 2
    limited = server.client(token=auth["client_token"])

    assert limited.auth.token.lookup_self()["data"]["accessor"] == auth["accessor"]
    assert root.auth.token.lookup_accessor(auth["accessor"])["data"]["num_uses"] == 1
    limited.sys.get_capabilities(paths=["cubbyhole/x"])  # second use
    with pytest.raises(hvac.exceptions.Forbidden):
        limited.auth.token.lookup_self()
    r = server.request("GET", "/v1/auth/token/lookup-self", token=auth["client_token"])
    assert_error(r, 403, "permission denied")
    # The token is gone for everyone.
    r = server.request("POST", "/v1/auth/token/lookup-accessor", json={"accessor": auth["accessor"]})
    assert_error(r, 400)


def test_child_dies_with_parent_orphan_survives(server, root):
    pol = creator_policy(root)
    parent = root.auth.token.create(policies=[pol], ttl="1h")["auth"]["client_token"]
    p = server.client(token=parent)
    child = p.auth.token.create(policies=["default"], ttl="30m")["auth"]
    assert child["orphan"] is False
    assert child["policies"] == ["default"]
    orphan = create_orphan(p, policies=["default"], ttl="30m")["auth"]
    assert orphan["orphan"] is True
    assert server.client(token=child["client_token"]).auth.token.lookup_self()["data"]["orphan"] is False

    assert root.auth.token.revoke(parent).status_code == 204
    for tok in (parent, child["client_token"]):
        r = server.request("GET", "/v1/auth/token/lookup-self", token=tok)
        assert_error(r, 403)
    assert server.client(token=orphan["client_token"]).auth.token.lookup_self()["data"]["orphan"] is True


def test_non_root_parent_policy_subset_rule(server, root):
    pol = creator_policy(root)
    other = make_policy(root, 'path "x/*" { capabilities = ["read"] }')
    parent = server.client(token=root.auth.token.create(policies=[pol], ttl="1h")["auth"]["client_token"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="subset"):
        parent.auth.token.create(policies=[other])
    # No policies given: the child copies the parent's.
    child = parent.auth.token.create(ttl="5m")["auth"]
    assert child["policies"] == sorted(["default", pol])
    # A non-root parent cannot mint root tokens.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        parent.auth.token.create(policies=["root"])


def test_restricted_use_token_cannot_create_children(server, root):
    pol = creator_policy(root)
    tok = root.auth.token.create(policies=[pol], ttl="1h", num_uses=5)["auth"]["client_token"]
    r = server.request("POST", "/v1/auth/token/create", token=tok, json={"policies": ["default"]})
    assert_error(r, 400, "restricted use token cannot generate child tokens")


def test_renew_self_with_increment(server, root):
    auth = root.auth.token.create(policies=["default"], ttl="1h")["auth"]
    me = server.client(token=auth["client_token"])
    resp = me.auth.token.renew_self(increment="2h")
    assert_envelope(resp)
    assert resp["auth"]["lease_duration"] == 7200
    assert resp["auth"]["renewable"] is True
    assert resp["auth"]["client_token"] == auth["client_token"]
    assert resp["auth"]["accessor"] == auth["accessor"]
    info = me.auth.token.lookup_self()["data"]
    assert 7100 <= info["ttl"] <= 7200
    assert info["creation_ttl"] == 3600
    # Integer seconds are accepted as the increment too.
    assert me.auth.token.renew_self(increment=600)["auth"]["lease_duration"] == 600

    # renew (by token) from root.
    resp = root.auth.token.renew(auth["client_token"], increment="30m")
    assert resp["auth"]["lease_duration"] == 1800


def test_renew_refused_for_non_renewable_and_root(server, root):
    tok = root.auth.token.create(policies=["default"], ttl="1h", renewable=False)["auth"]["client_token"]
    r = server.request("POST", "/v1/auth/token/renew-self", token=tok, json={"increment": "2h"})
    assert_error(r, 400)
    r = server.request("POST", "/v1/auth/token/renew-self", json={"increment": "2h"})
    assert_error(r, 400)


def test_lookup_shapes(server, root):
    auth = root.auth.token.create(policies=["default"], ttl="1h", meta={"k": "v"})["auth"]
    by_token = root.auth.token.lookup(auth["client_token"])["data"]
    by_self = server.client(token=auth["client_token"]).auth.token.lookup_self()["data"]
    by_acc = root.auth.token.lookup_accessor(auth["accessor"])["data"]
    for info in (by_token, by_self, by_acc):
        assert info["accessor"] == auth["accessor"]
        assert info["policies"] == ["default"]
        assert info["meta"] == {"k": "v"}
        assert info["path"] == "auth/token/create"
        assert info["type"] == "service"
        for key in ("creation_time", "creation_ttl", "ttl", "num_uses", "explicit_max_ttl"):
            assert is_int(info[key]), (key, info)
    assert by_token["id"] == auth["client_token"]
    assert by_self["id"] == auth["client_token"]
    assert by_acc["id"] == ""

    r = server.request("POST", "/v1/auth/token/lookup", json={"token": "hvs.doesnotexist"})
    assert_error(r, 403, "bad token")
    r = server.request("POST", "/v1/auth/token/lookup-accessor", json={"accessor": "nope" * 6})
    assert_error(r, 400, "invalid accessor")


def test_revoke_accessor_and_revoke_self(server, root):
    auth = root.auth.token.create(policies=["default"], ttl="1h")["auth"]
    assert root.auth.token.revoke_accessor(auth["accessor"]).status_code == 204
    assert_error(server.request("GET", "/v1/auth/token/lookup-self", token=auth["client_token"]), 403)
    # Unknown accessor: 200 with a warning.
    r = server.request("POST", "/v1/auth/token/revoke-accessor", json={"accessor": "x" * 24})
    assert r.status_code == 200, r.text
    assert any("No token found" in w for w in r.json()["warnings"])

    tok = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    assert server.client(token=tok).auth.token.revoke_self().status_code == 204
    assert_error(server.request("GET", "/v1/auth/token/lookup-self", token=tok), 403)
    # Revoking an unknown token is a 204.
    assert root.auth.token.revoke("hvs.unknownunknownunknown").status_code == 204


def test_orphan_creation(server, root):
    resp = create_orphan(root, policies=["default"], ttl="1h")
    assert resp["auth"]["orphan"] is True
    assert root.auth.token.lookup(resp["auth"]["client_token"])["data"]["path"] == "auth/token/create-orphan"
    auth = root.auth.token.create(policies=["default"], no_parent=True)["auth"]
    assert auth["orphan"] is True


def test_list_accessors_needs_sudo(server, root):
    acc = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["accessor"]
    keys = root.auth.token.list_accessors()["data"]["keys"]
    assert acc in keys
    assert all(len(k) == 24 for k in keys)
    tok = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.Forbidden):
        server.client(token=tok).auth.token.list_accessors()


def test_custom_token_id_and_bearer_header(server, root):
    custom = uniq("custom")
    auth = root.auth.token.create(id=custom, policies=["default"], ttl="1h")["auth"]
    assert auth["client_token"] == custom
    r = server.request("GET", "/v1/auth/token/lookup-self", token=None,
                       headers={"Authorization": "Bearer " + custom})
    assert r.status_code == 200 and r.json()["data"]["id"] == custom
    r = server.request("POST", "/v1/auth/token/create", json={"id": custom})
    assert_error(r, 400)


def test_ttl_is_capped_at_max(server, root):
    resp = root.auth.token.create(policies=["default"], ttl="10000h")
    assert resp["auth"]["lease_duration"] == SYSTEM_DEFAULT_TTL
    assert any("TTL" in w for w in resp["warnings"] or []), resp["warnings"]
    assert re.match(r"^hvs\.", resp["auth"]["client_token"])


def test_unknown_fields_warn_and_comma_separated_policies(server, root):
    r = server.request("POST", "/v1/auth/token/create",
                       json={"policies": "default, zeta-pol", "bogus": 1, "alpha": "x", "ttl": "5m"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["auth"]["policies"] == ["default", "zeta-pol"]
    assert "Endpoint ignored these unrecognized parameters: [alpha bogus]" in body["warnings"]
    assert any('"zeta-pol" does not exist' in w for w in body["warnings"])


def test_renew_accessor_and_post_lookup_self(server, root):
    auth = root.auth.token.create(policies=["default"], ttl="1h")["auth"]
    r = server.request("POST", "/v1/auth/token/renew-accessor",
                       json={"accessor": auth["accessor"], "increment": "3h"})
    assert r.status_code == 200, r.text
    renewed = r.json()["auth"]
    assert renewed["lease_duration"] == 10800
    assert renewed["accessor"] == auth["accessor"]
    assert renewed["client_token"] in ("", None)
    # POST lookup-self is an update: the default policy only grants read.
    r = server.request("POST", "/v1/auth/token/lookup-self", token=auth["client_token"])
    assert_error(r, 403)
    r = server.request("POST", "/v1/auth/token/lookup-self")
    assert r.status_code == 200 and r.json()["data"]["id"] == server.root_token
    r = server.request("POST", "/v1/auth/token/renew", json={"token": "hvs.nosuchtoken", "increment": "1h"})
    assert_error(r, 400)


def test_x_vault_token_wins_over_bearer(server, root):
    tok = root.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    r = server.request("GET", "/v1/auth/token/lookup-self", token=tok,
                       headers={"Authorization": "Bearer " + server.root_token})
    assert r.status_code == 200
    assert r.json()["data"]["id"] == tok
