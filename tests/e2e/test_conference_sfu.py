"""The conference's XEP-0521 SFU with real media (issue 14): two clients
that speak XEP-0521 (xep0521_peer.py, webrtcbin, written from the XEP's
text) and one ordinary webrtcbin peer (webrtcbin_peer.py) in one room of
belfry's `conference` module, in the test's private network namespace
against a real Prosody.

Each peer sends a tone of its own (distinct, non-harmonic) and video: the
XEP-0521 peers one colour each (videotestsrc red, green), the ordinary
peer its moving ball on black.

  - each XEP-0521 peer gets one session per other participant (the room
    calls it, XEP-0298 <user entity> naming whose streams), never one with
    its own; each session's decoded audio holds that participant's tone
    (and not its own), and its decoded video that participant's colour;
  - the ordinary peer hears the mix of the others (both XEP-0521 peers'
    tones) and not its own tone (mix-minus, as before).
"""

import json
import os

import numpy as np

import e2e
import harness
import tone_analysis as ta

ROOM = "sfu@relay.localhost"
DOMAIN = "localhost"
VOLUME = 0.15
SENT_DB = 20 * np.log10(VOLUME)
PRESENT_DB = -40.0          # a forwarded or mixed tone (sent at -16.5 dB) is above this
OWN_BELOW_DB = 30.0         # any tone that must not be there: this far below the one that must
DURATION = 12
TIMEOUT = 60
SKIP_S = 2.0                # of each recording: jitter buffers, a first keyframe
PEERS = {
    # name: (user, kind, tone Hz, colour)
    "x600": ("alice", "xep0521", 600, "red"),
    "x1300": ("bob", "xep0521", 1300, "green"),
    "w2100": ("carol", "webrtcbin", 2100, None),
}
COLOUR_CHANNEL = {"red": 0, "green": 1, "blue": 2}


def xep0521_peer(prosody, workdir, name, user, **cfg):
    cfg.update(host="127.0.0.1", port=prosody.c2s_port, jid=f"{user}@{DOMAIN}/{name}",
               password=e2e.E2E_USERS[user], room=ROOM, record_dir=str(workdir))
    return e2e.Peer("xep0521", [e2e.PY, str(e2e.HERE / "xep0521_peer.py")], cfg, workdir, name)


def levels_of(path, freqs):
    rec = ta.read(path)
    x = rec.x[int(SKIP_S * ta.RATE):]
    assert len(x) >= ta.RATE * 3, f"{path}: only {len(x) / ta.RATE:.1f} s decoded"
    return {f: round(v, 1) for f, v in ta.levels(x, freqs).items()}


def test_xep0521_peers_get_each_participants_own_streams(prosody, workdir, peers):
    b = harness.Belfry(workdir / "belfry", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="conference", groups={"media": {"addresses": "127.0.0.1"}})
    b.start()
    e2e.adopt(b.pid)
    try:
        ps = {}
        for name, (user, kind, tone, colour) in PEERS.items():
            if kind == "xep0521":
                ps[name] = xep0521_peer(prosody, workdir, name, user, tone_hz=tone,
                                        tone_volume=VOLUME, pattern=colour, duration=DURATION,
                                        timeout=TIMEOUT)
            else:
                ps[name] = e2e.webrtcbin_peer(prosody, workdir, name, user, "call", target=ROOM,
                                              duration=DURATION, linger=0, tone_hz=tone,
                                              tone_volume=VOLUME,
                                              record_audio=str(workdir / f"{name}.pcm"),
                                              timeout=TIMEOUT)
            peers.append(ps[name])
        res = {n: p.result(TIMEOUT + 20) for n, p in ps.items()}
        log = b.log()
    finally:
        b.stop()
    info = "\n".join(f"{n}: {json.dumps(r)[:6000]}" for n, r in res.items()) + \
        "\n--- belfry ---\n" + log[-6000:]
    tones = {name: p[2] for name, p in PEERS.items()}
    entity_of = {name: f"xmpp:{p[0]}@{DOMAIN}" for name, p in PEERS.items()}
    if os.environ.get("BELFRY_KEEP_TMP"):
        (workdir / "info.txt").write_text(info + "\n--- full log ---\n" + log)
    assert "CRITICAL" not in log and "WARNING" not in log, info

    for name, (user, kind, tone, _colour) in PEERS.items():
        r = res[name]
        assert r["ok"], (name, info)
        if kind != "xep0521":
            continue
        sessions = {s["entity"]: s for s in r["sessions"]}
        others = {n for n in PEERS if n != name}
        # One session per other participant, none with its own streams.
        assert len(r["sessions"]) == len(others), (name, info)
        assert set(sessions) == {entity_of[n] for n in others}, (name, info)
        assert not r["rejected"], (name, info)
        for other in others:
            s = sessions[entity_of[other]]
            assert s["connected"] and not s["errors"], (name, other, info)
            lv = levels_of(s["audio_record"], sorted(tones.values()))
            print(json.dumps({"listener": name, "session_of": other, "levels_db": lv,
                              "video_frames": s["video_frames"], "rgb": s["video_rgb"]}))
            heard = lv[tones[other]]
            assert heard > PRESENT_DB, (name, other, lv)
            for n2, f in tones.items():
                if n2 != other:
                    assert lv[f] < heard - OWN_BELOW_DB, (name, other, n2, lv)
            # Its video, decoded: 30 fps for ~10 s; the colour of the sender.
            assert s["video_frames"] >= 60, (name, other, s)
            colour = PEERS[other][3]
            rgb = s["video_rgb"]
            assert rgb is not None, (name, other, s)
            if colour is not None:
                ch = COLOUR_CHANNEL[colour]
                assert rgb[ch] > 150 and all(rgb[ch] > rgb[c] + 100 for c in range(3) if c != ch), \
                    (name, other, rgb)
            else:
                # The ordinary peer's ball on black: mostly dark, neither colour.
                assert max(rgb) < 120, (name, other, rgb)

    # The ordinary peer: the mix of both XEP-0521 peers, not its own tone.
    lv = levels_of(workdir / "w2100.pcm", sorted(tones.values()))
    print(json.dumps({"listener": "w2100", "levels_db": lv}))
    assert lv[600] > PRESENT_DB and lv[1300] > PRESENT_DB, (lv, info)
    assert lv[2100] < min(lv[600], lv[1300]) - OWN_BELOW_DB, (lv, info)
