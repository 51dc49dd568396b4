"""Bound CIDRs on the tokens a jwt login or a token role mints, and the
renewal of jwt tokens through their role (vault-plugin-auth-jwt's
pathLoginRenew), with hvac against the EGI-like server of oidc.py. Every
client here connects from 127.0.0.1."""

import hvac
import pytest

import harness
from oidc import egi, oidc_provider  # noqa: F401 (fixtures)


def jwt_role(egi, name: str, **extra) -> None:
    """A jwt role on jwt/ accepting the provider's access tokens."""
    body = {"role_type": "jwt", "user_claim": "sub", "bound_claims_type": "glob",
            "bound_claims": {"sub": "*@egi.eu"}, "token_policies": ["default"]}
    body.update(extra)
    r = egi.srv.request("POST", f"/v1/auth/jwt/role/{name}", json=body)
    assert r.status_code in (200, 204), r.text


def lookup_self(egi, token: str) -> dict:
    r = egi.srv.request("GET", "/v1/auth/token/lookup-self", token=token)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_jwt_role_bound_to_loopback_gives_a_bound_token(egi):
    jwt_role(egi, "cidr-local", token_bound_cidrs=["127.0.0.1/32"])
    client, auth = egi.login(egi.new_user(), role="cidr-local")
    assert client.is_authenticated()
    me = lookup_self(egi, auth["client_token"])
    assert me["bound_cidrs"] == ["127.0.0.1"]  # as Vault renders a /32
    assert "bound_cidrs" not in auth  # not part of the login response
    # An unbound role's token shows no bound_cidrs.
    _, plain = egi.login(egi.new_user(), role="")
    assert "bound_cidrs" not in lookup_self(egi, plain["client_token"])


def test_jwt_role_bound_elsewhere_refuses_the_login(egi):
    jwt_role(egi, "cidr-far", token_bound_cidrs=["10.255.0.0/16"])
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(egi.raw_login({"role": "cidr-far", "jwt": at}), 403, "permission denied")
    with pytest.raises(hvac.exceptions.Forbidden):
        egi.jwt_login(at, role="cidr-far")


def test_token_role_bound_elsewhere_gives_a_token_refused_here(egi):
    root = egi.srv.client()
    r = egi.srv.request("POST", "/v1/auth/token/roles/far",
                        json={"token_bound_cidrs": ["10.255.0.0/16"], "allowed_policies": ["default"]})
    assert r.status_code in (200, 204), r.text
    role = egi.srv.request("GET", "/v1/auth/token/roles/far").json()["data"]
    assert role["token_bound_cidrs"] == ["10.255.0.0/16"]

    created = root.auth.token.create(role_name="far", num_uses=3)["auth"]
    token = created["client_token"]
    info = root.auth.token.lookup(token)["data"]
    assert info["bound_cidrs"] == ["10.255.0.0/16"]
    assert info["num_uses"] == 3

    harness.assert_error(egi.srv.request("GET", "/v1/auth/token/lookup-self", token=token),
                         403, "permission denied")
    bound = egi.srv.client(token=token)
    assert not bound.is_authenticated()  # hvac: 403 → False
    with pytest.raises(hvac.exceptions.Forbidden):
        bound.auth.token.renew_self()
    # As Vault: the refusals used up none of its uses.
    assert root.auth.token.lookup(token)["data"]["num_uses"] == 3

    # A token from the same role for our address works.
    r = egi.srv.request("POST", "/v1/auth/token/roles/near",
                        json={"token_bound_cidrs": "127.0.0.0/8", "allowed_policies": ["default"]})
    assert r.status_code in (200, 204), r.text
    near = root.auth.token.create(role_name="near")["auth"]["client_token"]
    assert lookup_self(egi, near)["bound_cidrs"] == ["127.0.0.0/8"]


def test_jwt_token_renewal_follows_its_role(egi):
    jwt_role(egi, "renew-me", token_ttl="10m", token_max_ttl="2h")
    client, auth = egi.login(egi.new_user(), role="renew-me")
    assert auth["lease_duration"] == 600

    # The role's current token_ttl applies to the renewal.
    jwt_role(egi, "renew-me", token_ttl="20m", token_max_ttl="2h")
    renewed = client.auth.token.renew_self()["auth"]
    assert 1195 <= renewed["lease_duration"] <= 1200

    # Once the role is gone the token cannot be renewed (Vault: 500).
    r = egi.srv.request("DELETE", "/v1/auth/jwt/role/renew-me")
    assert r.status_code == 204, r.text
    errors = harness.assert_error(
        egi.srv.request("PUT", "/v1/auth/token/renew-self", token=auth["client_token"], json={}),
        500)
    assert errors == ["failed to renew entry: role renew-me does not exist during renewal"]
    with pytest.raises(hvac.exceptions.InternalServerError):
        client.auth.token.renew_self()
    with pytest.raises(hvac.exceptions.InternalServerError):
        egi.srv.client().auth.token.renew(auth["client_token"])
    # The token itself still works until it expires.
    assert client.is_authenticated()


def extra_jwt_mount(egi, path: str) -> None:
    """Another jwt mount configured as jwt/ (discovery on the same provider)."""
    root = egi.srv.client()
    root.sys.enable_auth_method("jwt", path=path)
    cfg = egi.srv.request("GET", "/v1/auth/jwt/config").json()["data"]
    body = {k: cfg[k] for k in ("oidc_discovery_url", "oidc_discovery_ca_pem", "bound_issuer")
            if cfg.get(k)}
    r = egi.srv.request("POST", f"/v1/auth/{path}/config", json=body)
    assert r.status_code in (200, 204), r.text
    r = egi.srv.request("POST", f"/v1/auth/{path}/role/any", json={
        "role_type": "jwt", "user_claim": "sub", "bound_claims_type": "glob",
        "bound_claims": {"sub": "*@egi.eu"}, "token_policies": ["default"], "token_ttl": "1h"})
    assert r.status_code in (200, 204), r.text


def test_disabling_a_jwt_mount_revokes_its_tokens(egi):
    path = harness.uniq("jwtoff")
    extra_jwt_mount(egi, path)
    _, auth = egi.jwt_login(egi.provider.access_token(egi.new_user()), role="any", path=path)
    token = auth["client_token"]
    lookup_self(egi, token)
    egi.srv.client().sys.disable_auth_method(path)
    r = egi.srv.request("POST", "/v1/auth/token/renew-self", token=token, json={})
    harness.assert_error(r, 403, "permission denied")
    r = egi.srv.request("GET", "/v1/auth/token/lookup-self", token=token)
    harness.assert_error(r, 403, "permission denied")


def test_moving_a_jwt_mount_revokes_its_tokens(egi):
    src, dst = harness.uniq("jwtfrom"), harness.uniq("jwtto")
    extra_jwt_mount(egi, src)
    _, auth = egi.jwt_login(egi.provider.access_token(egi.new_user()), role="any", path=src)
    token = auth["client_token"]
    lookup_self(egi, token)
    r = egi.srv.request("POST", "/v1/sys/remount", json={"from": f"auth/{src}", "to": f"auth/{dst}"})
    assert r.status_code in (200, 204), r.text
    harness.assert_error(egi.srv.request("GET", "/v1/auth/token/lookup-self", token=token),
                         403, "permission denied")
    # The moved mount still logs users in.
    _, again = egi.jwt_login(egi.provider.access_token(egi.new_user()), role="any", path=dst)
    assert lookup_self(egi, again["client_token"])["path"].startswith(f"auth/{dst}/")


def test_ui_mounts_ignores_a_token_used_outside_its_cidrs(egi):
    r = egi.srv.request("POST", "/v1/auth/token/roles/far-ui",
                        json={"token_bound_cidrs": ["10.255.0.0/16"], "allowed_policies": ["default"]})
    assert r.status_code in (200, 204), r.text
    token = egi.srv.client().auth.token.create(role_name="far-ui")["auth"]["client_token"]
    as_root = egi.srv.request("GET", "/v1/sys/internal/ui/mounts").json()["data"]
    as_far = egi.srv.request("GET", "/v1/sys/internal/ui/mounts", token=token).json()["data"]
    anonymous = egi.srv.request("GET", "/v1/sys/internal/ui/mounts", token=None).json()["data"]
    assert as_root["secret"]  # root sees the mounts
    assert as_far == anonymous  # the out-of-range token counts for nothing
