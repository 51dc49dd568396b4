"""`arca login -method=oidc` end to end: the CLI as a subprocess (temp HOME,
VAULT_ADDR) against a dev arca set up by docs/examples/egi/setup.sh and the
Check-in-like provider (oidc.py). The test plays the browser: it reads the
URL the CLI prints, drives the provider's login and consent with HTTP
requests and lets the provider's final redirect hit the CLI's loopback
listener. The listener ports are free ports registered at the provider and
in the role's allowed_redirect_uris (localhost and 127.0.0.1 variants), so
parallel runs do not clash on 8250.

Vault's CLI (vault-plugin-auth-jwt cli.go) hands the first request to
/oidc/callback to the server, whatever it carries, and ends the login with
the server's answer: a wrong state fails the login (it does not keep
waiting), and a provider error (?error=...) also ends it with an error.
"""

import os
import re
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import List, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import harness
from oidc import CLI_REDIRECT, UI_REDIRECT, Egi, run_setup, start_provider, vo_group

URL_WAIT_S = 15.0   # until the CLI prints the authorization URL
EXIT_WAIT_S = 30.0  # until the CLI exits once the callback arrived
HTTP_TIMEOUT_S = 15.0
N_PORTS = 6

VO = "vo.example.eu"
POLICIES = ["default", "egi-user", "egi-vo"]

pytestmark = pytest.mark.skipif(not harness.binary_available(),
                                reason=f"arca binary not found at {harness.ARCA_BIN}")


def callback_uri(host: str, port: int) -> str:
    return f"http://{host}:{port}/oidc/callback"


# ---------------------------------------------------------------------------
# Fixtures: free listener ports, a provider and a server that allow them


@pytest.fixture(scope="module")
def ports() -> List[int]:
    chosen: List[int] = []
    while len(chosen) < N_PORTS:
        p = harness.find_free_port()
        if p not in chosen:
            chosen.append(p)
    return chosen


@pytest.fixture(scope="module")
def redirect_uris(ports) -> List[str]:
    return [callback_uri(h, p) for p in ports for h in ("localhost", "127.0.0.1")]


@pytest.fixture(scope="module")
def provider(tmp_path_factory, redirect_uris):
    # oidc_server.mjs registers OIDC_REDIRECT_URIS for arca's client; the
    # provider inherits the test process's environment (harness.clean_env).
    saved = os.environ.get("OIDC_REDIRECT_URIS")
    os.environ["OIDC_REDIRECT_URIS"] = ",".join(redirect_uris)
    try:
        p = start_provider(tmp_path_factory.mktemp("oidc-cli"))
    finally:
        if saved is None:
            os.environ.pop("OIDC_REDIRECT_URIS", None)
        else:
            os.environ["OIDC_REDIRECT_URIS"] = saved
    yield p
    p.stop()


@pytest.fixture(scope="module")
def egi(provider, tmp_path_factory, redirect_uris):
    srv = harness.start_dev_server(tmp_path_factory.mktemp("egi-cli") / "arca")
    try:
        uris = ",".join([CLI_REDIRECT, UI_REDIRECT, *redirect_uris])
        p = run_setup(srv, provider, extra_env={"OIDC_REDIRECT_URIS": uris})
        assert p.returncode == 0, f"setup.sh failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
        role = srv.client().read("auth/oidc/role/egi")["data"]
        assert set(redirect_uris) <= set(role["allowed_redirect_uris"])
        yield Egi(srv, provider)
    finally:
        srv.stop()


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# ---------------------------------------------------------------------------
# The CLI as a subprocess


class OidcCli:
    """`arca login -method=oidc <config...>` running in the background."""

    def __init__(self, srv, home: Path, *config: str, flags=()):
        env = harness.clean_env({"HOME": str(home), "VAULT_ADDR": srv.addr})
        self.args = [harness.ARCA_BIN, "login", *flags, "-method=oidc", *config]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=str(home),
                                     start_new_session=True)
        self._out: List[bytes] = []
        self._err: List[bytes] = []
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._pump, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))]
        for t in self._readers:
            t.start()

    def _pump(self, stream, sink: List[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            with self._lock:
                sink.append(chunk)

    @property
    def stdout(self) -> str:
        with self._lock:
            return b"".join(self._out).decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        with self._lock:
            return b"".join(self._err).decode("utf-8", "replace")

    def describe(self) -> str:
        return (f"{' '.join(self.args[1:])} (exit {self.proc.poll()})\n"
                f"stdout: {self.stdout}\nstderr: {self.stderr}")

    def wait_for_url(self, timeout: float = URL_WAIT_S) -> str:
        """The authorization URL, once the CLI printed it and waits for the callback."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            err = self.stderr
            m = re.search(r"in your browser:\n\n    (\S+)\n\n", err)
            if m and "Waiting for OIDC authentication to complete...\n" in err:
                return m.group(1)
            if self.proc.poll() is not None:
                for t in self._readers:
                    t.join(timeout=5)
                raise AssertionError("the CLI exited before printing the URL: " + self.describe())
            time.sleep(0.05)
        raise AssertionError(f"no authorization URL within {timeout}s: " + self.describe())

    def wait(self, timeout: float = EXIT_WAIT_S) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the CLI did not exit within {timeout}s: " + self.describe())
        for t in self._readers:
            t.join(timeout=5)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def run_cli():
    started: List[OidcCli] = []

    def run(srv, home, *config, flags=()):
        c = OidcCli(srv, home, *config, flags=flags)
        started.append(c)
        return c

    yield run
    for c in started:
        c.kill()


def browser_get(url: str, **kw):
    """What the browser does with the provider's redirect: GET it."""
    s = harness.new_session()
    try:
        return s.get(url, timeout=HTTP_TIMEOUT_S, allow_redirects=False, **kw)
    finally:
        s.close()


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def token_table(stdout: str) -> dict:
    """Key → value rows of the CLI's table output (after the header row)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^Key\s+Value$", line))
    assert re.match(r"^---\s+-----$", lines[start + 1]), stdout
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            continue
        k, _, v = line.partition(" ")
        rows[k] = v.strip()
    return rows


def read_token_file(home: Path) -> Optional[str]:
    p = home / ".vault-token"
    return p.read_text() if p.exists() else None


# ---------------------------------------------------------------------------
# Successful logins


def check_logged_in(egi, home: Path, cli: OidcCli, login: str, role_in_meta: str = "egi"):
    """The CLI exited 0 after a login of `login`; checks output, token file, token."""
    rc = cli.wait()
    assert rc == 0, cli.describe()
    out = cli.stdout
    head, sep, _ = out.partition("\n\n")
    assert sep and " ".join(head.split()) == (
        "Success! You are now authenticated. The token information displayed below is "
        "already stored in the token helper. You do NOT need to run \"arca login\" again. "
        "Future requests will automatically use this token."), out
    assert max(len(line) for line in head.splitlines()) <= 78, out
    rows = token_table(out)
    assert list(rows) == ["token", "token_accessor", "token_duration", "token_renewable",
                          "token_policies", "identity_policies", "policies",
                          "token_meta_role"], out
    assert rows["token_duration"] == "1h"
    assert rows["token_renewable"] == "true"
    assert rows["token_policies"] == '["default" "egi-user" "egi-vo"]'
    assert rows["identity_policies"] == "[]"
    assert rows["policies"] == '["default" "egi-user" "egi-vo"]'
    assert rows["token_meta_role"] == role_in_meta

    token = rows["token"]
    assert token and token not in cli.stderr
    assert read_token_file(home) == token
    assert stat.S_IMODE((home / ".vault-token").stat().st_mode) == 0o600

    sub = egi.provider.sub(login)
    me = egi.srv.client(token=token).auth.token.lookup_self()["data"]
    assert me["accessor"] == rows["token_accessor"]
    assert me["policies"] == POLICIES
    assert me["display_name"] == f"oidc-{sub}"
    assert me["path"] == "auth/oidc/oidc/callback"
    assert me["meta"] == {"role": role_in_meta}
    assert me["entity_id"]
    entity = egi.srv.client().secrets.identity.read_entity(me["entity_id"])["data"]
    assert [(a["mount_accessor"], a["name"]) for a in entity["aliases"]] == \
        [(egi.oidc_accessor, sub)]
    assert egi.groups_of(me["entity_id"]) == [vo_group(VO, "oidc")]
    return token


def test_login_via_localhost_listener(egi, home, ports, run_cli):
    port = ports[0]
    login = egi.new_user(VO)
    cli = run_cli(egi.srv, home, f"port={port}", "skip_browser=true", "role=egi")
    url = cli.wait_for_url()
    assert "Complete the login via your OIDC provider. Open the following link in your " \
        "browser:\n\n    " + url in cli.stderr
    assert url.startswith(egi.provider.discovery()["authorization_endpoint"] + "?")
    q = query_of(url)
    assert q["redirect_uri"] == callback_uri("localhost", port)
    assert q["client_id"] == "arca-oidc" and q["code_challenge_method"] == "S256"

    # The browser: a stray request first (the wait goes on), then the flow.
    stray = browser_get(f"http://127.0.0.1:{port}/favicon.ico")
    assert stray.status_code == 404
    assert cli.proc.poll() is None
    back = egi.provider.drive_login(url, login)
    assert back.startswith(callback_uri("localhost", port) + "?"), back
    r = browser_get(back)
    assert r.status_code == 200, r.text
    assert "Signed in via your OIDC provider" in r.text
    check_logged_in(egi, home, cli, login)


def test_login_via_127_0_0_1_with_the_default_role(egi, home, ports, run_cli):
    port = ports[1]
    login = egi.new_user(VO)
    cli = run_cli(egi.srv, home, "listenaddress=127.0.0.1", "callbackhost=127.0.0.1",
                  f"port={port}", "skip_browser=true")
    url = cli.wait_for_url()
    assert query_of(url)["redirect_uri"] == callback_uri("127.0.0.1", port)
    back = egi.provider.drive_login(url, login)
    assert back.startswith(callback_uri("127.0.0.1", port) + "?"), back
    r = browser_get(back)
    assert r.status_code == 200 and "Signed in via your OIDC provider" in r.text, r.text
    check_logged_in(egi, home, cli, login)


def test_second_login_replaces_the_stored_token(egi, home, ports, run_cli):
    login = egi.new_user(VO)
    tokens = []
    for port in ports[2:4]:
        cli = run_cli(egi.srv, home, f"port={port}", "skip_browser=true")
        back = egi.provider.drive_login(cli.wait_for_url(), login)
        assert browser_get(back).status_code == 200
        tokens.append(check_logged_in(egi, home, cli, login))
    assert tokens[0] != tokens[1]
    assert read_token_file(home) == tokens[1]


# ---------------------------------------------------------------------------
# Failures


def check_failed(cli: OidcCli, home: Path, *messages: str) -> str:
    rc = cli.wait()
    assert rc == 2, cli.describe()
    assert cli.stdout == "", cli.describe()
    err = cli.stderr
    assert "Error authenticating: " in err, err
    for m in messages:
        assert m in err, cli.describe()
    assert not read_token_file(home)
    return err


def test_wrong_state_at_the_listener_fails_the_login(egi, home, ports, run_cli):
    """As Vault's CLI: the first callback ends the login; the server refuses
    the unknown state, the browser gets the error page, the CLI exits 2."""
    port = ports[4]
    login = egi.new_user(VO)
    cli = run_cli(egi.srv, home, f"port={port}", "skip_browser=true")
    back = egi.provider.drive_login(cli.wait_for_url(), login)
    q = query_of(back)
    assert q["code"] and q["state"]
    forged = callback_uri("localhost", port) + "?" + urlencode(
        {"code": q["code"], "state": "st_" + "x" * 20})
    r = browser_get(forged)
    assert r.status_code == 200
    assert "Login error" in r.text and "Expired or missing OAuth state." in r.text
    err = check_failed(cli, home, "Vault login failed. Expired or missing OAuth state.")
    assert "Code: 400." in err
    # The listener is gone with the CLI: the genuine redirect cannot land.
    with pytest.raises(Exception):
        browser_get(back)


def test_provider_error_fails_the_login(egi, home, ports, run_cli):
    port = ports[5]
    login = egi.new_user(VO)
    cli = run_cli(egi.srv, home, f"port={port}", "skip_browser=true")
    back = egi.provider.drive_login(cli.wait_for_url(), login, consent=False)
    q = query_of(back)
    assert q["error"] == "access_denied" and "code" not in q
    r = browser_get(back)
    assert r.status_code == 200
    assert "Login error" in r.text
    check_failed(cli, home, "Vault login failed. No code or id_token received.",
                 "access_denied")


def test_unlisted_callback_host_gives_no_url(egi, home, run_cli):
    cli = run_cli(egi.srv, home, "port=0", "callbackhost=arca.test.invalid", "callbackport=8250",
                  "skip_browser=true")
    check_failed(cli, home, 'Unable to authorize role "" with redirect_uri '
                 '"http://arca.test.invalid:8250/oidc/callback".')
    assert "in your browser" not in cli.stderr


def test_port_in_use(egi, home, run_cli):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        cli = run_cli(egi.srv, home, f"port={port}", "skip_browser=true")
        check_failed(cli, home, f"listen tcp 127.0.0.1:{port}: bind: address already in use")
