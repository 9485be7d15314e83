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
test below; each asserts its own part of the same recordings. The test
drives the timeline from t0, when the first five are connected:

  w600, w1300, w2100 (webrtcbin: BUNDLE, SDP-shaped), c3100 (Chromium:
  BUNDLE, StanzaJS) and dtx (webrtcbin sending digital silence with Opus
  DTX) call the room. w2100 gathers on 127.0.0.2: from t0 iptables drops
  every 25th of its packets, and it holds each audio packet a random
  0-30 ms before sending (jitter). [t0+1, fifth joins): the steady window.
  At t0+3.5 d900 (the Dino-shaped peer: no BUNDLE, a transport per
  content, rtpbin) calls, stays 4.5 s and hangs up. 1.5 s after it left,
  w600 mutes (session-info <mute/> and silence, as a client muting its
  microphone does), and unmutes 3.5 s later; 2.5 s after that everyone
  hangs up.

The kernel here has no sch_netem (no netem, prio or fq_codel qdisc, no tc
actions), so `tc netem` is out: the loss is iptables' `statistic` match in
the namespace, and the jitter is the sender's own.

The echo test is the negative control of the analysis: echo@ returns a
caller's own voice, which the mix-minus check must reject.

Five tones are on at once, so the room runs with `[conference]
max-talkers = 5` (the default, 3, mixes the three loudest).
"""

import json
import os
import shutil
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
# Sent at -16.5 dBFS each (0.15): five at once peak at 0.75 of full scale at
# most, so a right mix never clips. Through Opus at 32 kb/s such mixes
# decode with peaks of 0.65-0.85 (measured offline with opusenc/opusdec at
# complexity 5 and 10); hard-clipped ones at 1.0.
VOLUME = 0.15
SENT_DB = 20 * np.log10(VOLUME)

# What "heard" and "not heard" mean (dB relative to a full-scale sine).
# Over >= 2 s of Hann-windowed FFT:
PRESENT_DB = -40.0     # a tone mixed at SENT_DB must be above this
MIX_MINUS_DB = 40.0    # own (or muted) tone at least this far below the weakest other
LEVEL_TOLERANCE_DB = 4.0   # a heard tone within this of SENT_DB (no AGC, no 1/N: -6 dB)
# Clipping and intermodulation products >= 150 Hz from every tone: Opus at
# 32 kb/s alone leaves them 21-45 dB below the weakest tone (measured
# offline), so this catches a wrapped or garbled sum, not mild clipping;
# mild clipping is what the decoded peak shows.
PRODUCTS_DB = 15.0
PRODUCTS_AVOID_HZ = 150.0
PEAK_MAX = 0.95
# Sliding windows (100 ms every 20 ms; their floor is higher than the 2 s
# FFT's): heard from PRESENT_SLIDING_DB, gone below ABSENT_SLIDING_DB.
WIN, HOP = 0.1, 0.02
PRESENT_SLIDING_DB = SENT_DB - 15
ABSENT_SLIDING_DB = SENT_DB - 20
OWN_SLIDING_MAX_DB = SENT_DB - 30   # a listener's own tone, in any 100 ms window
JOIN_LEAVE_S = 1.0
# Gaps: 10 ms windows every 2.5 ms (a lost 20 ms frame left out of the mix
# reads as a 12.5 ms run more than 20 dB down).
GAP_WIN, GAP_HOP = 0.01, 0.0025
GAP_MAX_S = 0.005

TIMEOUT = 90
FIFTH_AFTER = 3.5          # s after t0
FIFTH_DURATION = 4.5
MUTE_AFTER_LEAVE = 1.5
MUTED_FOR = 3.5
TAIL = 2.5                 # s after the unmute until the end
CHROMIUM_DURATION = 26     # from its connect (about t0); the others end on a file


def belfry_with(prosody, modules, tmp):
    groups = {"media": {"addresses": "127.0.0.1"}}
    if "conference" in modules:
        # Five tones are on at once (the default mixes the 3 loudest).
        groups["conference"] = {"max-talkers": "5"}
    b = harness.Belfry(tmp / "run", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules=modules, groups=groups)
    b.start()
    e2e.adopt(b.pid)
    return b


def blog(b, n=6000):
    return "\n--- belfry ---\n" + b.log()[-n:]


def summary_of(res):
    keep = ("ok", "error", "peer", "connected", "connected_wall", "terminate_sent_wall",
            "remote_terminate_wall", "recorded_samples", "audio_samples_decoded",
            "session_info_sent", "timings_ms", "gst_errors", "iq_errors")
    s = {k: res.get(k) for k in keep}
    if res.get("peer") == "chromium":
        s["inbound_audio"] = (res.get("stats") or {}).get("audio")
    return json.dumps(s)[:3000]


def level_table(rec, wall_from, wall_to, freqs=ALL_TONES):
    x = rec.between(wall_from, wall_to)
    return {f: round(v, 1) for f, v in ta.levels(x, freqs).items()}, len(x) / ta.RATE


# A listener decodes audio for at least this share of a window's wall time
# (webrtcbin decodes nothing while no packet comes, e.g. in DTX).
COVERAGE_MIN = 0.9


def coverage_problems(name, rec, a, b):
    c = ta.coverage(rec, a, b)
    return [] if c >= COVERAGE_MIN else [
        f"{name}: audio decoded for only {c:.0%} of the {b - a:.1f} s window"]


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
    if not os.environ.get("BELFRY_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


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
        assert abs(lv[f] - SENT_DB) <= LEVEL_TOLERANCE_DB, (lv, info)
        # Against a listener who "should" hear another tone it does not get,
        # and its own tone back: the check names both.
        other = 3100 if f == 600 else 600
        probs = mix_minus_problems(name, f, [other], {**lv, other: lv[f]})
        assert any("own" in p for p in probs), (probs, lv)
        assert mix_minus_problems(name, None, [other], lv), lv




# ---------------------------------------------------------------------------
# One room, every check
# ---------------------------------------------------------------------------

LOSSY_ADDRESS = "127.0.0.2"
LOSS_EVERY = 25            # every 25th packet of the lossy peer dropped: 4 %
SEND_JITTER_MS = 30


def iptables(*args):
    r = subprocess.run(["iptables", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"iptables {' '.join(args)}: {r.stderr}"
    return r.stdout


LOSS_RULE = ("OUTPUT", "-s", LOSSY_ADDRESS, "-p", "udp", "-m", "statistic", "--mode", "nth",
             "--every", str(LOSS_EVERY), "--packet", "0", "-j", "DROP")


class RoomRun:
    """The peers' results and recordings of the one room run, and the wall
    times the test set: t0, mute, unmute."""

    def __init__(self, res, recs, walls, dropped, log):
        self.res, self.recs, self.dropped, self.log = res, recs, dropped, log
        self.t0, self.mute, self.unmute = walls["t0"], walls["mute"], walls["unmute"]

    def info(self, *names):
        return "\n".join(f"{n}: {summary_of(self.res[n])}" for n in names or self.res) + \
            "\n--- belfry ---\n" + self.log[-6000:]

    def wall(self, name, key):
        v = self.res[name].get(key)
        assert v, (name, key, self.info(name))
        return v

    def mute_walls(self):
        """When w600's session-info mute and unmute went out (its own
        record; the test's trigger files are within 10 ms of them)."""
        sent = {s["info"]: s["wall"] for s in self.res["w600"]["session_info_sent"]}
        assert "mute" in sent and "unmute" in sent, self.info("w600")
        return sent["mute"], sent["unmute"]


def sleep_until(wall):
    time.sleep(max(0.0, wall - time.time()))


@pytest.fixture(scope="module")
def room(prosody, tmpdir_module):
    """Runs the room once (see the module docstring) and returns a RoomRun."""
    wd = tmpdir_module / "room"
    wd.mkdir()
    b = belfry_with(prosody, "echo;call;conference", wd)
    made, rule_on = [], False
    mute_file, unmute_file, end_file = wd / "mute", wd / "unmute", wd / "end"
    common = dict(target=ROOM, video=False, timeout=TIMEOUT, linger=0, tone_volume=VOLUME,
                  announce_connected=True)
    wb = dict(common, duration=TIMEOUT - 10, end_file=str(end_file))
    try:
        first = {
            "w600": e2e.webrtcbin_peer(
                prosody, wd, "w600", "alice", "call", tone_hz=600, mute_silences=True,
                record_audio=str(wd / "w600.pcm"),
                session_info=[{"on_file": str(mute_file), "info": "mute", "media": "audio"},
                              {"on_file": str(unmute_file), "info": "unmute", "media": "audio"}],
                **wb),
            "w1300": e2e.webrtcbin_peer(
                prosody, wd, "w1300", "bob", "call", tone_hz=1300,
                record_audio=str(wd / "w1300.pcm"), **wb),
            "w2100": e2e.webrtcbin_peer(
                prosody, wd, "w2100", "carol", "call", tone_hz=2100,
                ice_address=LOSSY_ADDRESS, send_jitter_ms=SEND_JITTER_MS,
                record_audio=str(wd / "w2100.pcm"), **wb),
            "c3100": e2e.chromium_peer(
                prosody, wd, "c3100", "dave", "call", tone_hz=3100, duration=CHROMIUM_DURATION,
                record_audio=str(wd / "c3100.pcm"), **common),
            "dtx": e2e.webrtcbin_peer(
                prosody, wd, "dtx", "bob", "call", audio_wave="silence", opus_dtx=True,
                record_audio=str(wd / "dtx.pcm"), **wb),
        }
        made.extend(first.values())
        for p in first.values():
            p.wait_event("connected", TIMEOUT)
        t0 = time.time()
        iptables("-A", *LOSS_RULE)
        rule_on = True
        sleep_until(t0 + FIFTH_AFTER)
        name, f = FIFTH
        fifth = e2e.dino_peer(prosody, wd, name, "carol", "call", tone_hz=f,
                              duration=FIFTH_DURATION, record_audio=str(wd / f"{name}.pcm"),
                              drop_on_latency=False, **common)
        made.append(fifth)
        res = {name: fifth.result(TIMEOUT)}
        left = res[name].get("terminate_sent_wall") or time.time()
        sleep_until(left + MUTE_AFTER_LEAVE)
        mute_file.touch()
        mute = time.time()
        sleep_until(mute + MUTED_FOR)
        unmute_file.touch()
        unmute = time.time()
        sleep_until(unmute + TAIL)
        end_file.touch()
        res.update({n: p.result(TIMEOUT + 30) for n, p in first.items()})
        counters = iptables("-L", "OUTPUT", "-v", "-x", "-n")
        iptables("-D", *LOSS_RULE)
        rule_on = False
        dropped = [int(line.split()[0]) for line in counters.splitlines()
                   if "DROP" in line and LOSSY_ADDRESS in line]
        log = b.log()
    finally:
        if rule_on:
            iptables("-D", *LOSS_RULE)
        for p in made:
            p.close()
        b.stop()
    walls = {"t0": t0, "mute": mute, "unmute": unmute}
    # Kept with the recordings when BELFRY_KEEP_TMP=1 (for reading a failure).
    (wd / "results.json").write_text(json.dumps({"walls": walls, "dropped": dropped, "res": res}))
    (wd / "belfry.log").write_text(log)
    recs = {n: ta.read(wd / f"{n}.pcm") for n in res}
    run = RoomRun(res, recs, walls, dropped[0] if dropped else 0, log)
    for n, r in res.items():
        assert r["ok"] and r["connected"], run.info(n)
    # Chromium's fixed duration must have covered the timeline.
    assert run.wall("c3100", "terminate_sent_wall") >= unmute + TAIL - 0.5, \
        ("the timeline overran Chromium's duration", run.info("c3100"))
    return run


TONE_OF = dict(TONES, **{FIFTH[0]: FIFTH[1]}, dtx=None)
FIRST_FIVE = ["w600", "w1300", "w2100", "c3100", "dtx"]


def steady_window(run):
    """Everyone of the first five connected (+1 s), before the fifth."""
    return run.t0 + 1.0, run.wall(FIFTH[0], "connected_wall") - 0.2


def five_window(run):
    return (run.wall(FIFTH[0], "connected_wall") + 1.2,
            run.wall(FIFTH[0], "terminate_sent_wall") - 0.2)


def level_problems(name, freqs, lv):
    return [f"{name}: {f} Hz at {lv[f]} dB, sent at {SENT_DB:.1f}" for f in freqs
            if abs(lv[f] - SENT_DB) > LEVEL_TOLERANCE_DB]


def test_every_listener_hears_the_others_and_not_itself(room):
    """Four tone senders (three webrtcbin, one Chromium) and a silent one:
    over >= 2 s every listener's audio carries every other's tone at the
    level it was sent (+-4 dB), and its own at least 40 dB below the
    weakest of them (mix-minus)."""
    a, b = steady_window(room)
    problems, table = [], {}
    for name in FIRST_FIVE:
        lv, secs = level_table(room.recs[name], a, b)
        table[name] = lv
        assert secs >= 2.0, (name, secs, room.info(name))
        own = TONE_OF[name]
        others = [f for n, f in TONES.items() if n != name]
        problems += mix_minus_problems(name, own, others, lv) + level_problems(name, others, lv)
        problems += coverage_problems(name, room.recs[name], a, b)
    print(json.dumps({"steady_levels_db": table}))
    assert not problems, (problems, table, room.info())


def test_five_at_once_no_clipping(room):
    """With the fifth in (five tones, 0.75 of full scale at most), every
    listener hears the other four at their sent level and not itself, its
    decoded audio peaks below 0.95 (a saturated sum decodes at 1.0), and no
    2f/3f or intermodulation product comes within 15 dB of the weakest
    tone (a wrapped or garbled sum)."""
    a, b = five_window(room)
    prods = ta.distortion_products(ALL_TONES, avoid_hz=PRODUCTS_AVOID_HZ)
    problems, table = [], {}
    for name in FIRST_FIVE + [FIFTH[0]]:
        x = room.recs[name].between(a, b)
        own = TONE_OF[name]
        others = [f for f in ALL_TONES if f != own]
        lv, secs = level_table(room.recs[name], a, b)
        assert secs >= 2.0, (name, secs, room.info(name, FIFTH[0]))
        problems += mix_minus_problems(name, own, others, lv) + level_problems(name, others, lv)
        problems += coverage_problems(name, room.recs[name], a, b)
        plv = ta.levels(x, list(prods))
        weakest = min(lv[f] for f in others)
        worst = max(plv, key=plv.get)
        peak = float(np.max(np.abs(x)))
        table[name] = {"tones": lv, "peak": round(peak, 3),
                       "worst_product": [worst, prods[worst], round(plv[worst], 1)]}
        if plv[worst] > weakest - PRODUCTS_DB:
            problems.append(f"{name}: {prods[worst]} ({worst} Hz) at {plv[worst]:.1f} dB, "
                            f"weakest tone {weakest} dB")
        if peak >= PEAK_MAX:
            problems.append(f"{name}: decoded peak {peak:.3f}")
    print(json.dumps({"five_levels_db": table}))
    assert not problems, (problems, table, room.info())


def test_join_heard_and_leave_gone_within_1s(room):
    """The fifth (the Dino-shaped peer) is heard by every listener within
    1 s of its DTLS connect, and gone within 1 s of its session-terminate
    (100 ms windows every 20 ms)."""
    name, f = FIFTH
    joined = room.wall(name, "connected_wall")
    left = room.wall(name, "terminate_sent_wall")
    problems, table = [], {}
    for lis in FIRST_FIVE:
        rec = room.recs[lis]
        walls, lv = ta.sliding_levels(rec, [f], WIN, HOP, joined - 1.0, left + 2.5)
        on = ta.first_present(walls, lv[f], PRESENT_SLIDING_DB, after=joined - 0.5)
        off = ta.first_absent(walls, lv[f], ABSENT_SLIDING_DB, after=left - 0.5) if on else None
        table[lis] = {"heard_after_s": None if on is None else round(on - joined, 3),
                      "gone_after_s": None if off is None else round(off - left, 3)}
        if on is None or on - joined > JOIN_LEAVE_S:
            problems.append(f"{lis}: {f} Hz heard {table[lis]['heard_after_s']} s after the join")
        if off is None or off - left > JOIN_LEAVE_S:
            problems.append(f"{lis}: {f} Hz gone {table[lis]['gone_after_s']} s after the leave")
    print(json.dumps({"join_leave": table}))
    assert not problems, (problems, table, room.info(name))


def test_muted_participant_disappears_for_everyone(room):
    """w600 sends session-info <mute/> and silence (as a client muting its
    microphone): within 1 s its tone is gone for every listener, over the
    muted stretch it is 40 dB below the others, and it is back within 1 s
    of <unmute/>. Through both switches w600 never hears itself (its own
    tone in any 100 ms window stays 30 dB under the sent level)."""
    mute, unmute = room.mute_walls()
    problems, table = [], {}
    for lis in ["w1300", "w2100", "c3100", "dtx"]:
        rec = room.recs[lis]
        others = [f for n, f in TONES.items() if n not in ("w600", lis)]
        lv, secs = level_table(rec, mute + 1.0, unmute)
        assert secs >= 2.0, (lis, secs, room.info(lis))
        walls, slv = ta.sliding_levels(rec, [600], WIN, HOP, mute - 1.0, unmute + 2.0)
        gone = ta.first_absent(walls, slv[600], ABSENT_SLIDING_DB, after=mute - 0.2)
        back = ta.first_present(walls, slv[600], PRESENT_SLIDING_DB, after=unmute - 0.2)
        table[lis] = {"muted_levels": lv,
                      "gone_after_s": None if gone is None else round(gone - mute, 3),
                      "back_after_s": None if back is None else round(back - unmute, 3)}
        if lv[600] > min(lv[f] for f in others) - MIX_MINUS_DB:
            problems.append(f"{lis}: muted 600 Hz still at {lv[600]} dB")
        problems += mix_minus_problems(lis, None, others, lv)
        problems += coverage_problems(lis, rec, mute + 1.0, unmute)
        if gone is None or gone - mute > JOIN_LEAVE_S:
            problems.append(f"{lis}: 600 Hz gone {table[lis]['gone_after_s']} s after mute")
        if back is None or back - unmute > JOIN_LEAVE_S:
            problems.append(f"{lis}: 600 Hz back {table[lis]['back_after_s']} s after unmute")
    # Found when written (main at 11d9322): w600 hears its own tone for one
    # packet as it mutes: -30 dB in a 100 ms window; in 10 ms windows about
    # 20 ms peaking at -22 dB (5 dB under its sent level), 10-35 ms after
    # the session-info went out; nothing at the unmute. cf_mixer_set_muted() drops the
    # talker at once, so that very tick w600 is moved to the shared
    # encoder, whose lookahead still holds the previous tick's mix, which
    # had w600's voice in it. A muted talker would need to stay on its
    # private encoder (its gain 0) for a tick before it joins the shared
    # stream, as a talker leaving on its own does after its hangover.
    walls, own = ta.sliding_levels(room.recs["w600"], [600], WIN, HOP, mute - 1.0, unmute + 2.0)
    leaks = [(round(t - mute, 2), round(float(v), 1)) for t, v in zip(walls, own[600])
             if v > OWN_SLIDING_MAX_DB]
    table["w600_own_above_limit"] = leaks
    if leaks:
        problems.append(f"w600 hears itself around its mute/unmute: (s after mute, dB) {leaks[:12]}")
    print(json.dumps({"mute": table}))
    assert not problems, (problems, table, room.info("w600"))


def test_dtx_participant_adds_nothing_and_hears_everyone(room):
    """The participant sending digital silence with Opus DTX is heard by
    nobody (no tone of its own exists; the others' levels above stay at
    their sent level with it in the room) and hears the four senders at
    their sent level, then the fifth too."""
    problems, table = [], {}
    for label, (a, b), freqs in (("four", steady_window(room), list(TONES.values())),
                                 ("five", five_window(room), ALL_TONES)):
        lv, secs = level_table(room.recs["dtx"], a, b)
        assert secs >= 2.0, (secs, room.info("dtx"))
        table[label] = lv
        problems += mix_minus_problems("dtx", None, freqs, lv) + level_problems("dtx", freqs, lv)
        problems += coverage_problems("dtx", room.recs["dtx"], a, b)
    print(json.dumps({"dtx_hears": table}))
    assert not problems, (problems, room.info("dtx"))


def test_lossy_jittery_participant_heard_without_gaps(room):
    """w2100's packets: every 25th dropped in the kernel (iptables
    statistic, on its own address 127.0.0.2) and each held 0-30 ms before
    sending. The others hear its tone without a hole: the room's jitter
    buffer absorbs the jitter and its FEC/PLC covers each lost 20 ms frame
    (a frame left out of the mix reads as a 12.5 ms run below -20 dB)."""
    assert room.dropped >= 20, (room.dropped, room.info("w2100"))
    a = room.t0 + 1.0
    problems, table = [], {}
    for lis in ["w600", "w1300", "c3100", "dtx"]:
        rec = room.recs[lis]
        assert len(rec.walls) > 0, (lis, room.info(lis))
        end = min(rec.walls[-1], room.wall("w2100", "terminate_sent_wall")) - 0.5
        walls, lv = ta.sliding_levels(rec, [2100], GAP_WIN, GAP_HOP, a, end)
        assert len(walls) > 0, (lis, room.info(lis))
        ref = float(np.median(lv[2100]))
        gap, at = ta.longest_run_below(walls, lv[2100], ref - 20, GAP_HOP)
        table[lis] = {"median_db": round(ref, 1), "longest_gap_ms": round(gap * 1000, 1),
                      "at_s": None if at is None else round(at - room.t0, 2),
                      "seconds": round(end - a, 1)}
        problems += coverage_problems(lis, rec, a, end)
        if abs(ref - SENT_DB) > LEVEL_TOLERANCE_DB or gap > GAP_MAX_S:
            problems.append(f"{lis}: 2100 Hz median {ref:.1f} dB, longest gap {gap * 1000:.1f} ms "
                            f"at t0+{table[lis]['at_s']} s")
    print(json.dumps({"lossy": table, "dropped_packets": room.dropped}))
    assert not problems, (problems, table, room.info("w2100"))


def test_client_shapes_join(room):
    """Chromium (BUNDLE, StanzaJS), webrtcbin (BUNDLE, SDP-shaped) and the
    Dino-shaped peer (a transport per content, no BUNDLE) each joined the
    room with a plain call to team@relay.localhost, the session's peer was
    the room, and each heard the others (the Dino-shaped one while it was
    in, the others before it came)."""
    a, b = steady_window(room)
    a5, b5 = five_window(room)
    for name, kind, (wa, wb) in (("c3100", "chromium", (a, b)), ("w1300", "webrtcbin", (a, b)),
                                 (FIFTH[0], "dino", (a5, b5))):
        r = room.res[name]
        assert r["peer"] == kind and r["connected"], room.info(name)
        assert r["remote_jid"].split("/")[0] == ROOM, room.info(name)
        lv, secs = level_table(room.recs[name], wa, wb)
        own = TONE_OF[name]
        others = [f for f in (ALL_TONES if kind == "dino" else TONES.values()) if f != own]
        assert secs >= 2.0 and not mix_minus_problems(name, own, others, lv), \
            (name, secs, lv, room.info(name))
