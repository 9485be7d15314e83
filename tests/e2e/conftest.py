"""Fixtures for belfry's end-to-end media tests (real Prosody, real headless
Chromium, real GStreamer webrtcbin).

    bash tests/e2e/run.sh            or   /usr/bin/python3 -m pytest tests/e2e

Every run happens inside a private network namespace with only `lo` up: if
this pytest was started outside one (no BELFRY_E2E_NETNS=1 in the
environment), it re-executes itself under `unshare --net` (root needed).
BELFRY_KEEP_TMP=1 keeps Prosody's dir and the peers' stderr files.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import e2e  # noqa: E402
# the private network namespace: a hook and an autouse fixture
from netns_plugin import private_netns, pytest_cmdline_main  # noqa: E402,F401


@pytest.fixture(scope="session")
def requirements():
    """Everything the peers need is installed (scripts/setup.sh): a missing
    piece is a failure, never a skip."""
    missing = []
    for path in ("/usr/bin/chromium", "/usr/bin/firefox-esr", e2e.NODE, e2e.PY):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            missing.append(path)
    for mod in ("playwright-core", "puppeteer-core", "stanza", "esbuild"):
        if not (e2e.HERE / "node_modules" / mod / "package.json").is_file():
            missing.append(f"tests/e2e/node_modules/{mod} (run scripts/setup.sh)")
    for el in ("webrtcbin", "nicesrc", "dtlssrtpenc", "opusenc", "opusdec", "vp8enc", "vp8dec",
               "rtpopuspay", "rtpvp8pay", "videotestsrc", "audiotestsrc", "decodebin"):
        r = subprocess.run(["gst-inspect-1.0", el], capture_output=True, timeout=30)
        if r.returncode != 0:
            missing.append(f"GStreamer element {el}")
    assert not missing, "missing: " + ", ".join(missing)


@pytest.fixture(scope="module")
def prosody(requirements):
    p = e2e.Prosody()
    try:
        p.start()
        yield p
    finally:
        p.close()


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="belfry-e2e-peers-"))
    yield d
    if not os.environ.get("BELFRY_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def peers():
    """Collects the Peer objects a test starts; all are stopped at the end."""
    made = []
    yield made
    for p in made:
        p.close()
