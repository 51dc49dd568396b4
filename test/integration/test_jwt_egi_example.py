"""docs/examples/egi/setup.sh run against a dev server with the test
provider's issuer: what it configures, that it can run again (adding a VO),
its input checks, and the README's walkthrough for users."""

import json
import subprocess

import pytest

import harness
from oidc import (ARCA_CLIENT_SECRET, EXAMPLE_DIR, Egi, VOS, egi, oidc_provider,  # noqa: F401
                  run_setup, tls_oidc_provider, vo_entitlement, vo_group)


def test_example_files_exist():
    for f in ("arca.hcl", "README.md", "setup.sh", "policies/egi-user.hcl", "policies/egi-vo.hcl",
              "roles/jwt-egi.json", "roles/jwt-service.json", "roles/oidc-egi.json"):
        assert (EXAMPLE_DIR / f).is_file(), f
    for f in ("roles/jwt-egi.json", "roles/jwt-service.json", "roles/oidc-egi.json"):
        json.loads((EXAMPLE_DIR / f).read_text())


def test_setup_configures_mounts_policies_roles_and_groups(egi):
    root = egi.srv.client()
    mounts = root.sys.list_mounted_secrets_engines()["data"]
    assert mounts["secrets/"]["type"] == "kv"
    assert mounts["secrets/"]["options"] in (None, {"version": "1"})
    auths = root.sys.list_auth_methods()["data"]
    assert auths["jwt/"]["type"] == "jwt" and auths["oidc/"]["type"] == "oidc"

    user_policy = root.sys.read_policy("egi-user")["data"]["rules"]
    assert "AUTH_JWT_ACCESSOR" not in user_policy and "AUTH_OIDC_ACCESSOR" not in user_policy
    assert f"{{{{identity.entity.aliases.{egi.jwt_accessor}.name}}}}" in user_policy
    assert f"{{{{identity.entity.aliases.{egi.oidc_accessor}.name}}}}" in user_policy
    vo_policy = root.sys.read_policy("egi-vo")["data"]["rules"]
    for vo in VOS:
        for mount in ("jwt", "oidc"):
            block = f'path "secrets/vos/{{{{identity.groups.names.{vo_group(vo, mount)}.metadata.vo}}}}/*"'
            assert vo_policy.count(block) == 1, block
    assert "VO_GROUP-jwt" not in vo_policy.split("# --- per VO")[1]

    cfg = egi.srv.request("GET", "/v1/auth/jwt/config").json()["data"]
    assert cfg["oidc_discovery_url"] == egi.provider.issuer
    assert cfg["bound_issuer"] == egi.provider.issuer
    assert cfg["default_role"] == "egi"
    ocfg = egi.srv.request("GET", "/v1/auth/oidc/config").json()["data"]
    assert ocfg["oidc_client_id"] == "arca-oidc"
    assert "oidc_client_secret" not in ocfg
    assert ARCA_CLIENT_SECRET not in json.dumps(ocfg)

    role = egi.srv.request("GET", "/v1/auth/jwt/role/egi").json()["data"]
    assert role["role_type"] == "jwt" and role["user_claim"] == "sub"
    assert role["groups_claim"] == "eduperson_entitlement"
    assert role["userinfo_claims"] is True
    assert role["token_policies"] == ["egi-user", "egi-vo"]
    assert role["token_ttl"] == 3600 and role["token_max_ttl"] == 768 * 3600
    assert role["bound_claims"] == {"sub": "*@egi.eu"} and role["bound_claims_type"] == "glob"
    orole = egi.srv.request("GET", "/v1/auth/oidc/role/egi").json()["data"]
    assert orole["role_type"] == "oidc"
    assert orole["allowed_redirect_uris"] == [
        "http://localhost:8250/oidc/callback",
        "https://arca.test.invalid/ui/vault/auth/oidc/oidc/callback"]

    ident = root.secrets.identity
    for vo in VOS:
        for mount, accessor in (("jwt", egi.jwt_accessor), ("oidc", egi.oidc_accessor)):
            g = ident.read_group_by_name(vo_group(vo, mount))["data"]
            assert g["type"] == "external"
            assert g["policies"] in (None, [])
            assert g["metadata"] == {"vo": vo}
            assert g["alias"]["name"] == vo_entitlement(vo)
            assert g["alias"]["mount_accessor"] == accessor


def test_setup_runs_again_and_adds_a_vo(egi):
    ident = egi.srv.client().secrets.identity
    before = {vo: ident.read_group_by_name(vo_group(vo))["data"]["id"] for vo in VOS}
    new_vo = "vo.added.eu"
    p = run_setup(egi.srv, egi.provider, vos=(*VOS, new_vo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert new_vo in p.stdout
    after = {vo: ident.read_group_by_name(vo_group(vo))["data"]["id"] for vo in VOS}
    assert after == before
    # A member of the new VO gets there at the next login.
    client, auth = egi.login(egi.new_user(new_vo))
    assert egi.groups_of(auth["entity_id"]) == [vo_group(new_vo)]
    client.secrets.kv.v1.create_or_update_secret(f"vos/{new_vo}/x", {"k": "v"},
                                                 mount_point="/secrets/")


def test_setup_checks_its_input(egi):
    p = run_setup(egi.srv, egi.provider, extra_env={"OIDC_CLIENT_SECRET": ""})
    assert p.returncode == 1 and "set both OIDC_CLIENT_ID and OIDC_CLIENT_SECRET" in p.stderr
    p = run_setup(egi.srv, egi.provider, vos=("bad vo/../x",))
    assert p.returncode == 1 and "bad VO name" in p.stderr
    p = run_setup(egi.srv, egi.provider, extra_env={"VAULT_ADDR": ""})
    assert p.returncode == 1 and "VAULT_ADDR is not set" in p.stderr


def test_setup_without_an_oidc_client(oidc_provider, tmp_path):
    """JWT only (no Check-in client for a browser flow): no auth/oidc/ mount,
    and the oidc block of egi-user never resolves."""
    if not harness.binary_available():
        pytest.skip("no arca binary")
    srv = harness.start_dev_server(tmp_path / "arca")
    try:
        p = run_setup(srv, oidc_provider, vos=("vo.example.eu",), oidc_mount=False)
        assert p.returncode == 0, p.stdout + p.stderr
        e = Egi(srv, oidc_provider)
        assert e.oidc_accessor is None
        assert "auth_oidc_not_enabled" in srv.client().sys.read_policy("egi-user")["data"]["rules"]
        login = e.new_user("vo.example.eu")
        client, auth = e.login(login)
        assert e.groups_of(auth["entity_id"]) == [vo_group("vo.example.eu")]
        client.secrets.kv.v1.create_or_update_secret("vos/vo.example.eu/x", {"k": "v"},
                                                     mount_point="/secrets/")
        sub = oidc_provider.sub(login)
        client.secrets.kv.v1.create_or_update_secret(f"users/{sub}/x", {"k": "v"},
                                                     mount_point="/secrets/")
    finally:
        srv.stop()


def test_readme_user_walkthrough(egi, tmp_path):
    """The README's user section with the CLI: login, VAULT_HOME from
    userinfo's voperson_id, write/read/list, VO space, a locker."""
    login = egi.new_user("vo.example.eu")
    at = egi.provider.access_token(login)
    userinfo = egi.provider.discovery()["userinfo_endpoint"]
    script = r"""
set -euo pipefail
export VAULT_TOKEN=$("$ARCA" write -field=token auth/jwt/login jwt="$OIDC_ACCESS_TOKEN")
VAULT_HOME=secrets/users/$(curl -s -X POST "$USERINFO" -H "Authorization: Bearer $OIDC_ACCESS_TOKEN" | jq -r .voperson_id)
"$ARCA" write "$VAULT_HOME/test" "my-key=test value" db-pass=1234
"$ARCA" read -field=my-key "$VAULT_HOME/test"; echo   # -field prints no newline off a tty
"$ARCA" list "$VAULT_HOME"
"$ARCA" write secrets/vos/vo.example.eu/shared password=s3cr3t
"$ARCA" read -field=password secrets/vos/vo.example.eu/shared; echo
"$ARCA" token renew -increment=24h >/dev/null
LOCKER=$("$ARCA" token create -policy=default -ttl=24h -use-limit=2 -field=token)
VAULT_TOKEN=$LOCKER "$ARCA" write cubbyhole/deploy data=for-the-vm
VAULT_TOKEN=$LOCKER "$ARCA" read -field=data cubbyhole/deploy; echo
if VAULT_TOKEN=$LOCKER "$ARCA" read cubbyhole/deploy 2>/dev/null; then echo "locker still alive"; exit 1; fi
echo WALKTHROUGH-OK
"""
    env = harness.clean_env({"HOME": str(tmp_path), "VAULT_ADDR": egi.srv.addr,
                             "ARCA": harness.ARCA_BIN, "OIDC_ACCESS_TOKEN": at,
                             "USERINFO": userinfo})
    p = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "WALKTHROUGH-OK"
    assert "test value" in lines and "s3cr3t" in lines and "for-the-vm" in lines
    assert "test" in lines


def test_example_config_serves_and_takes_the_setup(oidc_provider, tls_material, tmp_path):
    """arca.hcl as shipped (paths and address swapped for the test's), then
    init, unseal and setup.sh over TLS: the operator walkthrough."""
    if not harness.binary_available():
        pytest.skip("no arca binary")
    port = harness.find_free_port()
    data = tmp_path / "data"
    data.mkdir()
    text = (EXAMPLE_DIR / "arca.hcl").read_text()
    for old, new in (("/var/lib/arca", str(data)),
                     ("/etc/arca/tls/node.pem", tls_material.server_cert),
                     ("/etc/arca/tls/node-key.pem", tls_material.server_key),
                     ("0.0.0.0:8200", f"127.0.0.1:{port}"),
                     ("https://secrets.example.org:8200", f"https://127.0.0.1:{port}")):
        assert old in text, old
        text = text.replace(old, new)
    config = tmp_path / "arca.hcl"
    config.write_text(text + "\ndisable_mlock = true\n")
    srv = harness.ArcaServer(name="egi-example", args=["server", f"-config={config}"], port=port,
                             workdir=tmp_path, log_path=tmp_path / "arca.log",
                             ca_cert=tls_material.ca_cert, data_dir=data, config_path=config)
    srv.start()
    try:
        srv.wait_listening()
        srv.initialize(shares=3, threshold=2)
        srv.unseal(count=2)
        p = run_setup(srv, oidc_provider, vos=("vo.example.eu",))
        assert p.returncode == 0, p.stdout + p.stderr
        e = Egi(srv, oidc_provider)
        login = e.new_user("vo.example.eu")
        client, auth = e.login(login)
        assert e.groups_of(auth["entity_id"]) == [vo_group("vo.example.eu")]
        assert auth["lease_duration"] == 3600
        client.secrets.kv.v1.create_or_update_secret(
            f"users/{oidc_provider.sub(login)}/x", {"k": "v"}, mount_point="/secrets/")
        _, oauth = e.oidc_login(login)
        assert e.groups_of(oauth["entity_id"]) == [vo_group("vo.example.eu", "oidc")]
    finally:
        srv.stop()


def test_setup_with_a_tls_provider_and_its_ca(tls_oidc_provider, tmp_path):
    """An issuer whose certificate is not in the system store: setup.sh
    passes OIDC_CA_PEM_FILE as oidc_discovery_ca_pem; without it the
    discovery check refuses the config."""
    if not harness.binary_available():
        pytest.skip("no arca binary")
    p = tls_oidc_provider
    assert p.issuer.startswith("https://127.0.0.1:")
    srv = harness.start_dev_server(tmp_path / "arca")
    try:
        no_ca = run_setup(srv, p, vos=("vo.example.eu",), extra_env={"OIDC_CA_PEM_FILE": ""})
        assert no_ca.returncode != 0
        assert "error checking oidc discovery URL" in no_ca.stderr
        done = run_setup(srv, p, vos=("vo.example.eu",))
        assert done.returncode == 0, done.stdout + done.stderr
        cfg = srv.request("GET", "/v1/auth/jwt/config").json()["data"]
        assert "BEGIN CERTIFICATE" in cfg["oidc_discovery_ca_pem"]
        e = Egi(srv, p)
        login = e.new_user("vo.example.eu")
        client, auth = e.login(login)  # JWKS and userinfo over TLS
        assert e.groups_of(auth["entity_id"]) == [vo_group("vo.example.eu")]
        _, oauth = e.oidc_login(login)  # code exchange over TLS
        assert e.groups_of(oauth["entity_id"]) == [vo_group("vo.example.eu", "oidc")]
    finally:
        srv.stop()
