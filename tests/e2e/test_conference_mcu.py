"""The conference's MCU with real media (issue 14, "The MCU for every
client"): one XEP-0521 client (xep0521_peer.py, red video) and two ordinary
webrtcbin peers (webrtcbin_peer.py, green and blue video) in one room of
belfry's `conference` module, in the test's private network namespace
against a real Prosody.  They join one after the other (red, green, blue:
the MCU's add order, so the layout's order).

  - each ordinary peer decodes one composited stream (640x360, mcu.h) in
    which every video sender's colour, its own included, sits at its tile
    of the layout mcu.c draws: the grid (ceil(sqrt(n)) columns in add
    order) or, once the mixer names a loudest talker, "one big + strip"
    with any of them big (each peer sends a tone: which one is loudest is
    the mixer's business, so every speaker is accepted, never a colour
    out of its tile);
  - the XEP-0521 peer still gets one session per other participant, each
    with that participant's own colour (the SFU, not the composite);
  - the red peer leaves first: within 2 s its tile is gone from the
    ordinary peers' picture (no red left; the two others laid out again);
  - then the green peer mutes its video (XEP-0167 session-info <mute/> on
    its video content; it goes on sending): within 2 s its tile is gone
    too, the blue one fills the picture.
"""

import json
import os
import struct
import time

import numpy as np

import e2e
import harness
from mcu_layout import COLOUR, is_colour, layout_matches

ROOM = "mcu@relay.localhost"
DOMAIN = "localhost"
VOLUME = 0.15
TIMEOUT = 60
RED_DURATION = 22           # the XEP-0521 peer leaves first (time for the others to join, ASan too)
DURATION = 30               # the ordinary peers
GREEN_MUTES_AT = 25         # s after its connect: its video muted (session-info)
LEAVE_WITHIN_S = 2.0
ORDER = ["xred", "wgreen", "wblue"]   # join order = the layout's order
PEERS = {
    # name: (user, kind, tone Hz, colour)
    "xred": ("alice", "xep0521", 600, "red"),
    "wgreen": ("bob", "webrtcbin", 1300, "green"),
    "wblue": ("carol", "webrtcbin", 2100, "blue"),
}


def read_frames(path):
    frames = []
    with open(path, "rb") as f:
        data = f.read()
    off, hdr = 0, struct.Struct("<dII")
    while off + hdr.size <= len(data):
        t, w, h = hdr.unpack_from(data, off)
        off += hdr.size
        n = w * h * 3
        if off + n > len(data):
            break
        frames.append((t, np.frombuffer(data, np.uint8, n, off).reshape(h, w, 3).astype(int)))
        off += n
    return frames


def colour_fraction(frame, name):
    """The share of @frame's pixels of colour @name."""
    ch = COLOUR[name].index(255)
    a, b, c = frame[..., ch], frame[..., (ch + 1) % 3], frame[..., (ch + 2) % 3]
    return float(np.mean((a > 120) & (a > b + 60) & (a > c + 60)))


def red_fraction(frame):
    return colour_fraction(frame, "red")


def xep0521_peer(prosody, workdir, name, user, **cfg):
    cfg.update(host="127.0.0.1", port=prosody.c2s_port, jid=f"{user}@{DOMAIN}/{name}",
               password=e2e.E2E_USERS[user], room=ROOM, record_dir=str(workdir))
    return e2e.Peer("xep0521", [e2e.PY, str(e2e.HERE / "xep0521_peer.py")], cfg, workdir, name)


def conference_belfry(prosody, workdir):
    """belfry with the conference module, media on 127.0.0.1, started."""
    b = harness.Belfry(workdir / "belfry", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="conference", groups={"media": {"addresses": "127.0.0.1"}})
    b.start()
    e2e.adopt(b.pid)
    return b


def join_in_order(b, peers, order, start):
    """Each of @order started with @start(name), one after the other once
    the last is connected (the MCU's add order is the join order), each
    added to @peers; belfry @b stopped if one cannot start.  The peers by
    name."""
    try:
        ps = {}
        for name in order:
            ps[name] = start(name)
            peers.append(ps[name])
            ps[name].wait_event("connected", TIMEOUT)
            time.sleep(0.5)
    except BaseException:
        b.stop()
        raise
    return ps


def finish(b, ps, wait, workdir):
    """Every peer's result (each ok) and belfry's log once they are done,
    belfry stopped; the text for assertion messages (kept in info.txt with
    BELFRY_KEEP_TMP).  No warning in the log."""
    try:
        res = {n: p.result(wait) for n, p in ps.items()}
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {json.dumps(r)[:3000]}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-8000:]
    if os.environ.get("BELFRY_KEEP_TMP"):
        (workdir / "info.txt").write_text(info + "\n--- full log ---\n" + log)
    assert "CRITICAL" not in log and "WARNING" not in log, info
    for name, r in res.items():
        assert r["ok"], (name, info)
    return res, log, info


def test_ordinary_peers_see_everyone_in_one_composite(prosody, workdir, peers):
    b = conference_belfry(prosody, workdir)

    def start(name):
        user, kind, tone, colour = PEERS[name]
        if kind == "xep0521":
            return xep0521_peer(prosody, workdir, name, user, tone_hz=tone,
                                tone_volume=VOLUME, pattern=colour,
                                duration=RED_DURATION, timeout=TIMEOUT)
        return e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                  duration=DURATION, linger=0, tone_hz=tone,
                                  tone_volume=VOLUME, video_pattern=colour,
                                  record_video=str(workdir / f"{name}.rgb"),
                                  announce_connected=True, timeout=TIMEOUT,
                                  session_info=[{"after": GREEN_MUTES_AT,
                                                 "info": "mute", "media": "video"}]
                                  if name == "wgreen" else [])

    ps = join_in_order(b, peers, ORDER, start)
    res, log, info = finish(b, ps, DURATION + TIMEOUT + 20, workdir)
    # One MCU for the room, made when the first video sender joined.
    assert log.count("the MCU starts") == 1, info

    # The XEP-0521 peer: the SFU's separate streams, each its sender's colour.
    r = res["xred"]
    sessions = {s["entity"]: s for s in r["sessions"]}
    assert set(sessions) == {f"xmpp:{PEERS[n][0]}@{DOMAIN}" for n in ("wgreen", "wblue")}, info
    for n in ("wgreen", "wblue"):
        s = sessions[f"xmpp:{PEERS[n][0]}@{DOMAIN}"]
        assert s["connected"] and s["video_frames"] >= 30, (n, s)
        assert s["video_rgb"] is not None and is_colour(s["video_rgb"], PEERS[n][3]), (n, s)

    red_left = res["xred"]["connected_wall"] + RED_DURATION
    for name in ("wgreen", "wblue"):
        r = res[name]
        # One composited stream of the MCU's size.
        assert any("width=(int)640" in c and "height=(int)360" in c
                   for c in r["decoded_caps"]), (name, r["decoded_caps"])
        # Sender reports for both streams the room sends it, the mix and the
        # composite (RFC 3550 §6.4.1: what lets it line them up), as
        # webrtcbin read them (its remote-outbound-rtp stats).
        sr = r.get("remote_outbound", [])
        print(f"{name}: sender reports received for {sr}")
        assert len({e["ssrc"] for e in sr if e["packets_sent"] > 0}) == 2, (name, sr)
        frames = read_frames(workdir / f"{name}.rgb")
        both_in = max(res[n]["connected_wall"] for n in ORDER) + 3.0
        three = [(t, f) for t, f in frames if both_in <= t <= red_left - 0.5]
        # (until the green peer mutes its video)
        green_muted = res["wgreen"]["connected_wall"] + GREEN_MUTES_AT
        green_left = res["wgreen"]["connected_wall"] + DURATION - 0.5
        two = [(t, f) for t, f in frames if red_left + LEAVE_WITHIN_S <= t <= green_muted]
        one = [(t, f) for t, f in frames if green_muted + LEAVE_WITHIN_S <= t <= green_left]
        m3 = [layout_matches(f, ["red", "green", "blue"]) for _, f in three]
        m2 = [layout_matches(f, ["green", "blue"]) for _, f in two]
        print(json.dumps({"listener": name, "frames": len(frames),
                          "three": len(three), "three_match": sum(m is not False for m in m3),
                          "layouts3": sorted({str(m) for m in m3}),
                          "two": len(two), "two_match": sum(m is not False for m in m2),
                          "layouts2": sorted({str(m) for m in m2}),
                          "red_after": max((red_fraction(f) for _, f in two), default=None),
                          "one": len(one), "one_blue": sum(layout_matches(f, ["blue"]) is not False
                                                          for _, f in one)}))
        # Everyone, its own picture included, at its tile: most frames
        # (a first keyframe, a relayout, a speaker change in between).
        assert len(three) >= 10, (name, len(three), info)
        assert sum(m is not False for m in m3) >= 0.7 * len(three), (name, m3)
        # The red peer left: within 2 s no red anywhere, the two others at
        # their tiles of a two-source layout.
        assert len(two) >= 10, (name, len(two), info)
        assert all(red_fraction(f) < 0.005 for _, f in two), name
        assert sum(m is not False for m in m2) >= 0.7 * len(two), (name, m2)
        # The green peer muted its video: within 2 s only blue, full frame.
        assert len(one) >= 10, (name, len(one), info)
        assert all(colour_fraction(f, "green") < 0.005 for _, f in one), name
        assert sum(layout_matches(f, ["blue"]) is not False for _, f in one) >= 0.7 * len(one)


def test_the_composite_takes_its_configured_size_and_rate(prosody, workdir, peers):
    """[conference] composite-size = 320x180, composite-fps = 10: two
    ordinary peers (green, blue) decode a 320×180 composite with both
    colours at their tiles, at about 10 frames a second (the default is
    640×360 at 15)."""
    b = harness.Belfry(workdir / "belfry", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="conference",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "conference": {"composite-size": "320x180",
                                              "composite-fps": "10",
                                              "composite-bitrate": "200"}})
    b.start()
    e2e.adopt(b.pid)
    duration = 12
    try:
        ps = {}
        for name in ("wgreen", "wblue"):
            user, _, tone, colour = PEERS[name]
            ps[name] = e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                          duration=duration, linger=0, tone_hz=tone,
                                          tone_volume=VOLUME, video_pattern=colour,
                                          record_video=str(workdir / f"{name}.rgb"),
                                          announce_connected=True, timeout=TIMEOUT)
            peers.append(ps[name])
            ps[name].wait_event("connected", TIMEOUT)
        res = {n: p.result(duration + TIMEOUT + 20) for n, p in ps.items()}
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {json.dumps(r)[:3000]}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    assert "CRITICAL" not in log and "WARNING" not in log, info
    # (", and H.264" follows where x264enc is installed: mcu-room.c)
    assert "the MCU starts (320×180, 10 fps, 200 kb/s, VP8" in log, info
    for name, r in res.items():
        assert r["ok"] and r["connected"], (name, info)
        assert any("width=(int)320" in c and "height=(int)180" in c
                   for c in r["decoded_caps"]), (name, r["decoded_caps"])
        frames = read_frames(workdir / f"{name}.rgb")
        both_in = max(res[n]["connected_wall"] for n in res) + 1.5
        end = min(res[n]["connected_wall"] for n in res) + duration - 0.5
        window = [(t, f) for t, f in frames if both_in <= t <= end]
        span = end - both_in
        rate = len(window) / span if span > 0 else 0
        good = sum(layout_matches(f, ["green", "blue"]) is not False for _, f in window)
        print(f"{name}: {len(window)} frames in {span:.1f} s ({rate:.1f} fps), {good} laid out")
        assert span >= 3, (span, info)
        assert 7 <= rate <= 11.5, (rate, len(window), span)
        assert good >= 0.7 * len(window), (good, len(window))
