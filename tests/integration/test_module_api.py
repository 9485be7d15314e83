"""Module API 5 (include/belfry/session.h) through a module built from
include/belfry/ alone: tests/modules/placer.c (placer@relay.localhost),
driven by chat commands from alice, reporting back what it sees. Bob is the
peer of the sessions it places; alice also calls it. Real Prosody, real
slixmpp clients sending raw Jingle; no media flows (fake candidates and
fingerprints, sessions ended long before [media] ice-timeout).

What is asserted, call by call:

  bf_session_place_offer     the session-initiate bob receives carries the
                             contents, codecs, parameters, feedback, header
                             extensions, senders and sources as the module
                             built them, a BUNDLE group of every content,
                             our ICE-UDP/DTLS transport, and the XEP-0298
                             <conference-info/> intact as the last child;
                             a bare JID is rung with a XEP-0353 propose
                             (retracted when the module ends it); refusals:
                             bad JID, a local JID not ours, an empty offer,
                             an extra in Jingle's namespace, over 4 extras,
                             over 4096 bytes, a worker not the relay's,
                             a relay that drains
  bf_session_get_peer_media  after bob's session-accept: bob's codecs,
                             senders and sources, in answered() and later
  bf_session_set_worker      a second incoming call pinned from offer() to
                             the first one's worker (which the pool would
                             not have chosen: 2 workers); refused elsewhere
  bf_session_add_content     the content-add bob receives; content-accept
                             and content-reject reach content_answered()
                             (and the peer's media); refusals (name taken,
                             no codec, session not answered, 16 contents)
  bf_session_accept_content  bob's content-add answered with the module's
                             description; refused for a content not waiting
                             and for a codec not offered
  BF_SESSION_ACCEPT          from offer(): the core's session-accept has
                             every content with the caller's payload types
                             and no source of ours
  description_info (API 5)   bob's description-info (XEP-0167 §9) is acked
                             and reaches the hook with each content's
                             payload types and width/height parameters
"""

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from harness import BELFRY_BIN, COMPONENT, DOMAIN, NS_CLIENT, Belfry
from test_call import wait_new as wait_from
from test_jingle import (IQ, JINGLE, MESSAGE, NS_DTLS, NS_GROUPING, NS_ICE, NS_JINGLE,
                         NS_JMI, NS_RTP, NS_SSMA, dump, jingle, jingle_client, new_sid, offer)

NS_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_COIN = "urn:ietf:params:xml:ns:conference-info"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

PLACER = f"placer@{COMPONENT}"
ROOM = f"{PLACER}/room"
# The test module, built with the tests beside the belfry under test.
MODULE_DIR = Path(BELFRY_BIN).resolve().parent.parent / "tests" / "modules"

BOB_UFRAG, BOB_PWD = "bOb9ufrag", "bobPassword9876543210abcd"
BOB_FP = ":".join("%02X" % b for b in bytes(range(0x60, 0x80)))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def relay(prosody, tmp_path_factory):
    assert (MODULE_DIR / "placer.so").is_file(), f"test module not built in {MODULE_DIR}"
    b = Belfry(tmp_path_factory.mktemp("belfry-module-api"), port=prosody.component_port,
               modules=f"placer\npath = {MODULE_DIR}",
               groups={"media": {"addresses": "127.0.0.1", "workers": "2",
                                 "ice-timeout": "120"}})
    try:
        b.start()
        yield b
        b.stop()
        # No API misuse nor internal error was logged on the way.
        assert "CRITICAL" not in b.log() and "WARNING" not in b.log(), b.log()[-3000:]
    finally:
        b.kill_quietly()


@pytest.fixture(scope="module")
def alice(prosody, relay):
    c = jingle_client(prosody, "alice", "cmd")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(prosody, relay):
    c = jingle_client(prosody, "bob", "peer")
    # Available presence: messages to the bare JID (a JMI propose) reach it.
    c.send_raw("<presence xmlns='jabber:client'/>")
    yield c
    c.close()


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def mark(client):
    with client._cond:
        return len(client.received)


def body_of(el):
    b = el.find("{%s}body" % NS_CLIENT) if el.tag == MESSAGE else None
    return b.text if b is not None else None


def report(alice, start, prefix, timeout=10.0):
    """The first report from the module since @start that starts with @prefix."""
    el = wait_from(alice, start, lambda e: e.get("from", "").startswith(PLACER)
                   and (body_of(e) or "").startswith(prefix), timeout, f"report '{prefix}'")
    return body_of(el)


def command(alice, text, prefix, timeout=10.0):
    start = mark(alice)
    alice.message(PLACER, text)
    return report(alice, start, prefix, timeout)


def jingle_set(client, start, sid=None, action=None, timeout=10.0):
    def pred(e):
        j = e.find(JINGLE) if e.tag == IQ else None
        return (j is not None and e.get("type") == "set"
                and (sid is None or j.get("sid") == sid)
                and (action is None or j.get("action") == action))
    return wait_from(client, start, pred, timeout, f"{action} {sid}")


def bob_transport(setup="active"):
    return (f"<transport xmlns='{NS_ICE}' ufrag='{BOB_UFRAG}' pwd='{BOB_PWD}'>"
            f"<fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='{setup}'>{BOB_FP}</fingerprint>"
            "<candidate component='1' foundation='1' generation='0' id='b1' ip='127.44.55.66' "
            "network='0' port='42222' priority='2130706431' protocol='udp' type='host'/>"
            "</transport>")


def source(ssrc, cname="bob-cname"):
    return (f"<source xmlns='{NS_SSMA}' ssrc='{ssrc}'>"
            f"<parameter name='cname' value='{cname}'/></source>")


def bob_accept(sid):
    audio = (f"<description xmlns='{NS_RTP}' media='audio'>"
             "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
             + source(777) + "<rtcp-mux/></description>")
    video = (f"<description xmlns='{NS_RTP}' media='video'>"
             "<payload-type id='96' name='VP8' clockrate='90000'/>"
             + source(888) + "<rtcp-mux/></description>")
    body = (f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
            "<content name='audio'/><content name='video'/></group>"
            f"<content creator='initiator' name='audio' senders='both'>{audio}{bob_transport()}"
            "</content>"
            f"<content creator='initiator' name='video' senders='initiator'>{video}"
            f"{bob_transport()}</content>")
    return jingle("session-accept", sid, body,
                  f" initiator={quoteattr(ROOM)} responder={quoteattr(bob_jid[0])}")


bob_jid = [None]


def placed_and_answered(alice, bob):
    """A session placed to bob's full JID and accepted by him: (sid, report)."""
    bob_jid[0] = bob.full_jid
    b0 = mark(bob)
    placed = command(alice, f"place {bob.full_jid} plain", "placed ")
    sid = placed.split()[1]
    jingle_set(bob, b0, sid, "session-initiate")
    a0 = mark(alice)
    reply = bob.iq(ROOM, "set", bob_accept(sid))
    assert reply.get("type") == "result", dump(reply)
    return sid, report(alice, a0, f"answered {sid}")


def end(alice, sid):
    r = command(alice, f"end {sid}", f"ended {sid}")
    assert r == f"ended {sid} success", r


def local(tag):
    return tag.split("}", 1)[1] if "}" in tag else tag


def rtp_of(content):
    return content.find("{%s}description" % NS_RTP)


def pts_of(desc):
    return [(p.get("id"), p.get("name")) for p in desc.findall("{%s}payload-type" % NS_RTP)]


def ssrcs_of(desc):
    return [s.get("ssrc") for s in desc.findall("{%s}source" % NS_SSMA)]


# ---------------------------------------------------------------------------
# bf_session_set_worker (first: the room is the first call's worker, and the
# pool would put a second call on the other, idle worker)
# ---------------------------------------------------------------------------

def test_set_worker_pins_an_incoming_session_from_offer_only(relay, alice, bob):
    command(alice, "hello", "unknown command")   # alice is who the module reports to
    sids = [new_sid("pin"), new_sid("pin")]
    a0 = mark(alice)
    for sid in sids:
        reply = alice.iq(PLACER, "set", offer(sid, alice.full_jid))
        assert reply.get("type") == "result", dump(reply)
        jingle_set(alice, a0, sid, "session-accept")
    assert report(alice, a0, f"offer {sids[0]}") == f"offer {sids[0]} room"
    # The pool chose the other worker; offer() moved the session to the room's
    # (after a worker that is not the relay's was refused, changing nothing).
    assert report(alice, a0, f"offer {sids[1]}") == \
        f"offer {sids[1]} pinned=1 before-same=0 after-same=1 badworker=0,1"
    # The answer the module built went out: its own sources, one per content.
    acc = jingle_set(alice, a0, sids[1], "session-accept").find(JINGLE)
    got = {c.get("name"): ssrcs_of(rtp_of(c)) for c in acc.findall("{%s}content" % NS_JINGLE)}
    assert got == {"a0": ["55555"], "v1": ["55556"]}, dump(acc)
    # Outside offer(): refused, on an incoming and on a placed session.
    r = command(alice, f"setworker {sids[1]}", "refused setworker")
    assert "from offer() only" in r, r
    # A session placed on the room's worker (bf_session_place_offer's @worker).
    b0 = mark(bob)
    placed = command(alice, f"place {bob.full_jid} pinned", "placed ")
    assert placed.endswith("same-worker=1"), placed
    psid = placed.split()[1]
    jingle_set(bob, b0, psid, "session-initiate")
    r = command(alice, f"setworker {psid}", "refused setworker")
    assert "from offer() only" in r, r
    for sid in sids + [psid]:
        end(alice, sid)


def test_accept_as_offered_answers_with_the_callers_media_and_no_source(relay, alice):
    """BF_SESSION_ACCEPT from offer(): the core answers every content with
    what the caller offered (the same payload types, under its numbers) and
    announces no source of ours."""
    command(alice, "hello", "unknown command")   # alice is who the module reports to
    sid = new_sid("asis")
    a0 = mark(alice)
    sent = offer(sid, alice.full_jid)
    reply = alice.iq(PLACER, "set", sent)
    assert reply.get("type") == "result", dump(reply)
    assert report(alice, a0, f"offer {sid}") == f"offer {sid} as-offered"
    acc = jingle_set(alice, a0, sid, "session-accept").find(JINGLE)
    offered = {c.get("name"): pts_of(rtp_of(c))
               for c in ET.fromstring(sent).iter("{%s}content" % NS_JINGLE)}
    contents = acc.findall("{%s}content" % NS_JINGLE)
    assert {c.get("name"): pts_of(rtp_of(c)) for c in contents} == offered, dump(acc)
    assert all(ssrcs_of(rtp_of(c)) == [] for c in contents), dump(acc)
    assert all(c.find("{%s}transport" % NS_ICE) is not None for c in contents), dump(acc)
    end(alice, sid)


# ---------------------------------------------------------------------------
# bf_session_place_offer, bf_session_get_peer_media
# ---------------------------------------------------------------------------

def test_place_offer_sends_the_module_built_offer_with_conference_info(relay, alice, bob):
    b0 = mark(bob)
    placed = command(alice, f"place {bob.full_jid} coin", "placed ")
    sid = placed.split()[1]
    assert re.fullmatch(r"bf[0-9a-f]{32}", sid), placed
    iq = jingle_set(bob, b0, sid, "session-initiate")
    assert iq.get("from") == ROOM, dump(iq)
    j = iq.find(JINGLE)
    assert j.get("initiator") == ROOM, dump(j)
    contents = {c.get("name"): c for c in j.findall("{%s}content" % NS_JINGLE)}
    assert list(contents) == ["audio", "video"], dump(j)
    audio, video = rtp_of(contents["audio"]), rtp_of(contents["video"])
    assert audio.get("media") == "audio" and video.get("media") == "video"
    assert contents["audio"].get("senders", "both") == "both"
    assert contents["video"].get("senders") == "initiator", dump(contents["video"])
    assert pts_of(audio) == [("111", "opus"), ("0", "PCMU")], dump(audio)
    opus = audio.find("{%s}payload-type" % NS_RTP)
    assert (opus.get("clockrate"), opus.get("channels")) == ("48000", "2")
    assert [(p.get("name"), p.get("value")) for p in opus.findall("{%s}parameter" % NS_RTP)] \
        == [("useinbandfec", "1")], dump(opus)
    assert [(h.get("id"), h.get("uri")) for h in audio.findall("{%s}rtp-hdrext" % NS_HDREXT)] \
        == [("1", AUDIO_LEVEL)], dump(audio)
    assert pts_of(video) == [("96", "VP8")], dump(video)
    vp8 = video.find("{%s}payload-type" % NS_RTP)
    assert [(f.get("type"), f.get("subtype")) for f in vp8.findall("{%s}rtcp-fb" % NS_FB)] \
        == [("nack", "pli")], dump(vp8)
    # The module's sources as built (cname, msid), not rewritten.
    assert ssrcs_of(audio) == ["11111"] and ssrcs_of(video) == ["22222"], dump(j)
    params = {p.get("name"): p.get("value")
              for p in audio.find("{%s}source" % NS_SSMA).findall("{%s}parameter" % NS_SSMA)}
    assert params == {"cname": "placer-cname", "msid": "placer-stream placer-audio"}, params
    # One BUNDLE group of every content; our ICE-UDP transport with DTLS actpass.
    groups = j.findall("{%s}group" % NS_GROUPING)
    assert [(g.get("semantics"), [c.get("name") for c in g]) for g in groups] \
        == [("BUNDLE", ["audio", "video"])], dump(j)
    for c in contents.values():
        t = c.find("{%s}transport" % NS_ICE)
        assert t is not None and t.get("ufrag") and t.get("pwd"), dump(c)
        assert t.find("{%s}fingerprint" % NS_DTLS).get("setup") == "actpass", dump(t)
    ufrags = {c.find("{%s}transport" % NS_ICE).get("ufrag") for c in contents.values()}
    assert len(ufrags) == 1, ufrags
    # XEP-0298 / XEP-0521: <conference-info isfocus='true'><user entity=/>, intact, last.
    info = list(j)[-1]
    assert info.tag == "{%s}conference-info" % NS_COIN, dump(j)
    assert info.get("isfocus") == "true", dump(info)
    users = info.findall("{%s}user" % NS_COIN)
    assert [u.get("entity") for u in users] == [f"xmpp:{alice.full_jid}"], dump(info)
    assert len(j.findall("{%s}conference-info" % NS_COIN)) == 1

    # Not answered yet: no peer media, no content to add.
    assert command(alice, f"media {sid}", f"media {sid}") == f"media {sid} none"
    r = command(alice, f"add {sid} early", "refused add")
    assert "is not active" in r, r

    bob_jid[0] = bob.full_jid
    a0 = mark(alice)
    reply = bob.iq(ROOM, "set", bob_accept(sid))
    assert reply.get("type") == "result", dump(reply)
    want = "audio/audio/0 codecs=111:opus ssrcs=777; video/video/1 codecs=96:VP8 ssrcs=888"
    assert report(alice, a0, f"answered {sid}") == f"answered {sid} {want}"
    assert command(alice, f"media {sid}", f"media {sid}") == f"media {sid} {want}"
    end(alice, sid)
    term = jingle_set(bob, b0, sid, "session-terminate").find(JINGLE)
    assert term.find("{%s}reason/{%s}success" % (NS_JINGLE, NS_JINGLE)) is not None, dump(term)


def test_place_offer_to_a_bare_jid_proposes(relay, alice, bob):
    b0 = mark(bob)
    placed = command(alice, "place bob@localhost plain", "placed ")
    sid = placed.split()[1]

    def jmi(kind):
        def pred(e):
            c = e.find("{%s}%s" % (NS_JMI, kind)) if e.tag == MESSAGE else None
            return c is not None and c.get("id") == sid
        return wait_from(bob, b0, pred, 10, f"JMI {kind} {sid}")

    m = jmi("propose")
    assert m.get("from") == ROOM, dump(m)
    descs = m.find("{%s}propose" % NS_JMI).findall("{%s}description" % NS_RTP)
    assert [d.get("media") for d in descs] == ["audio", "video"], dump(m)
    # Nothing was initiated: the proposal waits for a <proceed/>.
    assert not [e for e in bob.received[b0:] if e.tag == IQ and e.find(JINGLE) is not None
                and e.find(JINGLE).get("sid") == sid]
    end(alice, sid)
    assert jmi("retract").get("from") == ROOM


@pytest.mark.parametrize("how,why", [
    ("empty", "an offer has 1 to 8 contents, not 0"),
    ("nsextra", "is in a Jingle namespace (urn:xmpp:jingle:1)"),
    ("manyextra", "more than 4 extra <jingle/> children"),
    ("bigextra", "extra <jingle/> children over 4096 bytes"),
    ("badlocal", "is not a full JID of relay.localhost"),
    ("badworker", "that worker is not one of the relay's"),
])
def test_place_offer_refusals(relay, alice, bob, how, why):
    b0 = mark(bob)
    r = command(alice, f"place {bob.full_jid} {how}", f"refused {how}")
    assert why in r, r
    time.sleep(0.5)
    assert not [e for e in bob.received[b0:] if e.get("from", "").startswith(PLACER)], \
        "\n".join(dump(e) for e in bob.received[b0:])


def test_place_offer_refuses_a_bad_jid(relay, alice):
    r = command(alice, "place a@b@c plain", "refused plain")
    assert "'a@b@c' is not a JID" in r, r


# ---------------------------------------------------------------------------
# bf_session_add_content, content_answered
# ---------------------------------------------------------------------------

def content_answer(action, sid, name, body):
    return jingle(action, sid,
                  f"<content creator='initiator' name='{name}' senders='both'>{body}</content>")


def test_add_content_and_the_peers_answers(relay, alice, bob):
    sid, _ = placed_and_answered(alice, bob)
    b0 = mark(bob)
    assert command(alice, f"add {sid} extra", "added") == f"added {sid} extra"
    add = jingle_set(bob, b0, sid, "content-add").find(JINGLE)
    (c,) = add.findall("{%s}content" % NS_JINGLE)
    assert (c.get("name"), c.get("creator")) == ("extra", "initiator"), dump(add)
    desc = rtp_of(c)
    assert desc.get("media") == "audio" and pts_of(desc) == [("0", "PCMU")], dump(c)
    assert ssrcs_of(desc) == ["33333"], dump(c)
    # bob BUNDLEd: the new content goes on the session's one transport.
    init = jingle_set(bob, 0, sid, "session-initiate").find(JINGLE)
    assert c.find("{%s}transport" % NS_ICE).get("ufrag") == \
        init.find("{%s}content/{%s}transport" % (NS_JINGLE, NS_ICE)).get("ufrag")

    # Refusals: the name is taken; no codec.
    r = command(alice, f"add {sid} extra", "refused add")
    assert "has a content 'extra' already" in r, r
    r = command(alice, f"add {sid} nocodec bad", "refused add")
    assert "'nocodec' has no codec" in r, r

    a0 = mark(alice)
    accept = (f"<description xmlns='{NS_RTP}' media='audio'>"
              "<payload-type id='0' name='PCMU' clockrate='8000'/>" + source(999)
              + f"<rtcp-mux/></description>{bob_transport()}")
    reply = bob.iq(ROOM, "set", content_answer("content-accept", sid, "extra", accept))
    assert reply.get("type") == "result", dump(reply)
    r = report(alice, a0, f"content-answered {sid} extra")
    assert r.startswith(f"content-answered {sid} extra accepted "), r
    assert r.endswith("; extra/audio/0 codecs=0:PCMU ssrcs=999"), r

    assert command(alice, f"add {sid} second", "added") == f"added {sid} second"
    jingle_set(bob, b0, sid, "content-add")
    a0 = mark(alice)
    reply = bob.iq(ROOM, "set", jingle("content-reject", sid,
                                       "<content creator='initiator' name='second'/>"
                                       "<reason><decline/></reason>"))
    assert reply.get("type") == "result", dump(reply)
    r = report(alice, a0, f"content-answered {sid} second")
    assert r.startswith(f"content-answered {sid} second rejected "), r
    assert "second/" not in r and "extra/audio" in r, r

    # At most 16 contents in a session (what a peer's parser takes; belfry's
    # refuses more): audio, video, extra and 13 more; the 17th is refused.
    for n in range(13):
        assert command(alice, f"add {sid} more{n}", "added") == f"added {sid} more{n}"
    wait_from(bob, b0, lambda e: e.tag == IQ and e.find(JINGLE) is not None
              and e.find(JINGLE).find("{%s}content[@name='more12']" % NS_JINGLE) is not None,
              10, "the last content-add")
    b1 = mark(bob)
    r = command(alice, f"add {sid} toomany", "refused add")
    assert f"session {sid} has 16 contents already" in r, r
    time.sleep(0.3)
    assert not [e for e in bob.received[b1:] if e.tag == IQ and e.find(JINGLE) is not None], \
        "\n".join(dump(e) for e in bob.received[b1:])
    end(alice, sid)


# ---------------------------------------------------------------------------
# bf_session_accept_content
# ---------------------------------------------------------------------------

def test_accept_content_answers_the_peers_content_add(relay, alice, bob):
    sid, _ = placed_and_answered(alice, bob)
    b0, a0 = mark(bob), mark(alice)
    desc = (f"<description xmlns='{NS_RTP}' media='audio'>"
            "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
            "<payload-type id='0' name='PCMU' clockrate='8000'/>" + source(1234)
            + "<rtcp-mux/></description>")
    add = jingle("content-add", sid,
                 f"<content creator='responder' name='take1' senders='both'>{desc}"
                 f"{bob_transport()}</content>")
    reply = bob.iq(ROOM, "set", add)
    assert reply.get("type") == "result", dump(reply)
    r = report(alice, a0, f"content-added {sid} take1")
    m = re.fullmatch(rf"content-added {sid} take1 accept=1 notwaiting=0:(.*) badcodec=0:(.*)", r)
    assert m, r
    assert m.group(1) == f"no content 'nope' waiting for an answer in session {sid}", r
    assert "payload type 99 (foo/8000) of content 'take1' is not one offered" in m.group(2), r
    acc = jingle_set(bob, b0, sid, "content-accept").find(JINGLE)
    (c,) = acc.findall("{%s}content" % NS_JINGLE)
    assert (c.get("name"), c.get("creator")) == ("take1", "responder"), dump(acc)
    assert pts_of(rtp_of(c)) == [("111", "opus"), ("0", "PCMU")], dump(c)
    assert ssrcs_of(rtp_of(c)) == ["44444"], dump(c)
    # Exactly one content-accept: the refused answers sent nothing.
    accepts = [e for e in bob.received[b0:] if e.tag == IQ and e.find(JINGLE) is not None
               and e.find(JINGLE).get("action") == "content-accept"]
    assert len(accepts) == 1, "\n".join(dump(e) for e in accepts)
    r = command(alice, f"media {sid}", f"media {sid}")
    assert r.endswith("; take1/audio/0 codecs=111:opus,0:PCMU ssrcs=1234"), r

    # A content the module does not take: content-reject.
    a0 = mark(alice)
    add = jingle("content-add", sid,
                 f"<content creator='responder' name='keep1' senders='both'>{desc}"
                 f"{bob_transport()}</content>")
    assert bob.iq(ROOM, "set", add).get("type") == "result"
    assert report(alice, a0, f"content-added {sid} keep1") == \
        f"content-added {sid} keep1 rejected"
    jingle_set(bob, b0, sid, "content-reject")
    end(alice, sid)


# ---------------------------------------------------------------------------
# description_info (API 5)
# ---------------------------------------------------------------------------

def test_description_info_reaches_the_hook_after_the_ack(relay, alice, bob):
    sid, _ = placed_and_answered(alice, bob)
    a0 = mark(alice)
    # XEP-0167 §9 (Example 52's form): the size bob displays the video at.
    info = jingle("description-info", sid,
                  "<content creator='initiator' name='video'>"
                  f"<description xmlns='{NS_RTP}' media='video'>"
                  "<payload-type id='96' name='VP8' clockrate='90000'>"
                  "<parameter name='width' value='320'/><parameter name='height' value='180'/>"
                  "</payload-type></description></content>"
                  "<content creator='initiator' name='audio'>"
                  f"<description xmlns='{NS_RTP}' media='audio'>"
                  "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
                  "</description></content>")
    reply = bob.iq(ROOM, "set", info)
    assert reply.get("type") == "result", dump(reply)
    assert report(alice, a0, f"description-info {sid}") == \
        f"description-info {sid} video:96:320x180; audio:111:-x-"
    end(alice, sid)


# ---------------------------------------------------------------------------
# draining: no new session of the module's own either
# ---------------------------------------------------------------------------

def test_place_offer_refused_while_draining(fresh_prosody, belfry_factory):
    import signal
    b = belfry_factory(port=fresh_prosody.component_port,
                       modules=f"placer\npath = {MODULE_DIR}",
                       groups={"media": {"addresses": "127.0.0.1", "ice-timeout": "120"}})
    b.start()
    carol = jingle_client(fresh_prosody, "alice", "drain")
    dave = jingle_client(fresh_prosody, "bob", "drain")
    try:
        command(carol, "hello", "unknown command")
        # A session running keeps the draining relay up.
        sid = new_sid("drain")
        a0 = mark(carol)
        assert carol.iq(PLACER, "set", offer(sid, carol.full_jid)).get("type") == "result"
        jingle_set(carol, a0, sid, "session-accept")
        b.send_signal(signal.SIGUSR1)
        b.wait_log("drain: taking no new sessions; 1 running", 5)
        d0 = mark(dave)
        r = command(carol, f"place {dave.full_jid} plain", "refused plain")
        assert r == "refused plain: the relay is draining", r
        time.sleep(0.3)
        assert not [e for e in dave.received[d0:] if e.get("from", "").startswith(PLACER)]
        end(carol, sid)
        rc, _ = b.wait_exit(10)
        assert rc == 0, b.log()[-3000:]
    finally:
        carol.close()
        dave.close()
