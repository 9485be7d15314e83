"""The Dino-shaped peer (dino_peer.py): what Dino signals and how it runs
media — one ICE-UDP transport per content, one DTLS-SRTP handshake per
content, no BUNDLE, SDES offered beside DTLS, the first SSRC per stream.

First proven against itself through Prosody (no belfry); then against
belfry: the echo module, and the call relay with Chromium on the other end
(test_call.py's belfry, helpers and assertions).

All runs pass drop_on_latency=False: Dino sets rtpbin's drop-on-latency
with 100 ms of latency, and on two cores shared with other peers (and other
engineers' tests) scheduling delays above 100 ms made rtpbin drop video
packets; VP8 then waits up to 4 s for the next keyframe. That is this
machine's load, not a protocol matter; everything signalled is Dino's.
"""

import re
import time
import xml.etree.ElementTree as ET

import pytest

import e2e
import sdp_jingle as sj
from test_call import (  # noqa: F401  (belfry: the fixture, echo;call loaded)
    assert_hangup_propagated, belfry, belfry_log, check_call, relay_jid, run_call as
    relay_run_call)
from test_peers import (DURATION, MIN_FRAMES, assert_chromium_decoded, assert_loopback_candidates,
                        record, run_call)

TIMEOUT = 45
CALLEE_TIMEOUT = 30   # a relayed callee gives up before run_call's 35 s wait
ECHO = "echo@relay.localhost"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
DINO = dict(duration=DURATION, timeout=TIMEOUT, drop_on_latency=False)
VIDEO_FB = {("goog-remb", None), ("ccm", "fir"), ("nack", None), ("nack", "pli")}


# ---------------------------------------------------------------------------
# What the peer recorded
# ---------------------------------------------------------------------------

def stanzas(res, kind, direction, needle):
    """Raw XML of the Jingle ("jingle") or JMI ("jmi") stanzas the peer
    sent ("out") or received ("in") that contain needle."""
    return [m["xml"] for m in res[kind] if m["dir"] == direction and needle in m["xml"]]


def jingle_of(xml):
    return ET.fromstring(xml).find(sj.q(sj.NS_JINGLE, "jingle"))


def action(res, direction, name):
    """The <jingle> elements of one action the peer sent / received."""
    out = []
    for xml in stanzas(res, "jingle", direction, name):
        j = jingle_of(xml)
        if j is not None and j.get("action") == name and \
                ET.fromstring(xml).get("type") == "set":
            out.append(j)
    return out


def assert_dino_decoded(res, blog=""):
    info = e2e.debug_dump(res) + blog
    assert res["ok"], info
    assert res["connected"], info
    assert res["audio_buffers_decoded"] > 0, info
    assert res["audio_peak"] > 0, info           # not silence
    assert res["video_frames_decoded"] > MIN_FRAMES, info


def assert_two_transports(res, dtls_role, blog="", distinct_remote=True):
    """One transport per content: own ufrag, own libnice stream, own DTLS
    handshake (role as Dino takes it) with the peer's certificate checked
    against its sha-256 fingerprint; media both ways on each; RTCP muxed;
    nothing from a second SSRC. distinct_remote: the other side has its own
    credentials per content too (another Dino does; SDP-style shared
    credentials on separate transports would be legal for belfry)."""
    info = e2e.debug_dump(res) + blog
    tr = {t["media"]: t for t in res["transports"].values()}
    assert len(res["transports"]) == 2 and sorted(tr) == ["audio", "video"], info
    assert tr["audio"]["ufrag"] != tr["video"]["ufrag"], info
    if distinct_remote:
        assert tr["audio"]["remote_ufrag"] != tr["video"]["remote_ufrag"], info
    assert tr["audio"]["stream_id"] != tr["video"]["stream_id"], info
    for t in tr.values():
        assert t["dtls_role"] == dtls_role, info
        # connected (the state may be closed by now: the other side hung up)
        assert t["connected_ms"] is not None and t["fingerprint_ok"] is True, info
        assert t["peer_fingerprint_hash"] == "sha-256", info
        assert t["rtcp_mux"] is True, info
        assert t["rtp_packets_in"] > 0 and t["rtp_packets_out"] > 0, info
        assert t["locked_ssrc"] is not None, info
        assert t["foreign_ssrc_packets"] == 0, info
        assert t["unfiltered_buffer_lists_in"] == 0, info
    assert res["foreign_ssrc_packets"] == 0, info


def assert_dino_description(jingle, answer):
    """A Dino session-initiate (answer=False) or session-accept (True):
    contents audio and video, no <group>, no <source>, <rtcp-mux/>; offer:
    Opus 111 (2 channels, useinbandfec=1) first plus the other audio codecs,
    VP8 98 with the four feedback types, one AES_CM_128_HMAC_SHA1_80 crypto
    per content; answer: exactly one payload type per content; video
    orientation the only header extension; sha-256 fingerprint, actpass in
    the offer, active in the answer; a transport of its own per content with
    both components' candidates, every attribute present."""
    text = ET.tostring(jingle, encoding="unicode")
    assert jingle.find(sj.q(sj.NS_GROUPING, "group")) is None, text
    if answer:
        assert jingle.get("responder") is None, text
    else:
        assert jingle.get("initiator"), text
    contents = jingle.findall(sj.q(sj.NS_JINGLE, "content"))
    assert [c.get("name") for c in contents] == ["audio", "video"], text
    ufrags = set()
    for c in contents:
        assert c.get("creator") == "initiator" and c.get("senders") == "both", text
        desc = c.find(sj.q(sj.NS_RTP, "description"))
        tr = c.find(sj.q(sj.NS_ICE_UDP, "transport"))
        assert desc.find(sj.q(sj.NS_RTP, "rtcp-mux")) is not None, text
        assert desc.find(sj.q(NS_SSMA, "source")) is None, text
        pts = desc.findall(sj.q(sj.NS_RTP, "payload-type"))
        ids = [(p.get("id"), p.get("name")) for p in pts]
        if answer:
            assert len(pts) == 1, text
        elif c.get("name") == "audio":
            assert ids[0] == ("111", "opus") and pts[0].get("channels") == "2", text
            params = {x.get("name"): x.get("value")
                      for x in pts[0].findall(sj.q(sj.NS_RTP, "parameter"))}
            assert params == {"useinbandfec": "1"}, text
            assert ("0", "PCMU") in ids and ("8", "PCMA") in ids, ids
        else:
            assert ("98", "VP8") in ids, ids
        for p in pts:
            fbs = {(f.get("type"), f.get("subtype")) for f in p.findall(sj.q(sj.NS_RTCP_FB, "rtcp-fb"))}
            assert fbs <= VIDEO_FB, fbs
            if c.get("name") == "video" and not answer:
                assert fbs == VIDEO_FB, fbs
        exts = [h.get("uri") for h in desc.findall(sj.q(sj.NS_HDREXT, "rtp-hdrext"))]
        assert exts == (["urn:3gpp:video-orientation"] if c.get("name") == "video" else []), text
        cryptos = desc.findall(f"{{{sj.NS_RTP}}}encryption/{{{sj.NS_RTP}}}crypto")
        if not answer:
            assert len(cryptos) == 1, text
            assert cryptos[0].get("crypto-suite") == "AES_CM_128_HMAC_SHA1_80", text
            assert re.fullmatch(r"inline:[A-Za-z0-9+/]{40}", cryptos[0].get("key-params")), text
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
            assert x.get("protocol") == "udp" and x.get("type") == "host", text
    assert len(ufrags) == 2, text


def assert_transport_infos(res):
    """Later candidates travel one per transport-info, with ufrag and pwd
    and no fingerprint."""
    for j in action(res, "out", "transport-info"):
        contents = j.findall(sj.q(sj.NS_JINGLE, "content"))
        assert len(contents) == 1, ET.tostring(j, encoding="unicode")
        tr = contents[0].find(sj.q(sj.NS_ICE_UDP, "transport"))
        assert len(tr.findall(sj.q(sj.NS_ICE_UDP, "candidate"))) == 1
        assert tr.get("ufrag") and tr.get("pwd")
        assert tr.find(sj.q(sj.NS_DTLS, "fingerprint")) is None


def assert_dino_propose(res_caller, blog=""):
    """0353 send_session_propose_to_peer(): type=chat, a description per
    medium, no <store/> hint, no receipt request."""
    proposes = stanzas(res_caller, "jmi", "out", "<propose")
    assert len(proposes) == 1, e2e.debug_dump(res_caller) + blog
    msg = ET.fromstring(proposes[0])
    assert msg.get("type") == "chat", proposes[0]
    assert msg.find("{urn:xmpp:hints}store") is None, proposes[0]
    assert msg.find("{urn:xmpp:receipts}request") is None, proposes[0]
    prop = msg.find(sj.q(sj.NS_JMI, "propose"))
    assert [d.get("media") for d in prop] == ["audio", "video"], proposes[0]
    assert prop.get("id") == res_caller["sid"], proposes[0]


def assert_disco_before_initiate(res_caller, jid):
    """The caller asked the full JID it calls for disco#info and found
    Jingle and ICE-UDP before its session-initiate."""
    d = res_caller["disco"]
    assert d and d["jid"] == jid and d["ok"], d
    assert "urn:xmpp:jingle:1" in d["features"], d
    assert sj.NS_ICE_UDP in d["features"], d


def assert_never_jmi_ringing(res):
    assert not stanzas(res, "jmi", "out", "<ringing"), res["jmi"]


# ---------------------------------------------------------------------------
# 1. Dino-shaped peer <-> Dino-shaped peer, through Prosody only
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["jmi-sdes", "initiate-dtls-only"])
def test_dino_calls_dino_both_decode(prosody, workdir, peers, variant):
    """jmi-sdes: as two Dinos call — JMI propose to the bare JID, the callee
    answers the SDES crypto too, so SRTP runs twice (SDES inside DTLS-SRTP).
    initiate-dtls-only: a direct session-initiate to the full JID (the
    callee rings with session-info), answered without a crypto, as belfry
    answers: DTLS-SRTP alone."""
    jmi = variant == "jmi-sdes"
    dave = e2e.dino_peer(prosody, workdir, "dave-dino", "dave", "answer",
                         answer_sdes=jmi, **DINO)
    peers.append(dave)

    def caller():
        p = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "call",
                          target="dave@localhost" if jmi else "dave@localhost/dave-dino",
                          propose=jmi, **DINO)
        peers.append(p)
        return p

    rc, rd, wall = run_call(dave, caller)
    record(f"dino->dino ({variant})", [rc, rd], wall)
    assert_dino_decoded(rc)
    assert_dino_decoded(rd)
    # The caller offers actpass and stays DTLS server; the callee answers
    # active and is the client (plugins/ice/src/transport_parameters.vala).
    assert_two_transports(rc, "server")
    assert_two_transports(rd, "client")
    assert rc["sid"] == rd["sid"]
    assert rc["remote_jid"] == "dave@localhost/dave-dino"
    assert rd["remote_jid"] == "carol@localhost/carol-dino"
    assert_disco_before_initiate(rc, "dave@localhost/dave-dino")
    (initiate,) = action(rc, "out", "session-initiate")
    (accept,) = action(rd, "out", "session-accept")
    assert_dino_description(initiate, answer=False)
    assert_dino_description(accept, answer=True)
    assert_transport_infos(rc)
    assert_transport_infos(rd)
    assert_loopback_candidates(rc)
    assert_loopback_candidates(rd)
    expected_sdes = {"audio": jmi, "video": jmi}
    assert rc["sdes"] == expected_sdes and rd["sdes"] == expected_sdes, (rc["sdes"], rd["sdes"])
    for r in (rc, rd):
        for t in r["transports"].values():
            assert t["sdes"] is jmi and t["sdes_failures"] == 0, t
    assert_never_jmi_ringing(rd)
    if jmi:
        assert_dino_propose(rc)
        # call_peer_state.vala accept(): <accept/> to its own bare JID,
        # <proceed/> to the proposer; then no ringing at all.
        assert stanzas(rd, "jmi", "out", "<accept")
        assert stanzas(rd, "jmi", "out", "<proceed")
        assert rd["ringing_sent"] == 0 and not rc["session_info_received"], rc["session_info_received"]
    else:
        # libdino/src/service/calls.vala on_incoming_call(): a session-
        # initiate without a JMI proposal rings with session-info.
        assert not rc["jmi"]
        assert rd["ringing_sent"] == 1
        assert [i["info"] for i in rc["session_info_received"]] == ["ringing"]
    assert rc["terminated_by"] == "local" and rd["terminated_by"] == "remote"
    assert rd["terminate_reason"] == "success"


def test_dino_ignores_a_second_ssrc(prosody, workdir, peers):
    """The caller also sends every 5th RTP packet under a second SSRC from
    1 s after DTLS: the Dino-shaped callee stays locked on the first SSRC of
    each stream, drops and counts the others, and still decodes."""
    dave = e2e.dino_peer(prosody, workdir, "dave-dino", "dave", "answer",
                         answer_sdes=False, **DINO)
    peers.append(dave)

    def caller():
        p = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "call",
                          target="dave@localhost", propose=True, foreign_ssrc_every=5, **DINO)
        peers.append(p)
        return p

    rc, rd, wall = run_call(dave, caller)
    record("dino->dino (second SSRC)", [rc, rd], wall)
    assert_dino_decoded(rd)
    info = e2e.debug_dump(rd)
    for name in ("audio", "video"):
        sent = rc["transports"][name]
        got = rd["transports"][name]
        assert sent["foreign_ssrc_packets_sent"] > 10, e2e.debug_dump(rc)
        assert got["locked_ssrc"] == sent["our_ssrc"], info
        assert set(got["foreign_ssrcs"]) == {str((sent["our_ssrc"] ^ 0x5A5A5A5A) or 1)}, info
        # Every foreign packet that arrived was dropped; the count can only
        # miss the last few still in flight when the callee stopped counting.
        assert 0 < got["foreign_ssrc_packets"] <= sent["foreign_ssrc_packets_sent"], info
        assert got["foreign_ssrc_packets"] >= sent["foreign_ssrc_packets_sent"] - 10, info
    assert rd["foreign_ssrc_packets"] == sum(
        t["foreign_ssrc_packets"] for t in rd["transports"].values())


def test_dino_drops_the_call_when_the_proceeding_resource_lacks_jingle(prosody, workdir, peers):
    """The webrtcbin peer proceeds to a JMI propose but announces no disco
    features: after the proceed, the Dino-shaped caller asks that full JID
    for disco#info, finds no urn:xmpp:jingle:1 / ICE-UDP and drops the call
    without a session-initiate (and without telling the callee)."""
    callee = e2e.webrtcbin_peer(prosody, workdir, "dave-webrtcbin", "dave", "answer",
                                duration=DURATION, timeout=8)
    peers.append(callee)

    def caller():
        p = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "call",
                          target="dave@localhost", propose=True, **DINO)
        peers.append(p)
        return p

    rc, rd, wall = run_call(callee, caller)
    record("dino->webrtcbin without disco features", [rc, rd], wall)
    info = e2e.debug_dump(rc)
    assert not rc["ok"] and "disco#info" in (rc["error"] or ""), info
    assert stanzas(rc, "jmi", "in", "<proceed"), info
    d = rc["disco"]
    assert d["jid"] == "dave@localhost/dave-webrtcbin" and d["ok"] is False, d
    assert not action(rc, "out", "session-initiate"), info
    assert not rc["jingle"], info
    assert not stanzas(rc, "jmi", "out", "<retract"), info
    # The callee waited in vain.
    assert not rd["ok"] and rd["sid"] is None, e2e.debug_dump(rd)


# ---------------------------------------------------------------------------
# 2. Against belfry: echo, and the call relay with Chromium on the other
#    end. Dino never BUNDLEs, so belfry must run a transport (ICE, DTLS,
#    SRTP) per content towards it, also when the other leg BUNDLEs.
# ---------------------------------------------------------------------------

def assert_belfry_fits_dino(res, blog):
    """What belfry sent the Dino-shaped peer to set the session up (its
    session-accept, or its session-initiate when belfry calls): both
    contents, each with a transport carrying credentials and candidates, a
    sha-256 fingerprint (the only hash Dino verifies: dtls_srtp.vala). An
    accept also: no BUNDLE group (Dino offered none and never reads one), a
    definite DTLS role (active/passive), no SDES crypto (else Dino runs SRTP
    twice)."""
    info = e2e.debug_dump(res) + blog
    got = action(res, "in", "session-accept") or action(res, "in", "session-initiate")
    assert got, info
    j = got[0]
    contents = j.findall(sj.q(sj.NS_JINGLE, "content"))
    assert sorted(c.find(sj.q(sj.NS_RTP, "description")).get("media")
                  for c in contents) == ["audio", "video"], info
    accept = j.get("action") == "session-accept"
    if accept:
        assert j.find(sj.q(sj.NS_GROUPING, "group")) is None, info
    names_with_candidates = {c.get("content") for c in res["remote_candidates"]}
    assert names_with_candidates == {c.get("name") for c in contents}, (
        "candidates for every content", info)
    for c in contents:
        tr = c.find(sj.q(sj.NS_ICE_UDP, "transport"))
        assert tr is not None and tr.get("ufrag") and tr.get("pwd"), info
        fp = tr.find(sj.q(sj.NS_DTLS, "fingerprint"))
        assert fp is not None and fp.get("hash") == "sha-256", info
        if accept:
            assert fp.get("setup") in ("active", "passive"), info
            desc = c.find(sj.q(sj.NS_RTP, "description"))
            assert desc.find(f"{{{sj.NS_RTP}}}encryption") is None, info


@pytest.mark.parametrize("propose", [True, False], ids=["jmi-propose", "initiate"])
def test_dino_calls_echo(prosody, belfry, workdir, peers, propose):
    started = time.monotonic()
    p = e2e.dino_peer(prosody, workdir, "alice-dino", "alice", "call", target=ECHO,
                      propose=propose, **DINO)
    peers.append(p)
    res = p.result(DURATION + TIMEOUT + 15)
    record(f"dino->echo ({'propose' if propose else 'initiate'})", [res],
           time.monotonic() - started)
    blog = belfry_log(belfry)
    info = e2e.debug_dump(res) + blog
    assert res["remote_jid"] == ECHO or (propose and (res["remote_jid"] or "").startswith(ECHO)), info
    assert res["disco"] and res["disco"]["ok"], info
    assert_belfry_fits_dino(res, blog)
    assert_dino_decoded(res, blog)
    assert_two_transports(res, "server", blog, distinct_remote=False)
    assert res["sdes"] == {"audio": False, "video": False}, info
    assert_loopback_candidates(res)


def test_dino_calls_chromium_through_belfry(prosody, belfry, workdir, peers):
    """Dino (carol) proposes to bob's relay address, as it calls a contact
    whose presence advertises JMI; Chromium (bob) answers."""
    bob = e2e.chromium_peer(prosody, workdir, "bob-chromium", "bob", "answer",
                            duration=DURATION, timeout=CALLEE_TIMEOUT)
    peers.append(bob)

    def caller():
        p = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "call",
                          target=relay_jid("bob@localhost"), propose=True, **DINO)
        peers.append(p)
        return p

    rc, rb, watch, wall = relay_run_call(belfry, bob, caller)
    record("dino->belfry->chromium (propose)", [rc, rb], wall)
    blog = belfry_log(belfry)
    assert_belfry_fits_dino(rc, blog)
    check_call(rc, rb, "carol@localhost", "bob@localhost", watch, blog)
    assert_dino_decoded(rc, blog)
    assert_two_transports(rc, "server", blog, distinct_remote=False)
    assert_chromium_decoded(rb)
    assert_hangup_propagated(rc, rb, blog)


def test_chromium_calls_dino_through_belfry(prosody, belfry, workdir, peers):
    """Chromium (alice) calls carol's relay address; belfry proposes to
    carol, the Dino-shaped peer proceeds (no ringing) and answers belfry's
    session-initiate with a transport of its own per content."""
    carol = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "answer",
                          **dict(DINO, timeout=CALLEE_TIMEOUT))
    peers.append(carol)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target=relay_jid("carol@localhost"), duration=DURATION,
                              timeout=TIMEOUT)
        peers.append(p)
        return p

    ra, rc, watch, wall = relay_run_call(belfry, carol, caller)
    record("chromium->belfry->dino", [ra, rc], wall)
    blog = belfry_log(belfry)
    assert_never_jmi_ringing(rc)
    assert rc["ringing_sent"] == 0, e2e.debug_dump(rc) + blog
    assert_belfry_fits_dino(rc, blog)
    check_call(ra, rc, "alice@localhost", "carol@localhost", watch, blog)
    assert_chromium_decoded(ra)
    assert_dino_decoded(rc, blog)
    assert_two_transports(rc, "client", blog, distinct_remote=False)
    assert_hangup_propagated(ra, rc, blog)


def test_late_leg_gets_a_keyframe_at_once(prosody, belfry, workdir, peers):
    """The callee's network is slow (its ICE starts 2.5 s after its
    accept): Chromium's leg is up first and its first keyframe is dropped
    with everything else sent before the Dino-shaped leg could take it.
    Dino's depayloader waits for a keyframe and Dino never asks for one
    (rtpvp8depay wait-for-keyframe=true, no PLI of its own), so belfry must:
    the first frame is decoded within a second of the leg connecting."""
    delay = 2.5
    carol = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "answer",
                          connect_delay=delay, **dict(DINO, timeout=CALLEE_TIMEOUT))
    peers.append(carol)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target=relay_jid("carol@localhost"),
                              duration=DURATION + delay, timeout=TIMEOUT)
        peers.append(p)
        return p

    ra, rc, watch, wall = relay_run_call(belfry, carol, caller)
    record("chromium->belfry->dino (late leg)", [ra, rc], wall)
    blog = belfry_log(belfry)
    info = e2e.debug_dump(rc) + blog
    assert rc["connected"], info
    # The caller's leg really was up first, sending for seconds before.
    assert rc["timings_ms"]["connected"] - rc["timings_ms"]["accept"] >= delay * 1000, info
    first = rc["first_video_frame_ms"]
    assert first is not None, info
    assert first - rc["timings_ms"]["connected"] < 1000, info
    assert_dino_decoded(rc, blog)
    assert_chromium_decoded(ra, blog)


def test_dino_calls_dino_through_belfry(prosody, belfry, workdir, peers):
    """Both legs without BUNDLE: the Dino-shaped caller (alice) proposes to
    carol's relay address, the Dino-shaped callee answers; each leg has a
    transport, a DTLS handshake and SRTP keys per content, with belfry's own
    credentials per content on both (belfry offers no group to carol, since
    alice offered none)."""
    carol = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "answer",
                          **dict(DINO, timeout=CALLEE_TIMEOUT))
    peers.append(carol)

    def caller():
        p = e2e.dino_peer(prosody, workdir, "alice-dino", "alice", "call",
                          target=relay_jid("carol@localhost"), propose=True, **DINO)
        peers.append(p)
        return p

    ra, rc, watch, wall = relay_run_call(belfry, carol, caller)
    record("dino->belfry->dino (propose)", [ra, rc], wall)
    blog = belfry_log(belfry)
    for res in (ra, rc):
        assert_belfry_fits_dino(res, blog)
        assert_dino_decoded(res, blog)
    check_call(ra, rc, "alice@localhost", "carol@localhost", watch, blog)
    assert_two_transports(ra, "server", blog, distinct_remote=True)
    assert_two_transports(rc, "client", blog, distinct_remote=True)
    init = action(rc, "in", "session-initiate")
    assert init and init[0].find(sj.q(sj.NS_GROUPING, "group")) is None, e2e.debug_dump(rc)
    assert_hangup_propagated(ra, rc, blog)
