"""sys/policy, sys/policies/acl and sys/capabilities* (vault-api.md 2.11, 2.12,
3) through hvac 0.11.2, and policies actually enforced on requests."""

import base64
import json

import hvac
import pytest

from harness import assert_envelope, assert_error, uniq

APP_POLICY = {"path": {"secret/data/app/*": {"capabilities": ["read", "list"]}}}


def test_create_policy_from_dict_is_stored_as_json_text(root):
    name = uniq("dictpol")
    resp = root.sys.create_or_update_policy(name=name, policy=APP_POLICY)
    assert resp.status_code == 204
    got = root.sys.read_policy(name=name)
    assert_envelope(got)
    expected_text = json.dumps(APP_POLICY, indent=4, sort_keys=True)  # what hvac sent
    assert got["data"]["name"] == name
    assert got["data"]["rules"] == expected_text
    assert got["rules"] == expected_text  # top-level injection


def test_create_policy_from_hcl_is_returned_verbatim(root):
    name = uniq("hclpol")
    text = ('# comment kept verbatim\n'
            'path "secret/data/team/*" {\n'
            '  capabilities = ["create", "read", "update", "delete", "list"]\n'
            '}\n\n'
            'path "sys/mounts" { policy = "read" }\n')
    root.sys.create_or_update_policy(name=name, policy=text)
    assert root.sys.read_policy(name=name)["data"]["rules"] == text
    acl = root.read("sys/policies/acl/" + name)
    assert acl["data"] == {"name": name, "policy": text}


def test_list_policies_includes_root_and_default(root):
    names = sorted([uniq("lst-a"), uniq("lst-b")])
    for n in names:
        root.sys.create_or_update_policy(name=n, policy='path "x/*" { capabilities = ["read"] }')
    resp = root.sys.list_policies()
    assert_envelope(resp)
    for key in ("policies", "keys"):
        listed = resp["data"][key]
        assert listed == sorted(listed), listed
        assert {"root", "default", *names} <= set(listed), listed
        assert resp[key] == listed  # top-level injection
    r = root.adapter.list("/v1/sys/policies/acl")
    assert {"root", "default", *names} <= set(r["data"]["keys"])


def test_base64_policy_text_is_decoded(server, root):
    name = uniq("b64pol")
    text = 'path "secret/data/b64/*" { capabilities = ["read"] }'
    r = server.request("PUT", f"/v1/sys/policy/{name}",
                       json={"policy": base64.b64encode(text.encode()).decode()})
    assert r.status_code == 204, r.text
    assert root.sys.read_policy(name=name)["data"]["rules"] == text


def test_policies_acl_endpoints(server, root):
    name = uniq("aclpol")
    text = 'path "a/*" { capabilities = ["list"] }'
    assert server.request("PUT", f"/v1/sys/policies/acl/{name}", json={"policy": text}).status_code == 204
    r = server.request("LIST", "/v1/sys/policies/acl")
    assert r.status_code == 200 and {"root", "default", name} <= set(r.json()["data"]["keys"])
    r = server.request("GET", "/v1/sys/policies/acl", params={"list": "true"})
    assert r.status_code == 200 and name in r.json()["data"]["keys"]
    assert_error(server.request("GET", "/v1/sys/policies/acl"), 405)
    assert server.request("GET", f"/v1/sys/policies/acl/{name}").json()["data"]["policy"] == text
    assert server.request("DELETE", f"/v1/sys/policies/acl/{name}").status_code == 204
    assert_error(server.request("GET", f"/v1/sys/policies/acl/{name}"), 404)


def test_policy_names_are_lowercased(root):
    name = uniq("MixedCase")
    root.sys.create_or_update_policy(name=name, policy='path "x/*" { capabilities = ["read"] }')
    assert name.lower() in root.sys.list_policies()["data"]["policies"]
    assert root.sys.read_policy(name=name.lower())["data"]["name"] == name.lower()


def test_update_and_delete_policy(server, root):
    name = uniq("upd")
    root.sys.create_or_update_policy(name=name, policy='path "a/*" { capabilities = ["read"] }')
    root.sys.create_or_update_policy(name=name, policy='path "b/*" { capabilities = ["list"] }')
    assert root.sys.read_policy(name=name)["data"]["rules"] == 'path "b/*" { capabilities = ["list"] }'
    assert root.sys.delete_policy(name=name).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.sys.read_policy(name=name)
    assert name not in root.sys.list_policies()["data"]["policies"]
    # Deleting an absent policy is fine.
    assert root.sys.delete_policy(name=name).status_code == 204
    r = server.request("GET", "/v1/sys/policy/" + name)
    assert_error(r, 404)


@pytest.mark.parametrize("text", [
    'path "secret/*" { capabilities = ["fly"] }',
    'path "secret/*" { capabilities = ["read"] ',
    'this is not a policy at all {{{',
    'path "secret/*" { capabilities = ["read"], color = "blue" }',
    'unknown_top_level "x" { capabilities = ["read"] }',
    '{"path": {"secret/*": {"capabilities": ["read"]}',
    'path "secret/+*" { capabilities = ["read"] }',
])
def test_broken_policies_rejected(server, text):
    name = uniq("broken")
    r = server.request("PUT", "/v1/sys/policy/" + name, json={"policy": text})
    assert_error(r, 400)
    assert_error(server.request("GET", "/v1/sys/policy/" + name), 404)


def test_builtin_policies_are_protected(server, root):
    r = server.request("PUT", "/v1/sys/policy/root", json={"policy": 'path "*" { capabilities = ["read"] }'})
    assert_error(r, 400, "root")
    assert_error(server.request("DELETE", "/v1/sys/policy/root"), 400)
    assert_error(server.request("DELETE", "/v1/sys/policy/default"), 400, "default")
    assert "default" in root.sys.list_policies()["data"]["policies"]


def test_policy_is_enforced(server, root):
    name = uniq("enf")
    base = uniq("app")
    root.sys.create_or_update_policy(
        name=name, policy={"path": {f"secret/data/{base}/*": {"capabilities": ["read"]}}})
    root.secrets.kv.v2.create_or_update_secret(path=f"{base}/ok", secret={"v": "1"})
    root.secrets.kv.v2.create_or_update_secret(path=f"other-{base}", secret={"v": "2"})
    token = root.auth.token.create(policies=[name], ttl="10m")["auth"]["client_token"]
    user = server.client(token=token)

    assert user.secrets.kv.v2.read_secret_version(path=f"{base}/ok")["data"]["data"] == {"v": "1"}
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.read_secret_version(path=f"other-{base}")
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.create_or_update_secret(path=f"{base}/ok", secret={"v": "x"})
    r = server.request("GET", f"/v1/secret/data/other-{base}", token=token)
    assert_error(r, 403, "permission denied")

    # Policy changes apply to existing tokens at once.
    root.sys.create_or_update_policy(
        name=name, policy={"path": {f"secret/data/{base}/*": {"capabilities": ["read", "update"]}}})
    user.secrets.kv.v2.create_or_update_secret(path=f"{base}/ok", secret={"v": "3"})
    assert root.secrets.kv.v2.read_secret_version(path=f"{base}/ok")["data"]["data"] == {"v": "3"}
    root.sys.delete_policy(name=name)
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.read_secret_version(path=f"{base}/ok")


def test_glob_plus_and_deny_rules(server, root):
    base = uniq("g")
    name = uniq("globpol")
    root.sys.create_or_update_policy(name=name, policy=(
        f'path "secret/data/{base}/open/*" {{ capabilities = ["read"] }}\n'
        f'path "secret/data/{base}/open/private/*" {{ capabilities = ["deny"] }}\n'
        f'path "secret/data/{base}/+/shared" {{ capabilities = ["read"] }}\n'))
    for p in ("open/a", "open/private/b", "team/shared", "team/other", "team/deep/shared"):
        root.secrets.kv.v2.create_or_update_secret(path=f"{base}/{p}", secret={"p": p})
    token = root.auth.token.create(policies=[name], ttl="10m")["auth"]["client_token"]

    def status(p):
        return server.request("GET", f"/v1/secret/data/{base}/{p}", token=token).status_code

    assert status("open/a") == 200
    assert status("open/private/b") == 403      # longer prefix rule with deny wins
    assert status("team/shared") == 200         # + matches exactly one segment
    assert status("team/other") == 403
    assert status("team/deep/shared") == 403    # ... not two


def test_capabilities_self_and_others(server, root):
    name = uniq("cap")
    root.sys.create_or_update_policy(name=name, policy=(
        'path "secret/data/cap/*" { capabilities = ["update", "read", "create"] }\n'
        'path "secret/metadata/cap/*" { capabilities = ["list"] }\n'))
    auth = root.auth.token.create(policies=[name], ttl="10m")["auth"]
    token, accessor = auth["client_token"], auth["accessor"]

    # Root token: ["root"] everywhere.
    resp = root.sys.get_capabilities(paths=["secret/data/cap/x"])
    assert resp["data"]["secret/data/cap/x"] == ["root"]
    assert resp["data"]["capabilities"] == ["root"]

    user = server.client(token=token)
    one = user.sys.get_capabilities(paths=["secret/data/cap/x"])
    assert one["data"]["secret/data/cap/x"] == ["create", "read", "update"]  # sorted
    assert one["data"]["capabilities"] == ["create", "read", "update"]
    assert one["capabilities"] == ["create", "read", "update"]  # top-level injection

    many = user.sys.get_capabilities(paths=["secret/data/cap/x", "secret/metadata/cap/y", "nope/z"])
    assert many["data"]["secret/data/cap/x"] == ["create", "read", "update"]
    assert many["data"]["secret/metadata/cap/y"] == ["list"]
    assert many["data"]["nope/z"] == ["deny"]
    assert "capabilities" not in many["data"]

    # Root asking about another token, by token and by accessor.
    by_token = root.sys.get_capabilities(paths=["secret/data/cap/x"], token=token)
    assert by_token["data"]["secret/data/cap/x"] == ["create", "read", "update"]
    by_acc = root.sys.get_capabilities(paths=["secret/metadata/cap/q"], accessor=accessor)
    assert by_acc["data"]["secret/metadata/cap/q"] == ["list"]

    # Default policy: cubbyhole and lookup-self.
    default_only = root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    d = server.client(token=default_only).sys.get_capabilities(
        paths=["cubbyhole/x", "auth/token/lookup-self", "secret/data/x"])["data"]
    assert d["cubbyhole/x"] == ["create", "delete", "list", "read", "update"]
    assert d["auth/token/lookup-self"] == ["read"]
    assert d["secret/data/x"] == ["deny"]

    r = server.request("POST", "/v1/sys/capabilities-self", token=token, json={})
    assert_error(r, 400)
    r = server.request("POST", "/v1/sys/capabilities-accessor", json={"paths": ["a"], "accessor": "nope"})
    assert_error(r, 400)
    r = server.request("POST", "/v1/sys/capabilities", json={"paths": ["a"], "token": "nope"})
    assert_error(r, 400)
