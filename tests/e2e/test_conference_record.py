"""A recorded room (issue 14, "Recording"): three real webrtcbin peers call
team@relay.localhost, each sending a tone of its own, in a belfry whose
[conference] records every room (record-dir, record = true).  When they
hang up, the room's WebM file must play as it is:

  * GstDiscoverer (gst-discoverer-1.0's library) reads it: an Opus audio track, a duration within
    10 % (and 0.6 s) of the room's life from the first caller's connect to
    the last one's hang-up;
  * its decoded audio (matroskademux ! opusdec) holds every talker's tone
    (tone_analysis.levels, a Hann-windowed FFT): over some 1 s window all
    three tones at once above PRESENT_DB, since the recording is the whole
    mix (nobody's voice left out, unlike what each participant hears);
  * the file is 0640 and named <room>-<UTC timestamp>.webm.

Three tones at once: the room mixes the 3 loudest by default
(max-talkers = 3), so all three are in the mix.
"""

import os
import re
import shutil
import stat
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
TONES = {"r600": ("alice", 600), "r1300": ("bob", 1300), "r2100": ("carol", 2100)}
VOLUME = 0.15
DURATION = 6
TIMEOUT = 60
PRESENT_DB = -40.0


@pytest.fixture
def tmpdir_own():
    d = Path(tempfile.mkdtemp(prefix="belfry-e2e-record-"))
    yield d
    if not os.environ.get("BELFRY_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


def discover(path):
    """What GstDiscoverer (gst-discoverer-1.0's library; the tool itself is
    in a package the e2e set does not install) reads of @path: its audio
    streams' caps and the duration in seconds."""
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstPbutils", "1.0")
    from gi.repository import Gst, GstPbutils
    Gst.init(None)
    disc = GstPbutils.Discoverer.new(30 * Gst.SECOND)
    info = disc.discover_uri(path.resolve().as_uri())
    assert info.get_result() == GstPbutils.DiscovererResult.OK, info.get_result()
    audio = [a.get_caps().to_string() for a in info.get_audio_streams()]
    video = [v.get_caps().to_string() for v in info.get_video_streams()]
    return audio, video, info.get_duration() / Gst.SECOND


def decode(path, out):
    r = subprocess.run(
        ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "matroskademux", "!",
         "opusdec", "!", "audioconvert", "!", "audioresample", "!",
         "audio/x-raw,format=F32LE,rate=48000,channels=1", "!", "filesink",
         f"location={out}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return np.fromfile(out, dtype="<f4")


def test_a_recorded_room_plays_with_every_talkers_tone(prosody, workdir, peers, tmpdir_own):
    rec_dir = tmpdir_own / "recordings"
    rec_dir.mkdir()
    b = harness.Belfry(tmpdir_own / "run", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="conference",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "conference": {"record-dir": str(rec_dir), "record": "true"}})
    b.start()
    e2e.adopt(b.pid)
    try:
        ps = {}
        for name, (user, f) in TONES.items():
            ps[name] = e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                          video=False, duration=DURATION, linger=0,
                                          tone_hz=f, tone_volume=VOLUME, timeout=TIMEOUT)
            peers.append(ps[name])
        res = {n: p.result(DURATION + TIMEOUT + 20) for n, p in ps.items()}
        b.wait_log("room team closed", 15)
        b.wait_log("room team: recording ended", 15)
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {e2e.summary(r)}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    for r in res.values():
        assert r["ok"] and r["connected"], info
    assert "CRITICAL" not in log, info
    assert "the recording stopped" not in log, info

    files = list(rec_dir.iterdir())
    assert len(files) == 1, (files, info)
    path = files[0]
    assert re.fullmatch(r"team-\d{8}T\d{6}Z\.webm", path.name), path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o640

    # Told: the message and the XEP-0298 state are
    # tests/integration/test_conference_config.py's; here the room's log.
    assert log.count("room team: recording started") == 1, info

    # It plays: an audio track, the room's duration.
    audio, video, duration = discover(path)
    print(f"discovered: audio {audio}, video {video}, {duration:.3f} s")
    assert len(audio) == 1 and audio[0].startswith("audio/x-opus"), audio
    assert video == [], video   # audio-only until the MCU's composited stream
    first = min(r["connected_wall"] for r in res.values())
    last = max(r["terminate_sent_wall"] or r["remote_terminate_wall"] or 0 for r in res.values())
    expected = last - first
    print(f"recording: {duration:.2f} s, room from first connect to last hang-up {expected:.2f} s")
    assert abs(duration - expected) <= max(0.1 * expected, 0.6), (duration, expected, info)

    # Every talker's tone is in it, all three at once somewhere.
    x = decode(path, tmpdir_own / "decoded.f32")
    assert len(x) / ta.RATE >= 0.8 * duration, (len(x), duration)
    freqs = [f for _, f in TONES.values()]
    best, best_at = None, None
    step, win = int(0.25 * ta.RATE), int(1.0 * ta.RATE)
    for start in range(0, max(1, len(x) - win), step):
        lv = ta.levels(x[start:start + win], freqs)
        if best is None or min(lv.values()) > min(best.values()):
            best, best_at = lv, start / ta.RATE
    print(f"best 1 s window at {best_at:.2f} s: "
          + ", ".join(f"{f} Hz {v:.1f} dB" for f, v in best.items()))
    for f, v in best.items():
        assert v > PRESENT_DB, (f, best, info)
