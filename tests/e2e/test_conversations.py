"""Calls signalled the way Conversations (Android, libwebrtc) signals them:
headless Chromium running page/peer.js with `conversations: true`, whose
rules come from Conversations' own source (each one cites its file there).

  1. Conversations calls echo@relay.localhost: it needs the address's
     presence with verified XEP-0115 caps naming Jingle RTP audio+video
     before it shows a call button, proposes with JMI (XEP-0353), sends the
     session-initiate to whoever proceeded, and decodes its echo.
  2. Conversations calls webrtcbin through the call relay
     (carol\\40localhost@relay.localhost): the same caps check and JMI
     against the relay address; both sides decode.
  3./4. The network changes mid-call (the address Chromium's media used
     disappears, another one appears) and Chromium restarts ICE the way
     Conversations does: a transport-info with new ufrag/pwd and nothing
     else, its new candidates one per transport-info once that is
     acknowledged, and the peer's answer expected as a transport-info with
     the peer's own new credentials and candidates. Audio must keep arriving
     after the restart: to echo (3), and through the relay to webrtcbin (4).

Chromium's networks for 3./4. are veth pairs in this test's network
namespace (this kernel has no `dummy` link type): 198.51.100.2 first,
203.0.113.2 after the change; Chromium runs without
--allow-loopback-in-peer-connection, so these are its only ICE addresses
(with it, its 127.0.0.1 candidate has the higher priority and would carry
the call untouched by the change). belfry gathers on 127.0.0.1 only
([media] addresses), which both addresses reach.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_call import SocketWatch, belfry_log, check_call, relay_jid
from test_peers import MIN_FRAMES, assert_chromium_decoded, assert_webrtcbin_decoded, record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

ECHO = "echo@relay.localhost"
DURATION = 5
TIMEOUT = 60
# ICE restart: the network changes CHANGE_AFTER s after media connected and
# the page restarts ICE RESTART_AFTER s after connected; media is measured
# until RESTART_DURATION s. Conversations itself restarts only when the
# PeerConnection goes FAILED (JingleRtpConnection.onConnectionChange), but
# here Chromium got no further than 'disconnected' (5.8 s after the change)
# before belfry's consent check ended the call (8.5 s after it), so the page
# restarts on a timer, as an app reacting to the network change would.
CHANGE_AFTER = 1.5
RESTART_AFTER = 3.0
RESTART_DURATION = 14
OLD_ADDR, NEW_ADDR = "198.51.100.2", "203.0.113.2"
# Audio packets (Opus, 20 ms: 50/s) that must arrive after the restart
# (there are ~10 s of call left): a few seconds' worth.
MIN_AUDIO_AFTER_RESTART = 150


@pytest.fixture(scope="module")
def belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-conv-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;call",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "call": {"allow-domains": "localhost"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()


def conversations_peer(prosody, workdir, name, user, mode, **cfg):
    cfg.setdefault("duration", DURATION)
    cfg.setdefault("timeout", TIMEOUT)
    return e2e.chromium_peer(prosody, workdir, name, user, mode, conversations=True, **cfg)


def dump(res, blog=""):
    """A result for a failure message: the slim result, then every Jingle
    and JMI stanza (the restart's transport-infos come late in a call)."""
    slim = {k: v for k, v in res.items()
            if k not in ("jingle", "jmi", "local_sdp", "remote_sdp", "console", "stats",
                         "presences")}
    text = json.dumps(slim, indent=1)[:24000]
    for j in (res.get("jmi", []) + res.get("jingle", []))[:60]:
        text += f"\n[{j.get('dir')} {j.get('t')}] {j.get('xml', '')[:1500]}"
    return text + blog


def sent(res, needle):
    return [m["xml"] for m in res.get("jmi", []) + res.get("jingle", [])
            if m["dir"] == "out" and needle in m["xml"]]


def assert_caps_and_jmi(res, called, blog):
    """What Conversations did before the call: a verified caps result for
    the called address naming Jingle RTP audio+video (so a video call
    button), a JMI propose shaped like MessageGenerator.sessionProposal(),
    and the session-initiate to the JID that proceeded."""
    info = dump(res, blog)
    # The roster may hold other relay addresses (echo@, called in an
    # earlier test), whose presence comes too: only the callee's counts.
    verified = [c for c in res["caps"]
                if c.get("verified") and c["from"].split("/")[0] == called]
    assert verified, "no verified caps for the callee:\n" + info
    assert res["call_button"] == "video", info
    assert res["propose"] is True, info
    sid = res["sid"]
    proposes = sent(res, "<propose")
    assert len(proposes) == 1, info
    p = proposes[0]
    for part in (f"id='jm-propose-{sid}'", f"to='{called}'", "type='chat'",
                 "media='audio'", "media='video'", "<request xmlns='urn:xmpp:receipts'/>",
                 "<store xmlns='urn:xmpp:hints'/>"):
        assert part in p, f"{part!r} not in the propose: {p}"
    assert res["proceed_from"] and res["proceed_from"].split("/")[0] == called, info
    assert res["remote_jid"] == res["proceed_from"], info
    initiates = sent(res, "action='session-initiate'")
    assert len(initiates) == 1 and f"to='{res['proceed_from']}'" in initiates[0], info


def wait_event(peer, name, timeout):
    """The first `name` event a peer printed (JSON line), or fail."""
    deadline = time.monotonic() + timeout
    with peer._cond:
        while True:
            for ev in peer.events:
                if ev.get("event") == name:
                    return ev
                if ev.get("event") == "result":
                    raise AssertionError(f"{peer.name} ended before '{name}': "
                                         f"{json.dumps(ev)[:6000]}")
            left = deadline - time.monotonic()
            if left <= 0 or peer.proc.poll() is not None and not peer._reader.is_alive():
                raise AssertionError(f"no '{name}' event from {peer.name} within {timeout}s; "
                                     f"stderr:\n{peer.stderr_text()}")
            peer._cond.wait(min(left, 0.5))


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, timeout=10, capture_output=True)


class Networks:
    """Chromium's two networks (veth pairs: only this test's namespace sees
    them): the old one with OLD_ADDR, the new one without an address until
    change() moves the call's local side from OLD_ADDR to NEW_ADDR."""

    def __enter__(self):
        assert e2e.interfaces() == ["lo"], e2e.interfaces()
        for a, b in (("bfold0", "bfold1"), ("bfnew0", "bfnew1")):
            ip("link", "add", a, "type", "veth", "peer", "name", b)
            ip("link", "set", a, "up")
            ip("link", "set", b, "up")
        ip("addr", "add", f"{OLD_ADDR}/24", "dev", "bfold0")
        self.changed_at = None
        return self

    def change(self):
        ip("addr", "del", f"{OLD_ADDR}/24", "dev", "bfold0")
        ip("addr", "add", f"{NEW_ADDR}/24", "dev", "bfnew0")
        self.changed_at = time.monotonic()

    def __exit__(self, *exc):
        for a in ("bfold0", "bfnew0"):
            subprocess.run(["ip", "link", "del", a], timeout=10, capture_output=True)


def change_network_mid_call(chromium, nets):
    """After Chromium's media connected, wait CHANGE_AFTER s, then change."""
    wait_event(chromium, "connected", TIMEOUT)
    time.sleep(CHANGE_AFTER)
    nets.change()


def assert_restart_kept_audio(res, blog):
    """The restart the page started, signalled the Conversations way, got
    an answer, and audio kept arriving over the new address."""
    info = dump(res, blog)
    assert res["connected"], info
    first = next((s["pair"] for s in res["timeline"] if s.get("pair")), None)
    assert first and first["local"]["address"] == OLD_ADDR, (
        "the call did not start on the address that goes away:\n" + info)
    ours = [r for r in res["ice_restarts"] if r.get("by") == "us"]
    assert ours, "no ICE restart was started:\n" + info
    r = ours[0]
    assert r.get("transport_info_t") is not None, "no restart transport-info sent:\n" + info
    assert r.get("reply") == "result", (
        f"the restart transport-info was answered {r.get('reply')} "
        f"({r.get('error')}):\n" + info)
    assert r.get("remote_credentials") and not r["remote_credentials"]["isOffer"], (
        "no transport-info with the peer's new credentials and candidates:\n" + info)
    assert r.get("reconnected"), "media never connected again after the restart:\n" + info
    assert res["ok"], info
    after = r["after"]
    assert after["audio_packets"] >= MIN_AUDIO_AFTER_RESTART, info
    assert after["audio_energy"] > 0, info
    end_pair = after.get("selected_pair_at_end") or {}
    assert (end_pair.get("local") or {}).get("address") == NEW_ADDR, info


# ---------------------------------------------------------------------------
# 1. Conversations calls echo
# ---------------------------------------------------------------------------

def test_conversations_calls_echo(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = conversations_peer(prosody, workdir, "alice-conversations", "alice", "call", target=ECHO)
    peers.append(p)
    res = p.result(DURATION + TIMEOUT + 20)
    record("conversations->echo", [res], time.monotonic() - started)
    blog = belfry_log(belfry)
    assert res["ok"], dump(res, blog)
    assert_caps_and_jmi(res, ECHO, blog)
    assert_chromium_decoded(res)
    assert res["remote_jid"] == ECHO or res["remote_jid"].startswith(ECHO + "/"), dump(res, blog)


# ---------------------------------------------------------------------------
# 2. Conversations calls webrtcbin through the call relay
# ---------------------------------------------------------------------------

def test_conversations_calls_webrtcbin_through_relay(prosody, belfry, workdir, peers):
    called = relay_jid("carol@localhost")
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "answer",
                               duration=DURATION, timeout=TIMEOUT)
    peers.append(carol)
    started = time.monotonic()
    carol.wait_ready(40)
    with SocketWatch(belfry.pid) as watch:
        alice = conversations_peer(prosody, workdir, "alice-conversations", "alice", "call",
                                   target=called)
        peers.append(alice)
        ra = alice.result(DURATION + TIMEOUT + 20)
        rc = carol.result(DURATION + 30)
    record("conversations->belfry->webrtcbin", [ra, rc], time.monotonic() - started)
    blog = belfry_log(belfry)
    assert ra["ok"], dump(ra, blog)
    assert_caps_and_jmi(ra, called, blog)
    check_call(ra, rc, "alice@localhost", "carol@localhost", watch, blog)


# ---------------------------------------------------------------------------
# 3./4. The network changes mid-call: ICE restart, audio continues
# ---------------------------------------------------------------------------

def test_conversations_ice_restart_to_echo(prosody, belfry, workdir, peers):
    with Networks() as nets:
        started = time.monotonic()
        p = conversations_peer(prosody, workdir, "alice-conversations", "alice", "call",
                               target=ECHO, allow_loopback=False, duration=RESTART_DURATION,
                               ice_restart_after=RESTART_AFTER)
        peers.append(p)
        change_network_mid_call(p, nets)
        res = p.result(RESTART_DURATION + TIMEOUT + 20)
    record("conversations->echo, ICE restart", [res], time.monotonic() - started)
    blog = belfry_log(belfry, 12000)
    assert_caps_and_jmi(res, ECHO, blog)
    assert_restart_kept_audio(res, blog)
    assert res["video_frames_decoded"] > MIN_FRAMES, dump(res, blog)


def test_conversations_ice_restart_through_relay(prosody, belfry, workdir, peers):
    called = relay_jid("carol@localhost")
    with Networks() as nets:
        carol = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "answer",
                                   duration=RESTART_DURATION, timeout=TIMEOUT, linger=8)
        peers.append(carol)
        started = time.monotonic()
        carol.wait_ready(40)
        alice = conversations_peer(prosody, workdir, "alice-conversations", "alice", "call",
                                   target=called, allow_loopback=False,
                                   duration=RESTART_DURATION, ice_restart_after=RESTART_AFTER)
        peers.append(alice)
        change_network_mid_call(alice, nets)
        ra = alice.result(RESTART_DURATION + TIMEOUT + 20)
        rc = carol.result(RESTART_DURATION + 30)
    record("conversations->belfry->webrtcbin, ICE restart", [ra, rc], time.monotonic() - started)
    blog = belfry_log(belfry, 12000)
    assert_caps_and_jmi(ra, called, blog)
    assert_restart_kept_audio(ra, blog)
    # Carol's leg never changed: she kept decoding Alice through the restart
    # (her last seconds, after Alice's change, still add audio).
    assert_webrtcbin_decoded(rc)
    tl = rc["timeline"]
    assert len(tl) >= 8 and tl[-1]["audio_buffers"] - tl[-5]["audio_buffers"] > 0, dump(rc, blog)
