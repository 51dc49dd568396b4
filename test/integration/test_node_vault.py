"""Runs the node-vault tests (node/*.test.js, Node's built-in runner) against
a dev server and a fresh, uninitialised TLS server."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import harness

NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else shutil.which("node")
NODE_DIR = Path(__file__).parent / "node"

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node not installed"),
    pytest.mark.skipif(not (NODE_DIR / "node_modules" / "node-vault").is_dir(),
                       reason="node-vault not installed in test/integration/node/node_modules"),
]


def run_node_tests(files, env):
    proc = subprocess.run([NODE, "--test", *[str(f) for f in files]], cwd=str(NODE_DIR),
                          env=harness.clean_env(env), capture_output=True, text=True, timeout=150)
    output = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    print(output)  # shown by pytest when the test fails
    return proc.returncode, output


@pytest.mark.deadline(180)
def test_node_vault_against_dev_server(dev_server):
    code, output = run_node_tests(
        [NODE_DIR / "vault.test.js"],
        {"VAULT_ADDR": dev_server.addr, "VAULT_TOKEN": dev_server.root_token})
    assert code == 0, output
    assert re.search(r"^(#|ℹ) fail 0$", output, re.M), output


@pytest.mark.deadline(180)
def test_node_vault_init_unseal_over_tls(make_server):
    srv = make_server("tls", init=False)
    code, output = run_node_tests(
        [NODE_DIR / "init.test.js"],
        {"ARCA_FRESH_ADDR": srv.addr, "ARCA_FRESH_CACERT": srv.ca_cert})
    assert code == 0, output
    assert re.search(r"^(#|ℹ) fail 0$", output, re.M), output
    assert re.search(r"^(#|ℹ) skipped 0$", output, re.M), output
