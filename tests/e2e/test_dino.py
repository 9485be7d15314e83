"""The Dino-shaped peer (dino_peer.py) — what Dino signals and how it
runs media: one ICE-UDP transport per content, one DTLS handshake per
content, no BUNDLE, SDES offered beside DTLS, the first SSRC per stream.

First proven against itself through Prosody (no belfry), then against
belfry: the echo module, and the call relay with Chromium on the other end.
"""

import json
import re
import xml.etree.ElementTree as ET

import e2e
import sdp_jingle as sj
from test_peers import DURATION, MIN_FRAMES, record, run_call

TIMEOUT = 60


def jingle_out(res, action):
    """The <jingle> elements of action `action` the peer sent."""
    found = []
    for j in res["jingle"]:
        if j["dir"] != "out" or f"action='{action}'" not in j["xml"] and \
                f'action="{action}"' not in j["xml"]:
            continue
        iq = ET.fromstring(j["xml"])
        found.append(iq.find(sj.q(sj.NS_JINGLE, "jingle")))
    return found


def assert_dino_decoded(res):
    info = e2e.debug_dump(res)
    assert res["ok"], info
    assert res["connected"], info
    assert res["audio_buffers_decoded"] > 0, info
    assert res["audio_peak"] > 0, info           # not silence
    assert res["video_frames_decoded"] > MIN_FRAMES, info


def assert_two_transports(res):
    """One transport per content: own ufrag, own DTLS handshake, verified
    fingerprint, media in on each, nothing from a second SSRC."""
    info = e2e.debug_dump(res)
    tr = res["transports"]
    assert sorted(tr) == ["audio", "video"], info
    assert tr["audio"]["ufrag"] != tr["video"]["ufrag"], info
    assert tr["audio"]["stream_id"] != tr["video"]["stream_id"], info
    for t in tr.values():
        assert t["dtls_state"] == "connected" and t["fingerprint_ok"] is True, info
        assert t["rtcp_mux"] is True, info
        assert t["rtp_packets_in"] > 0 and t["rtp_packets_out"] > 0, info
        assert t["locked_ssrc"] is not None, info
    assert res["foreign_ssrc_packets"] == 0, info


def assert_dino_offer_or_answer(jingle, answer):
    """What a Dino session-initiate / session-accept looks like."""
    text = ET.tostring(jingle, encoding="unicode")
    assert jingle.find(sj.q(sj.NS_GROUPING, "group")) is None, text
    contents = jingle.findall(sj.q(sj.NS_JINGLE, "content"))
    assert [c.get("name") for c in contents] == ["audio", "video"], text
    ufrags = set()
    for c in contents:
        assert c.get("creator") == "initiator" and c.get("senders") == "both", text
        desc = c.find(sj.q(sj.NS_RTP, "description"))
        tr = c.find(sj.q(sj.NS_ICE_UDP, "transport"))
        assert desc.find(sj.q(sj.NS_RTP, "rtcp-mux")) is not None, text
        assert desc.find(sj.q("urn:xmpp:jingle:apps:rtp:ssma:0", "source")) is None, text
        pts = desc.findall(sj.q(sj.NS_RTP, "payload-type"))
        names = [(p.get("id"), p.get("name")) for p in pts]
        if answer:
            assert len(pts) == 1, text
        elif c.get("name") == "audio":
            assert names[0] == ("111", "opus"), names
            assert pts[0].get("channels") == "2", text
            params = {x.get("name"): x.get("value") for x in pts[0].findall(sj.q(sj.NS_RTP, "parameter"))}
            assert params == {"useinbandfec": "1"}, text
            assert ("0", "PCMU") in names and ("8", "PCMA") in names, names
        else:
            assert ("98", "VP8") in names, names
        for p in pts:
            fbs = [(f.get("type"), f.get("subtype")) for f in p.findall(sj.q(sj.NS_RTCP_FB, "rtcp-fb"))]
            assert set(fbs) <= {("goog-remb", None), ("ccm", "fir"), ("nack", None), ("nack", "pli")}, fbs
            if c.get("name") == "video" and not answer:
                assert len(fbs) == 4, fbs
        exts = [h.get("uri") for h in desc.findall(sj.q(sj.NS_HDREXT, "rtp-hdrext"))]
        assert exts == (["urn:3gpp:video-orientation"] if c.get("name") == "video" else []), text
        cryptos = desc.findall(f"{{{sj.NS_RTP}}}encryption/{{{sj.NS_RTP}}}crypto")
        if not answer:
            assert len(cryptos) == 1 and cryptos[0].get("crypto-suite") == "AES_CM_128_HMAC_SHA1_80", text
            assert re.fullmatch(r"inline:[A-Za-z0-9+/=]{40}", cryptos[0].get("key-params")), text
        fp = tr.find(sj.q(sj.NS_DTLS, "fingerprint"))
        assert fp.get("hash") == "sha-256", text
        assert fp.get("setup") == ("active" if answer else "actpass"), text
        assert tr.get("ufrag") and tr.get("pwd"), text
        ufrags.add(tr.get("ufrag"))
        cands = tr.findall(sj.q(sj.NS_ICE_UDP, "candidate"))
        assert {x.get("component") for x in cands} == {"1", "2"}, text
        for x in cands:
            for a in ("component", "foundation", "generation", "id", "ip", "network", "port",
                      "priority", "protocol", "type"):
                assert x.get(a) is not None, (a, ET.tostring(x, encoding="unicode"))
    assert len(ufrags) == 2, text


# ---------------------------------------------------------------------------
# Dino-shaped peer <-> Dino-shaped peer, through Prosody only
# ---------------------------------------------------------------------------

def test_dino_calls_dino_both_decode(prosody, workdir, peers):
    dave = e2e.dino_peer(prosody, workdir, "dave-dino", "dave", "answer",
                         duration=DURATION, timeout=TIMEOUT)
    peers.append(dave)

    def caller():
        p = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "call",
                          target="dave@localhost", propose=True, duration=DURATION,
                          timeout=TIMEOUT)
        peers.append(p)
        return p

    rc, rd, wall = run_call(dave, caller)
    record("dino->dino (JMI)", [rc, rd], wall)
    print(json.dumps({"carol": rc["transports"], "dave": rd["transports"], "errs": [rc["gst_errors"], rd["gst_errors"]], "tl": [rc["timeline"], rd["timeline"]], "log": [rc["log"], rd["log"]], "states": [rc["states"], rd["states"]]}))
    assert_dino_decoded(rc)
    assert_dino_decoded(rd)
    assert_two_transports(rc)
    assert_two_transports(rd)
