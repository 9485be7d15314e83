"""Real WebRTC stacks call belfry's echo module (echo@relay.localhost)
through a real Prosody: ICE, DTLS-SRTP and the echo under belfry's own
SSRCs must give each caller its own audio and video back, decoded."""

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_peers import (DURATION, assert_chromium_decoded, assert_loopback_candidates,
                        assert_webrtcbin_decoded, record)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

ECHO = "echo@relay.localhost"


@pytest.fixture(scope="module")
def belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-")), port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       groups={"media": {"addresses": "127.0.0.1"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()


def echo_log(b):
    return b.log()[-6000:]


def assert_echo_candidates(res):
    """The caller only ever saw belfry's candidates: loopback, UDP."""
    assert_loopback_candidates(res)


@pytest.mark.parametrize("propose", [False, True], ids=["initiate", "jmi-propose"])
def test_webrtcbin_calls_echo(prosody, belfry, workdir, peers, propose):
    started = time.monotonic()
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-webrtcbin", "alice", "call", target=ECHO,
                           propose=propose, duration=DURATION, timeout=60)
    peers.append(p)
    res = p.result(DURATION + 60)
    record(f"webrtcbin->echo ({'propose' if propose else 'initiate'})", [res],
           time.monotonic() - started)
    assert res["ok"], e2e.debug_dump(res) + "\n--- belfry ---\n" + echo_log(belfry)
    assert_webrtcbin_decoded(res)
    assert_echo_candidates(res)
    assert res["remote_jid"] == ECHO
    assert_echoed_by_content(belfry, res)


def assert_echoed_by_content(b, res):
    """The core tells the echo which content each RTP packet belongs to
    (BfPacket.content, by payload type): the echo's end-of-session line
    counts each content's RTP, and none fell outside the contents."""
    needle = f"echo session {res['sid']}: echoed "
    b.wait_log(needle, 10)
    line = next(x for x in b.log().splitlines() if needle in x)
    m = re.search(r"by content: (.*)\) and", line)
    assert m, line
    counts = dict(part.rsplit(" ", 1) for part in m.group(1).split(", "))
    assert int(counts.pop("other")) == 0, line
    assert len(counts) >= 2 and all(int(n) > 0 for n in counts.values()), line


def test_chromium_calls_echo(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call", target=ECHO,
                          duration=DURATION, timeout=60)
    peers.append(p)
    res = p.result(DURATION + 60)
    record("chromium->echo", [res], time.monotonic() - started)
    assert res["ok"], e2e.debug_dump(res) + "\n--- belfry ---\n" + echo_log(belfry)
    assert_chromium_decoded(res)
    assert_echo_candidates(res)
