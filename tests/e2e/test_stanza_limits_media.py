"""An echo call keeps its media while another user floods belfry with
stanzas over its limits (issue 10, finding 1): each over-limit stanza is
dropped and bounced, the component link stays up, and the media path,
which never depended on the link, is not disturbed either.

A webrtcbin peer (alice) calls echo@; once the call is up a slixmpp
client (bob) sends, for several seconds, messages and iqs with 33 levels
of nesting, 65 attributes, or over 256 KiB, to four addresses on the
component.  The peer samples its decoded audio and video every second:
every sample of the call must show both flowing, and the rates before,
during and after the flood are compared.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_peers import assert_webrtcbin_decoded, record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

COMPONENT = "relay.localhost"
ECHO = "echo@" + COMPONENT
ADDRESSES = [COMPONENT, ECHO, "nobody@" + COMPONENT, r"bob\40localhost@" + COMPONENT]
DURATION = 16          # seconds of media from DTLS connected
SETTLE = 5             # seconds from the peer's login to the flood (call set up by then)
FLOOD = 6              # seconds of flood
FLOOD_GAP = 0.1        # seconds between over-limit stanzas
PROSODY_AUTH = "External component successfully authenticated"


def payloads():
    deep = "<x xmlns='urn:test:deep'>" + "<x>" * 31 + "</x>" * 31 + "</x>"
    attrs = "<x xmlns='urn:test:attrs' " + " ".join(f"a{i}='{i}'" for i in range(65)) + "/>"
    big = "<x xmlns='urn:test:big'>" + "a" * (256 * 1024 + 1024) + "</x>"
    return [deep, attrs, big]


@pytest.fixture(scope="module")
def limits_prosody(requirements):
    p = e2e.Prosody()
    # Prosody's own c2s limit (256 KiB) would stop the oversized stanza
    # before belfry; a remote user's comes over s2s with 512 KiB.
    text = p.config.read_text()
    p.config.write_text(text.replace("VirtualHost", "c2s_stanza_size_limit = 4 * 1024 * 1024\n"
                                      "VirtualHost", 1))
    try:
        p.start()
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def belfry(limits_prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-")),
                       port=limits_prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       groups={"media": {"addresses": "127.0.0.1"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()


def flood(bob, seconds):
    """Over-limit messages and iqs, round robin over shapes and addresses;
    returns the ids sent as (kind, id, to)."""
    sent = []
    shapes = payloads()
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end and i < 1000:
        payload = shapes[i % len(shapes)]
        to = ADDRESSES[(i // len(shapes)) % len(ADDRESSES)]
        sid = bob.new_id()
        if i % 2 == 0:
            bob.send_raw(f"<message xmlns='jabber:client' type='chat' to='{to}' id='{sid}'>"
                         f"<body>flood</body>{payload}</message>")
            sent.append(("message", sid, to))
        else:
            bob.send_raw(f"<iq xmlns='jabber:client' type='set' to='{to}' id='{sid}'>"
                         f"{payload}</iq>")
            sent.append(("iq", sid, to))
        i += 1
        time.sleep(FLOOD_GAP)
    return sent


def window_rates(timeline, start_ms, end_ms):
    """(audio buffers/s, video frames/s) between the samples inside the window."""
    inside = [s for s in timeline if start_ms <= s["t"] <= end_ms]
    if len(inside) < 2:
        return None
    dt = (inside[-1]["t"] - inside[0]["t"]) / 1000.0
    return ((inside[-1]["audio_buffers"] - inside[0]["audio_buffers"]) / dt,
            (inside[-1]["video_frames"] - inside[0]["video_frames"]) / dt)


def test_echo_media_survives_over_limit_flood(limits_prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.webrtcbin_peer(limits_prosody, workdir, "alice-webrtcbin", "alice", "call",
                           target=ECHO, duration=DURATION, timeout=DURATION + 60)
    peers.append(p)
    p.wait_ready(30)
    ready_at = time.monotonic()
    bob = harness.Client("bob@localhost", e2e.E2E_USERS["bob"], limits_prosody.c2s_port)
    try:
        time.sleep(SETTLE)
        flood_start = time.monotonic()
        sent = flood(bob, FLOOD)
        flood_end = time.monotonic()
        # every one bounced to bob with policy-violation, from where it went
        for kind, sid, to in sent:
            el = bob.wait_stanza(
                lambda e, k=kind, i=sid: e.tag == "{%s}%s" % (harness.NS_CLIENT, k)
                and e.get("id") == i, 30, what=f"bounce of {kind} {sid}")
            assert el.get("type") == "error" and el.get("from") == to, harness.ET.tostring(el)
            assert harness.iq_error_condition(el) == ("modify", ["policy-violation"])
    finally:
        bob.close()
    res = p.result(DURATION + 60)
    record("webrtcbin->echo under an over-limit flood", [res], time.monotonic() - started)
    info = e2e.debug_dump(res) + "\n--- belfry ---\n" + belfry.log()[-4000:]
    assert_webrtcbin_decoded(res)

    # The peer's clock: its login was reported as we saw "ready".
    offset_ms = res["timings_ms"]["login"] - (ready_at - started) * 1000
    to_peer = lambda t: (t - started) * 1000 + offset_ms  # noqa: E731
    connected = res["timings_ms"]["connected"]
    assert connected < to_peer(flood_start), "the flood began before the call was up: " + info

    # Media never stopped: each one-second sample shows audio and video.
    tl = res["timeline"]
    assert len(tl) >= DURATION - 1, info
    for a, b in zip(tl, tl[1:]):
        audio = b["audio_buffers"] - a["audio_buffers"]
        video = b["video_frames"] - a["video_frames"]
        assert audio >= 10 and video >= 1, (
            f"media stalled between {a['t']} and {b['t']} ms (flood {to_peer(flood_start):.0f}.."
            f"{to_peer(flood_end):.0f} ms): {audio} audio buffers, {video} frames\n" + info)

    # (the first second and a half after connected: a catch-up burst)
    before = window_rates(tl, connected + 1500, to_peer(flood_start))
    during = window_rates(tl, to_peer(flood_start), to_peer(flood_end))
    after = window_rates(tl, to_peer(flood_end), tl[-1]["t"])
    print(f"audio buffers/s, video frames/s: before {before}, during {during}, after {after};"
          f" {len(sent)} over-limit stanzas in {flood_end - flood_start:.1f} s")
    assert before and during and after, (before, during, after, info)
    for name, rates in (("during", during), ("after", after)):
        assert rates[0] >= 0.5 * before[0], f"audio rate {name} the flood: {rates} vs {before}"
        assert rates[1] >= 0.3 * before[1], f"video rate {name} the flood: {rates} vs {before}"

    # One component link all along, on both sides.
    assert belfry.count("attached to") == 1, belfry.log()[-4000:]
    assert limits_prosody.log_text().count(PROSODY_AUTH) == 1
    assert belfry.count("over the depth limit") >= 1
    assert belfry.count("over the size limit") >= 1
    assert belfry.count("over the attributes limit") >= 1
