"""The conference's XEP-0521 SFU choosing what each receiver gets (issue
14, Forwarding): last-N with real media.  Three XEP-0521 peers
(xep0521_peer.py, webrtcbin) in one room of belfry's `conference` module
with [conference] last-n = 1, in the test's private network namespace
against a real Prosody:

  - "quiet" (green video, silent audio) joins first, "talker" (red video,
    a tone) second, "viewer" (blue video, silent audio) last;
  - the talker is the mixer's talker, so it is the one speaker in the last
    1: the viewer decodes the talker's video (red, frames all along) and
    not the quiet peer's, whose forwarded session carries its audio but no
    video (paused, the session kept): belfry's per-session counters show
    the quiet peer's video sessions sent next to nothing while the
    talker's sent a stream;
  - nobody gets the viewer's video either (it never spoke, and the room
    has one place);
  - the sessions placed offer transport-cc, and webrtcbin's transport-cc
    feedback reaches the room's estimator (the counter in belfry's log).

Simulcast layer switching with a Chromium sender is not covered here yet
(see README "Group calls").
"""

import json
import os
import re
import time

import e2e
import harness

ROOM = "lastn@relay.localhost"
DOMAIN = "localhost"
DURATION = 10
TIMEOUT = 60
# name: (user, tone volume, colour), in order of joining
PEERS = {
    "quiet": ("alice", 0.0, "green"),
    "talker": ("bob", 0.15, "red"),
    "viewer": ("carol", 0.0, "blue"),
}
TONE_HZ = {"quiet": 900, "talker": 600, "viewer": 1500}


def xep0521_peer(prosody, workdir, name, user, **cfg):
    cfg.update(host="127.0.0.1", port=prosody.c2s_port, jid=f"{user}@{DOMAIN}/{name}",
               password=e2e.E2E_USERS[user], room=ROOM, record_dir=str(workdir))
    return e2e.Peer("xep0521", [e2e.PY, str(e2e.HERE / "xep0521_peer.py")], cfg, workdir, name)


def test_last_n_1_forwards_only_the_talkers_video(prosody, workdir, peers):
    b = harness.Belfry(workdir / "belfry", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="conference",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "conference": {"last-n": "1"}})
    b.start()
    e2e.adopt(b.pid)
    try:
        ps = {}
        for name, (user, volume, colour) in PEERS.items():
            ps[name] = xep0521_peer(prosody, workdir, name, user, tone_hz=TONE_HZ[name],
                                    tone_volume=volume, pattern=colour, duration=DURATION,
                                    timeout=TIMEOUT)
            peers.append(ps[name])
            ps[name].wait_event("connected", TIMEOUT)
        res = {n: p.result(TIMEOUT + 20) for n, p in ps.items()}
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {json.dumps(r)[:4000]}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    if os.environ.get("BELFRY_KEEP_TMP"):
        (workdir / "info.txt").write_text(info + "\n--- full log ---\n" + log)
    assert "CRITICAL" not in log and "WARNING" not in log, info
    for name in PEERS:
        assert res[name]["ok"], (name, info)

    entity = {name: f"xmpp:{p[0]}@{DOMAIN}" for name, p in PEERS.items()}
    viewer = {s["entity"]: s for s in res["viewer"]["sessions"]}
    talker_s, quiet_s = viewer[entity["talker"]], viewer[entity["quiet"]]
    print(json.dumps({"viewer_from_talker": [talker_s["video_frames"], talker_s["video_rgb"]],
                      "viewer_from_quiet": [quiet_s["video_frames"], quiet_s["video_rgb"]]}))
    assert talker_s["connected"] and quiet_s["connected"], info
    # The talker's video all along (30 fps over several seconds), red.
    assert talker_s["video_frames"] >= 60, (talker_s, info)
    rgb = talker_s["video_rgb"]
    assert rgb is not None and rgb[0] > 150 and rgb[0] > rgb[1] + 100, (talker_s, info)
    # The quiet peer's: paused (a few frames at most, before the talker's
    # tone made it the last speaker).
    assert quiet_s["video_frames"] < talker_s["video_frames"] / 4, (quiet_s, talker_s, info)

    # belfry's counters per forwarded session: "sent A audio and V video
    # RTP"; the talker's sessions (to quiet and viewer) carry video, the
    # others' (4 sessions) next to none.
    sent = [(int(a), int(v)) for a, v in
            re.findall(r"sent (\d+) audio and (\d+) video RTP", log)]
    assert len(sent) == 6, (sent, info)
    video = sorted(v for _a, v in sent)
    print(json.dumps({"video_rtp_per_session": video}))
    assert video[-2] > 150 and video[-3] < video[-2] / 10, (video, info)
    # Audio is forwarded on every session (three senders: all of them).
    assert all(a > 100 for a, _v in sent), (sent, info)
    twcc = [int(n) for n in re.findall(r"(\d+) transport-cc feedback", log)]
    print(json.dumps({"transport_cc_feedback_per_session": twcc}))
