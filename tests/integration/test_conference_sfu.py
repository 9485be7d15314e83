"""The conference's XEP-0521 SFU at signalling level (README "Group calls
(`conference`)"): real Prosody, slixmpp clients sending raw Jingle, no
media (fake candidates; every session ended long before [media]
ice-timeout).  Media through the SFU is tests/e2e/test_conference_sfu.py's.

What is asserted:

  disco           a room lists urn:xmpp:jingle:av-conferences:0 with its
                  conference/audio-video identity
  placing         a client that advertises urn:xmpp:jingle:av-conferences:0
                  joining a room with two ordinary participants gets one
                  session-initiate per other participant from the room's
                  JID, every content senders='initiator' with an SSRC of the
                  room's (not the sender's), audio (Opus) and video (VP8,
                  nack/pli/fir) as the sender sends, and XEP-0298
                  <conference-info isfocus='true'> naming the sender in
                  <user entity='xmpp:…'/>; none with its own streams
  join, leave     a third participant joining adds one session within 2 s;
                  one leaving ends the session carrying its streams
                  (session-terminate) and only that one
  two receivers   two XEP-0521 participants each get the other's streams
  ordinary        a client that does not advertise the feature gets no
                  session from the room
  refusal         a session the receiver declines is not placed again
                  (metrics: sessions placed, sessions refused)
  privacy         the SFU's log lines name sessions, never JIDs
  H.264           an ordinary caller's H.264 (mode 1) is offered, with its
                  profile-level-id and rtx apt=102, to a XEP-0521 client
                  whose call listed H.264; one whose call did not gets that
                  caller's audio alone (a log line); an answer that takes
                  no video is logged as such
  H.264 senders   an XEP-0521 caller offering H.264 only (mode 1, baseline,
                  with simulcast layers) is answered with its H.264 (its
                  payload type, parameters and feedback, senders
                  'initiator', no source of ours: it gets no composite);
                  its video goes, H.264 with its profile-level-id, to a
                  XEP-0521 client whose call listed H.264 and not to one
                  whose call did not (audio alone, a log line); offering
                  H.264 before VP8 it is answered VP8; H.264 in mode 0 or
                  of a non-baseline profile is answered senders 'none'
                  (no video taken), its audio still forwarded
  layer choice    the video offered carries goog-remb and transport-cc
                  rtcp-fb and the transport-wide-cc header extension (what
                  the receiver's estimate, hence its simulcast layer, comes
                  from)
  last-n          [conference] last-n out of 1..50 is a configuration
                  error naming the group and key; 1 and 50 are taken
  displayed size  a receiver's description-info (XEP-0167 §9 width and
                  height) on a forwarded session is acked and taken (log);
                  malformed, signed, huge or out-of-range values are acked
                  and ignored; so is one on a forwarded session without
                  video and on an ordinary call to the room; the size in
                  the receiver's session-accept is taken too
"""

import time
import xml.etree.ElementTree as ET

import pytest

from harness import DOMAIN, NS_CLIENT, NS_DISCO_INFO, Belfry, Client, free_port
from relay_fixtures import prosody_fixture
from test_call import wait_new
from test_conference import (MEDIA, NS_COIN, audio_description, call, hang_up, mark, new_room,
                             room_jid)
from test_jingle import (IQ, JINGLE, NS_GROUPING, NS_JINGLE, NS_RTP, NS_SSMA, dump, fingerprint,
                         ice, jingle, new_sid)
from test_metrics import scrape, total

NS_AV_CONF = "urn:xmpp:jingle:av-conferences:0"
NS_RTCP_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
NS_RTP_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

USERS = {"alice": "alice-pw-7Qx", "bob": "bob-pw-3Lm", "carol": "carol-pw-5Tn",
         "dave": "dave-pw-8Kp", "erin": "erin-pw-2Vb"}

sfu_prosody = prosody_fixture("sfu_prosody", USERS)
METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def relay(sfu_prosody, tmp_path_factory):
    b = Belfry(tmp_path_factory.mktemp("belfry-conference-sfu"),
               port=sfu_prosody.component_port, modules="conference",
               groups={"media": MEDIA, "conference": {"max-participants": "6"},
                       "metrics": {"listen": f"127.0.0.1:{METRICS_PORT}"}})
    try:
        b.start()
        yield b
        b.stop()
        assert "CRITICAL" not in b.log(), b.log()[-3000:]
    finally:
        b.kill_quietly()


def jingle_client(prosody, user, sfu):
    """A Jingle client that acknowledges every Jingle iq and answers
    disco#info; @sfu lists urn:xmpp:jingle:av-conferences:0 (XEP-0521
    §"Discovering support")."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    c = Client(f"{user}@{DOMAIN}/{user}-res", USERS[user], prosody.c2s_port)

    def ack(iq):
        if iq["type"] == "set":
            iq.reply(clear=True).send()

    def disco(iq):
        if iq["type"] != "get":
            return
        reply = iq.reply(clear=True)
        q = ET.SubElement(reply.xml, "{%s}query" % NS_DISCO_INFO)
        ET.SubElement(q, "{%s}identity" % NS_DISCO_INFO, category="client", type="pc",
                      name="Test")
        for f in [NS_DISCO_INFO, NS_JINGLE, NS_RTP] + ([NS_AV_CONF] if sfu else []):
            ET.SubElement(q, "{%s}feature" % NS_DISCO_INFO, var=f)
        reply.send()

    async def register():
        c.xmpp.register_handler(Callback(
            "test jingle ack", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), ack))
        c.xmpp.register_handler(Callback(
            "test disco", MatchXPath("{%s}iq/{%s}query" % (NS_CLIENT, NS_DISCO_INFO)), disco))

    try:
        c._call(register(), 5)
    except BaseException:
        c.close()
        raise
    return c


@pytest.fixture
def clients(sfu_prosody, relay):
    made = []

    def make(user, sfu):
        c = jingle_client(sfu_prosody, user, sfu)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def from_room(el, name):
    return (el.get("from") or "").startswith(room_jid(name) + "/")


def initiates(client, start, name):
    """The session-initiates the room placed to @client since @start."""
    with client._cond:
        got = list(client.received[start:])
    return [e for e in got if e.tag == IQ and e.get("type") == "set" and from_room(e, name)
            and e.find(JINGLE) is not None
            and e.find(JINGLE).get("action") == "session-initiate"]


def wait_initiates(client, start, name, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = initiates(client, start, name)
        if len(got) >= n or time.monotonic() > deadline:
            assert len(got) == n, (f"{client.full_jid}: {len(got)} sessions from room {name}, "
                                   f"expected {n}:\n" + "\n".join(dump(e) for e in got))
            return got
        time.sleep(0.05)


def user_entity(initiate):
    """The XEP-0298 user the session's streams are from (XEP-0521)."""
    ci = initiate.find(JINGLE).find("{%s}conference-info" % NS_COIN)
    assert ci is not None and ci.get("isfocus") == "true", dump(initiate)
    users = ci.findall("{%s}users/{%s}user" % (NS_COIN, NS_COIN))
    assert len(users) == 1, dump(ci)
    return users[0].get("entity")


def by_entity(inits):
    out = {}
    for e in inits:
        ent = user_entity(e)
        assert ent not in out, f"two sessions with {ent}'s streams"
        out[ent] = e
    return out


def check_contents(initiate, sender_ssrc, video):
    """Every content senders='initiator' (room to receiver), Opus audio and,
    when the sender sends it, VP8 video with NACK, PLI and FIR and its rtx
    payload type; SSRCs the room's own."""
    contents = initiate.find(JINGLE).findall("{%s}content" % NS_JINGLE)
    kinds = {}
    for c in contents:
        assert c.get("senders") == "initiator", dump(c)
        desc = c.find("{%s}description" % NS_RTP)
        kinds[desc.get("media")] = desc
        ssrcs = [int(s.get("ssrc")) for s in desc.findall("{%s}source" % NS_SSMA)]
        # Audio: one SSRC; video: the stream's and its retransmissions'
        # (RFC 4588), grouped FID (RFC 5576 §4.2), in that order.
        want = 2 if desc.get("media") == "video" else 1
        assert len(ssrcs) == want and len(set(ssrcs)) == want, dump(desc)
        assert not set(ssrcs) & {sender_ssrc, sender_ssrc + 1}, dump(desc)
        groups = [(g.get("semantics"), [int(x.get("ssrc")) for x in g])
                  for g in desc.findall("{%s}ssrc-group" % NS_SSMA)]
        assert groups == ([("FID", ssrcs)] if want == 2 else []), dump(desc)
    assert set(kinds) == ({"audio", "video"} if video else {"audio"}), dump(initiate)
    names = [p.get("name").lower() for p in kinds["audio"].findall("{%s}payload-type" % NS_RTP)]
    assert names == ["opus"], dump(kinds["audio"])
    if video:
        pts = kinds["video"].findall("{%s}payload-type" % NS_RTP)
        assert [p.get("name").upper() for p in pts] == ["VP8", "RTX"], dump(kinds["video"])
        apt = {x.get("name"): x.get("value") for x in pts[1].findall("{%s}parameter" % NS_RTP)}
        assert apt == {"apt": pts[0].get("id")} and pts[1].get("clockrate") == "90000", \
            dump(kinds["video"])
        fb = {(f.get("type"), f.get("subtype"))
              for f in pts[0].findall("{%s}rtcp-fb" % NS_RTCP_FB)}
        assert {("nack", None), ("nack", "pli"), ("ccm", "fir")} <= fb, dump(kinds["video"])
        # The receiver's bandwidth: its REMB, or its transport-cc feedback
        # on the room's transport-wide numbers (the layer it gets).
        assert {("goog-remb", None), ("transport-cc", None)} <= fb, dump(kinds["video"])
        exts = {h.get("uri") for h in kinds["video"].findall("{%s}rtp-hdrext" % NS_RTP_HDREXT)}
        assert TWCC_URI in exts, dump(kinds["video"])


def terminated(client, start, sid):
    with client._cond:
        got = list(client.received[start:])
    return [e for e in got if e.tag == IQ and e.find(JINGLE) is not None
            and e.find(JINGLE).get("sid") == sid
            and e.find(JINGLE).get("action") == "session-terminate"]


def wait_terminated(client, start, sid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not terminated(client, start, sid):
        assert time.monotonic() < deadline, f"{client.full_jid}: session {sid} not ended"
        time.sleep(0.05)


# ---------------------------------------------------------------------------

def test_a_room_advertises_xep_0521(clients):
    alice = clients("alice", False)
    reply = alice.query(room_jid(new_room("disco")), NS_DISCO_INFO)
    q = reply.find("{%s}query" % NS_DISCO_INFO)
    features = {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}
    assert NS_AV_CONF in features, dump(reply)
    ids = {(i.get("category"), i.get("type")) for i in q.findall("{%s}identity" % NS_DISCO_INFO)}
    assert ("conference", "audio-video") in ids, dump(reply)


def test_an_xep_0521_participant_gets_a_session_per_other_sender(relay, clients):
    name = new_room("sfu")
    alice, bob, carol, dave = (clients("alice", False), clients("bob", False),
                               clients("carol", True), clients("dave", False))
    starts = {c: mark(c) for c in (alice, bob, carol, dave)}
    a_sid, _ = call(alice, room_jid(name), ssrc=1000)                 # audio and video
    b_sid, _ = call(bob, room_jid(name), ssrc=2000, video=False)      # audio only
    c_sid, _ = call(carol, room_jid(name), ssrc=3000, audio_senders="initiator")

    got = by_entity(wait_initiates(carol, starts[carol], name, 2))
    assert set(got) == {f"xmpp:alice@{DOMAIN}", f"xmpp:bob@{DOMAIN}"}, list(got)
    check_contents(got[f"xmpp:alice@{DOMAIN}"], 1000, video=True)
    check_contents(got[f"xmpp:bob@{DOMAIN}"], 2000, video=False)
    for e in got.values():
        j = e.find(JINGLE)
        assert e.get("to") == carol.full_jid and j.get("initiator") == e.get("from"), dump(e)

    # A third sender: one more session, within 2 s of its call.
    start = mark(carol)
    t0 = time.monotonic()
    d_sid, _ = call(dave, room_jid(name), ssrc=4000)
    more = wait_initiates(carol, start, name, 1, timeout=2.0)
    assert time.monotonic() - t0 < 2.0
    assert user_entity(more[0]) == f"xmpp:dave@{DOMAIN}"
    got[f"xmpp:dave@{DOMAIN}"] = more[0]

    # Ordinary participants get no session from the room (they keep the mix).
    time.sleep(0.5)
    for c in (alice, bob, dave):
        assert initiates(c, starts[c], name) == [], c.full_jid

    # A sender leaves: the session with its streams ends, the others stay.
    start = mark(carol)
    hang_up(bob, relay, room_jid(name), b_sid)
    bob_fwd = got[f"xmpp:bob@{DOMAIN}"].find(JINGLE).get("sid")
    wait_terminated(carol, start, bob_fwd)
    time.sleep(0.3)
    for who in ("alice", "dave"):
        assert not terminated(carol, start, got[f"xmpp:{who}@{DOMAIN}"].find(JINGLE).get("sid"))
    assert initiates(carol, start, name) == []

    # The receiver leaves: its sessions end.
    start = mark(carol)
    hang_up(carol, relay, room_jid(name), c_sid)
    for who in ("alice", "dave"):
        wait_terminated(carol, start, got[f"xmpp:{who}@{DOMAIN}"].find(JINGLE).get("sid"))
    hang_up(alice, relay, room_jid(name), a_sid)
    hang_up(dave, relay, room_jid(name), d_sid)


def test_two_xep_0521_participants_get_each_others_streams(relay, clients):
    name = new_room("sfu2")
    alice, carol, erin = clients("alice", False), clients("carol", True), clients("erin", True)
    starts = {c: mark(c) for c in (alice, carol, erin)}
    a_sid, _ = call(alice, room_jid(name), ssrc=5000)
    c_sid, _ = call(carol, room_jid(name), ssrc=6000, audio_senders="initiator")
    e_sid, _ = call(erin, room_jid(name), ssrc=7000, audio_senders="initiator")

    to_carol = by_entity(wait_initiates(carol, starts[carol], name, 2))
    to_erin = by_entity(wait_initiates(erin, starts[erin], name, 2))
    assert set(to_carol) == {f"xmpp:alice@{DOMAIN}", f"xmpp:erin@{DOMAIN}"}
    assert set(to_erin) == {f"xmpp:alice@{DOMAIN}", f"xmpp:carol@{DOMAIN}"}
    check_contents(to_carol[f"xmpp:erin@{DOMAIN}"], 7000, video=True)
    check_contents(to_erin[f"xmpp:carol@{DOMAIN}"], 6000, video=True)
    time.sleep(0.3)
    assert initiates(alice, starts[alice], name) == []
    for c, sid in ((alice, a_sid), (carol, c_sid), (erin, e_sid)):
        hang_up(c, relay, room_jid(name), sid)


def test_the_log_names_sessions_not_jids(relay):
    """README "Group calls": the log says session ids, never a JID; the
    SFU's lines (placing, ending) too.  Run after the tests above."""
    lines = [ln for ln in relay.log().splitlines()
             if "streams" in ln or "forwarded session" in ln or "XEP-0521" in ln]
    assert lines, relay.log()[-3000:]
    for ln in lines:
        assert f"@{DOMAIN}" not in ln, ln


def test_a_declined_session_is_not_placed_again(relay, clients):
    name = new_room("sfu3")
    alice, carol = clients("alice", False), clients("carol", True)
    _, before = scrape(METRICS_PORT)
    start = mark(carol)
    a_sid, _ = call(alice, room_jid(name), ssrc=8000)
    c_sid, _ = call(carol, room_jid(name), ssrc=9000, audio_senders="initiator")
    fwd = wait_initiates(carol, start, name, 1)[0]
    fwd_sid = fwd.find(JINGLE).get("sid")
    reply = carol.iq(fwd.get("from"), "set", jingle("session-terminate", fwd_sid,
                                                     "<reason><decline/></reason>"))
    assert reply.get("type") == "result", dump(reply)
    relay.wait_log(f"session {fwd_sid} (call {a_sid}'s streams to call {c_sid}) "
                   "ended: decline; not placed again", 5)
    # Another participant joins (the room places what is missing for every
    # pair then): carol gets dave's streams, not alice's again.
    dave = clients("dave", False)
    start = mark(carol)
    d_sid, _ = call(dave, room_jid(name), ssrc=10000)
    more = wait_initiates(carol, start, name, 1)
    assert user_entity(more[0]) == f"xmpp:dave@{DOMAIN}"
    time.sleep(0.5)
    assert len(initiates(carol, start, name)) == 1
    _, after = scrape(METRICS_PORT)
    placed, refused = ("belfry_conference_sfu_sessions_placed_total",
                       "belfry_conference_sfu_sessions_refused_total")
    assert total(after, placed) == total(before, placed) + 2
    assert total(after, refused) == total(before, refused) + 1
    for c, sid in ((alice, a_sid), (carol, c_sid), (dave, d_sid)):
        hang_up(c, relay, room_jid(name), sid)


def test_an_h264_callers_video_goes_to_xep_0521_clients_that_list_h264(relay, clients):
    name = new_room("sfu264")
    alice, carol, erin = clients("alice", False), clients("carol", True), clients("erin", True)
    starts = {c: mark(c) for c in (carol, erin)}
    # An ordinary caller sending H.264 only (a baseline profile of its own).
    a_sid, acc = call(alice, room_jid(name), ssrc=11000, h264="=42c01e")
    v = [c for c in acc.find(JINGLE).findall("{%s}content" % NS_JINGLE) if c.get("name") == "v1"]
    assert [p.get("name") for p in v[0].iter("{%s}payload-type" % NS_RTP)] == ["H264"], dump(acc)
    c_sid, _ = call(carol, room_jid(name), ssrc=12000, audio_senders="initiator",
                    video_senders="initiator", h264="42e01f")   # VP8, H.264 listed too
    e_sid, _ = call(erin, room_jid(name), ssrc=13000, audio_senders="initiator",
                    video_senders="initiator")                  # VP8 alone

    to_carol = by_entity(wait_initiates(carol, starts[carol], name, 2))
    to_erin = by_entity(wait_initiates(erin, starts[erin], name, 2))
    fwd = to_carol[f"xmpp:alice@{DOMAIN}"]
    descs = {d.get("media"): d for d in fwd.iter("{%s}description" % NS_RTP)}
    assert set(descs) == {"audio", "video"}, dump(fwd)
    pts = descs["video"].findall("{%s}payload-type" % NS_RTP)
    assert [(p.get("name"), p.get("id")) for p in pts] == [("H264", "102"), ("rtx", "97")], \
        dump(descs["video"])
    params = {x.get("name"): x.get("value") for x in pts[0].findall("{%s}parameter" % NS_RTP)}
    assert params == {"packetization-mode": "1", "profile-level-id": "42c01e"}, params
    assert {x.get("name"): x.get("value") for x in pts[1].findall("{%s}parameter" % NS_RTP)} \
        == {"apt": "102"}, dump(pts[1])
    fb = {(f.get("type"), f.get("subtype")) for f in pts[0].findall("{%s}rtcp-fb" % NS_RTCP_FB)}
    assert {("nack", None), ("nack", "pli"), ("ccm", "fir")} <= fb, dump(pts[0])
    # erin never listed H.264: alice's audio alone; erin's own VP8 to carol as before.
    only_audio = to_erin[f"xmpp:alice@{DOMAIN}"]
    assert [d.get("media") for d in only_audio.iter("{%s}description" % NS_RTP)] == ["audio"], \
        dump(only_audio)
    check_contents(to_carol[f"xmpp:erin@{DOMAIN}"], 13000, video=True)
    relay.wait_log(f"call {a_sid} sends H.264, which call {e_sid} did not offer", 5)

    # carol answers alice's session without taking its video (senders
    # 'none'): the room says so and sends it alice's audio only.
    j = fwd.find(JINGLE)
    tr = ice(fp=fingerprint(setup="active"))
    names = {d.get("media"): c.get("name") for c in j.findall("{%s}content" % NS_JINGLE)
             for d in c.findall("{%s}description" % NS_RTP)}
    body = (f"<content creator='initiator' name='{names['audio']}' senders='initiator'>"
            f"<description xmlns='{NS_RTP}' media='audio'>"
            "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
            "<rtcp-mux/></description>" + tr + "</content>"
            f"<content creator='initiator' name='{names['video']}' senders='none'>"
            f"<description xmlns='{NS_RTP}' media='video'>"
            "<payload-type id='102' name='H264' clockrate='90000'/>"
            "<rtcp-mux/></description>" + tr + "</content>")
    reply = carol.iq(fwd.get("from"), "set",
                     jingle("session-accept", j.get("sid"), body,
                            f" initiator='{fwd.get('from')}' responder='{carol.full_jid}'"))
    assert reply.get("type") == "result", dump(reply)
    relay.wait_log(f"session {j.get('sid')}: the answer takes no H.264 video: call {c_sid} gets "
                   f"call {a_sid}'s audio only on it", 5)
    for c, sid in ((alice, a_sid), (carol, c_sid), (erin, e_sid)):
        hang_up(c, relay, room_jid(name), sid)


H264_FB = ("<rtcp-fb xmlns='%s' type='nack'/><rtcp-fb xmlns='%s' type='nack' subtype='pli'/>"
           "<rtcp-fb xmlns='%s' type='ccm' subtype='fir'/>" % ((NS_RTCP_FB,) * 3))


def h264_pt(pt, profile="42e01f", mode="1"):
    return (f"<payload-type id='{pt}' name='H264' clockrate='90000'>"
            f"<parameter name='packetization-mode' value='{mode}'/>"
            f"<parameter name='profile-level-id' value='{profile}'/>"
            f"<parameter name='level-asymmetry-allowed' value='1'/>{H264_FB}</payload-type>")


VP8_PT = f"<payload-type id='96' name='VP8' clockrate='90000'>{H264_FB}</payload-type>"


def xep0521_call(client, name, ssrc, pts, layers=1):
    """An XEP-0521 caller's own streams (every content senders='initiator'):
    Opus, and video with the payload types @pts (XML, in the order given)
    from @layers SSRCs (more than one: grouped SIM, XEP-0339, as libwebrtc
    announces simulcast).  Returns (sid, the room's session-accept)."""
    sid = new_sid("x264")
    ssrcs = [ssrc + 1 + i for i in range(layers)]
    sources = "".join(f"<source xmlns='{NS_SSMA}' ssrc='{x}'><parameter name='cname' "
                      f"value='v{ssrc}'/></source>" for x in ssrcs)
    if layers > 1:
        sources += (f"<ssrc-group xmlns='{NS_SSMA}' semantics='SIM'>"
                    + "".join(f"<source ssrc='{x}'/>" for x in ssrcs) + "</ssrc-group>")
    tr = ice()
    body = (f"<content creator='initiator' name='a0' senders='initiator'>"
            f"{audio_description(ssrc)}{tr}</content>"
            f"<content creator='initiator' name='v1' senders='initiator'>"
            f"<description xmlns='{NS_RTP}' media='video'>{pts}{sources}<rtcp-mux/>"
            f"</description>{tr}</content>"
            f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'><content name='a0'/>"
            "<content name='v1'/></group>")
    start = mark(client)
    to = room_jid(name)
    reply = client.iq(to, "set", jingle("session-initiate", sid, body,
                                        f" initiator='{client.full_jid}'"))
    assert reply.get("type") == "result", dump(reply)

    def accept(e):
        j = e.find(JINGLE) if e.tag == IQ else None
        return (j is not None and e.get("type") == "set" and e.get("from") == to
                and j.get("sid") == sid and j.get("action") == "session-accept")
    return sid, wait_new(client, start, accept, 10, f"session-accept {sid}")


def answered_video(acc):
    """The answer's video content and description."""
    [v] = [c for c in acc.find(JINGLE).findall("{%s}content" % NS_JINGLE) if c.get("name") == "v1"]
    return v, v.find("{%s}description" % NS_RTP)


def pt_summary(pt):
    return (pt.get("name"), pt.get("id"),
            {x.get("name"): x.get("value") for x in pt.findall("{%s}parameter" % NS_RTP)},
            {(f.get("type"), f.get("subtype")) for f in pt.findall("{%s}rtcp-fb" % NS_RTCP_FB)})


def test_an_xep_0521_callers_h264_is_answered_and_forwarded_to_h264_receivers(relay, clients):
    name = new_room("x264")
    dave, carol, erin = clients("dave", True), clients("carol", True), clients("erin", True)
    starts = {c: mark(c) for c in (carol, erin)}
    # dave: H.264 only (mode 1, constrained baseline), in three simulcast layers.
    d_sid, acc = xep0521_call(dave, name, 21000, h264_pt(100), layers=3)
    v, desc = answered_video(acc)
    assert v.get("senders") == "initiator", dump(acc)
    pts = desc.findall("{%s}payload-type" % NS_RTP)
    assert [pt_summary(p) for p in pts] == [
        ("H264", "100", {"packetization-mode": "1", "profile-level-id": "42e01f",
                         "level-asymmetry-allowed": "1"},
         {("nack", None), ("nack", "pli"), ("ccm", "fir")})], dump(desc)
    # It only sends: no composite, no SSRC of ours on its video.
    assert desc.findall("{%s}source" % NS_SSMA) == [], dump(desc)
    # carol lists H.264 after her VP8; erin VP8 alone.
    c_sid, _ = call(carol, room_jid(name), ssrc=22000, audio_senders="initiator",
                    video_senders="initiator", h264="42e01f")
    e_sid, _ = call(erin, room_jid(name), ssrc=23000, audio_senders="initiator",
                    video_senders="initiator")

    fwd = by_entity(wait_initiates(carol, starts[carol], name, 2))[f"xmpp:dave@{DOMAIN}"]
    descs = {d.get("media"): d for d in fwd.iter("{%s}description" % NS_RTP)}
    assert set(descs) == {"audio", "video"}, dump(fwd)
    pts = descs["video"].findall("{%s}payload-type" % NS_RTP)
    assert [(p.get("name"), p.get("id")) for p in pts] == [("H264", "102"), ("rtx", "97")], \
        dump(descs["video"])
    name_, _id, params, fb = pt_summary(pts[0])
    assert params == {"packetization-mode": "1", "profile-level-id": "42e01f"}, params
    assert {("nack", None), ("nack", "pli"), ("ccm", "fir")} <= fb, dump(pts[0])
    assert pt_summary(pts[1])[2] == {"apt": "102"}, dump(pts[1])
    # One stream of ours for the three layers (and its retransmissions).
    ssrcs = {int(x.get("ssrc")) for x in descs["video"].findall("{%s}source" % NS_SSMA)}
    assert len(ssrcs) == 2 and not ssrcs & {21001, 21002, 21003}, dump(descs["video"])

    only_audio = by_entity(wait_initiates(erin, starts[erin], name, 2))[f"xmpp:dave@{DOMAIN}"]
    assert [d.get("media") for d in only_audio.iter("{%s}description" % NS_RTP)] == ["audio"], \
        dump(only_audio)
    relay.wait_log(f"call {d_sid} sends H.264, which call {e_sid} did not offer", 5)
    for c, sid in ((dave, d_sid), (carol, c_sid), (erin, e_sid)):
        hang_up(c, relay, room_jid(name), sid)


def test_an_xep_0521_caller_offering_h264_and_vp8_is_answered_vp8(relay, clients):
    name = new_room("x264vp8")
    dave = clients("dave", True)
    # H.264 first: the room still takes VP8, which every XEP-0521 receiver takes.
    d_sid, acc = xep0521_call(dave, name, 24000, h264_pt(100) + VP8_PT)
    v, desc = answered_video(acc)
    assert v.get("senders") == "initiator", dump(acc)
    assert [p.get("name") for p in desc.findall("{%s}payload-type" % NS_RTP)] == ["VP8"], \
        dump(desc)
    hang_up(dave, relay, room_jid(name), d_sid)


@pytest.mark.parametrize("pts", [h264_pt(100, mode="0"), h264_pt(100, profile="640c1f"),
                                 h264_pt(100, mode="0") + h264_pt(101, profile="4d001f")],
                         ids=["mode-0", "high-profile", "both"])
def test_an_xep_0521_callers_h264_outside_mode_1_baseline_is_not_taken(relay, clients, pts):
    name = new_room("x264no")
    dave, carol = clients("dave", True), clients("carol", True)
    start = mark(carol)
    d_sid, acc = xep0521_call(dave, name, 25000, pts)
    # Accepted with its video content idle (senders 'none', an offered
    # codec named as an answer must), its audio taken.
    v, desc = answered_video(acc)
    assert v.get("senders") == "none", dump(acc)
    assert [p.get("name") for p in desc.findall("{%s}payload-type" % NS_RTP)] == ["H264"], \
        dump(desc)
    a = [c for c in acc.find(JINGLE).findall("{%s}content" % NS_JINGLE) if c.get("name") == "a0"]
    assert a[0].get("senders") == "initiator", dump(acc)
    # A XEP-0521 receiver that lists H.264 gets dave's audio alone.
    c_sid, _ = call(carol, room_jid(name), ssrc=26000, audio_senders="initiator",
                    video_senders="initiator", h264="42e01f")
    fwd = by_entity(wait_initiates(carol, start, name, 1))[f"xmpp:dave@{DOMAIN}"]
    assert [d.get("media") for d in fwd.iter("{%s}description" % NS_RTP)] == ["audio"], dump(fwd)
    for c, sid in ((dave, d_sid), (carol, c_sid)):
        hang_up(c, relay, room_jid(name), sid)

def display_info(sid, content, media, width, height):
    """A XEP-0167 §9 description-info (Example 52's form): width and/or
    height (None: left out) on one payload type of @content."""
    params = "".join(f"<parameter name='{k}' value='{v}'/>"
                     for k, v in (("width", width), ("height", height)) if v is not None)
    pt = ("<payload-type id='96' name='VP8' clockrate='90000'>" if media == "video"
          else "<payload-type id='111' name='opus' clockrate='48000' channels='2'>")
    return jingle("description-info", sid,
                  f"<content creator='initiator' name='{content}'>"
                  f"<description xmlns='{NS_RTP}' media='{media}'>{pt}{params}</payload-type>"
                  "</description></content>")


def test_a_receivers_displayed_size_is_taken_from_description_info(relay, clients):
    name = new_room("sfudisp")
    alice, bob, carol = clients("alice", False), clients("bob", False), clients("carol", True)
    start = mark(carol)
    a_sid, _ = call(alice, room_jid(name), ssrc=14000)                  # audio and video
    b_sid, _ = call(bob, room_jid(name), ssrc=15000, video=False)       # audio only
    c_sid, _ = call(carol, room_jid(name), ssrc=16000, audio_senders="initiator")
    got = by_entity(wait_initiates(carol, start, name, 2))
    fwd, audio_only = got[f"xmpp:alice@{DOMAIN}"], got[f"xmpp:bob@{DOMAIN}"]
    j = fwd.find(JINGLE)
    sid, room = j.get("sid"), fwd.get("from")
    names = {d.get("media"): c.get("name") for c in j.findall("{%s}content" % NS_JINGLE)
             for d in c.findall("{%s}description" % NS_RTP)}

    def acked(client, to, info):
        reply = client.iq(to, "set", info)
        assert reply.get("type") == "result", dump(reply)

    acked(carol, room, display_info(sid, names["video"], "video", 320, 180))
    relay.wait_log(f"session {sid}: description-info: displayed at 320x180", 5)
    # Malformed, signed, huge, out of range, half: acked, ignored.
    for w, h in (("99999", "180"), ("-320", "180"), ("+320", "180"), ("320px", "180"),
                 ("4294967616", "180"), ("9" * 200, "180"), ("15", "180"), ("320", "8193"),
                 ("0", "0"), ("320", None), (None, "180"), ("", "")):
        acked(carol, room, display_info(sid, names["video"], "video", w, h))
    # A later good one is still taken (and the bad ones were not, before it).
    acked(carol, room, display_info(sid, names["video"], "video", 1280, 720))
    relay.wait_log(f"session {sid}: description-info: displayed at 1280x720", 5)
    taken = [ln for ln in relay.log().splitlines() if f"session {sid}: " in ln
             and "displayed at" in ln]
    assert len(taken) == 2, taken
    # On the audio-only forwarded session, and on carol's own call to the
    # room: acked, nothing taken.
    a = audio_only.find(JINGLE)
    acked(carol, room, display_info(a.get("sid"), a.find("{%s}content" % NS_JINGLE).get("name"),
                                    "audio", 320, 180))
    acked(alice, room_jid(name), display_info(a_sid, "v1", "video", 320, 180))
    time.sleep(0.3)
    assert not [ln for ln in relay.log().splitlines() if "displayed at" in ln
                and (a.get("sid") in ln or a_sid in ln)]

    # The size in carol's session-accept counts as well.
    tr = ice(fp=fingerprint(setup="active"))
    body = (f"<content creator='initiator' name='{names['audio']}' senders='initiator'>"
            f"<description xmlns='{NS_RTP}' media='audio'>"
            "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
            "<rtcp-mux/></description>" + tr + "</content>"
            f"<content creator='initiator' name='{names['video']}' senders='initiator'>"
            f"<description xmlns='{NS_RTP}' media='video'>"
            "<payload-type id='96' name='VP8' clockrate='90000'>"
            "<parameter name='width' value='640'/><parameter name='height' value='360'/>"
            "</payload-type><rtcp-mux/></description>" + tr + "</content>")
    reply = carol.iq(room, "set", jingle("session-accept", sid, body,
                                         f" initiator='{room}' responder='{carol.full_jid}'"))
    assert reply.get("type") == "result", dump(reply)
    relay.wait_log(f"session {sid}: session-accept: displayed at 640x360", 5)
    for c, s in ((alice, a_sid), (bob, b_sid), (carol, c_sid)):
        hang_up(c, relay, room_jid(name), s)


@pytest.mark.parametrize("value,good", [("0", False), ("51", False), ("many", False),
                                        ("1", True), ("50", True)])
def test_last_n_is_checked(tmp_path, value, good):
    from harness import FakeServer, run_belfry, write_config
    from test_config import assert_config_error
    listener = FakeServer()
    try:
        path = write_config(tmp_path / "belfry.conf", port=listener.port,
                            modules="conference",
                            groups={"media": MEDIA, "conference": {"last-n": value}})
        r = run_belfry(["--check-config", "-c", str(path)])
        if good:
            assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"
        else:
            assert_config_error(path, r, "conference", "last-n", listener)
    finally:
        listener.close()
