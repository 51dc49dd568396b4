"""VO spaces: Check-in entitlements (only in userinfo) → external groups →
the membership-gated blocks of the egi-vo policy, through JWT logins with
the arca-only role option userinfo_claims, on an arca set up by
docs/examples/egi/setup.sh."""

import hvac
import pytest

import harness
from oidc import egi, oidc_provider, run_setup, vo_entitlement, vo_group  # noqa: F401

KV = "/secrets/"
A, B, C = "vo.example.eu", "vo.other.eu", "vo.third.eu"


def can_read_write(client, vo) -> bool:
    """Writes and reads back secrets/vos/<vo>/<unique>; False on 403."""
    path = f"vos/{vo}/{harness.uniq('s')}"
    try:
        client.secrets.kv.v1.create_or_update_secret(path, {"k": "v"}, method="POST",
                                                     mount_point=KV)
        return client.secrets.kv.v1.read_secret(path, mount_point=KV)["data"] == {"k": "v"}
    except hvac.exceptions.Forbidden:
        return False


def group_members(egi, name):
    g = egi.srv.client().secrets.identity.read_group_by_name(name)["data"]
    return g["member_entity_ids"] or []


def test_vo_member_reaches_only_its_vo(egi):
    client, auth = egi.login(egi.new_user(A))
    assert auth["token_policies"] == ["default", "egi-user", "egi-vo"]
    assert auth.get("identity_policies") in (None, [])  # the groups carry no policies
    assert egi.groups_of(auth["entity_id"]) == [vo_group(A)]
    assert auth["entity_id"] in group_members(egi, vo_group(A))
    assert auth["entity_id"] not in group_members(egi, vo_group(B))
    assert can_read_write(client, A)
    assert not can_read_write(client, B)
    # Members may list the VO list and their VO's folder.
    kv = client.secrets.kv.v1
    assert "vos/" in kv.list_secrets("", mount_point=KV)["data"]["keys"]
    assert f"{A}/" in kv.list_secrets("vos", mount_point=KV)["data"]["keys"]
    assert kv.list_secrets(f"vos/{A}", mount_point=KV)["data"]["keys"]
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.list_secrets(f"vos/{B}", mount_point=KV)


def test_vo_space_shared_between_members(egi):
    one, _ = egi.login(egi.new_user(A))
    two, _ = egi.login(egi.new_user(A))
    outsider, _ = egi.login(egi.new_user(B))
    path = f"vos/{A}/{harness.uniq('shared')}"
    one.secrets.kv.v1.create_or_update_secret(path, {"db": "pw"}, mount_point=KV)
    assert two.secrets.kv.v1.read_secret(path, mount_point=KV)["data"] == {"db": "pw"}
    with pytest.raises(hvac.exceptions.Forbidden):
        outsider.secrets.kv.v1.read_secret(path, mount_point=KV)


def test_user_in_two_vos(egi):
    client, auth = egi.login(egi.new_user(A, B))
    assert egi.groups_of(auth["entity_id"]) == sorted([vo_group(A), vo_group(B)])
    assert can_read_write(client, A) and can_read_write(client, B)
    assert not can_read_write(client, C)


def test_user_without_vo(egi):
    login = egi.new_user()  # userinfo has eduperson_entitlement: []
    client, auth = egi.login(login)
    assert egi.groups_of(auth["entity_id"]) == []
    assert not can_read_write(client, A)
    sub = egi.provider.sub(login)
    client.secrets.kv.v1.create_or_update_secret(f"users/{sub}/x", {"k": "v"}, mount_point=KV)


def test_only_the_member_entitlement_counts(egi):
    others = [
        f"urn:mace:egi.eu:group:{A}:role=vm_operator#aai.egi.eu",   # another role
        f"urn:mace:egi.eu:group:{A}:sub:role=member#aai.egi.eu",     # a subgroup
        f"urn:mace:egi.eu:group:{A}:role=member#other.authority",    # another authority
    ]
    client, auth = egi.login(egi.new_user(entitlements=others))
    assert egi.groups_of(auth["entity_id"]) == []
    assert not can_read_write(client, A)
    # Group alias names compare case-insensitively (Vault's identity store
    # lower-cases names by default).
    client, auth = egi.login(egi.new_user(entitlements=[vo_entitlement(A).upper()]))
    assert egi.groups_of(auth["entity_id"]) == [vo_group(A)]


def test_leaving_a_vo_takes_effect_at_the_next_login(egi):
    login = egi.new_user(A, B)
    old, auth1 = egi.login(login)
    assert can_read_write(old, A) and can_read_write(old, B)

    # Check-in drops the membership. Nothing changes before the next login.
    egi.provider.set_entitlements(login, [vo_entitlement(A)])
    assert can_read_write(old, B)

    # The next login (a new access token, as every ~1 h) re-syncs the groups.
    new, auth2 = egi.login(login)
    assert auth2["entity_id"] == auth1["entity_id"]
    assert egi.groups_of(auth2["entity_id"]) == [vo_group(A)]
    assert can_read_write(new, A)
    assert not can_read_write(new, B)
    # Templates are resolved per request from the entity (as Vault): the
    # token from before the change loses B too, once the membership changed.
    assert not can_read_write(old, B)
    assert can_read_write(old, A)

    # Back in B: the next login restores access, again for both tokens.
    egi.provider.set_entitlements(login, [vo_entitlement(A), vo_entitlement(B)])
    newer, auth3 = egi.login(login)
    assert egi.groups_of(auth3["entity_id"]) == sorted([vo_group(A), vo_group(B)])
    assert can_read_write(newer, B) and can_read_write(old, B)


def test_same_access_token_reuses_its_userinfo(egi):
    """userinfo answers are cached per access token until its exp (arca's
    documented behaviour): a re-login with the *same* token keeps the groups
    it had and does not call userinfo again; a new token sees the change."""
    login = egi.new_user(A)
    at = egi.provider.access_token(login)
    before = egi.provider.stats()["userinfo"]
    _, auth1 = egi.jwt_login(at)
    assert egi.provider.stats()["userinfo"] == before + 1
    egi.provider.set_entitlements(login, [])
    _, auth2 = egi.jwt_login(at)
    assert egi.provider.stats()["userinfo"] == before + 1
    assert egi.groups_of(auth2["entity_id"]) == [vo_group(A)]
    _, auth3 = egi.login(login)
    assert egi.groups_of(auth3["entity_id"]) == []


def test_a_members_locker_does_not_reach_the_vo(egi):
    """Child tokens inherit their parent's entity (as in Vault), but egi-vo is
    a token policy, which a locker with only "default" does not have."""
    owner, auth = egi.login(egi.new_user(A))
    assert can_read_write(owner, A)
    locker = owner.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    me = egi.srv.request("GET", "/v1/auth/token/lookup-self", token=locker).json()["data"]
    assert me["entity_id"] == auth["entity_id"]
    r = egi.srv.request("GET", f"/v1/secrets/vos/{A}/x", token=locker)
    harness.assert_error(r, 403)
    r = egi.srv.request("LIST", "/v1/secrets/vos", token=locker)
    harness.assert_error(r, 403)


def test_removing_a_vo_group_cuts_access_at_once(egi):
    login = egi.new_user(C)
    client, _ = egi.login(login)
    assert can_read_write(client, C)
    root = egi.srv.client()
    root.secrets.identity.delete_group_by_name(vo_group(C))
    try:
        assert not can_read_write(client, C)
    finally:
        p = run_setup(egi.srv, egi.provider)  # recreates the group and its alias
        assert p.returncode == 0, p.stdout + p.stderr
    assert not can_read_write(client, C)  # the new group has no members yet
    again, _ = egi.login(login)  # the next login joins it
    assert can_read_write(again, C) and can_read_write(client, C)
