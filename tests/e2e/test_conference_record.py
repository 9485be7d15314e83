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
  * the file is 0640 and named <room>-<UTC timestamp>.webm;
  * gst-discoverer-1.0 (the CLI, gstreamer1.0-plugins-base-apps) agrees:
    the tracks and the duration.

A room whose first caller sends video records the MCU's composite as its
video track (test_a_recorded_room_with_video_has_the_composite): two
webrtcbin peers sending one colour each; the file has an Opus and a VP8
track (GstDiscoverer and gst-discoverer-1.0), the room's duration, and its
decoded frames show both colours at their tiles of the MCU's layout
(mcu_layout.py: mcu.h's layout, as test_conference_mcu.py checks it).

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
from mcu_layout import SNAP, layout_matches

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


def start_recording_belfry(prosody, tmpdir_own, command_prefix=None):
    """A started belfry whose conference records every room into a fresh
    recordings/ of @tmpdir_own: (the Belfry, that directory)."""
    rec_dir = tmpdir_own / "recordings"
    rec_dir.mkdir()
    if command_prefix is not None:
        command_prefix = [str(rec_dir) if a == "REC_DIR" else a for a in command_prefix]
    b = harness.Belfry(tmpdir_own / "run", port=prosody.component_port,
                       command_prefix=command_prefix,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="conference",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "conference": {"record-dir": str(rec_dir), "record": "true"}})
    b.start()
    e2e.adopt(b.pid)
    return b, rec_dir


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


def discover_cli(path):
    """What gst-discoverer-1.0 (the CLI) prints of @path: the stream kinds
    of its topology ("audio #1: Opus", "video #2: VP8"...) and the duration in
    seconds."""
    r = subprocess.run(["gst-discoverer-1.0", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    kinds = re.findall(r"^\s*(audio|video|subtitles) #\d+: (.+?)\s*$", r.stdout, re.M)
    m = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", r.stdout)
    assert m, r.stdout
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return kinds, duration, r.stdout


def decode(path, out):
    r = subprocess.run(
        ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "matroskademux", "!",
         "opusdec", "!", "audioconvert", "!", "audioresample", "!",
         "audio/x-raw,format=F32LE,rate=48000,channels=1", "!", "filesink",
         f"location={out}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return np.fromfile(out, dtype="<f4")


def test_a_recorded_room_plays_with_every_talkers_tone(prosody, workdir, peers, tmpdir_own):
    b, rec_dir = start_recording_belfry(prosody, tmpdir_own)
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
    assert video == [], video   # nobody sent video: audio only
    kinds, cli_duration, text = discover_cli(path)
    print(f"gst-discoverer-1.0: {kinds}, {cli_duration:.3f} s")
    assert [k for k, _ in kinds] == ["audio"] and kinds[0][1].lower().startswith("opus"), text
    assert abs(cli_duration - duration) < 0.05, (cli_duration, duration, text)
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


# The video test: the first caller sends video (so the recording has a
# video track from the start: room.c), the second joins after it.
VIDEO_PEERS = {"vgreen": ("alice", 600, "green"), "vblue": ("bob", 1300, "blue")}
VIDEO_DURATION = 10


def decode_video(path, out):
    r = subprocess.run(
        ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "matroskademux", "!",
         "vp8dec", "!", "videoconvert", "!", "videoscale", "!",
         f"video/x-raw,format=RGB,width={SNAP[0]},height={SNAP[1]}", "!", "filesink",
         f"location={out}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    raw = np.fromfile(out, dtype=np.uint8)
    n = len(raw) // (SNAP[0] * SNAP[1] * 3)
    return raw[:n * SNAP[0] * SNAP[1] * 3].reshape(n, SNAP[1], SNAP[0], 3).astype(int)


def test_a_recorded_room_with_video_has_the_composite(prosody, workdir, peers, tmpdir_own):
    b, rec_dir = start_recording_belfry(prosody, tmpdir_own)
    try:
        ps = {}
        for name, (user, f, colour) in VIDEO_PEERS.items():
            ps[name] = e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                          duration=VIDEO_DURATION, linger=0, tone_hz=f,
                                          tone_volume=VOLUME, video_pattern=colour,
                                          announce_connected=True, timeout=TIMEOUT)
            peers.append(ps[name])
            ps[name].wait_event("connected", TIMEOUT)   # the first one opens the room
        res = {n: p.result(VIDEO_DURATION + TIMEOUT + 20) for n, p in ps.items()}
        b.wait_log("room team closed", 15)
        b.wait_log("room team: recording ended", 15)
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {e2e.summary(r)}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    for r in res.values():
        assert r["ok"] and r["connected"], info
    assert "CRITICAL" not in log and "WARNING" not in log, info
    assert "recording to" in log and "(audio and video)" in log, info
    files = list(rec_dir.iterdir())
    assert len(files) == 1, (files, info)
    path = files[0]

    # Both tracks, the room's duration: GstDiscoverer and the CLI.
    audio, video, duration = discover(path)
    print(f"discovered: audio {audio}, video {video}, {duration:.3f} s")
    assert len(audio) == 1 and audio[0].startswith("audio/x-opus"), audio
    assert len(video) == 1 and video[0].startswith("video/x-vp8"), video
    kinds, cli_duration, text = discover_cli(path)
    print(f"gst-discoverer-1.0: {kinds}, {cli_duration:.3f} s")
    assert sorted(k for k, _ in kinds) == ["audio", "video"], text
    assert dict(kinds)["video"].lower().startswith("vp8"), text
    assert dict(kinds)["audio"].lower().startswith("opus"), text
    first = min(r["connected_wall"] for r in res.values())
    last = max(r["terminate_sent_wall"] or r["remote_terminate_wall"] or 0 for r in res.values())
    expected = last - first
    print(f"recording: {cli_duration:.2f} s, room from first connect to last hang-up "
          f"{expected:.2f} s")
    assert abs(cli_duration - expected) <= max(0.1 * expected, 0.6), (cli_duration, expected, text)

    # Its frames: the composite, both senders' colours at their tiles.
    frames = decode_video(path, tmpdir_own / "decoded.rgb")
    both = sum(layout_matches(f, ["green", "blue"]) is not False for f in frames)
    print(f"video: {len(frames)} frames decoded, {both} with both colours at their tiles")
    # 15 fps over the ~8 s both were in the room.
    assert len(frames) >= 60, (len(frames), info)
    assert both >= 45, (both, len(frames), info)


FAILED_NOTICE = ("The recording of this room stopped: it could not be written. "
                 "This room is no longer being recorded")


def test_a_recording_that_cannot_be_written_ends_and_the_room_goes_on(prosody, workdir, peers,
                                                                       tmpdir_own):
    """A full disk mid-recording: record-dir is a 16 KiB tmpfs in a mount
    namespace of belfry's own, which a talker's mix fills in a few seconds.
    The recording ends with one warning, the participant is told (a chat
    message from the room), and the call goes on to its end with audio.
    (The XEP-0298 state and the form follow room->recording, which
    tests/integration/test_conference_config.py checks; that file's calls
    carry no media, so no recording there ever writes enough to fail.)"""
    full_disk = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'mount -t tmpfs -o size=16k,mode=0755 belfry-rec "$0" && exec "$@"', "REC_DIR"]
    b, rec_dir = start_recording_belfry(prosody, tmpdir_own, full_disk)
    try:
        p = e2e.webrtcbin_peer(prosody, workdir, "full", "alice", "call", target=ROOM,
                               video=False, duration=8, linger=0, tone_hz=600,
                               tone_volume=VOLUME, timeout=TIMEOUT)
        peers.append(p)
        res = p.result(8 + TIMEOUT + 20)
        b.wait_log("room team closed", 15)
        log = b.log()
    finally:
        b.stop()
    info = e2e.summary(res) + "\n--- belfry ---\n" + log[-6000:]
    assert res["ok"] and res["connected"], info
    assert res["terminated_by"] == "local", info   # the room went on to the call's end
    # Its audio reached the room to the end (alone, it hears no mix): 8 s.
    m = re.search(r"room team: call \S+: received (\d+) Opus RTP", log)
    assert m and int(m.group(1)) >= 300, info
    assert log.count("room team: recording failed; the room goes on unrecorded") == 1, info
    bodies = [m["body"] for m in res["chat"] if m["from"] == ROOM]
    assert bodies[:1] == ["This room is being recorded"], (res["chat"], info)
    assert FAILED_NOTICE in bodies, (res["chat"], info)
    # The file was on the namespace's tmpfs: nothing here.
    assert list(rec_dir.iterdir()) == [], info
    assert "CRITICAL" not in log, info


def test_an_audio_only_recording_gains_video_in_a_new_file(prosody, workdir, peers, tmpdir_own):
    """The first caller has no video, so the recording starts audio-only (a
    WebM file's tracks are fixed at its start); when a caller with video
    joins, the recording continues in a second file with both tracks and
    the composite.  Together the two files cover the room's life."""
    b, rec_dir = start_recording_belfry(prosody, tmpdir_own)
    try:
        a = e2e.webrtcbin_peer(prosody, workdir, "aonly", "alice", "call", target=ROOM,
                               video=False, duration=VIDEO_DURATION + 3, linger=0,
                               tone_hz=600, tone_volume=VOLUME, announce_connected=True,
                               timeout=TIMEOUT)
        peers.append(a)
        a.wait_event("connected", TIMEOUT)
        time.sleep(3)
        v = e2e.webrtcbin_peer(prosody, workdir, "vblue", "bob", "call", target=ROOM,
                               duration=VIDEO_DURATION, linger=0, tone_hz=1300,
                               tone_volume=VOLUME, video_pattern="blue", timeout=TIMEOUT)
        peers.append(v)
        res = {"aonly": a.result(VIDEO_DURATION + TIMEOUT + 20),
               "vblue": v.result(VIDEO_DURATION + TIMEOUT + 20)}
        b.wait_log("room team closed", 15)
        b.wait_log("room team: recording ended", 15, count=2)
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {e2e.summary(r)}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    for r in res.values():
        assert r["ok"] and r["connected"], info
    assert "CRITICAL" not in log and "WARNING" not in log, info
    assert log.count("room team: recording started") == 1, info
    assert log.count("room team: recording continues in a new file, with video") == 1, info
    # Told once, each: a new file is no news to the participants.
    for r in res.values():
        bodies = [m["body"] for m in r["chat"] if m["from"] == ROOM]
        assert bodies == ["This room is being recorded"], (r["chat"], info)

    files = sorted(rec_dir.iterdir())
    assert len(files) == 2, (files, info)
    first, second = files
    a1, v1, d1 = discover(first)
    a2, v2, d2 = discover(second)
    print(f"first: audio {a1}, video {v1}, {d1:.2f} s; second: audio {a2}, video {v2}, {d2:.2f} s")
    assert len(a1) == 1 and v1 == [], (a1, v1)
    assert len(a2) == 1 and len(v2) == 1 and v2[0].startswith("video/x-vp8"), (a2, v2)
    # The first ends where the second begins: about 3 s before bob, the
    # second from bob's join to the room's end.
    first_connect = res["aonly"]["connected_wall"]
    last = max(r["terminate_sent_wall"] or r["remote_terminate_wall"] or 0 for r in res.values())
    expected = last - first_connect
    print(f"files {d1:.2f} + {d2:.2f} s, room {expected:.2f} s")
    assert 1.5 <= d1 <= expected - 5, (d1, info)
    assert abs(d1 + d2 - expected) <= max(0.1 * expected, 1.0), (d1, d2, expected, info)
    frames = decode_video(second, tmpdir_own / "decoded.rgb")
    blue = sum(layout_matches(f, ["blue"]) is not False for f in frames)
    print(f"video: {len(frames)} frames, {blue} with the blue tile")
    assert blue >= 45, (blue, len(frames), info)
