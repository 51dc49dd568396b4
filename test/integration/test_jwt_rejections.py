"""Every way a JWT login is refused, with Vault's message
(vault-api.md 6.3): bad signatures, time claims, issuer, audience,
algorithms, roles, bound claims, identity claims, userinfo.

Tokens are minted by the test provider with its own keys (POST /test/sign)
when they must verify, and here with keys of our own (cryptography) when
they must not."""

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import harness
from oidc import b64url, egi, jwt_parts, oidc_provider  # noqa: F401 (fixtures)

V = "error validating token: "


def compact(header: dict, claims: dict, sign) -> str:
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(claims).encode())
    return f"{h}.{p}.{b64url(sign(f'{h}.{p}'.encode()))}"


def own_rsa_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def jwk_to_pem(jwk: dict) -> bytes:
    def num(v):
        return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")
    pub = rsa.RSAPublicNumbers(num(jwk["e"]), num(jwk["n"])).public_key()
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def mounts(egi):
    """Extra mounts and roles on the EGI server for the cases setup.sh has no
    role for: jwtstrict/ (RS256 only, no default role) with a role that binds
    an audience, and odd roles on jwt/."""
    root = egi.srv.client()
    iss = egi.provider.issuer
    root.sys.enable_auth_method("jwt", path="jwtstrict")
    r = egi.srv.request("POST", "/v1/auth/jwtstrict/config", json={
        "oidc_discovery_url": iss, "bound_issuer": iss, "jwt_supported_algs": ["RS256"]})
    assert r.status_code == 204, r.text
    r = egi.srv.request("POST", "/v1/auth/jwtstrict/role/aud", json={
        "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["arca-test"],
        "token_policies": ["default"]})
    assert r.status_code in (200, 204), r.text
    r = egi.srv.request("POST", "/v1/auth/jwtstrict/role/plain", json={
        "role_type": "jwt", "user_claim": "sub", "bound_claims": {"sub": "*"},
        "bound_claims_type": "glob"})
    assert r.status_code in (200, 204), r.text
    for name, body in {
        "browser": {"role_type": "oidc", "user_claim": "sub",
                    "allowed_redirect_uris": ["http://localhost:8250/oidc/callback"]},
        "byemail": {"role_type": "jwt", "user_claim": "email", "bound_claims": {"sub": "*"},
                    "bound_claims_type": "glob"},
        "numgroups": {"role_type": "jwt", "user_claim": "sub", "groups_claim": "iat",
                      "bound_claims": {"sub": "*"}, "bound_claims_type": "glob"},
        "bysubject": {"role_type": "jwt", "user_claim": "sub", "bound_subject": "nobody@egi.eu"},
        "nouserinfo": {"role_type": "jwt", "user_claim": "sub", "bound_claims": {"sub": "*"},
                       "bound_claims_type": "glob", "groups_claim": "eduperson_entitlement"},
    }.items():
        r = egi.srv.request("POST", f"/v1/auth/jwt/role/{name}", json=body)
        assert r.status_code in (200, 204), (name, r.text)
    return egi


def login(egi, jwt, role="", path="jwt"):
    return egi.raw_login({"role": role, "jwt": jwt}, path=path)


def accepted(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()["auth"]


def sub_of(egi):
    return egi.provider.sub(egi.new_user())


# ---------------------------------------------------------------------------
# Signatures


def test_control_a_provider_signed_token_is_accepted(mounts):
    egi = mounts
    accepted(login(egi, egi.provider.sign(egi.provider.claims(sub_of(egi)))))


def test_tampered_payload(mounts):
    egi = mounts
    good = egi.provider.access_token(egi.new_user())
    h, p, s = good.split(".")
    claims = jwt_parts(good)[1]
    claims["sub"] = sub_of(egi)  # someone else
    forged = f"{h}.{b64url(json.dumps(claims).encode())}.{s}"
    harness.assert_error(login(egi, forged), 400, V + "error verifying token signature")
    errors = harness.assert_error(login(egi, forged), 400)
    assert errors == [V + "error verifying token signature: failed to verify id token signature"]


def test_own_key_with_the_providers_kid(mounts):
    egi = mounts
    kid = jwt_parts(egi.provider.access_token(egi.new_user()))[0]["kid"]
    bad = compact({"alg": "RS256", "typ": "JWT", "kid": kid},
                  egi.provider.claims(sub_of(egi)), own_rsa_signer())
    harness.assert_error(login(egi, bad), 400,
                         V + "error verifying token signature: failed to verify id token signature")


def test_own_key_with_an_unknown_kid(mounts):
    egi = mounts
    bad = compact({"alg": "RS256", "typ": "JWT", "kid": secrets.token_hex(12)},
                  egi.provider.claims(sub_of(egi)), own_rsa_signer())
    harness.assert_error(login(egi, bad), 400, V + "error verifying token signature")


def test_own_key_without_kid(mounts):
    egi = mounts
    bad = compact({"alg": "RS256", "typ": "JWT"}, egi.provider.claims(sub_of(egi)),
                  own_rsa_signer())
    harness.assert_error(login(egi, bad), 400, V + "error verifying token signature")


def test_alg_none(mounts):
    egi = mounts
    claims = egi.provider.claims(sub_of(egi))
    h = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    p = b64url(json.dumps(claims).encode())
    for token in (f"{h}.{p}.", f"{h}.{p}"):
        r = login(egi, token)
        harness.assert_error(r, 400, V)
        assert r.status_code == 400


def test_hmac_with_the_public_key_as_secret(mounts):
    """The classic RS256 → HS256 confusion: the JWKS's public key as HMAC key."""
    egi = mounts
    jwk = next(k for k in egi.provider.jwks()["keys"] if k["kty"] == "RSA")
    pem = jwk_to_pem(jwk)
    for alg, h in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        bad = compact({"alg": alg, "typ": "JWT", "kid": jwk["kid"]},
                      egi.provider.claims(sub_of(egi)),
                      lambda data, h=h: hmac.new(pem, data, h).digest())
        harness.assert_error(login(egi, bad), 400, V + "error verifying token signature")


def test_es256_with_a_provider_key_is_accepted_by_default(mounts):
    egi = mounts
    token = egi.provider.sign(egi.provider.claims(sub_of(egi)), alg="ES256")
    assert jwt_parts(token)[0]["alg"] == "ES256"
    accepted(login(egi, token))


def test_algorithm_not_in_jwt_supported_algs(mounts):
    egi = mounts
    claims = egi.provider.claims(sub_of(egi))
    accepted(login(egi, egi.provider.sign(claims, alg="RS256"), role="plain", path="jwtstrict"))
    for alg in ("PS256", "ES256", "RS512"):
        token = egi.provider.sign(egi.provider.claims(sub_of(egi)), alg=alg)
        harness.assert_error(
            login(egi, token, role="plain", path="jwtstrict"), 400,
            V + "invalid algorithm (alg) header parameter: token signed with unexpected algorithm")


def test_malformed_tokens(mounts):
    egi = mounts
    for garbage in ("not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "x" * 300):
        harness.assert_error(login(egi, garbage), 400, V)


# ---------------------------------------------------------------------------
# Time claims (clock_skew_leeway 60 s by default)


def test_expired(mounts):
    egi = mounts
    now = int(time.time())
    c = egi.provider.claims(sub_of(egi), iat=now - 7200, exp=now - 3600)
    harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                         V + "invalid expiration time (exp) claim: token is expired")
    # 30 s late is within the leeway (on a role without userinfo: the
    # provider's userinfo refuses expired tokens, as Check-in's would).
    c = egi.provider.claims(sub_of(egi), iat=now - 3630, exp=now - 30)
    accepted(login(egi, egi.provider.sign(c), role="plain", path="jwtstrict"))


def test_not_yet_valid(mounts):
    egi = mounts
    now = int(time.time())
    c = egi.provider.claims(sub_of(egi), nbf=now + 3600)
    harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                         V + "invalid not before (nbf) claim: token not yet valid")
    c = egi.provider.claims(sub_of(egi), nbf=now + 30)
    accepted(login(egi, egi.provider.sign(c), role="plain", path="jwtstrict"))


def test_issued_in_the_future(mounts):
    egi = mounts
    now = int(time.time())
    c = egi.provider.claims(sub_of(egi), iat=now + 3600, exp=now + 7200, nbf=now - 10)
    harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                         V + "invalid issued at (iat) claim: token issued in the future")
    # Without nbf, nbf defaults to iat and is checked first.
    c = egi.provider.claims(sub_of(egi), iat=now + 3600, exp=now + 7200)
    harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                         V + "invalid not before (nbf) claim: token not yet valid")


def test_no_time_claims(mounts):
    egi = mounts
    c = egi.provider.claims(sub_of(egi), iat=None, exp=None)
    assert not {"iat", "exp", "nbf"} & set(c)
    harness.assert_error(
        login(egi, egi.provider.sign(c)), 400,
        V + "no issued at (iat), not before (nbf), or expiration time (exp) claims in token")


# ---------------------------------------------------------------------------
# Issuer and audience


def test_wrong_issuer(mounts):
    egi = mounts
    for iss in ("https://aai.egi.eu/auth/realms/egi", egi.provider.issuer + "/", None):
        c = egi.provider.claims(sub_of(egi), iss=iss)
        harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                             V + "invalid issuer (iss) claim")


def test_audience_without_bound_audiences(mounts):
    egi = mounts
    for aud in ("arca-test", ["arca-test", "other"]):
        c = egi.provider.claims(sub_of(egi), aud=aud)
        harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                             "audience claim found in JWT but no audiences bound to the role")


def test_audience_mismatch_and_match(mounts):
    egi = mounts
    c = egi.provider.claims(sub_of(egi), aud="someone-else")
    harness.assert_error(
        login(egi, egi.provider.sign(c), role="aud", path="jwtstrict"), 400,
        V + "invalid audience (aud) claim: audience claim does not match any expected audience")
    # No aud at all (Check-in) on a role that binds one: refused too.
    c = egi.provider.claims(sub_of(egi))
    harness.assert_error(login(egi, egi.provider.sign(c), role="aud", path="jwtstrict"), 400,
                         V + "invalid audience (aud) claim")
    for aud in ("arca-test", ["other", "arca-test"]):
        c = egi.provider.claims(sub_of(egi), aud=aud)
        accepted(login(egi, egi.provider.sign(c), role="aud", path="jwtstrict"))


# ---------------------------------------------------------------------------
# Roles


def test_unknown_role(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(login(egi, at, role="nope"), 400, 'role "nope" could not be found')


def test_no_role_and_no_default_role(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(login(egi, at, role="", path="jwtstrict"), 400, "missing role")
    r = egi.raw_login({"jwt": at}, path="jwtstrict")
    harness.assert_error(r, 400, "missing role")


def test_missing_token(mounts):
    egi = mounts
    harness.assert_error(egi.raw_login({"role": ""}), 400, "missing token")
    harness.assert_error(egi.raw_login({"role": "", "jwt": ""}), 400, "missing token")


def test_oidc_role_at_jwt_login(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(login(egi, at, role="browser"), 400,
                         "role with oidc role_type is not allowed")


def test_bound_subject(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(login(egi, at, role="bysubject"), 400, V + "invalid subject (sub) claim")


def test_bound_claims_glob(mounts):
    egi = mounts
    c = egi.provider.claims("someone@example.org")  # not @egi.eu
    harness.assert_error(
        login(egi, egi.provider.sign(c), role="service"), 400,
        'error validating claims: claim "sub" does not match any associated bound claim values')


def test_user_claim_missing(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(login(egi, at, role="byemail"), 400, 'claim "email" not found in token')


def test_groups_claim_not_a_list(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    harness.assert_error(login(egi, at, role="numgroups"), 400,
                         '"iat" claim could not be converted to string list')


# ---------------------------------------------------------------------------
# userinfo (role option userinfo_claims)


def test_userinfo_failure_fails_the_login(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    egi.provider.set_userinfo_status(500)
    try:
        harness.assert_error(login(egi, at), 400, "error fetching userinfo: userinfo request "
                             "failed: 500 Internal Server Error")
    finally:
        egi.provider.set_userinfo_status(0)
    accepted(login(egi, at))  # a failed answer was not cached


def test_userinfo_refuses_a_token_it_did_not_issue(mounts):
    """A provider-signed token for an unknown subject: userinfo answers 401."""
    egi = mounts
    c = egi.provider.claims("0" * 64 + "@egi.eu")
    harness.assert_error(login(egi, egi.provider.sign(c)), 400,
                         "error fetching userinfo: userinfo request failed: 401 Unauthorized")


def test_userinfo_with_another_subject(mounts):
    egi = mounts
    at = egi.provider.access_token(egi.new_user())
    egi.provider.set_userinfo_sub("1" * 64 + "@egi.eu")
    try:
        harness.assert_error(login(egi, at), 400, "error fetching userinfo: userinfo sub claim "
                             "does not match the token's sub claim")
    finally:
        egi.provider.set_userinfo_sub("")
    accepted(login(egi, at))


def test_groups_claim_without_userinfo_claims(mounts):
    """What Vault does with Check-in tokens: the entitlements are not in the
    access token, so a role with groups_claim but no userinfo_claims fails."""
    egi = mounts
    at = egi.provider.access_token(egi.new_user("vo.example.eu"))
    harness.assert_error(login(egi, at, role="nouserinfo"), 400,
                         'failed to fetch groups: "eduperson_entitlement" claim not found in token')
