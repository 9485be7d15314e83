"""The MCU's H.264 (issue 14: "one encoder per layout and codec ... H.264
with x264enc where negotiated"): two ordinary webrtcbin peers in one room
of belfry's `conference` module, in the test's private network namespace
against a real Prosody: one offers H.264 only (packetization-mode=1,
profile-level-id 42e01f, as Chromium and Conversations offer it) and sends
a red pattern in it, the other offers VP8 and sends green.

  - the room answers each in its own codec (what each receives is H264,
    resp. VP8) and runs one MCU with both encoders;
  - each decodes one composite of 640x360 in which both colours, its own
    and the other's, sit at their tiles of the layout mcu.c draws (the
    grid, or one big + strip once the mixer names a talker), in most
    frames once both are in.

(A Chromium peer forced to H.264 is not here: the test page sets no codec
preferences.)
"""

import json

import e2e
from mcu_layout import layout_matches
from test_conference_mcu import conference_belfry, finish, join_in_order, read_frames

ROOM = "mcuh264@relay.localhost"
TIMEOUT = 60
DURATION = 14
ORDER = ["h264red", "vp8green"]   # join order = the layout's order
PEERS = {
    # name: (user, codec, tone Hz, colour)
    "h264red": ("alice", "h264", 600, "red"),
    "vp8green": ("bob", "vp8", 1300, "green"),
}


def test_h264_and_vp8_listeners_share_one_composite(prosody, workdir, peers):
    b = conference_belfry(prosody, workdir)

    def start(name):
        user, codec, tone, colour = PEERS[name]
        return e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                  duration=DURATION, linger=0, tone_hz=tone,
                                  tone_volume=0.15, video_pattern=colour, video_codec=codec,
                                  record_video=str(workdir / f"{name}.rgb"),
                                  announce_connected=True, timeout=TIMEOUT)

    ps = join_in_order(b, peers, ORDER, start)
    res, log, info = finish(b, ps, DURATION + TIMEOUT + 20, workdir)
    # One MCU, with both encoders.
    assert log.count("the MCU starts") == 1, info
    assert "VP8 and H.264) for" in log, info

    both_in = max(res[n]["connected_wall"] for n in ORDER) + 3.0
    for name in ORDER:
        r = res[name]
        want = {"h264": "H264", "vp8": "VP8"}[PEERS[name][1]]
        # The room sends it the composite in the codec it offered.
        assert want in r.get("received_encodings", []), (name, r.get("received_encodings"))
        assert any("width=(int)640" in c and "height=(int)360" in c
                   for c in r["decoded_caps"]), (name, r["decoded_caps"])
        end = r["connected_wall"] + DURATION - 0.5
        frames = [(t, f) for t, f in read_frames(workdir / f"{name}.rgb") if both_in <= t <= end]
        m = [layout_matches(f, ["red", "green"]) for _, f in frames]
        print(json.dumps({"listener": name, "codec": want, "frames": len(frames),
                          "match": sum(x is not False for x in m),
                          "layouts": sorted({str(x) for x in m})}))
        assert len(frames) >= 10, (name, len(frames), info)
        # Both colours at their tiles, the other's and its own.
        assert sum(x is not False for x in m) >= 0.7 * len(frames), (name, m)
