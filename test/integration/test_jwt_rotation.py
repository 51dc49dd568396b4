"""The provider rotates its signing key during the test (POST /test/rotate):
arca refetches the JWKS when a token names an unknown kid, at most once per
5 s, and keeps verifying with what the JWKS lists. Each test has its own
provider and server (fresh_egi)."""

import secrets
import time

import harness
from oidc import fresh_egi, fresh_oidc_provider, jwt_parts, vo_group  # noqa: F401 (fixtures)

REFETCH_INTERVAL_S = 5.0
WAIT_S = 3 * REFETCH_INTERVAL_S
V = "error validating token: "


def login(egi, jwt):
    return egi.raw_login({"role": "", "jwt": jwt})


def login_until_accepted(egi, token_for_attempt, timeout=WAIT_S):
    """Logs in until arca accepts (it may still be inside its refetch pause);
    returns (auth, attempts). token_for_attempt() gives the token to present."""
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        r = login(egi, token_for_attempt())
        if r.status_code == 200:
            return r.json()["auth"], attempts
        harness.assert_error(r, 400, V + "error verifying token signature")
        if time.monotonic() > deadline:
            raise AssertionError(f"not accepted within {timeout}s: {r.text}")
        time.sleep(0.5)


def test_rotation_keeping_the_old_key(fresh_egi):
    egi = fresh_egi
    p = egi.provider
    login_name = egi.new_user("vo.example.eu")
    old_at = p.access_token(login_name)
    old_kid = jwt_parts(old_at)[0]["kid"]
    assert login(egi, old_at).status_code == 200
    fetches = p.stats()["jwks"]
    assert fetches >= 1

    rotated = p.rotate_key(keep_old=True)
    assert rotated["previous_kid"] == old_kid
    kids = [k["kid"] for k in rotated["jwks"]["keys"] if k["kty"] == "RSA"]
    assert kids == [rotated["kid"], old_kid]  # new key first, old one still listed

    # Old tokens keep working without a refetch (the key is cached).
    assert login(egi, old_at).status_code == 200
    assert p.stats()["jwks"] == fetches

    # A token under the new kid: arca refetches the JWKS and accepts it.
    new_at = p.access_token(login_name)
    assert jwt_parts(new_at)[0]["kid"] == rotated["kid"]
    auth, _ = login_until_accepted(egi, lambda: new_at)
    assert egi.groups_of(auth["entity_id"]) == [vo_group("vo.example.eu")]
    assert p.stats()["jwks"] > fetches
    # ... and the old key, still listed, still verifies.
    assert login(egi, old_at).status_code == 200
    assert login(egi, p.sign(p.claims(p.sub(login_name)), kid=old_kid)).status_code == 200


def test_rotation_removing_the_old_key(fresh_egi):
    egi = fresh_egi
    p = egi.provider
    login_name = egi.new_user()
    sub = p.sub(login_name)
    old_at = p.access_token(login_name)
    old_kid = jwt_parts(old_at)[0]["kid"]
    assert login(egi, old_at).status_code == 200

    rotated = p.rotate_key(keep_old=False)
    assert old_kid not in {k["kid"] for k in rotated["jwks"]["keys"]}

    # arca learns of the new key from the first token that names it ...
    auth, _ = login_until_accepted(egi, lambda: p.access_token(login_name))
    assert auth["client_token"]
    # ... and from then on the retired key is unknown: tokens it signed fail,
    # whether issued before the rotation or minted with it afterwards.
    r = login(egi, p.sign(p.claims(sub), kid=old_kid))
    harness.assert_error(r, 400, V + "error verifying token signature")
    r = login(egi, old_at)
    harness.assert_error(r, 400, V + "error verifying token signature")


def test_two_rotations_in_a_row(fresh_egi):
    egi = fresh_egi
    p = egi.provider
    login_name = egi.new_user()
    assert login(egi, p.access_token(login_name)).status_code == 200
    p.rotate_key(keep_old=False)
    login_until_accepted(egi, lambda: p.access_token(login_name))
    second = p.rotate_key(keep_old=False)
    auth, _ = login_until_accepted(egi, lambda: p.access_token(login_name))
    assert auth["client_token"]
    assert jwt_parts(p.access_token(login_name))[0]["kid"] == second["kid"]


def test_unknown_kids_do_not_hammer_the_provider(fresh_egi):
    egi = fresh_egi
    p = egi.provider
    sub = p.sub(egi.new_user())
    assert login(egi, p.access_token(egi.new_user())).status_code == 200
    # Provider-signed claims under made-up kids (the key exists, the kid does not).
    before = p.stats()["jwks"]
    started = time.monotonic()
    for _ in range(10):
        token = p.sign(p.claims(sub), header={"kid": secrets.token_hex(12)})
        harness.assert_error(login(egi, token), 400, V + "error verifying token signature")
    elapsed = time.monotonic() - started
    fetched = p.stats()["jwks"] - before
    # At most one refetch per 5 s (plus one if the loop crossed a boundary).
    assert fetched <= 1 + int(elapsed // REFETCH_INTERVAL_S), (fetched, elapsed)
