"""The private network namespace every e2e and soak run happens in, as
pytest hooks both conftests take by importing them (tests/e2e/conftest.py,
tests/soak/conftest.py): if this pytest was started outside one (no
BELFRY_E2E_NETNS=1 in the environment), it re-executes itself under
`unshare --net` (root needed), and each session checks it is in one with
only `lo` up and reaps the processes orphaned to it."""

import os
import sys

import pytest

import e2e


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if os.environ.get(e2e.NETNS_MARKER) == "1":
        return None
    # Output capturing is suspended at this point: the new process writes to
    # the same terminal / pipe. The working directory is kept.
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
