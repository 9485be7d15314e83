"""Fixtures for belfry's scale-out tests: a two-node ejabberd 23.01 cluster
(cluster.py) and belfry processes attached to its nodes.

    /usr/bin/python3 -m pytest tests/cluster

Every run happens in a private network namespace with only `lo` up: if this
pytest was started outside one, it re-executes itself under `unshare --net`
(root needed), as the e2e and soak tests do (tests/e2e/netns_plugin.py).
BELFRY_BIN overrides the binary; BELFRY_KEEP_TMP=1 keeps the nodes' dirs.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE.parent / "soak"))

import pytest  # noqa: E402

from cluster import Cluster  # noqa: E402
from harness import USERS  # noqa: E402
# the private network namespace: a hook and an autouse fixture
from netns_plugin import private_netns, pytest_cmdline_main  # noqa: E402,F401

# alice and bob of the integration tests, and more callers, so that calls
# spread over the processes (the relay domain is balanced by the caller).
CALLERS = {f"caller{i}": f"caller{i}-pw-Kd3" for i in range(1, 10)}
CALLEES = {f"callee{i}": f"callee{i}-pw-Rw8" for i in range(1, 3)}
CLUSTER_USERS = dict(USERS, **CALLERS, **CALLEES)


@pytest.fixture(scope="session")
def cluster():
    c = Cluster(CLUSTER_USERS)
    try:
        c.start()
        yield c
    finally:
        c.close()


def pytest_terminal_summary(terminalreporter):
    for name in ("test_cluster_calls", "test_cluster_rooms_media"):
        for line in getattr(sys.modules.get(name), "SUMMARY", []):
            terminalreporter.write_line(line)
