"""Fixtures for the arca integration tests: real servers on free loopback ports.

* dev_server        fresh `arca server -dev` per test (in memory, unsealed,
                    KV v2 at secret/, plain HTTP, custom root token).
* tls_file_server   fresh config-file server per test: TLS with a self-signed
                    CA, file storage in a tmp dir, initialised with 5 shares /
                    threshold 3 through hvac and unsealed with 3 keys; has
                    restart(kill=False, unseal=True).
* server            one server per test module, parametrised over both kinds
                    ("dev" and "tls"; the TLS one gets KV v2 at secret/ like
                    dev mode); tests use unique paths (harness.uniq).
* make_server       factory for custom servers (uninitialised, small
                    max_request_size, ...), all stopped at teardown.

Every test phase (setup, call, teardown) runs under a watchdog
(signal.setitimer): 60 s by default, `@pytest.mark.deadline(seconds)` to
change it. pytest-timeout is not installed on this machine.

When a test fails, the tail of the log (stdout+stderr) of every server still
running is attached to its report.
"""

import signal
from contextlib import contextmanager

import pytest

import harness

DEFAULT_DEADLINE_S = 60.0


# ---------------------------------------------------------------------------
# Watchdog


class DeadlineExceeded(Exception):
    """A test phase ran longer than its deadline."""


def _deadline_for(item) -> float:
    marker = item.get_closest_marker("deadline")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("arca_deadline") or DEFAULT_DEADLINE_S)


@contextmanager
def _watchdog(seconds: float, what: str):
    def on_alarm(signum, frame):
        raise DeadlineExceeded(f"{what} exceeded its deadline of {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_addoption(parser):
    parser.addini("arca_deadline", "default per-phase deadline of a test in seconds",
                  default=str(DEFAULT_DEADLINE_S))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _watchdog(_deadline_for(item), f"setup of {item.nodeid}"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _watchdog(_deadline_for(item), item.nodeid):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    with _watchdog(_deadline_for(item), f"teardown of {item.nodeid}"):
        yield


# ---------------------------------------------------------------------------
# Server logs in failure reports


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(harness.LIVE_SERVERS):
            report.sections.append((f"arca server log: {srv.name} {srv.addr}", srv.log_tail()))


# ---------------------------------------------------------------------------
# Fixtures


def _require_binary():
    if not harness.binary_available():
        pytest.skip(f"arca binary not found at {harness.ARCA_BIN} (set ARCA_BIN)")


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    """CA + server certificate (SAN 127.0.0.1, localhost), made with openssl."""
    return harness.make_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def dev_server(tmp_path):
    _require_binary()
    srv = harness.start_dev_server(tmp_path / "dev")
    yield srv
    srv.stop()


@pytest.fixture
def tls_file_server(tmp_path, tls_material):
    _require_binary()
    srv = harness.start_config_server(tmp_path / "tls", tls_material)
    yield srv
    srv.stop()


@pytest.fixture(scope="module", params=["dev", "tls"])
def server(request, tmp_path_factory, tls_material):
    """One server per module and kind, shared by the module's tests."""
    _require_binary()
    workdir = tmp_path_factory.mktemp(f"shared-{request.param}")
    if request.param == "dev":
        srv = harness.start_dev_server(workdir)
    else:
        srv = harness.start_config_server(workdir, tls_material)
        # Same layout as dev mode: KV v2 at secret/.
        srv.client().sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    yield srv
    srv.stop()


@pytest.fixture
def make_server(tmp_path, tls_material):
    """make_server(kind="tls"|"http", init=True, max_request_size=None) -> ArcaServer."""
    _require_binary()
    started = []

    def make(kind: str = "tls", **kwargs):
        workdir = tmp_path / f"srv{len(started)}"
        if kind == "dev":
            srv = harness.start_dev_server(workdir)
        else:
            srv = harness.start_config_server(
                workdir, tls_material if kind == "tls" else None, **kwargs)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def root(server):
    """An hvac client with the shared server's root token."""
    return server.client()
