"""The soak test runs in a private network namespace of its own, as the e2e
tests do: if this pytest was started outside one, it re-executes itself
under `unshare --net` (root needed).  Its figures are printed at the end of
the run whether it passed or not (test_soak.SUMMARY)."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

import pytest  # noqa: E402

import e2e  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if os.environ.get(e2e.NETNS_MARKER) == "1":
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    argv = e2e.netns_argv([sys.executable, "-m", "pytest"] + list(config.invocation_params.args))
    env = dict(os.environ)
    env[e2e.NETNS_MARKER] = "1"
    os.execvpe(argv[0], argv, env)
    return None  # not reached


@pytest.fixture(scope="session", autouse=True)
def private_netns():
    assert os.environ.get(e2e.NETNS_MARKER) == "1"
    assert e2e.in_private_netns(), (
        f"not in a private network namespace with only lo up: interfaces {e2e.interfaces()}")
    e2e.become_subreaper()
    yield
    e2e.reap_orphans()


def pytest_terminal_summary(terminalreporter):
    import test_soak
    for line in test_soak.SUMMARY:
        terminalreporter.write_line(line)
