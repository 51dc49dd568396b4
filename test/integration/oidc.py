"""The EGI Check-in-like OpenID provider (node/oidc_server.mjs) for the jwt/oidc tests.

    from oidc import oidc_provider, fresh_oidc_provider  # fixtures

* oidc_provider        one provider per test module (shared state: tests use
                       their own users or restore what they change).
* fresh_oidc_provider  a provider of its own for one test (key rotation).
* tls_oidc_provider    one per module, over HTTPS with conftest's test CA.
* egi / fresh_egi      an arca dev server set up by docs/examples/egi/setup.sh
                       for oidc_provider / fresh_oidc_provider (class Egi).

OidcProvider offers what the tests need without a browser:

* user_token(login)            authorization-code flow (+PKCE) through the
                               provider's login and consent, driven with HTTP
                               requests; returns the token response (access_token,
                               id_token, ...). The access token is a JWS without aud.
* service_token(client_id)     client-credentials grant (service accounts).
* drive_login(url, login)      follows an authorization URL (e.g. arca's auth_url)
                               through login/consent; returns the URL the provider
                               finally redirects to (the client's callback).
* set_entitlements(login, [...]), user(login), rotate_key(keep_old), sign(claims, ...),
  stats(), set_userinfo_status(code), jwks().

The provider process writes its stdout/stderr to a log file; while it runs it
is listed in harness.LIVE_SERVERS so conftest.py attaches its log tail to
failing tests' reports. Every wait is bounded; the process is killed at
teardown.
"""

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest

import harness

NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else shutil.which("node")
NODE_DIR = Path(__file__).parent / "node"
SERVER_JS = NODE_DIR / "oidc_server.mjs"

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
HTTP_TIMEOUT_S = 10.0

# What Check-in's token portal asks for.
DEFAULT_SCOPE = "openid profile email eduperson_entitlement voperson_id"
PORTAL_CLIENT = ("token-portal", "token-portal-secret")
PORTAL_REDIRECT = "http://127.0.0.1:8250/token-portal/callback"
# arca's OIDC client at the provider (auth/oidc/config oidc_client_id/secret).
ARCA_CLIENT_ID = "arca-oidc"
ARCA_CLIENT_SECRET = "arca-oidc-secret"
# Registered redirect URIs of arca-oidc (the vault/arca CLI's loopback listener
# and a UI-style one); the tests never follow them, they only read code+state.
CLI_REDIRECT = "http://localhost:8250/oidc/callback"
UI_REDIRECT = "https://arca.test.invalid/ui/vault/auth/oidc/oidc/callback"
SERVICE_SECRETS = {"svc-catchall": "svc-catchall-secret", "svc-argo": "svc-argo-secret"}


def vo_entitlement(vo: str) -> str:
    """Check-in's entitlement for membership of a VO."""
    return f"urn:mace:egi.eu:group:{vo}:role=member#aai.egi.eu"


def vo_group(vo: str, mount: str = "jwt") -> str:
    """The name setup.sh gives the external group of a VO on an auth mount."""
    return vo.replace(".", "_") + "-" + mount


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_parts(token: str):
    """(header, claims) of a compact JWS, without verifying it."""
    h, p, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(h))),
            json.loads(base64.urlsafe_b64decode(pad(p))))


def node_available() -> bool:
    return NODE is not None and (NODE_DIR / "node_modules" / "oidc-provider").is_dir()


class OidcError(AssertionError):
    """The provider did something the test helpers did not expect."""


class OidcProvider:
    """One node oidc_server.mjs process on 127.0.0.1."""

    name = "oidc-provider"

    def __init__(self, workdir: Path, tls: Optional["harness.TlsMaterial"] = None):
        self.tls = tls
        self.ca_cert = tls.ca_cert if tls else None
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "oidc-provider.log"
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.issuer = ""
        self.users = {}
        self.service_accounts = {}
        self._discovery = None

    # -- process ---------------------------------------------------------------

    @property
    def addr(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.addr + path

    def start(self) -> "OidcProvider":
        env = {}
        if self.tls:
            env = {"OIDC_TLS_CERT": self.tls.server_cert, "OIDC_TLS_KEY": self.tls.server_key}
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [NODE, "--no-warnings", str(SERVER_JS), "0"], cwd=str(NODE_DIR),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=harness.clean_env(env), start_new_session=True)
        finally:
            log.close()
        with harness._LIVE_LOCK:
            harness.LIVE_SERVERS.append(self)
        try:
            self._wait_ready()
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise OidcError(f"oidc provider exited with {self.proc.returncode}\n"
                                + self.log_tail())
            for line in self.log_path.read_text(errors="replace").splitlines():
                if line.startswith("OIDC_READY "):
                    info = json.loads(line[len("OIDC_READY "):])
                    self.port = info["port"]
                    self.issuer = info["issuer"]
                    self.users = info["users"]
                    self.service_accounts = info["service_accounts"]
                    return
            time.sleep(0.05)
        raise OidcError(f"oidc provider not ready within {START_TIMEOUT_S}s\n" + self.log_tail())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        with harness._LIVE_LOCK:
            if self in harness.LIVE_SERVERS:
                harness.LIVE_SERVERS.remove(self)

    def log_tail(self, max_bytes: int = 8000) -> str:
        try:
            data = self.log_path.read_bytes()[-max_bytes:].decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"
        state = "running" if self.alive() else "stopped"
        return f"[oidc provider {self.addr}: {state}; log {self.log_path}]\n{data}"

    # -- plain HTTP ------------------------------------------------------------

    def _request(self, method: str, path_or_url: str, session=None, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT_S)
        kw.setdefault("allow_redirects", False)
        kw.setdefault("verify", self.ca_cert or True)
        url = path_or_url if path_or_url.startswith("http") else self.url(path_or_url)
        s = session or harness.new_session()
        try:
            return s.request(method, url, **kw)
        finally:
            if session is None:
                s.close()

    def _admin(self, method: str, path: str, body=None) -> dict:
        r = self._request(method, path, json=body if body is not None else None)
        if r.status_code != 200:
            raise OidcError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def discovery(self) -> dict:
        if self._discovery is None:
            r = self._request("GET", self.issuer + "/.well-known/openid-configuration")
            r.raise_for_status()
            self._discovery = r.json()
        return self._discovery

    # -- admin endpoints ------------------------------------------------------

    def user(self, login: str) -> dict:
        return self._admin("GET", f"/test/users/{login}")

    def sub(self, login: str) -> str:
        return self.user(login)["sub"]

    def set_entitlements(self, login: str, entitlements) -> dict:
        return self._admin("POST", f"/test/users/{login}", {"entitlements": list(entitlements)})

    def add_user(self, login: str, entitlements=()) -> dict:
        return self.set_entitlements(login, entitlements)

    def rotate_key(self, keep_old: bool = True) -> dict:
        """A new RSA signing key, first in the JWKS; returns {kid, previous_kid, jwks}."""
        return self._admin("POST", "/test/rotate", {"keep_old": keep_old})

    def sign(self, claims: dict, alg: str = "RS256", kid: Optional[str] = None,
             header: Optional[dict] = None) -> str:
        """A JWS over claims signed with one of the provider's keys."""
        body = {"claims": claims, "alg": alg, "header": header or {}}
        if kid:
            body["kid"] = kid
        return self._admin("POST", "/test/sign", body)["token"]

    def stats(self) -> dict:
        return self._admin("GET", "/test/stats")

    def jwks(self) -> dict:
        return self._admin("GET", "/test/jwks")

    def set_userinfo_status(self, status: int) -> None:
        """Makes userinfo answer `status` (0 = normally)."""
        self._admin("POST", "/test/config", {"userinfo_status": status})

    def set_userinfo_sub(self, sub: str) -> None:
        """Makes userinfo answer with this sub ("" = the token's)."""
        self._admin("POST", "/test/config", {"userinfo_sub": sub})

    def claims(self, sub: str, lifetime: int = 3600, **extra) -> dict:
        """Check-in-like access-token claims for sub, valid from now."""
        now = int(time.time())
        c = {"iss": self.issuer, "sub": sub, "iat": now, "exp": now + lifetime,
             "jti": secrets.token_hex(8), "scope": DEFAULT_SCOPE, "typ": "Bearer",
             "azp": PORTAL_CLIENT[0], "client_id": PORTAL_CLIENT[0], "voperson_id": sub}
        c.update(extra)
        return {k: v for k, v in c.items() if v is not None}

    # -- flows ------------------------------------------------------------------

    def drive_login(self, url: str, login: str, password: Optional[str] = None,
                    consent: bool = True, session=None, max_steps: int = 12) -> str:
        """Follows `url` (an authorization request) through the provider's
        login and consent pages; returns the URL it redirects to outside itself."""
        s = session or harness.new_session()
        try:
            for _ in range(max_steps):
                r = self._request("GET", url, session=s)
                if r.status_code in (302, 303):
                    url = urljoin(url, r.headers["Location"])
                    if not url.startswith(self.issuer):
                        return url
                    continue
                if r.status_code == 200 and "/interaction/" in url:
                    info = r.json()
                    if info["prompt"] == "login":
                        r2 = self._request("POST", self.url(info["login_action"]), session=s,
                                           data={"login": login,
                                                 "password": login if password is None else password})
                    elif consent:
                        r2 = self._request("POST", self.url(info["confirm_action"]), session=s)
                    else:
                        r2 = self._request("POST", self.url(info["abort_action"]), session=s)
                    if r2.status_code != 303:
                        raise OidcError(f"interaction {info['prompt']}: {r2.status_code} "
                                        f"{r2.text[:300]}")
                    url = urljoin(url, r2.headers["Location"])
                    continue
                raise OidcError(f"unexpected {r.status_code} at {url}: {r.text[:300]}")
            raise OidcError(f"no redirect out of the provider after {max_steps} steps")
        finally:
            if session is None:
                s.close()

    def user_token(self, login: str, scope: str = DEFAULT_SCOPE,
                   password: Optional[str] = None) -> dict:
        """An access token (and ID token) for `login`, as from Check-in's token portal."""
        d = self.discovery()
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(16)
        params = {
            "client_id": PORTAL_CLIENT[0], "redirect_uri": PORTAL_REDIRECT,
            "response_type": "code", "scope": scope, "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        back = self.drive_login(d["authorization_endpoint"] + "?" + urlencode(params),
                                login, password)
        q = parse_qs(urlsplit(back).query)
        if "code" not in q:
            raise OidcError(f"no code in the redirect: {back}")
        if q.get("state") != [state]:
            raise OidcError("state mismatch in the redirect")
        r = self._request("POST", d["token_endpoint"], auth=PORTAL_CLIENT, data={
            "grant_type": "authorization_code", "code": q["code"][0],
            "redirect_uri": PORTAL_REDIRECT, "code_verifier": verifier})
        if r.status_code != 200:
            raise OidcError(f"token endpoint: {r.status_code} {r.text[:300]}")
        return r.json()

    def access_token(self, login: str, **kw) -> str:
        return self.user_token(login, **kw)["access_token"]

    def service_token(self, client_id: str = "svc-catchall",
                      scope: str = "openid profile email") -> str:
        """A client-credentials access token of a service account."""
        r = self._request("POST", self.discovery()["token_endpoint"],
                          auth=(client_id, SERVICE_SECRETS[client_id]),
                          data={"grant_type": "client_credentials", "scope": scope})
        if r.status_code != 200:
            raise OidcError(f"client credentials: {r.status_code} {r.text[:300]}")
        return r.json()["access_token"]


def start_provider(workdir: Path, tls=None) -> OidcProvider:
    if not node_available():
        pytest.skip("node or test/integration/node/node_modules/oidc-provider missing "
                    "(npm install in test/integration/node)")
    return OidcProvider(workdir, tls).start()


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory):
    p = start_provider(tmp_path_factory.mktemp("oidc"))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def tls_oidc_provider(tmp_path_factory, tls_material):
    """The provider over HTTPS (certificate of conftest's test CA)."""
    p = start_provider(tmp_path_factory.mktemp("oidc-tls"), tls_material)
    yield p
    p.stop()


@pytest.fixture
def fresh_oidc_provider(tmp_path):
    p = start_provider(tmp_path / "oidc")
    yield p
    p.stop()


# ---------------------------------------------------------------------------
# arca configured like EGI's store by docs/examples/egi/setup.sh

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "egi"
SETUP_SH = EXAMPLE_DIR / "setup.sh"
VOS = ("vo.example.eu", "vo.other.eu", "vo.third.eu")


def run_setup(srv, provider: OidcProvider, vos=VOS, home: Optional[Path] = None,
              extra_env: Optional[dict] = None, oidc_mount: bool = True):
    """Runs setup.sh against srv (root token) with the test provider's issuer.
    Returns the CompletedProcess (the caller checks returncode)."""
    env = {
        "VAULT_ADDR": srv.addr, "VAULT_TOKEN": srv.root_token, "ARCA": harness.ARCA_BIN,
        "HOME": str(home or srv.workdir), "OIDC_ISSUER": provider.issuer,
        "OIDC_REDIRECT_URIS": f"{CLI_REDIRECT},{UI_REDIRECT}", "EGI_VOS": " ".join(vos),
    }
    if srv.ca_cert:
        env["VAULT_CACERT"] = srv.ca_cert
    if provider.ca_cert:
        env["OIDC_CA_PEM_FILE"] = provider.ca_cert
    if oidc_mount:
        env.update({"OIDC_CLIENT_ID": ARCA_CLIENT_ID, "OIDC_CLIENT_SECRET": ARCA_CLIENT_SECRET})
    env.update(extra_env or {})
    return subprocess.run(["bash", str(SETUP_SH)], env=harness.clean_env(env),
                          capture_output=True, text=True, timeout=90)


class Egi:
    """An arca server set up by setup.sh, and the provider it trusts."""

    def __init__(self, srv, provider: OidcProvider):
        self.srv = srv
        self.provider = provider
        mounts = srv.client().sys.list_auth_methods()["data"]
        self.jwt_accessor = mounts["jwt/"]["accessor"]
        self.oidc_accessor = mounts.get("oidc/", {}).get("accessor")

    def groups_of(self, entity_id: str) -> list:
        """Sorted names of the groups the entity is a member of."""
        ident = self.srv.client().secrets.identity
        ids = ident.read_entity(entity_id)["data"].get("group_ids") or []
        return sorted(ident.read_group(g)["data"]["name"] for g in ids)

    def new_user(self, *vos, entitlements=()) -> str:
        """A fresh provider user in the given VOs; returns its login."""
        login = harness.uniq("u")
        self.provider.add_user(login, [vo_entitlement(v) for v in vos] + list(entitlements))
        return login

    def jwt_login(self, jwt: str, role: Optional[str] = "", path: str = "jwt"):
        """hvac's jwt_login; returns (client carrying the new token, auth)."""
        c = self.srv.client(token=None)
        resp = c.auth.jwt.jwt_login(role=role, jwt=jwt, path=path)
        return c, resp["auth"]

    def login(self, login: str, role: Optional[str] = ""):
        """A fresh access token for `login`, then a jwt login with it."""
        return self.jwt_login(self.provider.access_token(login), role=role)

    def raw_login(self, body, path: str = "jwt", method: str = "POST", **kw):
        return self.srv.request(method, f"/v1/auth/{path}/login", token=None,
                                **({"json": body} if not isinstance(body, (str, bytes))
                                   else {"data": body}), **kw)

    def oidc_auth_url(self, role: str = "", redirect_uri: str = CLI_REDIRECT,
                      client_nonce: Optional[str] = None, path: str = "oidc") -> str:
        body = {"role": role, "redirect_uri": redirect_uri}
        if client_nonce is not None:
            body["client_nonce"] = client_nonce
        r = self.srv.request("POST", f"/v1/auth/{path}/oidc/auth_url", token=None, json=body)
        assert r.status_code == 200, r.text
        return r.json()["data"]["auth_url"]

    def oidc_callback(self, redirect: str, client_nonce: Optional[str] = None,
                      path: str = "oidc"):
        """Hands the provider's redirect (code, state) to arca's callback, as
        the CLI's loopback listener does; returns the raw response."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(redirect).query).items()}
        # What the vault CLI's listener sends: state, code, id_token (empty
        # in the code flow) and client_nonce.
        params = {"state": q.get("state", ""), "code": q.get("code", ""), "id_token": ""}
        if "error" in q:
            params.update({"error": q["error"], "error_description": q.get("error_description", "")})
        if client_nonce is not None:
            params["client_nonce"] = client_nonce
        return self.srv.request("GET", f"/v1/auth/{path}/oidc/callback", token=None,
                                params=params)

    def oidc_login(self, login: str, role: str = "", redirect_uri: str = CLI_REDIRECT):
        """The whole browser flow, driven by HTTP; returns (client, auth)."""
        nonce = secrets.token_hex(10)
        url = self.oidc_auth_url(role, redirect_uri, client_nonce=nonce)
        assert url.startswith(self.provider.issuer), url
        back = self.provider.drive_login(url, login)
        assert back.startswith(redirect_uri), back
        r = self.oidc_callback(back, client_nonce=nonce)
        assert r.status_code == 200, r.text
        auth = r.json()["auth"]
        return self.srv.client(token=auth["client_token"]), auth


def _require_arca():
    if not harness.binary_available():
        pytest.skip(f"arca binary not found at {harness.ARCA_BIN} (set ARCA_BIN)")


def start_egi(workdir: Path, provider: OidcProvider, vos=VOS):
    """A dev server on which setup.sh ran; the caller stops egi.srv."""
    _require_arca()
    srv = harness.start_dev_server(Path(workdir) / "arca")
    try:
        p = run_setup(srv, provider, vos)
        if p.returncode != 0:
            raise AssertionError(f"setup.sh failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return Egi(srv, provider)
    except Exception:
        srv.stop()
        raise


@pytest.fixture(scope="module")
def egi(oidc_provider, tmp_path_factory):
    e = start_egi(tmp_path_factory.mktemp("egi"), oidc_provider)
    yield e
    e.srv.stop()


@pytest.fixture
def fresh_egi(fresh_oidc_provider, tmp_path):
    """Its own provider and server, for tests that change the provider's keys."""
    e = start_egi(tmp_path / "egi", fresh_oidc_provider)
    yield e
    e.srv.stop()
