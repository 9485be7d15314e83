"""The XEP-0521 SFU forwards an H.264 sender's video (issue 14): in one room
of belfry's `conference` module, in the test's private network namespace
against a real Prosody,

  - "h264green", an ordinary webrtcbin caller that offers H.264 only
    (packetization-mode 1, profile-level-id 42e01f, as Chromium and
    Conversations offer it) and sends a green pattern and a 600 Hz tone;
  - "xh264", an XEP-0521 client (xep0521_peer.py, webrtcbin) whose call
    lists H.264 after its VP8 (libwebrtc lists every codec it has), red,
    1300 Hz;
  - "xvp8", an XEP-0521 client whose call lists VP8 alone, blue, 2100 Hz.

Asserted:
  - xh264 gets a session with h264green's streams: the room offered H.264
    there (decodebin picked rtph264depay), and it decodes green pictures
    and h264green's tone; and a session with xvp8's VP8 (blue);
  - xvp8 gets a session with h264green's streams that carries its audio
    alone (it never offered H.264: no video, a log line, no broken
    session), and one with xh264's VP8 (red);
  - the keyframe requests the room sent h264green (a receiver starting,
    its decoder's PLI, the MCU's source) were answered: H.264 keyframes
    are seen in its packets, so none was given up after its re-sends.

An XEP-0521 client that sends H.264
(test_an_xep0521_h264_senders_video_reaches_h264_receivers_and_the_composite):
"xred264", an XEP-0521 client sending H.264 alone (xep0521_peer.py
"video_codec": "h264", x264enc), red, 600 Hz; "xblue", an XEP-0521 client
whose call lists H.264 after its VP8, blue, 1300 Hz; "wgreen", an ordinary
webrtcbin VP8 caller, green, 2100 Hz.  Asserted:
  - xblue's session with xred264's streams carries H.264 (rtph264depay),
    decoded red, with xred264's tone;
  - xred264 gets sessions with xblue's and wgreen's streams (blue, green),
    never one with its own;
  - wgreen's composite (VP8) holds xred264's red at its tile (the MCU
    decoded its H.264), xblue's blue and its own green, in most frames;
  - the room's keyframe requests to xred264 were answered (none given up).

Recorded (test_a_recording_has_an_xep0521_h264_senders_tile): a room that
records, with xred264 (H.264 alone) and wgreen (ordinary, VP8): the WebM
file's VP8 video is the composite, red and green at their tiles.

Simulcast in H.264: test_conference_simulcast.py
(test_an_h264_simulcast_layer_follows_the_receivers_bandwidth), beside
its VP8 twin.
"""

import json
import re

import e2e
from mcu_layout import layout_matches
from test_conference_mcu import conference_belfry, finish, join_in_order, read_frames
from test_conference_record import decode_video, start_recording_belfry, tmpdir_own  # noqa: F401
from test_conference_sfu import (DOMAIN, PRESENT_DB, OWN_BELOW_DB, ROOM, VOLUME,
                                 assert_colour, levels_of, xep0521_peer)

DURATION = 12
TIMEOUT = 60
ORDER = ["h264green", "xh264", "xvp8"]
PEERS = {
    # name: (user, tone Hz, colour)
    "h264green": ("alice", 600, "green"),
    "xh264": ("bob", 1300, "red"),
    "xvp8": ("carol", 2100, "blue"),
}
TONES = sorted(p[1] for p in PEERS.values())


def entity(name):
    return f"xmpp:{PEERS[name][0]}@{DOMAIN}"


def check_audio(listener, s, sender):
    """@s (a session of @listener's) carries @sender's tone, and nobody
    else's."""
    lv = levels_of(s["audio_record"], TONES)
    heard = lv[PEERS[sender][1]]
    assert heard > PRESENT_DB, (listener, sender, lv)
    for name, (_u, tone, _c) in PEERS.items():
        if name != sender:
            assert lv[tone] < heard - OWN_BELOW_DB, (listener, sender, name, lv)
    return lv


def test_an_h264_senders_video_reaches_xep0521_receivers_that_take_h264(prosody, workdir,
                                                                         peers):
    b = conference_belfry(prosody, workdir)

    def start(name):
        user, tone, colour = PEERS[name]
        if name == "h264green":
            return e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                      duration=DURATION + 4, linger=0, tone_hz=tone,
                                      tone_volume=VOLUME, video_pattern=colour,
                                      video_codec="h264", announce_connected=True,
                                      timeout=TIMEOUT)
        return xep0521_peer(prosody, workdir, name, user, tone_hz=tone, tone_volume=VOLUME,
                            pattern=colour, duration=DURATION, timeout=TIMEOUT,
                            offer_h264=name == "xh264")

    ps = join_in_order(b, peers, ORDER, start)
    res, log, info = finish(b, ps, DURATION + TIMEOUT + 20, workdir)

    summary = {}
    for listener in ("xh264", "xvp8"):
        r = res[listener]
        sessions = {s["entity"]: s for s in r["sessions"]}
        others = [n for n in ORDER if n != listener]
        # One session per other participant, none of its own, each up.
        assert len(r["sessions"]) == len(others), (listener, info)
        assert set(sessions) == {entity(n) for n in others}, (listener, info)
        assert not r["rejected"], (listener, info)
        for other in others:
            s = sessions[entity(other)]
            assert s["connected"] and not s["errors"], (listener, other, info)
            lv = check_audio(listener, s, other)
            summary[f"{listener}<-{other}"] = {
                "levels_db": lv, "video_frames": s["video_frames"], "rgb": s["video_rgb"],
                "depayloaders": s["depayloaders"]}
    print(json.dumps(summary))

    # xh264: h264green's own H.264, decoded, green.
    s = {x["entity"]: x for x in res["xh264"]["sessions"]}[entity("h264green")]
    assert "rtph264depay" in s["depayloaders"], (s, info)
    assert s["video_frames"] >= 60, (s, info)
    assert_colour(s["video_rgb"], "green", ("xh264", "h264green"))
    # ... and xvp8's VP8.
    s = {x["entity"]: x for x in res["xh264"]["sessions"]}[entity("xvp8")]
    assert "rtpvp8depay" in s["depayloaders"] and s["video_frames"] >= 60, (s, info)
    assert_colour(s["video_rgb"], "blue", ("xh264", "xvp8"))

    # xvp8: h264green's audio alone (no video offered), xh264's VP8.
    s = {x["entity"]: x for x in res["xvp8"]["sessions"]}[entity("h264green")]
    assert s["video_frames"] == 0 and not any("h264" in d for d in s["depayloaders"]), (s, info)
    assert re.search(r"call \S+ sends H\.264, which call \S+ did not offer", log), info
    s = {x["entity"]: x for x in res["xvp8"]["sessions"]}[entity("xh264")]
    assert s["video_frames"] >= 60, (s, info)
    assert_colour(s["video_rgb"], "red", ("xvp8", "xh264"))

    # The keyframe requests toward h264green were answered by keyframes the
    # room saw in its H.264 packets (before, each was re-sent to the limit
    # and given up).
    m = re.findall(r"\d+ H\.264 RTP and .*?(\d+) keyframe requests sent to it \((\d+) re-sent, "
                   r"(\d+) given up", log)
    print(json.dumps({"h264green_keyframe_requests": m}))
    assert len(m) == 1, (m, info)
    sent, resent, given_up = (int(x) for x in m[0])
    assert sent >= 1 and given_up == 0, (m, info)


X_ORDER = ["xred264", "xblue", "wgreen"]   # join order = the layout's order
X_PEERS = {
    # name: (user, tone Hz, colour)
    "xred264": ("alice", 600, "red"),
    "xblue": ("bob", 1300, "blue"),
    "wgreen": ("carol", 2100, "green"),
}


def test_an_xep0521_h264_senders_video_reaches_h264_receivers_and_the_composite(
        prosody, workdir, peers):
    b = conference_belfry(prosody, workdir)
    tones = sorted(p[1] for p in X_PEERS.values())
    ent = {n: f"xmpp:{p[0]}@{DOMAIN}" for n, p in X_PEERS.items()}

    def start(name):
        user, tone, colour = X_PEERS[name]
        if name == "wgreen":
            return e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                      duration=DURATION, linger=0, tone_hz=tone,
                                      tone_volume=VOLUME, video_pattern=colour,
                                      record_video=str(workdir / f"{name}.rgb"),
                                      announce_connected=True, timeout=TIMEOUT)
        return xep0521_peer(prosody, workdir, name, user, tone_hz=tone, tone_volume=VOLUME,
                            pattern=colour, duration=DURATION + 2, timeout=TIMEOUT,
                            video_codec="h264" if name == "xred264" else "vp8",
                            offer_h264=name == "xblue")

    ps = join_in_order(b, peers, X_ORDER, start)
    res, log, info = finish(b, ps, DURATION + TIMEOUT + 20, workdir)

    summary = {}
    for listener in ("xred264", "xblue"):
        sessions = {s["entity"]: s for s in res[listener]["sessions"]}
        others = [n for n in X_ORDER if n != listener]
        # One session per other participant, never one with its own streams.
        assert set(sessions) == {ent[n] for n in others}, (listener, info)
        assert len(res[listener]["sessions"]) == len(others), (listener, info)
        for other in others:
            s = sessions[ent[other]]
            assert s["connected"] and not s["errors"], (listener, other, info)
            lv = levels_of(s["audio_record"], tones)
            assert lv[X_PEERS[other][1]] > PRESENT_DB, (listener, other, lv)
            assert all(lv[t] < lv[X_PEERS[other][1]] - OWN_BELOW_DB
                       for t in tones if t != X_PEERS[other][1]), (listener, other, lv)
            assert s["video_frames"] >= 60, (listener, other, s, info)
            assert_colour(s["video_rgb"], X_PEERS[other][2], (listener, other))
            summary[f"{listener}<-{other}"] = {"levels_db": lv, "frames": s["video_frames"],
                                               "rgb": s["video_rgb"],
                                               "depayloaders": s["depayloaders"]}
    print(json.dumps(summary))
    # xred264's video reached xblue in H.264, its own stream forwarded.
    s = {x["entity"]: x for x in res["xblue"]["sessions"]}[ent["xred264"]]
    assert "rtph264depay" in s["depayloaders"], (s, info)
    assert re.search(r"carries call \S+'s streams \(audio and video\)", log), info

    # wgreen's composite: red (xred264's H.264, decoded by the MCU), blue,
    # green at their tiles, in most frames once all three are in.
    frames = read_frames(workdir / "wgreen.rgb")
    all_in = max(res[n]["connected_wall"] for n in X_ORDER) + 3.0
    ends = min(res[n]["connected_wall"] for n in X_ORDER) + DURATION - 0.5
    three = [f for t, f in frames if all_in <= t <= ends]
    m = [layout_matches(f, ["red", "blue", "green"]) for f in three]
    print(json.dumps({"composite_frames": len(three), "matching": sum(x is not False for x in m),
                      "layouts": sorted({str(x) for x in m})}))
    assert len(three) >= 10, (len(frames), info)
    assert sum(x is not False for x in m) >= 0.7 * len(three), (m, info)

    # The room's keyframe requests to the H.264 sender were answered.
    k = re.findall(r"\d+ H\.264 RTP and .*?(\d+) keyframe requests sent to it \((\d+) re-sent, "
                   r"(\d+) given up", log)
    print(json.dumps({"xred264_keyframe_requests": k}))
    assert len(k) == 1 and int(k[0][2]) == 0, (k, info)


def test_a_recording_has_an_xep0521_h264_senders_tile(prosody, workdir, peers, tmpdir_own):
    b, rec_dir = start_recording_belfry(prosody, tmpdir_own)
    try:
        ps = {"xred264": xep0521_peer(prosody, workdir, "xred264", "alice", tone_hz=600,
                                      tone_volume=VOLUME, pattern="red", duration=DURATION,
                                      timeout=TIMEOUT, video_codec="h264")}
        peers.append(ps["xred264"])
        ps["xred264"].wait_event("connected", TIMEOUT)
        ps["wgreen"] = e2e.webrtcbin_peer(prosody, workdir, "wgreen", "carol", "call",
                                          target=ROOM, duration=DURATION - 2, linger=0,
                                          tone_hz=2100, tone_volume=VOLUME,
                                          video_pattern="green", announce_connected=True,
                                          timeout=TIMEOUT)
        peers.append(ps["wgreen"])
        res = {n: p.result(DURATION + TIMEOUT + 20) for n, p in ps.items()}
        room = ROOM.split("@")[0]
        b.wait_log(f"room {room}: recording ended", 20)
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {json.dumps(r)[:2000]}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    assert all(r["ok"] for r in res.values()), info
    assert "(audio and video)" in log, info
    [path] = list(rec_dir.iterdir())
    frames = decode_video(path, tmpdir_own / "decoded.rgb")
    both = sum(layout_matches(f, ["red", "green"]) is not False for f in frames)
    print(json.dumps({"recorded_frames": len(frames), "red_and_green": both}))
    # 15 fps over the ~10 s both were in.
    assert len(frames) >= 60 and both >= 45, (len(frames), both, info)
