"""The OIDC browser flow (auth/oidc/, the web UI and `login -method=oidc`)
against the test provider, with its login and consent driven by HTTP
requests: auth_url → provider → redirect with code and state → arca's
callback → token. arca set up by docs/examples/egi/setup.sh."""

import secrets
from urllib.parse import parse_qs, urlsplit

import hvac
import pytest

import harness
from oidc import (CLI_REDIRECT, UI_REDIRECT, egi, oidc_provider,  # noqa: F401 (fixtures)
                  vo_entitlement, vo_group)

KV = "/secrets/"
A, B = "vo.example.eu", "vo.other.eu"


def test_auth_url_names_the_provider_with_pkce(egi):
    url = egi.oidc_auth_url("", CLI_REDIRECT, client_nonce=secrets.token_hex(10))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == \
        egi.provider.discovery()["authorization_endpoint"]
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q["client_id"] == "arca-oidc"
    assert q["redirect_uri"] == CLI_REDIRECT
    assert q["response_type"] == "code"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert q["state"] and q["nonce"]
    assert q["scope"].split()[0] == "openid"
    assert {"profile", "email", "eduperson_entitlement", "voperson_id"} <= set(q["scope"].split())


def test_oidc_login_cli_style(egi):
    login = egi.new_user(A)
    sub = egi.provider.sub(login)
    client, auth = egi.oidc_login(login, role="", redirect_uri=CLI_REDIRECT)
    assert auth["metadata"] == {"role": "egi"}
    assert auth["token_policies"] == ["default", "egi-user", "egi-vo"]
    # Groups come from userinfo, which the OIDC flow merges (as Vault).
    assert egi.groups_of(auth["entity_id"]) == [vo_group(A, "oidc")]
    me = client.auth.token.lookup_self()["data"]
    assert me["display_name"] == f"oidc-{sub}"  # fedcloudclient 2.0: VO spaces for oidc- tokens
    assert me["path"] == "auth/oidc/oidc/callback"

    entity = egi.srv.client().secrets.identity.read_entity(auth["entity_id"])["data"]
    assert [(a["mount_accessor"], a["name"]) for a in entity["aliases"]] == \
        [(egi.oidc_accessor, sub)]

    kv = client.secrets.kv.v1
    kv.create_or_update_secret(f"users/{sub}/ui", {"k": "v"}, mount_point=KV)
    assert kv.read_secret(f"users/{sub}/ui", mount_point=KV)["data"] == {"k": "v"}
    kv.create_or_update_secret(f"vos/{A}/from-ui", {"k": "v"}, mount_point=KV)
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.read_secret(f"vos/{B}/x", mount_point=KV)
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.read_secret("users/someone@egi.eu/x", mount_point=KV)


def test_oidc_login_with_hvac_ui_redirect(egi):
    login = egi.new_user(A, B)
    c = egi.srv.client(token=None)
    url = c.auth.oidc.oidc_authorization_url_request(role="egi", redirect_uri=UI_REDIRECT)
    url = url["data"]["auth_url"]
    back = egi.provider.drive_login(url, login)
    assert back.startswith(UI_REDIRECT)
    q = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    resp = c.auth.oidc.oidc_callback(state=q["state"], nonce="", code=q["code"])
    auth = resp["auth"]
    assert egi.groups_of(auth["entity_id"]) == sorted([vo_group(A, "oidc"), vo_group(B, "oidc")])
    ui = egi.srv.client(token=auth["client_token"])
    assert ui.auth.token.lookup_self()["data"]["display_name"] == f"oidc-{egi.provider.sub(login)}"


def test_oidc_and_jwt_logins_share_the_private_space(egi):
    login = egi.new_user()
    sub = egi.provider.sub(login)
    ui, ui_auth = egi.oidc_login(login)
    cli, cli_auth = egi.login(login)
    # Two mounts, two entities (Vault does not merge them by itself) ...
    assert ui_auth["entity_id"] != cli_auth["entity_id"]
    # ... but both reach secrets/users/<sub>/ through egi-user's two blocks.
    ui.secrets.kv.v1.create_or_update_secret(f"users/{sub}/both", {"k": "ui"}, mount_point=KV)
    assert cli.secrets.kv.v1.read_secret(f"users/{sub}/both", mount_point=KV)["data"] == {"k": "ui"}


def test_oidc_leaving_a_vo(egi):
    login = egi.new_user(A, B)
    old, _ = egi.oidc_login(login)
    old.secrets.kv.v1.create_or_update_secret(f"vos/{B}/o", {"k": "v"}, mount_point=KV)
    egi.provider.set_entitlements(login, [vo_entitlement(A)])
    new, auth = egi.oidc_login(login)
    assert egi.groups_of(auth["entity_id"]) == [vo_group(A, "oidc")]
    for c in (new, old):
        with pytest.raises(hvac.exceptions.Forbidden):
            c.secrets.kv.v1.read_secret(f"vos/{B}/o", mount_point=KV)
        c.secrets.kv.v1.create_or_update_secret(f"vos/{A}/o", {"k": "v"}, mount_point=KV)


def test_callback_state_is_single_use(egi):
    login = egi.new_user()
    nonce = secrets.token_hex(10)
    back = egi.provider.drive_login(egi.oidc_auth_url("", CLI_REDIRECT, client_nonce=nonce), login)
    assert egi.oidc_callback(back, client_nonce=nonce).status_code == 200
    harness.assert_error(egi.oidc_callback(back, client_nonce=nonce), 400,
                         "Expired or missing OAuth state.")


def test_callback_unknown_state(egi):
    r = egi.srv.request("GET", "/v1/auth/oidc/oidc/callback", token=None,
                        params={"state": "st_nope", "code": "abc"})
    harness.assert_error(r, 400, "Vault login failed. Expired or missing OAuth state.")


def test_callback_client_nonce_must_match(egi):
    login = egi.new_user()
    back = egi.provider.drive_login(
        egi.oidc_auth_url("", CLI_REDIRECT, client_nonce=secrets.token_hex(10)), login)
    harness.assert_error(egi.oidc_callback(back, client_nonce="wrong"), 400, "invalid client_nonce")


def test_unlisted_redirect_uri_gives_an_empty_auth_url(egi):
    for uri in ("https://evil.example.org/oidc/callback",
                "http://localhost:8250/other/callback"):
        assert egi.oidc_auth_url("", uri) == ""
    # loopback: the port does not matter (RFC 8252), the path does.
    assert egi.oidc_auth_url("", "http://localhost:9999/oidc/callback") != ""


def test_auth_url_errors(egi):
    r = egi.srv.request("POST", "/v1/auth/oidc/oidc/auth_url", token=None,
                        json={"role": "egi"})
    harness.assert_error(r, 400, "missing redirect_uri")
    r = egi.srv.request("POST", "/v1/auth/oidc/oidc/auth_url", token=None,
                        json={"role": "nope", "redirect_uri": CLI_REDIRECT})
    harness.assert_error(r, 400, 'role "nope" could not be found')
    # The jwt mount has no client credentials: no browser flow there.
    r = egi.srv.request("POST", "/v1/auth/jwt/oidc/auth_url", token=None,
                        json={"role": "", "redirect_uri": CLI_REDIRECT})
    harness.assert_error(r, 400, "OIDC login is not configured for this mount")


def test_consent_refused_at_the_provider(egi):
    login = egi.new_user()
    url = egi.oidc_auth_url("", CLI_REDIRECT)
    back = egi.provider.drive_login(url, login, consent=False)
    q = parse_qs(urlsplit(back).query)
    assert q["error"] == ["access_denied"] and "code" not in q
    r = egi.oidc_callback(back)
    harness.assert_error(r, 400, "Vault login failed.")


def test_wrong_password_at_the_provider(egi):
    login = egi.new_user()
    with pytest.raises(AssertionError, match="invalid login or password"):
        egi.provider.drive_login(egi.oidc_auth_url("", CLI_REDIRECT), login, password="nope")


def test_jwt_login_is_refused_on_the_oidc_mount(egi):
    at = egi.provider.access_token(egi.new_user())
    # The default role there is an oidc role ...
    harness.assert_error(egi.raw_login({"jwt": at}, path="oidc"), 400,
                         "role with oidc role_type is not allowed")
    # ... and even a jwt role cannot log in on a mount configured for the flow.
    r = egi.srv.request("POST", "/v1/auth/oidc/role/jwtrole", json={
        "role_type": "jwt", "user_claim": "sub", "bound_claims": {"sub": "*"},
        "bound_claims_type": "glob"})
    assert r.status_code in (200, 204), r.text
    harness.assert_error(egi.raw_login({"role": "jwtrole", "jwt": at}, path="oidc"), 400,
                         "error configuring token validator: unsupported config type")
