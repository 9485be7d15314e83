"""The e2e peers proven against each other, with Prosody's signalling only
(no belfry): both sides of every call must decode the other's audio and
video. These are the peers that later call echo@relay.localhost."""

import json
import os
import time

import e2e
import sdp_jingle as sj

DURATION = 5          # seconds of media, from DTLS connected
MIN_FRAMES = 50       # decoded video frames within DURATION
RESULTS = os.environ.get("BELFRY_E2E_RESULTS")


def record(name, results, wall):
    line = {"test": name, "wall_s": round(wall, 1),
            "peers": [json.loads(e2e.summary(r)) for r in results]}
    print(json.dumps(line))
    if RESULTS:
        with open(RESULTS, "a") as f:
            f.write(json.dumps(line) + "\n")


def assert_chromium_decoded(res, extra=""):
    info = e2e.debug_dump(res) + extra
    assert res["ok"], info
    assert res["connected"], info
    assert res["audio_total_samples_received"] > 0, info
    assert res["audio_total_energy"] > 0, info
    assert res["video_frames_decoded"] > MIN_FRAMES, info


def assert_webrtcbin_decoded(res, extra=""):
    info = e2e.debug_dump(res) + extra
    assert res["ok"], info
    assert res["connected"], info
    assert res["audio_buffers_decoded"] > 0, info
    assert res["audio_peak"] > 0, info           # not silence
    assert res["video_frames_decoded"] > MIN_FRAMES, info


def assert_loopback_candidates(res):
    cands = res["remote_candidates"]
    assert any(c.get("protocol") == "udp" for c in cands), e2e.debug_dump(res)
    assert all(c.get("ip") == "127.0.0.1" for c in cands), cands


def run_call(callee, caller_factory):
    """Start the callee, wait until it is logged in, start the caller; both
    results."""
    started = time.monotonic()
    callee.wait_ready(40)
    caller = caller_factory()
    res_caller = caller.result(DURATION + 60)
    res_callee = callee.result(DURATION + 30)
    return res_caller, res_callee, time.monotonic() - started


def test_chromium_calls_chromium_both_decode(prosody, workdir, peers):
    bob = e2e.chromium_peer(prosody, workdir, "bob-chromium", "bob", "answer",
                            duration=DURATION, timeout=60)
    peers.append(bob)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target="bob@localhost/bob-chromium", duration=DURATION, timeout=60)
        peers.append(p)
        return p

    ra, rb, wall = run_call(bob, caller)
    record("chromium->chromium", [ra, rb], wall)
    assert_chromium_decoded(ra)
    assert_chromium_decoded(rb)
    assert ra["remote_jid"] == "bob@localhost/bob-chromium"
    assert rb["remote_jid"] == "alice@localhost/alice-chromium"
    assert ra["sid"] == rb["sid"]
    assert_loopback_candidates(ra)
    assert_loopback_candidates(rb)


def test_webrtcbin_calls_chromium_with_jmi_propose_both_decode(prosody, workdir, peers):
    bob = e2e.chromium_peer(prosody, workdir, "bob-chromium", "bob", "answer",
                            duration=DURATION, timeout=60)
    peers.append(bob)

    def caller():
        p = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "call",
                               target="bob@localhost", propose=True, duration=DURATION, timeout=60)
        peers.append(p)
        return p

    rc, rb, wall = run_call(bob, caller)
    record("webrtcbin->chromium (JMI)", [rc, rb], wall)
    assert_webrtcbin_decoded(rc)
    assert_chromium_decoded(rb)
    # XEP-0353: the propose went to the bare JID, the proceed came back from
    # the full JID that then got the session-initiate.
    assert rc["remote_jid"] == "bob@localhost/bob-chromium"
    assert any("<proceed" in m["xml"] for m in rc["jmi"] if m["dir"] == "in")
    assert any("<propose" in m["xml"] for m in rb["jmi"] if m["dir"] == "in")
    assert_loopback_candidates(rc)
    assert_loopback_candidates(rb)


def test_chromium_calls_webrtcbin_with_jmi_propose_both_decode(prosody, workdir, peers):
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "answer",
                               duration=DURATION, timeout=60)
    peers.append(carol)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target="carol@localhost", propose=True, duration=DURATION,
                              timeout=60)
        peers.append(p)
        return p

    ra, rc, wall = run_call(carol, caller)
    record("chromium->webrtcbin (JMI)", [ra, rc], wall)
    assert_chromium_decoded(ra)
    assert_webrtcbin_decoded(rc)
    assert ra["remote_jid"] == "carol@localhost/carol-webrtcbin"
    assert any("<proceed" in m["xml"] for m in ra["jmi"] if m["dir"] == "in")
    assert_loopback_candidates(ra)
    assert_loopback_candidates(rc)


def test_sdp_jingle_conversion_keeps_what_webrtc_needs():
    """webrtcbin's real offer -> Jingle -> SDP keeps codecs, parameters,
    feedback, sources, ICE credentials, fingerprint+setup and BUNDLE."""
    offer = (e2e.HERE / "data" / "webrtcbin-offer.sdp").read_text()
    contents, group = sj.sdp_to_jingle_contents(offer, initiator=True)
    assert [c.get("name") for c in contents] == ["audio0", "video1"]
    assert [c.get("name") for c in group] == ["audio0", "video1"]
    assert [sj.content_media(c) for c in contents] == ["audio", "video"]
    assert sj.payload_types(contents[0]) == [("111", "OPUS", "48000", "2")]
    assert sj.payload_types(contents[1]) == [("96", "VP8", "90000", None)]
    jingle_xml = ("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='x'>"
                  + "".join(sj.to_string(c, sj.NS_JINGLE) for c in contents)
                  + sj.to_string(group, sj.NS_JINGLE) + "</jingle>")
    import xml.etree.ElementTree as ET
    jingle = ET.fromstring(jingle_xml)
    back = sj.Sdp(sj.jingle_to_sdp(jingle, reader_is_initiator=False))
    orig = sj.Sdp(offer)
    assert back.mids() == orig.mids()
    for a, b in zip(orig.media, back.media):
        assert a.kind == b.kind and a.fmts == b.fmts
        for attr in ("rtpmap", "rtcp-fb", "ssrc", "fingerprint", "setup", "ice-ufrag", "ice-pwd"):
            assert sorted(a.all(attr)) == sorted(b.all(attr)), attr
        assert b.has("rtcp-mux") and b.has("sendrecv")
    assert back.session_get("group") == orig.session_get("group")
    # Candidates travel both ways unchanged (webrtcbin's trickle format).
    line = "candidate:1 1 UDP 2015363327 127.0.0.1 46357 typ host"
    c = sj.parse_candidate_line(line)
    assert c["protocol"] == "udp" and c["port"] == "46357"
    assert sj.candidate_line(c) == line


def test_chromium_session_initiate_parses():
    """The session-initiate Chromium sent via StanzaJS (saved from a real run)
    converts to an SDP offer webrtcbin can take: Opus and VP8 present."""
    import xml.etree.ElementTree as ET
    iq = ET.fromstring((e2e.HERE / "data" / "chromium-session-initiate.xml").read_text())
    jingle = iq.find(sj.q(sj.NS_JINGLE, "jingle"))
    contents = sj.jingle_contents(jingle)
    assert [sj.content_media(c) for c in contents] == ["audio", "video"]
    names = {sj.content_media(c): [p[1].lower() for p in sj.payload_types(c)] for c in contents}
    assert "opus" in names["audio"] and "vp8" in names["video"]
    assert sj.jingle_bundle(jingle) == ["0", "1"]
    sdp = sj.Sdp(sj.jingle_to_sdp(jingle, reader_is_initiator=False))
    assert [m.get("setup") for m in sdp.media] == ["actpass", "actpass"]
    assert all(m.has("rtcp-mux") for m in sdp.media)
