"""Firefox (Debian's firefox-esr: nICEr ICE, NSS DTLS, its own SRTP) as a
real peer, standing in for Movim in Firefox: the same page as the Chromium
peer (StanzaJS over Prosody's WebSocket), driven headless over WebDriver
BiDi (firefox-peer.mjs). In the private network namespace (conftest.py).

  * Firefox calls echo@relay.localhost and decodes its own audio (energy)
    and video (frames) back;
  * Firefox calls Chromium (with and without a JMI propose, which Movim
    always sends) and Chromium calls Firefox through belfry's call relay:
    both sides decode, each sees only the relay address, every candidate
    each saw (and the pair each chose) is one of belfry's sockets, the
    hang-up crosses;
  * Firefox keyed DTLS 1.2 with one of belfry's SRTP profiles, by its own
    getStats, and signalled loopback candidates only.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_call import (SocketWatch, assert_hangup_propagated, assert_only_belfry_candidates,
                       assert_private, assert_relay_remote, belfry_log, relay_jid,
                       sent_candidates)
from test_peers import DURATION, assert_loopback_candidates, record
from test_peers import assert_chromium_decoded as assert_browser_decoded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

ECHO = "echo@relay.localhost"
TIMEOUT = 60


@pytest.fixture(scope="module")
def belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-ffcall-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;call",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "call": {"allow-domains": "localhost"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()


# belfry speaks DTLS 1.2 only (getStats' tlsVersion is the wire version:
# 0xFEFD) and offers these two SRTP profiles.
DTLS_1_2 = "FEFD"
BELFRY_SRTP = ("SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_HMAC_SHA1_80")


def negotiated(res):
    """What Firefox's getStats says it negotiated (for the log and README)."""
    st = res.get("stats") or {}
    return {"firefox": res.get("firefox_version"), "transport": st.get("transport"),
            "selected_pair": st.get("selected_pair"),
            "audio_codec": (st.get("audio") or {}).get("codec"),
            "video": st.get("video"), "timeline": res.get("timeline")}


def test_firefox_calls_echo(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.firefox_peer(prosody, workdir, "alice-firefox", "alice", "call", target=ECHO,
                         duration=DURATION, timeout=TIMEOUT)
    peers.append(p)
    res = p.result(DURATION + TIMEOUT + 15)
    record("firefox->echo", [res], time.monotonic() - started)
    print(json.dumps(negotiated(res)))
    assert res["peer"] == "firefox" and res["firefox_version"], e2e.debug_dump(res)
    assert res["ok"], e2e.debug_dump(res) + belfry_log(belfry)
    assert_browser_decoded(res)
    assert_loopback_candidates(res)
    assert res["remote_jid"] == ECHO
    assert_dtls_srtp_with_belfry(res)
    assert_firefox_gathered_loopback_only(res)


def assert_firefox_gathered_loopback_only(res):
    """The profile keeps Firefox's ICE on loopback: every candidate it
    signalled is 127.0.0.1 or ::1 (nICEr gathers both on lo; TCP active
    candidates carry port 9)."""
    mine = sent_candidates(res)
    assert mine, e2e.debug_dump(res)
    assert all(ip in ("127.0.0.1", "::1") for ip, _ in mine), sorted(mine)


def assert_dtls_srtp_with_belfry(res):
    """Firefox's own word (getStats transport) on what it keyed with belfry."""
    t = (res.get("stats") or {}).get("transport") or {}
    info = json.dumps(negotiated(res))
    assert t.get("dtlsState") == "connected", info
    assert t.get("tlsVersion") == DTLS_1_2, info
    assert t.get("srtpCipher") in BELFRY_SRTP, info


def assert_selected_pair_is_belfry(res, watch, blog):
    """Where Firefox's media actually went (its selected candidate pair):
    a socket of belfry's."""
    pair = (res.get("stats") or {}).get("selected_pair")
    info = e2e.debug_dump(res) + "\n" + watch.describe() + blog
    assert pair, info
    r = pair["remote"]
    assert watch.owns(r["address"], int(r["port"]), (r.get("protocol") or "udp").lower()), (
        f"selected pair's remote end {r} is not belfry's\n{info}")


def check_relayed(res_caller, res_callee, caller_bare, callee_bare, watch, blog):
    """test_call.check_call for two browser peers: both decode, both talk to
    relay addresses only, every candidate each saw (and the pair each chose)
    is belfry's, neither learns the other's JID or resource."""
    for r in (res_caller, res_callee):
        assert r["ok"], e2e.debug_dump(r) + blog
        assert_browser_decoded(r)
        if r["peer"] == "firefox":
            assert_dtls_srtp_with_belfry(r)
    assert_relay_remote(res_caller, res_callee, caller_bare, callee_bare, blog)
    # assert_only_belfry_candidates checks Chromium's selected pair itself.
    assert_only_belfry_candidates(res_caller, watch, res_callee, blog)
    assert_only_belfry_candidates(res_callee, watch, res_caller, blog)
    for r in (res_caller, res_callee):
        if r["peer"] == "firefox":
            assert_selected_pair_is_belfry(r, watch, blog)
    assert_private(res_caller, callee_bare, res_callee["jid"].split("/", 1)[1], blog)
    assert_private(res_callee, caller_bare, res_caller["jid"].split("/", 1)[1], blog)


def run_relayed(belfry, callee, caller_factory):
    """Callee logged in first, then the caller; both results while belfry's
    sockets are watched (as test_call.run_call)."""
    started = time.monotonic()
    callee.wait_ready(40)
    with SocketWatch(belfry.pid) as watch:
        caller = caller_factory()
        res_caller = caller.result(DURATION + TIMEOUT + 15)
        res_callee = callee.result(DURATION + 30)
    return res_caller, res_callee, watch, time.monotonic() - started


# Movim proposes (XEP-0353) to the bare JID before every call.
@pytest.mark.parametrize("propose", [False, True], ids=["initiate", "jmi-propose"])
def test_firefox_calls_chromium_through_belfry(prosody, belfry, workdir, peers, propose):
    bob = e2e.chromium_peer(prosody, workdir, "bob-chromium", "bob", "answer",
                            duration=DURATION, timeout=TIMEOUT)
    peers.append(bob)

    def caller():
        p = e2e.firefox_peer(prosody, workdir, "alice-firefox", "alice", "call",
                             target=relay_jid("bob@localhost"), propose=propose,
                             duration=DURATION, timeout=TIMEOUT)
        peers.append(p)
        return p

    ra, rb, watch, wall = run_relayed(belfry, bob, caller)
    record(f"firefox->belfry->chromium ({'propose' if propose else 'initiate'})", [ra, rb], wall)
    print(json.dumps(negotiated(ra)))
    blog = belfry_log(belfry)
    assert ra["peer"] == "firefox" and rb["peer"] == "chromium"
    check_relayed(ra, rb, "alice@localhost", "bob@localhost", watch, blog)
    assert_hangup_propagated(ra, rb, blog)


def test_chromium_calls_firefox_through_belfry(prosody, belfry, workdir, peers):
    carol = e2e.firefox_peer(prosody, workdir, "carol-firefox", "carol", "answer",
                             duration=DURATION, timeout=TIMEOUT)
    peers.append(carol)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target=relay_jid("carol@localhost"), duration=DURATION,
                              timeout=TIMEOUT)
        peers.append(p)
        return p

    ra, rc, watch, wall = run_relayed(belfry, carol, caller)
    record("chromium->belfry->firefox", [ra, rc], wall)
    print(json.dumps(negotiated(rc)))
    blog = belfry_log(belfry)
    assert ra["peer"] == "chromium" and rc["peer"] == "firefox"
    check_relayed(ra, rc, "alice@localhost", "carol@localhost", watch, blog)
    assert_hangup_propagated(ra, rc, blog)
