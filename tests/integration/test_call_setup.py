"""Call set-up (issue 12): what a WebRTC peer does early must not cost it a
retransmission.

A WebRTC peer (libwebrtc: Conversations, browsers) checks a candidate pair
as soon as it has one and starts DTLS as soon as one of its checks is
answered, without waiting for the nomination.  As the callee of a call
belfry places, it has belfry's candidates from the session-initiate: its
ClientHello can reach belfry before belfry's own first check, i.e. before
libnice has a selected pair.  belfry's answer to it used to be dropped by
libnice (no pair to send on), and the handshake waited for a
retransmission.  tests/bench/call-load plays both ends as such a peer.
"""

import os

from harness import BELFRY_BIN
from relay_fixtures import _belfry_survives, belfry_fixture, client_fixture, prosody_fixture  # noqa: F401
from test_call import ALL_USERS, B_RES, MEDIA, online, terminate_xml
from test_client_rules import A_RES, Load, load_call

RETRANSMIT_MS = 3000     # both sides' first DTLS retransmission: none may be needed

setup_prosody = prosody_fixture("setup_prosody", ALL_USERS)
relay = belfry_fixture("setup_prosody", "belfry-setup", modules="call",
                       groups={"media": dict(MEDIA, **{"dtls-retransmit-ms": str(RETRANSMIT_MS)})})
alice = client_fixture("alice", "setup_prosody", lambda p: online(p, "alice", A_RES))
bob = client_fixture("bob", "setup_prosody", lambda p: online(p, "bob", B_RES))


def stamp(load, i, side, step):
    """The load's CLOCK_MONOTONIC stamp (s) of a set-up step (CALL_LOAD_TRACE)."""
    line = load.wait(lambda l: l.startswith(f"{i} {side} trace {step} "), 10, f"{side} {step}")
    return int(line.split()[-1]) / 1e6


def test_a_client_hello_before_our_first_check_is_answered_at_once(relay, alice, bob,
                                                                   monkeypatch):
    monkeypatch.setenv("CALL_LOAD_TRACE", "1")
    monkeypatch.setenv("CALL_LOAD_DTLS_RETRANSMIT_MS", str(RETRANSMIT_MS))
    exe = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(BELFRY_BIN))),
                       "tests", "bench", "call-load")
    load = Load(exe)
    try:
        to, sid = load_call(load, 0, alice, bob, [(111, "opus", 48000, 2)])
        # bob's leg: the load (DTLS client) started its handshake before
        # belfry's first check reached it -- the case named above
        started = stamp(load, 0, "b", "dtls-start")
        first_check = stamp(load, 0, "b", "request-in")
        assert started < first_check, (started, first_check)
        # ... and was answered without waiting for a retransmission (either
        # side's: RETRANSMIT_MS); here a few ms, 3 s without the fix
        took = stamp(load, 0, "b", "dtls-connected") - started
        assert took < RETRANSMIT_MS / 2e3, f"bob's DTLS handshake took {took * 1e3:.0f} ms"
        load.send("probe 0")
        load.wait(lambda l: l.startswith("0 media-ok"), 10, "0 media-ok")
        assert alice.iq(to, "set", terminate_xml(sid, "success")).get("type") == "result"
        load.over.add("0")
    finally:
        load.close()
