"""Calls survive the XMPP server restarting (issue 10, "calls survive the
server"): Prosody is stopped (SIGTERM to the PID the test started) for 5 s in
the middle of a call and started again on the same ports and data dir.

What is proven, for an echo call (webrtcbin -> echo@relay.localhost) and a
relayed call (Chromium alice -> webrtcbin carol through the `call` module):

  * media never stops: each peer counts the RTP packets it receives (webrtcbin:
    every packet out of webrtcbin, timestamped; Chromium: inbound-rtp
    packetsReceived sampled every 100 ms) per 500 ms window, from 1 s after
    DTLS connected to the end of its measurement, across the outage: no
    window is empty and the longest audio gap stays short (a 20 ms ptime
    gives 25 packets per window);
  * the sound never stops: the echo caller (webrtcbin) sends an 880 Hz
    tone and records what it decoded (tone_analysis.py): audio decoded for
    90 % of the wall time, outage included; the tone at the level sent,
    during the outage as before; never more than 400 ms below its median
    - 20 dB (100 ms windows every 20 ms). carol, who hears Chromium's fake
    microphone (beeps, no steady tone), is checked for decoded coverage
    only (a tone or recorder in the page stalls its sending here);
  * /metrics agrees: belfry_link_up 1 before, 0 while Prosody is down and
    1 again after the re-attach, belfry_link_reconnects_total one more;
  * the peers' own XMPP connections dropped with the server (they log in
    again, see below) and the measurement spans that outage;
  * belfry's component link dropped, belfry re-attached (its log) and kept
    the sessions;
  * after the restart the hang-up works: the side that hangs up gets its
    session-terminate answered with an iq result (by belfry), and in the
    relayed call the other side receives session-terminate <success/>;
  * echo@ is online again for a client that has it in its roster, although
    the client's probe after its own re-login was bounced while belfry was
    still away (belfry re-announces its presence on re-attach);
  * a callee whose client dies while the server is down: belfry ends that
    leg by ICE consent while detached, holds the session-terminate for the
    caller's leg, and the caller receives it after the restart.

The clients log in again with the same full JID (same resource) as soon as
the server is back, every 0.5 s (webrtcbin_peer.py and page/peer.js,
cfg "reconnect"). belfry keys a session on the peer's full JID and its sid,
so a hang-up from the same resource finds the session; a hang-up from a new
resource of the same account gets <item-not-found/> + <unknown-session/> and
the call then ends by ICE consent once that client's media stops. What
differs from real clients: Conversations and Monal keep a stable resource
too, but resume their stream with XEP-0198 (Prosody's mod_smacks, not
loaded here) when the server was not restarted; after a restart the
resumption fails and they bind again, with the same resource, as here.
Stanzas that belfry sent while the link was down are held and delivered
after the handshake (tests/integration/test_link_restart.py); the ones sent
here to a client while *its* connection is down are lost as on any server
without offline storage for iqs.
"""

import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import e2e
import tone_analysis as ta
from test_call import relay_jid
from test_peers import record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from test_metrics import scrape, value  # noqa: E402

ECHO = "echo@relay.localhost"
DOWN_S = 5.0            # Prosody stopped this long
BEFORE_S = 3.0          # s of media after DTLS connected before the stop
# Long enough for the stop, the 5 s down, Prosody's start, the clients'
# logins and belfry's reconnect backoff (1, 2, 4, 8 s +-20 %: its fourth
# attempt may come ~14 s after the drop), then a few seconds of media.
DURATION = 32
TIMEOUT = 150
# No 500 ms window without audio packets; the longest gap between two audio
# packets (webrtcbin: exact; Chromium: at the 100 ms sampling resolution).
MAX_AUDIO_GAP_MS = {"webrtcbin": 400, "chromium": 800}
SENT_HELD = r"sent [1-9][0-9]* stanzas? held while detached"
# [media] consent-timeout.  Not the minimum 5: belfry checks every 4-6 s
# (RFC 7675) and expires 5 s after the last answer, so with 5 a healthy
# call can expire between two checks.
CONSENT_S = 10
# The tones each sender sends (distinct, not harmonics of each other) and
# how their decoded level is read (tone_analysis.py): 100 ms windows every
# 20 ms.  The tone may dip (below its median - 20 dB) for at most
# TONE_GAP_MAX_S in a row anywhere in the call, outage included: the
# packet check's bound (MAX_AUDIO_GAP_MS) in decoded sound.
ECHO_TONE_HZ = 880
TONE_WIN_S, TONE_HOP_S = 0.1, 0.02
TONE_GAP_MAX_S = 0.4
TONE_DIP_DB = 20.0
# webrtcbin sends at 0.4 of full scale (-8 dB);
# a tone heard is within this of what was sent (Opus, no AGC on the path).
SENT_DB = {"webrtcbin": 20 * np.log10(0.4)}
LEVEL_TOLERANCE_DB = 6.0


@pytest.fixture(scope="module")
def belfry(prosody):
    mport = harness.free_port()
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-restart-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;call",
                       groups={"media": {"addresses": "127.0.0.1",
                                         "consent-timeout": str(CONSENT_S)},
                               "call": {"allow-domains": "localhost"},
                               "metrics": {"listen": f"127.0.0.1:{mport}"}})
    b.start()
    e2e.adopt(b.pid)
    b.wait_log("metrics: serving", 5)
    b.mport = mport
    yield b
    b.stop()   # exit 0 on SIGTERM; fails if belfry died during the module


def blog(b, n=8000):
    return "\n--- belfry ---\n" + b.log()[-n:]


def link_metrics(belfry):
    samples = scrape(belfry.mport)[1]
    return (value(samples, "belfry_link_up"), value(samples, "belfry_link_reconnects_total"))


def restart_prosody(prosody, belfry):
    """SIGTERM to Prosody, DOWN_S s down, started again on the same ports
    and data dir; waits for belfry's link to drop and to attach again.
    /metrics, by value: belfry_link_up 1 before, 0 while Prosody is down,
    1 again after; belfry_link_reconnects_total one more than before.
    Returns the wall times (time.time()) of the stop and of belfry's
    re-attach."""
    attaches = belfry.count("attached to 127.0.0.1:")
    drops = belfry.count("reconnecting in")
    up, reconnects = link_metrics(belfry)
    assert up == 1, (up, reconnects)
    pid = prosody.proc.pid
    stopped = time.time()
    prosody.stop()
    assert prosody.proc.poll() is not None, "Prosody did not stop"
    belfry.wait_log("reconnecting in", 5, count=drops + 1)
    assert link_metrics(belfry) == (0, reconnects), "belfry_link_up while Prosody is down"
    time.sleep(DOWN_S)
    prosody.start()
    e2e.adopt(prosody.proc.pid)   # ours, not an orphan for reap_orphans()
    assert prosody.proc.pid != pid
    belfry.wait_log("attached to 127.0.0.1:", 30, count=attaches + 1)
    back = time.time()
    after = link_metrics(belfry)
    print(json.dumps({"link metrics": {"before": [up, reconnects], "after": list(after)}}))
    assert after == (1, reconnects + 1), (up, reconnects, after)
    return stopped, back


def decoded_window(path, what, outage, info):
    """The recording, and the window checked: from 1 s after its first
    decoded chunk to 0.5 s before its last; it must span the outage."""
    rec = ta.read(path)
    assert len(rec.walls) > 0, f"{what}: no audio decoded\n{info}"
    a, b = float(rec.walls[0]) + 1.0, float(rec.walls[-1]) - 0.5
    stopped, back = outage
    assert a < stopped - 1.0 and back + 1.0 < b, (what, a, b, outage)
    return rec, a, b


def assert_decoded_continuous(path, what, outage, info):
    """Audio decoded for at least 90 % of the window's and of the outage's
    wall time."""
    rec, a, b = decoded_window(path, what, outage, info)
    cov, cov_out = ta.coverage(rec, a, b), ta.coverage(rec, *outage)
    figures = {"decoded": what, "seconds": round(b - a, 1), "coverage": round(cov, 3),
               "coverage_outage": round(cov_out, 3)}
    print(json.dumps(figures))
    assert cov >= 0.9 and cov_out >= 0.9, (figures, info)


def assert_tone_continuous(path, hz, sender, what, outage, info):
    """The tone `hz` that `sender` ("webrtcbin"/"chromium") sent, in the
    audio this peer decoded (record_audio at `path`), from 1 s after its
    first decoded chunk to 0.5 s before its last, a window that spans the
    outage (the wall times of Prosody's stop and belfry's re-attach):
    audio decoded for at least 90 % of the window's and of the outage's
    wall time, the tone at the level sent, during the outage as before,
    and never below its median - TONE_DIP_DB for more than TONE_GAP_MAX_S
    in a row."""
    rec, a, b = decoded_window(path, what, outage, info)
    stopped, back = outage
    cov, cov_out = ta.coverage(rec, a, b), ta.coverage(rec, stopped, back)
    walls, lv = ta.sliding_levels(rec, [hz], TONE_WIN_S, TONE_HOP_S, a, b)
    db = lv[hz]
    med = float(np.median(db))
    during = db[(walls >= stopped) & (walls <= back)]
    med_out = float(np.median(during)) if len(during) else ta.FLOOR_DB
    gap, at = ta.longest_run_below(walls, db, med - TONE_DIP_DB, TONE_HOP_S)
    figures = {"tone": what, "hz": hz, "seconds": round(b - a, 1),
               "outage_s": round(back - stopped, 1), "coverage": round(cov, 3),
               "coverage_outage": round(cov_out, 3), "median_db": round(med, 1),
               "median_db_outage": round(med_out, 1), "longest_dip_ms": round(gap * 1000),
               "dip_at_s_after_stop": None if at is None else round(at - stopped, 2)}
    print(json.dumps(figures))
    assert cov >= 0.9 and cov_out >= 0.9, (figures, info)
    assert abs(med - SENT_DB[sender]) <= LEVEL_TOLERANCE_DB, (figures, info)
    assert abs(med_out - med) <= 3.0, (figures, info)
    assert gap <= TONE_GAP_MAX_S, (figures, info)


def assert_continuous(res, kind, what, info):
    """No empty 500 ms window of audio and video packets, and a short
    longest audio gap, over a measurement that spans the client's own
    XMPP outage."""
    rc = res.get("rtp_continuity")
    assert rc, f"{what}: no continuity figures\n{info}"
    audio, video = rc["audio"], rc["video"]
    print(json.dumps({"continuity": what, **{
        k: {"windows": len(v["windows"]), "min_per_window": min(v["windows"], default=0),
            "max_gap_ms": v["max_gap_ms"], "packets": v["packets"]}
        for k, v in rc.items()},
        "xmpp_down_ms": [b - a for a, b in zip(res["xmpp_disconnects_ms"][:1],
                                                 res["xmpp_reconnects_ms"][-1:])]}))
    assert len(audio["windows"]) >= 2 * (BEFORE_S + DOWN_S), (what, audio, info)
    assert all(n > 0 for n in audio["windows"]), (f"{what}: a 500 ms window without audio: "
                                                  f"{audio['windows']}\n{info}")
    assert audio["max_gap_ms"] < MAX_AUDIO_GAP_MS[kind], (
        f"{what}: audio stopped for {audio['max_gap_ms']} ms: {audio}\n{info}")
    assert all(n > 0 for n in video["windows"]), (f"{what}: a 500 ms window without video: "
                                                  f"{video['windows']}\n{info}")
    # The client's own connection dropped with the server and came back,
    # inside the measured window.
    assert res["xmpp_disconnects_ms"] and res["xmpp_reconnects_ms"], (what, info)
    assert audio["start_ms"] < res["xmpp_disconnects_ms"][0], (what, audio, info)
    assert res["xmpp_reconnects_ms"][-1] < audio["end_ms"], (what, audio, info)


def test_echo_call_survives_server_restart(prosody, belfry, workdir, peers):
    started = time.monotonic()
    heard = str(workdir / "alice-restart.audio")
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-restart", "alice", "call", target=ECHO,
                           duration=DURATION, linger=0.5, reconnect=True, timeout=TIMEOUT,
                           subscribe=ECHO, tone_hz=ECHO_TONE_HZ, record_audio=heard)
    peers.append(p)
    p.wait_event("connected", 60)
    time.sleep(BEFORE_S)
    outage = restart_prosody(prosody, belfry)
    p.wait_event("reconnected", 30)
    res = p.result(DURATION + 60)
    record("webrtcbin->echo across a Prosody restart", [res], time.monotonic() - started)
    info = e2e.debug_dump(res) + blog(belfry)
    assert res["ok"], info
    assert not res.get("terminated_early"), info
    assert_continuous(res, "webrtcbin", "alice (echo)", info)
    assert_tone_continuous(heard, ECHO_TONE_HZ, "webrtcbin", "alice hears her echo", outage, info)
    log = belfry.log()
    assert "re-attached (handshake" in log and "1 session kept running" in log, info
    # The hang-up after the restart: answered, and belfry ended the session.
    assert res["terminated_by"] == "local", info
    assert res.get("terminate_answer") == "result", info
    # echo@ is online for Alice again after the restart, with its caps,
    # whichever of Alice and belfry came back first (a probe while belfry
    # was away is bounced with an error; belfry re-announces on re-attach).
    pres = res["presence_in"]
    print(json.dumps({"echo presence": pres}))
    back = res["xmpp_reconnects_ms"][-1]
    assert any(p["type"] is None and p["t"] < res["xmpp_disconnects_ms"][0] for p in pres), info
    after = [p for p in pres if p["t"] >= back]
    assert after and after[-1]["type"] is None and after[-1]["from"] == ECHO + "/belfry", (
        pres, info)
    belfry.wait_log(f"session {res['sid']} with {res['jid']} ended: success", 5)


def test_relayed_call_survives_server_restart(prosody, belfry, workdir, peers):
    started = time.monotonic()
    # carol (webrtcbin) answers and hangs up after DURATION; alice (Chromium)
    # measures longer and waits for that hang-up to come through belfry.
    carol_heard = str(workdir / "carol-restart.audio")
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-restart", "carol", "answer",
                               duration=DURATION, linger=0.5, reconnect=True, timeout=TIMEOUT,
                               record_audio=carol_heard)
    peers.append(carol)
    carol.wait_ready(30)
    alice = e2e.chromium_peer(prosody, workdir, "alice-restart", "alice", "call",
                              target=relay_jid("carol@localhost"), duration=DURATION + 10,
                              linger=15, reconnect=True, timeout=TIMEOUT)
    peers.append(alice)
    alice.wait_event("connected", 60)
    carol.wait_event("connected", 30)
    time.sleep(BEFORE_S)
    outage = restart_prosody(prosody, belfry)
    alice.wait_event("reconnected", 30)
    carol.wait_event("reconnected", 30)
    r_carol = carol.result(DURATION + 60)
    r_alice = alice.result(DURATION + 60)
    record("chromium->call->webrtcbin across a Prosody restart", [r_alice, r_carol],
           time.monotonic() - started)
    info_c = e2e.debug_dump(r_carol) + blog(belfry)
    info_a = e2e.debug_dump(r_alice) + blog(belfry)
    assert r_carol["ok"], info_c
    assert r_alice["ok"], info_a
    assert_continuous(r_carol, "webrtcbin", "carol (callee)", info_c)
    assert_continuous(r_alice, "chromium", "alice (caller)", info_a)
    # alice sends Chromium's fake microphone (beeps, no steady tone) and
    # records nothing: a WebAudio sine or recorder in the page made its
    # sending stall past the packet check's bound (409-620 ms gaps in 4 of
    # 5 runs, 163-246 ms without). carol's decoded audio: coverage only.
    assert_decoded_continuous(carol_heard, "carol hears alice", outage, info_c)
    assert "2 sessions kept running" in belfry.log(), blog(belfry)
    # carol's hang-up after the restart: answered by belfry, and it reached
    # alice as session-terminate <success/>.
    assert r_carol["terminated_by"] == "local", info_c
    assert r_carol.get("terminate_answer") == "result", info_c
    assert r_alice["terminated_by"] == "remote", info_a
    assert r_alice["terminate_reason"] == "success", info_a
    got = [m for m in r_alice["jingle"] if m["dir"] == "in" and "session-terminate" in m["xml"]]
    assert got, info_a


def test_peer_gone_while_down_ends_by_consent_and_the_other_side_hears_of_it(
        prosody, belfry, workdir, peers):
    """carol's client dies while the server is down: belfry ends her leg by
    ICE consent (consent-timeout 10 s) while still detached, holds the
    session-terminate for alice's leg and delivers it after re-attaching;
    alice, logged in again with the same resource, receives it (after a
    delay in the held queue of at least the time alice takes to log in)."""
    started = time.monotonic()
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-gone", "carol", "answer",
                               duration=DURATION, linger=0.5, timeout=TIMEOUT)
    peers.append(carol)
    carol.wait_ready(30)
    # alice measures long enough for the consent timeout, the restart and
    # belfry's reconnect backoff, and then waits for the hang-up it holds.
    alice = e2e.webrtcbin_peer(prosody, workdir, "alice-stays", "alice", "call",
                               target=relay_jid("carol@localhost"), duration=DURATION + 30,
                               linger=0.5, reconnect=True, timeout=TIMEOUT)
    peers.append(alice)
    alice.wait_event("connected", 60)
    time.sleep(BEFORE_S)
    held = len(re.findall(SENT_HELD, belfry.log()))
    attaches = belfry.count("attached to 127.0.0.1:")
    drops = belfry.count("reconnecting in")
    prosody.stop()
    belfry.wait_log("reconnecting in", 5, count=drops + 1)
    carol.kill()
    # belfry ends carol's leg by consent while the server is still down.
    belfry.wait_log("with carol@localhost/carol-gone ended: failed-transport", CONSENT_S + 10)
    # A stanza for a client that is not logged in is lost (Prosody bounces
    # it): belfry must not re-attach before alice is back, which its
    # backoff alone does not promise. belfry is paused (SIGSTOP to its
    # PID) from before Prosody starts until alice has logged in again;
    # nothing of alice's call is left to carry by then.
    os.kill(belfry.pid, signal.SIGSTOP)
    try:
        prosody.start()
        e2e.adopt(prosody.proc.pid)
        alice.wait_event("reconnected", 30)
    finally:
        os.kill(belfry.pid, signal.SIGCONT)
    belfry.wait_log("attached to 127.0.0.1:", 30, count=attaches + 1)
    r_alice = alice.result(DURATION + 90)
    record("relayed call, callee gone during a Prosody restart", [r_alice],
           time.monotonic() - started)
    info = e2e.debug_dump(r_alice) + blog(belfry)
    assert r_alice["ok"], info
    assert r_alice["terminated_by"] == "remote", info
    assert r_alice["terminate_reason"] == "failed-transport", info
    got = [m for m in r_alice["jingle"] if m["dir"] == "in" and "session-terminate" in m["xml"]]
    assert got and got[-1]["t"] > r_alice["xmpp_reconnects_ms"][-1], info
    log = belfry.log()
    assert "with carol@localhost/carol-gone ended: failed-transport" in log, info
    assert len(re.findall(SENT_HELD, log)) > held, info
