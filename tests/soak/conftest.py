"""The soak tests run in a private network namespace of their own, as the
e2e tests do: if this pytest was started outside one, it re-executes itself
under `unshare --net` (root needed).  Their figures are printed at the end
of the run whether they passed or not (each module's SUMMARY)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

# the private network namespace as the e2e tests have it: a hook and an
# autouse fixture
from netns_plugin import private_netns, pytest_cmdline_main  # noqa: E402,F401


def pytest_terminal_summary(terminalreporter):
    for name in ("test_soak", "test_calls_asan"):
        module = sys.modules.get(name)
        for line in getattr(module, "SUMMARY", []):
            terminalreporter.write_line(line)
