"""The arca CLI (Vault's CLI for the common work, vault-api.md 8.2 and 5.9)
against real servers, configured only through VAULT_ADDR, VAULT_TOKEN and
VAULT_CACERT, with a temporary HOME (token helper file ~/.vault-token)."""

import json
import re
import subprocess

import pytest

import harness
from harness import uniq

CLI_TIMEOUT_S = 30

pytestmark = pytest.mark.skipif(not harness.binary_available(),
                                reason=f"arca binary not found at {harness.ARCA_BIN}")


class Cli:
    def __init__(self, srv, home, token="root"):
        self.srv = srv
        self.home = home
        self.token = srv.root_token if token == "root" else token

    def run(self, *args, token="default", stdin=None, env=None):
        """Runs `arca <args>`; token None = no VAULT_TOKEN at all."""
        tok = self.token if token == "default" else token
        extra = {"HOME": str(self.home), "VAULT_ADDR": self.srv.addr}
        if self.srv.ca_cert:
            extra["VAULT_CACERT"] = self.srv.ca_cert
        if tok is not None:
            extra["VAULT_TOKEN"] = tok
        if env:
            extra.update(env)
        return subprocess.run([harness.ARCA_BIN, *args], input=stdin, capture_output=True,
                              text=True, timeout=CLI_TIMEOUT_S, env=harness.clean_env(extra),
                              cwd=str(self.home))

    def ok(self, *args, **kwargs):
        p = self.run(*args, **kwargs)
        assert p.returncode == 0, (
            f"arca {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p.stdout

    def fails(self, *args, code=None, **kwargs):
        p = self.run(*args, **kwargs)
        if code is None:
            assert p.returncode != 0, f"arca {' '.join(args)} succeeded: {p.stdout}"
        else:
            assert p.returncode == code, (
                f"arca {' '.join(args)} exited {p.returncode}, expected {code}\n"
                f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def cli(server, home):
    return Cli(server, home)


def js(cli, command, *args, **kwargs):
    """`arca <command words> -format=json <args>` parsed as JSON."""
    out = cli.ok(*command.split(), "-format=json", *args, **kwargs)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError(f"arca {command} -format=json printed non-JSON: {out!r}")


def field(cli, command, name, *args, **kwargs):
    """`arca <command words> -field=<name> <args>`, trailing newline dropped."""
    return cli.ok(*command.split(), f"-field={name}", *args, **kwargs).rstrip("\n")


# ---------------------------------------------------------------------------
# status, operator init / unseal


def test_status_init_unseal_on_fresh_server(make_server, home):
    srv = make_server("tls", init=False)
    cli = Cli(srv, home, token=None)

    cli.fails("status", code=2)
    st = json.loads(cli.fails("status", "-format=json", code=2).stdout)
    assert st["initialized"] is False and st["sealed"] is True
    cli.fails("operator", "init", "-status", code=2)

    init = js(cli, "operator init", "-key-shares=5", "-key-threshold=3")
    assert len(init["unseal_keys_b64"]) == 5 and len(init["unseal_keys_hex"]) == 5
    assert init["unseal_shares"] == 5 and init["unseal_threshold"] == 3
    assert init["root_token"].startswith("hvs.")
    cli.ok("operator", "init", "-status")

    st = json.loads(cli.fails("status", "-format=json", code=2).stdout)
    assert st["initialized"] is True and st["sealed"] is True
    assert (st["t"], st["n"], st["progress"]) == (3, 5, 0)
    assert st["type"] == "shamir"

    st = js(cli, "operator unseal", init["unseal_keys_hex"][0])
    assert st["sealed"] is True and st["progress"] == 1
    cli.fails("operator", "unseal", "definitely-not-a-key")
    st = js(cli, "operator unseal", init["unseal_keys_b64"][1])
    assert st["progress"] == 2
    st = js(cli, "operator unseal", init["unseal_keys_hex"][2])
    assert st["sealed"] is False

    st = js(cli, "status")
    assert st["sealed"] is False and st["initialized"] is True
    assert isinstance(st["ha_enabled"], bool)
    table = cli.ok("status")
    assert re.search(r"^Seal Type\s+shamir$", table, re.M), table
    assert re.search(r"^Initialized\s+true$", table, re.M), table
    assert re.search(r"^Sealed\s+false$", table, re.M), table
    assert re.search(r"^Total Shares\s+5$", table, re.M), table
    assert re.search(r"^Threshold\s+3$", table, re.M), table

    # Back to sealed: status exits 2 again.
    cli.ok("operator", "seal", token=init["root_token"])
    cli.fails("status", code=2)


def test_status_unreachable_server(home):
    port = harness.find_free_port()
    p = subprocess.run([harness.ARCA_BIN, "status"], capture_output=True, text=True,
                       timeout=CLI_TIMEOUT_S, env=harness.clean_env(
                           {"HOME": str(home), "VAULT_ADDR": f"http://127.0.0.1:{port}"}))
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.strip()


# ---------------------------------------------------------------------------
# login and the token helper


def test_login_stores_token_in_home(server, home):
    cli = Cli(server, home, token=None)
    out = cli.ok("login", server.root_token)
    assert "Success!" in out
    token_file = home / ".vault-token"
    assert token_file.read_text().strip() == server.root_token
    info = js(cli, "token lookup")
    assert info["data"]["id"] == server.root_token

    p = cli.fails("login", "hvs.not-a-real-token")
    assert p.returncode in (1, 2)
    assert token_file.read_text().strip() == server.root_token  # unchanged

    # VAULT_TOKEN wins over the stored token.
    tok = server.client().auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    assert js(cli, "token lookup", token=tok)["data"]["id"] == tok


def test_no_token_is_permission_denied(server, home):
    cli = Cli(server, home, token=None)
    p = cli.fails("read", "sys/mounts")
    assert "permission denied" in (p.stderr + p.stdout).lower() or "403" in p.stderr


# ---------------------------------------------------------------------------
# Generic read / write / list / delete


@pytest.fixture
def kv1(server):
    name = uniq("clikv1-")
    server.client().sys.enable_secrets_engine("kv", path=name, options={"version": "1"})
    return name


def test_write_read_list_delete(cli, kv1, home):
    out = cli.ok("write", f"{kv1}/foo", "a=b", "c=d e")
    assert f"Success! Data written to: {kv1}/foo" in out

    got = js(cli, "read", f"{kv1}/foo")
    assert got["data"] == {"a": "b", "c": "d e"}
    assert got["lease_duration"] == 2764800
    assert field(cli, "read", "a", f"{kv1}/foo") == "b"
    table = cli.ok("read", f"{kv1}/foo")
    assert "refresh_interval" in table and "768h" in table

    # Values from a file and a whole JSON object from stdin.
    (home / "note.txt").write_text("multi\nline\n")
    cli.ok("write", f"{kv1}/file", "note=@" + str(home / "note.txt"))
    assert js(cli, "read", f"{kv1}/file")["data"] == {"note": "multi\nline\n"}
    cli.ok("write", f"{kv1}/stdin", "-", stdin=json.dumps({"x": "y", "n": 1}))
    assert js(cli, "read", f"{kv1}/stdin")["data"] == {"x": "y", "n": 1}

    assert js(cli, "list", f"{kv1}/") == ["file", "foo", "stdin"]
    assert cli.ok("list", kv1).split()[0] == "Keys"

    out = cli.ok("delete", f"{kv1}/foo")
    assert f"Success! Data deleted (if it existed) at: {kv1}/foo" in out
    p = cli.fails("read", f"{kv1}/foo", code=2)
    assert "No value found at" in p.stderr
    cli.fails("list", f"{kv1}/nothing/", code=2)


# ---------------------------------------------------------------------------
# kv on v2 and v1


def test_kv_v2_commands(cli):
    path = f"secret/{uniq('cli')}/x"
    put = js(cli, "kv put", path, "a=1")
    assert put["data"]["version"] == 1
    assert js(cli, "kv put", path, "a=2")["data"]["version"] == 2

    got = js(cli, "kv get", path)
    assert got["data"]["data"] == {"a": "2"}
    assert got["data"]["metadata"]["version"] == 2
    assert field(cli, "kv get", "a", path) == "2"
    assert field(cli, "kv get", "a", "-version=1", path) == "1"
    mount_flag = js(cli, "kv get", "-mount=secret", path[len("secret/"):])
    assert mount_flag["data"]["data"] == {"a": "2"}

    table = cli.ok("kv", "get", path)
    assert "Metadata" in table and "version" in table and "Data" in table
    assert re.search(r"^a\s+2$", table, re.M), table

    cli.ok("kv", "patch", path, "b=3")
    got = js(cli, "kv get", path)
    assert got["data"]["data"] == {"a": "2", "b": "3"}
    assert got["data"]["metadata"]["version"] == 3

    folder = path.rsplit("/", 1)[0]
    assert js(cli, "kv list", folder) == ["x"]

    cli.ok("kv", "delete", path)
    p = cli.run("kv", "get", "-format=json", path)
    if p.returncode == 0:
        body = json.loads(p.stdout)
        assert body["data"]["data"] is None and body["data"]["metadata"]["deletion_time"]
    else:
        assert p.returncode == 2, (p.returncode, p.stderr)

    cli.ok("kv", "undelete", "-versions=3", path)
    assert js(cli, "kv get", path)["data"]["data"] == {"a": "2", "b": "3"}

    cli.ok("kv", "destroy", "-versions=1", path)
    md = js(cli, "kv metadata get", path)
    assert md["data"]["versions"]["1"]["destroyed"] is True
    assert md["data"]["current_version"] == 3

    cli.ok("kv", "metadata", "put", "-max-versions=5", "-custom-metadata=owner=alice", path)
    md = js(cli, "kv metadata get", path)
    assert md["data"]["max_versions"] == 5
    assert md["data"]["custom_metadata"] == {"owner": "alice"}

    cli.ok("kv", "metadata", "delete", path)
    cli.fails("kv", "metadata", "get", path, code=2)
    cli.fails("kv", "get", path, code=2)


def test_kv_v1_commands(cli, kv1):
    path = f"{kv1}/{uniq('y')}"
    out = cli.ok("kv", "put", path, "a=b")
    assert "Success! Data written to: " + path in out
    assert js(cli, "kv get", path)["data"] == {"a": "b"}
    assert field(cli, "kv get", "a", path) == "b"
    assert js(cli, "kv list", kv1) == [path.split("/", 1)[1]]
    cli.ok("kv", "delete", path)
    cli.fails("kv", "get", path, code=2)


def test_kv_without_permission(cli, server):
    tok = server.client().auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    p = cli.fails("kv", "get", "secret/anything", token=tok)
    assert p.returncode == 2
    assert "403" in p.stderr or "permission denied" in p.stderr.lower()


# ---------------------------------------------------------------------------
# token


def test_token_commands(cli, server):
    created = js(cli, "token create", "-policy=default", "-ttl=1h", "-display-name=cli",
                 "-metadata=k=v", "-use-limit=5")
    auth = created["auth"]
    tok, acc = auth["client_token"], auth["accessor"]
    assert auth["policies"] == ["default"]
    assert auth["lease_duration"] == 3600
    assert auth["metadata"] == {"k": "v"}
    assert auth["num_uses"] == 5

    table = cli.ok("token", "create", "-policy=default", "-ttl=10m")
    assert re.search(r"^token\s+hvs\.", table, re.M), table
    assert re.search(r'^token_policies\s+\["default"\]$', table, re.M), table

    bare = field(cli, "token create", "token", "-policy=default", "-ttl=10m")
    assert bare.startswith("hvs.") and "\n" not in bare

    info = js(cli, "token lookup", tok)["data"]
    assert info["id"] == tok
    assert info["display_name"] == "token-cli"
    assert 3500 <= info["ttl"] <= 3600
    by_acc = js(cli, "token lookup", "-accessor", acc)["data"]
    assert by_acc["id"] == "" and by_acc["accessor"] == acc

    renewed = js(cli, "token renew", "-increment=2h", tok)
    assert renewed["auth"]["lease_duration"] == 7200

    assert field(cli, "token lookup", "policies", token=bare) in ("[default]", '["default"]')
    out = cli.ok("token", "capabilities", "secret/data/x")
    assert out.strip() == "root"

    cli.ok("token", "revoke", tok)
    cli.fails("token", "lookup", tok, code=2)
    cli.ok("token", "revoke", "-self", token=bare)
    cli.fails("token", "lookup", token=bare)


# ---------------------------------------------------------------------------
# policy


def test_policy_commands(cli, home):
    name = uniq("clipol")
    text = 'path "secret/data/cli/*" {\n  capabilities = ["read", "list"]\n}\n'
    (home / "p.hcl").write_text(text)
    out = cli.ok("policy", "write", name, str(home / "p.hcl"))
    assert f"Success! Uploaded policy: {name}" in out
    assert cli.ok("policy", "read", name).rstrip("\n") == text.rstrip("\n")

    other = uniq("clipol")
    cli.ok("policy", "write", other, "-", stdin='path "x/*" { capabilities = ["read"] }')
    listed = js(cli, "policy list")
    assert {"root", "default", name, other} <= set(listed)
    assert cli.ok("policy", "list").split() == sorted(listed)

    out = cli.ok("policy", "delete", name)
    assert f"Success! Deleted policy: {name}" in out
    cli.fails("policy", "read", name, code=2)
    (home / "bad.hcl").write_text('path "x" { capabilities = ["fly"] }')
    cli.fails("policy", "write", uniq("bad"), str(home / "bad.hcl"))


# ---------------------------------------------------------------------------
# secrets, auth, audit


def test_secrets_commands(cli):
    v1, v2 = uniq("clis1-"), uniq("clis2-")
    out = cli.ok("secrets", "enable", f"-path={v1}", "kv")
    assert f"Success! Enabled the kv secrets engine at: {v1}/" in out
    cli.ok("secrets", "enable", f"-path={v2}", "-version=2", "-description=two", "kv")
    mounts = js(cli, "secrets list")
    assert mounts[v1 + "/"]["type"] == "kv"
    assert mounts[v2 + "/"]["options"] == {"version": "2"}
    assert mounts[v2 + "/"]["description"] == "two"
    assert "sys/" in mounts and "cubbyhole/" in mounts
    table = cli.ok("secrets", "list")
    assert v1 + "/" in table and "Path" in table

    cli.ok("secrets", "tune", "-default-lease-ttl=1h", v1)
    assert js(cli, "read", f"sys/mounts/{v1}/tune")["data"]["default_lease_ttl"] == 3600

    cli.fails("secrets", "enable", f"-path={v1}", "kv")
    out = cli.ok("secrets", "disable", v1)
    assert f"Success! Disabled the secrets engine (if it existed) at: {v1}/" in out
    assert v1 + "/" not in js(cli, "secrets list")


def test_auth_list(cli):
    methods = js(cli, "auth list")
    assert methods["token/"]["type"] == "token"
    assert methods["token/"]["accessor"].startswith("auth_token_")
    assert "token/" in cli.ok("auth", "list")


def test_audit_commands(dev_server, home, tmp_path):
    cli = Cli(dev_server, home)
    log = tmp_path / "cli-audit.log"
    out = cli.ok("audit", "enable", "file", f"file_path={log}")
    assert "Success! Enabled the file audit device at: file/" in out
    devices = js(cli, "audit list")
    assert devices["file/"]["type"] == "file"
    assert devices["file/"]["options"]["file_path"] == str(log)
    cli.ok("kv", "put", "secret/audited", "k=v")
    lines = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]
    assert any(e["request"]["path"] == "secret/data/audited" for e in lines)
    out = cli.ok("audit", "disable", "file")
    assert "Success! Disabled audit device (if it was enabled) at: file/" in out
    p = cli.run("audit", "list")
    assert p.returncode in (0, 2)
    assert "No audit devices are enabled" in p.stdout + p.stderr


def test_vault_format_env(cli):
    out = cli.ok("read", "sys/mounts", env={"VAULT_FORMAT": "json"})
    assert json.loads(out)["data"]["sys/"]["type"] == "system"


def test_usage_errors(cli):
    cli.fails("no-such-command")
    cli.fails("kv", "put")
    cli.fails("write")
