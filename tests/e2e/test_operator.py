"""Operator control with media flowing: a real GStreamer webrtcbin caller
calls belfry's echo module through a real Prosody, in the private network
namespace (see conftest.py).

  * list-sessions (XEP-0050, from bob@localhost, the admin) shows the call
    with its packet counts growing, read from the session's media worker;
    end-session ends it: the caller gets session-terminate <success/>;
  * SIGTERM mid-call: the caller gets session-terminate <gone/> before
    belfry exits, and belfry exits 0.
"""

import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from adhoc import command_of, execute, list_sessions  # noqa: E402

ECHO = "echo@relay.localhost"


def start_belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-op-")),
                       port=prosody.component_port,
                       groups={"media": {"addresses": "127.0.0.1"},
                               "admin": {"jids": "bob@localhost"}})
    b.start()
    e2e.adopt(b.pid)
    return b


@pytest.fixture
def belfry(prosody):
    b = start_belfry(prosody)
    yield b
    b.kill_quietly()


@pytest.fixture
def admin(prosody, belfry):
    c = harness.Client("bob@localhost/admin", e2e.E2E_USERS["bob"], prosody.c2s_port)
    yield c
    c.close()


def wait_row(admin, peer_bare, pred, timeout):
    """Polls list-sessions (bounded) until a row of peer_bare satisfies pred."""
    deadline = time.monotonic() + timeout
    last = []
    while time.monotonic() < deadline:
        last = [r for r in list_sessions(admin) if r["peer"].split("/")[0] == peer_bare]
        for r in last:
            if pred(r):
                return r
        time.sleep(0.3)
    raise AssertionError(f"no matching session row within {timeout}s: {last}")


def flowing(r):
    return int(r["packets-in"]) >= 100 and int(r["packets-out"]) >= 100


def test_admin_lists_media_and_ends_the_call(prosody, belfry, admin, workdir, peers):
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-op", "alice", "call", target=ECHO,
                           expect_terminate=True, timeout=40)
    peers.append(p)
    row = wait_row(admin, "alice@localhost", flowing, 30)
    assert row["module"] == "echo" and row["state"] == "active", row
    # counts are live: a second look sees more
    later = wait_row(admin, "alice@localhost",
                     lambda r: r["sid"] == row["sid"]
                     and int(r["packets-in"]) > int(row["packets-in"]), 10)
    assert int(later["packets-out"]) >= int(row["packets-out"])

    c = command_of(execute(admin, "end-session", fields={"sid": row["sid"]}))
    assert c.get("status") == "completed"
    res = p.result(60)
    info = e2e.debug_dump(res) + "\n--- belfry ---\n" + belfry.log()[-4000:]
    assert res["ok"], info
    assert res["remote_terminate"]["reason"] == "success", info
    belfry.stop()


def test_sigterm_mid_call_tells_the_caller(prosody, belfry, admin, workdir, peers):
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-term", "alice", "call", target=ECHO,
                           expect_terminate=True, timeout=40)
    peers.append(p)
    wait_row(admin, "alice@localhost", flowing, 30)
    rc, _ = belfry.terminate(timeout=10)
    res = p.result(60)
    info = e2e.debug_dump(res) + "\n--- belfry ---\n" + belfry.log()[-4000:]
    assert rc == 0, info
    assert res["ok"], info
    assert res["remote_terminate"]["reason"] == "gone", info
    assert "stopping (signal): ending 1 session" in belfry.log(), info
