"""Conference audio (issue 13): real peers call a room of the `conference`
module, `team@relay.localhost`, like a 1:1 peer, and each must hear every
other participant mixed and never itself (mix-minus).

belfry runs `load = echo;call;conference` against a real Prosody in the
test's private network namespace. Every peer sends a pure tone of its own,
distinct and non-harmonic frequency and records what it decodes
(`record_audio`, read by tone_analysis.py): who is heard is which
frequencies carry energy in a Hann-windowed FFT of the listener's decoded
audio, and when is read from sliding windows stamped with the wall clock.

One room run (the `room` fixture, about 25 s of media) serves every room
test below; each asserts its own part of the same recordings:

  w600, w1300, w2100 (webrtcbin, BUNDLE, SDP-shaped) and c3100 (Chromium,
  BUNDLE, StanzaJS) join; dtx (webrtcbin, digital silence with Opus DTX)
  joins with them. w2100 gathers on 127.0.0.2 so that, once everyone is
  connected, iptables drops every 25th of its packets (the kernel here has
  no sch_netem, see below), and it holds each audio packet a random 0-30 ms
  before sending (jitter). d900 (the Dino-shaped peer: no BUNDLE, a
  transport per content, rtpbin) joins about 4 s later, stays about 4 s
  and hangs up. w600 mutes (session-info <mute/> and silence, as a client
  does) about 12 s after it connected, unmutes 3 s later.

The echo test is the negative control of the analysis: echo@ returns a
caller's own voice, which the mix-minus check must reject.
"""

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import e2e
import harness
import tone_analysis as ta

ROOM = "team@relay.localhost"
ECHO = "echo@relay.localhost"
# Distinct, non-harmonic tones: no tone is a multiple of another, and the
# second- and third-order products of any pair (f1+f2, |f1-f2|, 2f1-f2) lie
# at least 40 Hz from every tone (tone_analysis.distortion_products).
TONES = {"w600": 600, "w1300": 1300, "w2100": 2100, "c3100": 3100}
FIFTH = ("d900", 900)
ALL_TONES = sorted(list(TONES.values()) + [FIFTH[1]])
# Sent at -12 dBFS each (0.25): five at once sum to at most 1.25 of full
# scale, so a mixer that sums without headroom or saturation clips.
VOLUME = 0.25

# What "heard" and "not heard" mean (dB relative to a full-scale sine, over
# >= 2 s of Hann-windowed FFT).
PRESENT_DB = -40.0     # a tone sent at -12 dB and mixed must be above this
MIX_MINUS_DB = 40.0    # own tone at least this far below the weakest other
PRODUCTS_DB = 35.0     # clipping/intermodulation products this far below
# Sliding windows for join/leave/mute (100 ms every 20 ms) and for gaps
# (10 ms every 2.5 ms: a 20 ms hole reads as a 12.5 ms run).
WIN, HOP = 0.1, 0.02
GAP_WIN, GAP_HOP = 0.01, 0.0025
JOIN_LEAVE_S = 1.0

TIMEOUT = 90
BASE_DURATION = 24        # s of media for the first five, from their connect


def belfry_with(prosody, modules, tmp):
    b = harness.Belfry(tmp / "run", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules=modules,
                       groups={"media": {"addresses": "127.0.0.1"}})
    b.start()
    e2e.adopt(b.pid)
    return b


def blog(b, n=6000):
    return "\n--- belfry ---\n" + b.log()[-n:]


def summary_of(res):
    keep = ("ok", "error", "peer", "connected", "connected_wall", "terminate_sent_wall",
            "remote_terminate_wall", "recorded_samples", "audio_samples_decoded",
            "session_info_sent", "timings_ms", "gst_errors", "iq_errors")
    return json.dumps({k: res.get(k) for k in keep})[:3000]


def level_table(rec, wall_from, wall_to, freqs=ALL_TONES):
    x = rec.between(wall_from, wall_to)
    return {f: round(v, 1) for f, v in ta.levels(x, freqs).items()}, len(x) / ta.RATE


def mix_minus_problems(name, own, others, lv):
    """What is wrong with listener `name`'s levels `lv` (own tone `own`, the
    tones it must hear `others`): [] when every other is present and its own
    is MIX_MINUS_DB below the weakest of them."""
    bad = [f"{name}: {f} Hz missing ({lv[f]} dB)" for f in others if lv[f] < PRESENT_DB]
    if own is not None and others:
        weakest = min(lv[f] for f in others)
        if lv[own] > weakest - MIX_MINUS_DB:
            bad.append(f"{name}: own {own} Hz at {lv[own]} dB, only "
                       f"{weakest - lv[own]:.1f} dB below the weakest other ({weakest} dB)")
    return bad


# ---------------------------------------------------------------------------
# The analysis's negative control: echo returns the caller's own tone
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tmpdir_module():
    d = Path(tempfile.mkdtemp(prefix="belfry-e2e-conf-"))
    yield d


def test_echo_own_tone_fails_the_mix_minus_check(prosody, tmpdir_module, workdir, peers):
    """echo@ sends back what it hears: each caller's recording holds its own
    tone (the recording, timing and FFT path work for webrtcbin and
    Chromium), and mix_minus_problems() reports it as a leak — the room
    checks below can fail."""
    b = belfry_with(prosody, "echo;call", tmpdir_module / "echo")
    try:
        specs = {"w600": ("webrtcbin", 600), "c3100": ("chromium", 3100)}
        ps = {}
        for name, (kind, f) in specs.items():
            start = e2e.chromium_peer if kind == "chromium" else e2e.webrtcbin_peer
            ps[name] = start(prosody, workdir, name, "alice" if kind == "chromium" else "bob",
                             "call", target=ECHO, video=False, duration=4, linger=0,
                             tone_hz=f, tone_volume=VOLUME,
                             record_audio=str(workdir / f"{name}.pcm"), timeout=TIMEOUT)
            peers.append(ps[name])
        res = {n: p.result(TIMEOUT + 20) for n, p in ps.items()}
        log = blog(b)
    finally:
        b.stop()
    for name, (kind, f) in specs.items():
        r = res[name]
        info = summary_of(r) + log
        assert r["ok"] and r["connected"], info
        rec = ta.read(workdir / f"{name}.pcm")
        t0 = r["connected_wall"] + 1.0
        lv, secs = level_table(rec, t0, t0 + 2.5, ALL_TONES)
        prods = ta.distortion_products([f])
        plv = ta.levels(rec.between(t0, t0 + 2.5), list(prods))
        print(json.dumps({"echo": name, "levels_db": lv, "seconds": secs,
                          "products_db": {k: round(v, 1) for k, v in plv.items()},
                          "rms_db": round(ta.rms_db(rec.between(t0, t0 + 2.5)), 1)}))
        assert secs >= 2.0, (secs, info)
        assert lv[f] > PRESENT_DB, (lv, info)
        # Against a listener who "should" hear another tone it does not get,
        # and its own tone back: the check names both.
        other = 3100 if f == 600 else 600
        probs = mix_minus_problems(name, f, [other], {**lv, other: lv[f]})
        assert any("own" in p for p in probs), (probs, lv)
        assert mix_minus_problems(name, None, [other], lv), lv
