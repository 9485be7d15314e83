"""The example media module `tone` (examples/module-tone) answering a real
peer: a module written from include/belfry/ alone can take a call.

tone.so is built here, in a temporary directory, by the example's own
meson.build against this checkout's include/ (through a belfry.pc written
for it: the headers `meson install` would install, without installing).
scripts/test-example-module.sh builds the same module against an installed
belfry and checks it uses nothing else; this file proves it works in a
call.  belfry (BELFRY_BIN or build/relay/belfry, a build tree) loads
`echo;tone` with `[modules] path` = tone's build directory and the build
tree's echo.  A module that does not build is a failure, not a skip.

The Dino-shaped peer (dino_peer.py) calls tone@relay.localhost offering
audio (Opus, Speex, G722, PCMU, PCMA) and video (VP8), and checks:

  * the session-accept answers audio with PCMU alone (PCMA when PCMU is not
    offered), announces a source of tone's own with a cname, and answers
    video with senders='none' and one of the offered codecs;
  * the call connects (ICE + DTLS on both of Dino's transports) and the
    peer decodes a 440 Hz tone (zero crossings, audio_freq_hz) at the
    amplitude tone sends, arriving at about 50 packets/s (20 ms ptime)
    with nothing on video;
  * an offer without PCMU or PCMA is declined (session-terminate
    <decline/>, no accept).
"""

import json
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import e2e
import harness
import sdp_jingle as sj
from test_dino import DINO, action, assert_belfry_fits_dino
from test_peers import DURATION, record

TONE = "tone@relay.localhost"
TIMEOUT = 45
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"


# ---------------------------------------------------------------------------
# Building tone.so and running belfry with it
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def belfry(prosody):
    e2e.require_gst_elements()
    tmp = Path(tempfile.mkdtemp(prefix="belfry-e2e-tone-"))
    tone_dir = e2e.build_example_module(tmp, "tone")
    # [modules] path replaces the default search (which knows the build
    # tree's build/modules/<name>/ layout), so echo's folder is listed too.
    echo_dir = e2e.build_tree_echo_dir()
    b = harness.Belfry(tmp / "run", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;tone",
                       groups={"modules": {"path": f"{tone_dir};{echo_dir}"},
                               "media": {"addresses": "127.0.0.1"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()   # exit 0 on SIGTERM; fails if belfry died during the module


def belfry_log(b, n=8000):
    return "\n--- belfry ---\n" + b.log()[-n:]


# ---------------------------------------------------------------------------
# What the peer recorded
# ---------------------------------------------------------------------------

def accepted_contents(res):
    """{content name: <content>} of the session-accept the peer received."""
    got = action(res, "in", "session-accept")
    assert len(got) == 1, e2e.debug_dump(res)
    return {c.get("name"): c for c in got[0].findall(sj.q(sj.NS_JINGLE, "content"))}


def payload_types(content):
    desc = content.find(sj.q(sj.NS_RTP, "description"))
    return [(int(p.get("id")), p.get("name"), int(p.get("clockrate") or 0))
            for p in desc.findall(sj.q(sj.NS_RTP, "payload-type"))]


def audio_packet_rate(res):
    """Audio RTP packets per second the peer received, from its 1 s
    timeline, leaving out the first sample (the tone starts when belfry
    saw the peer's first packet, a little after DTLS)."""
    tl = res["timeline"]
    assert len(tl) >= 3, e2e.debug_dump(res)
    a, b = tl[1], tl[-1]
    return (b["rtp_in"]["audio"] - a["rtp_in"]["audio"]) * 1000.0 / (b["t"] - a["t"])


def call_tone(prosody, workdir, peers, name, **cfg):
    started = time.monotonic()
    p = e2e.dino_peer(prosody, workdir, name, "alice", "call", target=TONE, **dict(DINO, **cfg))
    peers.append(p)
    res = p.result(DURATION + TIMEOUT + 15)
    record(f"dino->tone ({name})", [res], time.monotonic() - started)
    if res["timeline"][1:]:
        print(json.dumps({"audio_packets_per_s": round(audio_packet_rate(res), 1),
                          "audio_rtp_in": res["timeline"][-1]["rtp_in"]}))
    return res


def assert_tone_call(res, blog, codec, pt):
    info = e2e.debug_dump(res) + blog
    assert res["ok"] and res["connected"], info
    assert_belfry_fits_dino(res, blog)

    contents = accepted_contents(res)
    assert set(contents) == {"audio", "video"}, info
    audio, video = contents["audio"], contents["video"]
    # Audio: the one G.711 codec, under the offer's number, sent both ways.
    assert payload_types(audio) == [(pt, codec, 8000)], info
    assert audio.get("senders", "both") == "both", info
    sources = audio.find(sj.q(sj.NS_RTP, "description")).findall(sj.q(NS_SSMA, "source"))
    assert len(sources) == 1 and int(sources[0].get("ssrc")) > 0, info
    cname = [p.get("value") for p in sources[0].findall(sj.q(NS_SSMA, "parameter"))
             if p.get("name") == "cname"]
    assert cname and cname[0], info
    # Video: answered, unused, with a codec the peer offered.
    assert video.get("senders") == "none", info
    assert payload_types(video) == [(98, "VP8", 90000)], info

    # The peer locked onto tone's announced SSRC and decoded a 440 Hz sine
    # at about 10000/32768 of full scale (G.711 steps are well under 5 %).
    tr = {t["media"]: t for t in res["transports"].values()}
    assert tr["audio"]["locked_ssrc"] == int(sources[0].get("ssrc")), info
    # RFC 3551 §4.1: the marker on the first packet only; the timestamp
    # moves 160 samples (20 ms at 8 kHz) per packet, or a multiple of it
    # after ticks belfry's worker skipped.
    assert tr["audio"]["first_rtp_marker"] is True and tr["audio"]["rtp_markers_in"] == 1, info
    steps = {int(k): n for k, n in tr["audio"]["rtp_ts_steps"].items()}
    assert steps.get(160, 0) >= 0.9 * sum(steps.values()) > 0, info
    assert all(k % 160 == 0 and k > 0 for k in steps), info
    assert res["audio_samples_decoded"] >= 8000 * (DURATION - 2), info
    assert res["audio_freq_hz"] is not None and abs(res["audio_freq_hz"] - 440) <= 10, info
    assert 0.25 <= res["audio_peak"] <= 0.36, info
    # 20 ms packets: about 50 per second (fewer only if belfry's worker
    # skipped ticks under load; never a burst above the rate).
    rate = audio_packet_rate(res)
    assert 40 <= rate <= 56, (rate, info)
    assert res["timeline"][-1]["rtp_in"]["video"] == 0, info
    assert res["video_frames_decoded"] == 0, info


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_tone_answers_with_pcmu_440hz(prosody, belfry, workdir, peers):
    res = call_tone(prosody, workdir, peers, "alice-dino")
    blog = belfry_log(belfry)
    assert_tone_call(res, blog, "PCMU", 0)
    assert "answering with a 440 Hz tone in PCMU (payload type 0)" in blog, blog


def test_tone_falls_back_to_pcma(prosody, belfry, workdir, peers):
    res = call_tone(prosody, workdir, peers, "alice-dino-pcma", audio_codecs=["opus", "pcma"])
    blog = belfry_log(belfry)
    assert_tone_call(res, blog, "PCMA", 8)


def test_tone_declines_without_g711(prosody, belfry, workdir, peers):
    res = call_tone(prosody, workdir, peers, "alice-dino-opus", audio_codecs=["opus"])
    blog = belfry_log(belfry)
    info = e2e.debug_dump(res) + blog
    # What the peer offered really lacked G.711.
    offered = action(res, "out", "session-initiate")
    assert len(offered) == 1, info
    audio = [c for c in offered[0].findall(sj.q(sj.NS_JINGLE, "content"))
             if c.get("name") == "audio"]
    assert [n for _, n, _ in payload_types(audio[0])] == ["opus"], info
    assert not res["ok"] and not res["connected"], info
    assert res["remote_terminate"] and res["remote_terminate"]["reason"] == "decline", info
    assert action(res, "in", "session-accept") == [], info
    assert "no PCMU/8000 or PCMA/8000 audio we may send on: declined" in blog, blog
