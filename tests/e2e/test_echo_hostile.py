"""Hostile media cases against belfry's echo module (echo@relay.localhost),
with a real GStreamer webrtcbin caller through a real Prosody, in the
private network namespace (see conftest.py):

  * the caller signals a wrong DTLS fingerprint: belfry's check of the
    certificate fails (XEP-0320, RFC 5763 §5) and it ends the session with
    <security-error/>;
  * the caller vanishes mid-call (no media, no STUN, no session-terminate):
    belfry's ICE consent freshness (RFC 7675) notices and it ends the
    session with <failed-transport/> within a bounded time;
  * afterwards a normal call still decodes its echo, and belfry exits 0 on
    SIGTERM.

Belfry's own sessions end in its log ("session SID with JID ended: REASON").
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_peers import DURATION, assert_loopback_candidates, assert_webrtcbin_decoded, record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from test_metrics import scrape, value  # noqa: E402

ECHO = "echo@relay.localhost"
# How long belfry may take to notice a vanished peer with [media]
# consent-timeout = 10 (the default is RFC 7675's 30 s): 10 s after the last
# consent response, its consent checks run every ~5 s (RFC 7675 §5.1), so
# at most ~15 s; measured here: 7 s.
VANISH_BOUND_S = 20
VANISH_AFTER_S = 3


@pytest.fixture(scope="module")
def belfry(prosody):
    mport = harness.free_port()
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-hostile-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       groups={"media": {"addresses": "127.0.0.1",
                                         "consent-timeout": "10"},
                               "metrics": {"listen": f"127.0.0.1:{mport}"}})
    b.start()
    e2e.adopt(b.pid)
    b.wait_log("metrics: serving", 5)
    b.mport = mport
    yield b
    if b.running():
        b.stop()


def belfry_log(b):
    return "\n--- belfry ---\n" + b.log()[-6000:]


def ended_line(res, reason):
    return f"session {res['sid']} with {res['jid']} ended: {reason}"


def fingerprint_failures(b):
    return value(scrape(b.mport)[1], "belfry_transport_failures_total",
                 module="echo", stage="dtls", reason="fingerprint_mismatch")


def test_wrong_fingerprint_is_security_error(prosody, belfry, workdir, peers):
    before = fingerprint_failures(belfry)
    started = time.monotonic()
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-tamper", "alice", "call", target=ECHO,
                           tamper_fingerprint=True, expect_terminate=True, timeout=40)
    peers.append(p)
    res = p.result(60)
    record("webrtcbin->echo (tampered fingerprint)", [res], time.monotonic() - started)
    info = e2e.debug_dump(res) + belfry_log(belfry)
    assert res["ok"], info
    assert res["signalled_fingerprint"] != res["real_fingerprint"], info
    # belfry answered (its candidates, loopback only) and then refused the
    # DTLS peer: no media was ever keyed.
    assert_loopback_candidates(res)
    assert res["timings_ms"].get("accepted") is not None, info
    term = res["remote_terminate"]
    assert term["reason"] == "security-error", info
    assert "fingerprint" in (term["text"] or ""), info
    # The peer's own "connected" is not asserted: webrtcbin may finish its
    # side of the handshake (belfry's certificate is the one it was told)
    # a moment before belfry's refusal reaches it.  What belfry decides:
    # nothing keyed, nothing flowed.
    assert res["audio_buffers_decoded"] == 0 and res["video_frames_decoded"] == 0, info
    belfry.wait_log(ended_line(res, "security-error"), 5)
    log = belfry.log()
    assert (f"session {res['sid']} with {res['jid']} failed: peer certificate does not match "
            "the signalled fingerprint") in log, info
    assert f"session {res['sid']}: media secured" not in log, info
    # Counted once, as a DTLS fingerprint mismatch of echo's.
    after = fingerprint_failures(belfry)
    print(f"belfry_transport_failures_total{{echo,dtls,fingerprint_mismatch}}: {before:g} -> {after:g}")
    assert after - before == 1, (before, after)


def test_vanished_peer_is_detected(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-vanish", "alice", "call", target=ECHO,
                           vanish_after=VANISH_AFTER_S, timeout=VANISH_BOUND_S + 40)
    peers.append(p)
    res = p.result(VANISH_BOUND_S + 60)
    wall = time.monotonic() - started
    record("webrtcbin->echo (vanishes)", [res], wall)
    info = e2e.debug_dump(res) + belfry_log(belfry)
    assert res["ok"], info
    # A real call first: media flowed both ways before the peer vanished.
    assert res["connected"], info
    assert res["audio_buffers_decoded"] > 0 and res["video_frames_decoded"] > 0, info
    assert f"session {res['sid']}: media secured" in belfry.log(), info
    # Vanished for real: the peer's UDP sockets were gone, no session-terminate
    # was sent by it.
    assert len(res["udp_sockets_before_vanish"]) > 0, info
    assert res["udp_sockets_after_vanish"] == [], info
    assert not any(j["dir"] == "out" and "session-terminate" in j["xml"] for j in res["jingle"]), info
    term = res["remote_terminate"]
    detected_s = (term["t"] - res["timings_ms"]["vanished"]) / 1000
    print(f"belfry ended the vanished peer's session {detected_s:.1f} s after it vanished "
          f"({term})")
    assert term["reason"] == "failed-transport", info
    assert term["text"] == "ICE connectivity lost (consent expired, RFC 7675)", info
    assert detected_s < VANISH_BOUND_S, f"detected after {detected_s:.1f} s\n{info}"
    belfry.wait_log(ended_line(res, "failed-transport"), 5)
    assert (f"session {res['sid']} with {res['jid']} failed: ICE connectivity lost") in \
        belfry.log(), info


def test_normal_call_still_works_and_clean_exit(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-after", "alice", "call", target=ECHO,
                           duration=DURATION, timeout=60)
    peers.append(p)
    res = p.result(DURATION + 60)
    record("webrtcbin->echo (after hostile cases)", [res], time.monotonic() - started)
    assert res["ok"], e2e.debug_dump(res) + belfry_log(belfry)
    assert_webrtcbin_decoded(res)
    assert_loopback_candidates(res)
    belfry.wait_log(ended_line(res, "success"), 5)
    log = belfry.log()
    # Every session this module started has ended: none left behind.
    started_n = log.count(f" to {ECHO}: ")
    assert started_n == 3, log[-6000:]
    assert log.count(" ended: ") == started_n, log[-6000:]
    belfry.stop()   # SIGTERM: exit 0 (the harness asserts it)
    assert belfry.returncode == 0
    log = belfry.log()
    assert "CRITICAL" not in log and "still on their workers" not in log, log[-6000:]
