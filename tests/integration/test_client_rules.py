"""The signalling rules of real clients, as belfry must meet them: each test
names the client source a rule comes from (Conversations 2.12.8, Dino
master, Monal 2024-10, Movim master; see ../../README.md "Real clients'
rules" and ../shared/reference/clients.md) and drives belfry with real
slixmpp clients through a real Prosody 0.12, in the style of test_call.py:
raw Jingle / JMI stanzas, fake candidates and fingerprints, no media.

One belfry with both modules (`load = echo;call`): echo@relay.localhost
answers calls itself, bob\\40localhost@relay.localhost relays them to bob.
"""

import base64
import hashlib
import os
import re
import time
from xml.sax.saxutils import quoteattr

import pytest

from harness import BELFRY_BIN, ECHO, NS_CLIENT
from relay_fixtures import _belfry_survives, belfry_fixture, client_fixture, prosody_fixture  # noqa: F401
from test_call import (A, ALICE_ADDR, ALL_USERS, B, B_RES, BOB_ADDR, BUNDLE, CAROL,  # noqa: F401
                       MEDIA, NS_HINTS, addr, alice_offer, bare, calls, candidate_xml, content_xml,
                       describe, info_payload, iq_error, is_jingle, jingle_of, jmi_child, new_call,
                       online, online_as, pt_xml, reason_of, received, relay_stanzas, sources_xml,
                       terminate_xml, trickle_xml, wait_new)
from test_jingle import (IQ, MESSAGE, NS_DTLS, NS_ICE, NS_JINGLE, NS_JMI, NS_RTP, dump, jingle,
                         local, new_sid)

NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_RECEIPTS = "urn:xmpp:receipts"
NS_OMEMO_DTLS = "http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification"
NS_AXOLOTL = "eu.siacs.conversations.axolotl"

A_RES = "alicephone-Q7zr"

# What Conversations needs in the disco#info behind the caps before it shows
# a call button (xmpp/jingle/RtpCapability.java BASIC_RTP_REQUIREMENTS,
# VIDEO_REQUIREMENTS); JMI is what makes it propose rather than initiate
# (and what Monal checks, chatViewController.m).
CONVERSATIONS_FEATURES = {
    "urn:xmpp:jingle:1", "urn:xmpp:jingle:transports:ice-udp:1",
    "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:dtls:0",
    "urn:xmpp:jingle:apps:rtp:audio", "urn:xmpp:jingle:apps:rtp:video",
    "urn:xmpp:jingle-message:0",
}
# What Dino checks on the JID that proceeded before it calls it
# (xmpp-vala/src/module/xep/0166_jingle/jingle_module.vala is_jingle_available,
# select_transport -> ICE-UDP's is_transport_available).
DINO_FEATURES = {"urn:xmpp:jingle:1", "urn:xmpp:jingle:transports:ice-udp:1"}


# ---------------------------------------------------------------------------
# fixtures: one Prosody, one belfry (echo + call)
# ---------------------------------------------------------------------------

rules_prosody = prosody_fixture("rules_prosody", ALL_USERS)
relay = belfry_fixture("rules_prosody", "belfry-rules", modules="echo;call",
                       groups={"media": MEDIA, "call": {"ring-timeout": "20"}})
alice = client_fixture("alice", "rules_prosody", lambda p: online(p, "alice", A_RES))
bob = client_fixture("bob", "rules_prosody", lambda p: online(p, "bob", B_RES))
carol = client_fixture("carol", "rules_prosody",
                       lambda p: online_as(p, f"{CAROL}/carolres", ALL_USERS["carol"]))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def mark(client):
    return len(received(client))


def features(query):
    return {f.get("var") for f in query.findall("{%s}feature" % NS_DISCO_INFO)}


def caps_ver(query):
    """XEP-0115 §5.1 from a disco#info <query/> (no forms here), as
    Conversations recomputes it (entities/ServiceDiscoveryResult.java
    mkCapHash)."""
    ids = sorted((i.get("category"), i.get("type"),
                  i.get("{http://www.w3.org/XML/1998/namespace}lang") or "", i.get("name") or "")
                 for i in query.findall("{%s}identity" % NS_DISCO_INFO))
    feats = sorted(features(query))
    s = "".join("/".join(i) + "<" for i in ids) + "".join(f + "<" for f in feats)
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def disco(client, jid, node=None):
    node_attr = f" node={quoteattr(node)}" if node else ""
    reply = client.iq(jid, "get", f"<query xmlns='{NS_DISCO_INFO}'{node_attr}/>")
    assert reply.get("type") == "result", f"disco#info to {jid} not answered: {dump(reply)}"
    assert reply.get("from") == jid, dump(reply)
    q = reply.find("{%s}query" % NS_DISCO_INFO)
    assert q is not None, dump(reply)
    return q


def message(client, to, body, msg_id=None):
    msg_id = msg_id or f"m-{os.urandom(4).hex()}"
    client.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(to)} "
                    f"id={quoteattr(msg_id)}>{body}</message>")
    return msg_id


def propose_xml(jmi_id, media=("audio",), receipt=True):
    """A propose as Conversations sends it (generator/MessageGenerator.java
    sessionProposal()): a description per medium, receipt request, store."""
    return (f"<propose xmlns='{NS_JMI}' id={quoteattr(jmi_id)}>"
            + "".join(f"<description xmlns='{NS_RTP}' media='{m}'/>" for m in media)
            + "</propose>" + (f"<request xmlns='{NS_RECEIPTS}'/>" if receipt else "")
            + f"<store xmlns='{NS_HINTS}'/>")


def jmi_body(kind, jmi_id, inner=""):
    return (f"<{kind} xmlns='{NS_JMI}' id={quoteattr(jmi_id)}>{inner}</{kind}>"
            f"<store xmlns='{NS_HINTS}'/>")


def is_jmi(e, kind, jmi_id=None):
    c = jmi_child(e, kind)
    return c is not None and (jmi_id is None or c.get("id") == jmi_id)


def is_receipt(e, msg_id):
    if e.tag != MESSAGE or e.get("type") == "error":
        return False
    r = e.find("{%s}received" % NS_RECEIPTS)
    return r is not None and r.get("id") == msg_id


def assert_no(client, start, pred, seconds, what):
    time.sleep(seconds)
    got = [e for e in received(client, start) if pred(e)]
    assert not got, f"{client.full_jid} got {what}:\n" + "\n".join(map(dump, got))


def jingle_set(client, start, frm, sid, action, timeout=10.0):
    el = wait_new(client, start, lambda e: is_jingle(e, frm, sid, action), timeout,
                  f"{action} sid={sid} from {frm}")
    assert el.get("to") == client.full_jid, dump(el)
    return el


def ack_of(client, start, iq_id, timeout=5.0):
    return wait_new(client, start, lambda e: e.tag == IQ and e.get("id") == iq_id
                    and e.get("type") in ("result", "error"), timeout, f"reply to {iq_id}")


def send_set(client, to, payload):
    iq_id = f"rules-{os.urandom(5).hex()}"
    start = mark(client)
    client.send_raw(f"<iq xmlns='jabber:client' type='set' to={quoteattr(to)} "
                    f"id={quoteattr(iq_id)}>{payload}</iq>")
    return ack_of(client, start, iq_id)


def echo_offer(sid, initiator, media=("audio",), extra_transport="", extra_description="",
               setup="actpass"):
    """An offer to echo@ with the given contents (a0 audio, v1 video), on
    one BUNDLE transport."""
    tr = (f"<transport xmlns='{NS_ICE}' ufrag='{A.ufrag}' pwd='{A.pwd}'>"
          f"<fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='{setup}'>{A.fp}</fingerprint>"
          f"{extra_transport}</transport>")
    body = ""
    if "audio" in media:
        body += content_xml("a0", f"<description xmlns='{NS_RTP}' media='audio'>"
                            + pt_xml(111, "opus", 48000, 2) + sources_xml(A.ssrcs[:1], A.cname)
                            + extra_description + "<rtcp-mux/></description>", tr)
    if "video" in media:
        body += content_xml("v1", f"<description xmlns='{NS_RTP}' media='video'>"
                            + pt_xml(96, "VP8", 90000) + sources_xml(A.ssrcs[1:2], A.cname)
                            + extra_description + "<rtcp-mux/></description>", tr)
    return jingle("session-initiate", sid, body, f" initiator={quoteattr(initiator)}")


def end_echo(client, relay, sid):
    reply = client.iq(ECHO, "set", terminate_xml(sid, "success"))
    assert reply.get("type") == "result", dump(reply)
    relay.wait_log(f"session {sid} with {client.full_jid} ended: success", 5)


# ---------------------------------------------------------------------------
# 1. caps: presence from a full JID, ver verified on that JID (Conversations)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("address", [ECHO, BOB_ADDR], ids=["echo", "relay-address"])
def test_presence_caps_verify_on_the_full_jid_that_sent_them(rules_prosody, relay, address):
    """Conversations (parser/PresenceParser.java, XmppConnectionService.java
    fetchCaps(), RtpCapability.java) takes caps from the presence's sender,
    asks that very JID for disco#info at node#ver, recomputes the sha-1 ver
    and only then shows a call button; Monal only reads caps from a presence
    with a resource (xmpp.m).  echo@ must answer the subscription too."""
    sub = online(rules_prosody, "alice", f"caps-{os.urandom(3).hex()}")
    try:
        start = mark(sub)
        sub.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(address)} type='subscribe'/>")
        # (The approval itself reaches the client as a roster push.)
        pres = wait_new(sub, start, lambda e: e.tag == "{%s}presence" % NS_CLIENT
                        and bare(e.get("from")) == address and e.get("type") is None, 10,
                        f"available presence from {address}/*")
        frm = pres.get("from")
        assert "/" in frm and frm.split("/", 1)[1], f"presence from a bare JID: {dump(pres)}"
        c = pres.find("{%s}c" % NS_CAPS)
        assert c is not None, f"no caps: {dump(pres)}"
        assert c.get("hash") == "sha-1" and c.get("node") and c.get("ver"), dump(pres)
        node = f"{c.get('node')}#{c.get('ver')}"
        q = disco(sub, frm, node)
        assert q.get("node") == node, dump(q)
        assert caps_ver(q) == c.get("ver"), f"caps ver does not verify: {dump(q)}"
        assert CONVERSATIONS_FEATURES | {NS_CAPS} <= features(q), dump(q)
        # A probe (the server's, at the user's login) gets the same presence.
        start = mark(sub)
        sub.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(address)} type='probe'/>")
        again = wait_new(sub, start, lambda e: e.tag == "{%s}presence" % NS_CLIENT
                         and e.get("from") == frm and e.get("type") is None, 10,
                         f"presence from {frm} after a probe")
        assert again.find("{%s}c" % NS_CAPS).get("ver") == c.get("ver"), dump(again)
        sub.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(address)} type='unsubscribe'/>")
    finally:
        sub.close()


# ---------------------------------------------------------------------------
# 2. disco#info on every resource of every address (Dino)
# ---------------------------------------------------------------------------

def test_disco_info_on_every_resource(relay, alice, bob, calls):
    """Dino disco-queries the full JID that proceeded and silently drops the
    call without urn:xmpp:jingle:1 and ICE-UDP there (libdino/src/service/
    calls.vala session_accepted -> call_resource -> jingle_module.vala
    is_jingle_available); a callee may ask the full JID that calls it."""
    for jid in (f"{ECHO}/anything", f"{ECHO}/belfry", f"{BOB_ADDR}/{os.urandom(4).hex()}",
                f"{ALICE_ADDR}/x"):
        assert CONVERSATIONS_FEATURES <= features(disco(alice, jid)), jid
    c = new_call(calls, relay, alice, bob)
    c.initiate(video=False)
    c.wait_propose()
    q = disco(bob, c.b_from)   # the JID leg B comes from
    assert DINO_FEATURES <= features(q), dump(q)
    c.a_send(terminate_xml(c.a_sid, "cancel"))


# ---------------------------------------------------------------------------
# 3. JMI: receipts and ringing, both ways
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("address", [ECHO, BOB_ADDR], ids=["echo", "relay-address"])
def test_propose_gets_receipt_then_ringing_then_proceed(relay, alice, address):
    """As a callee does for Conversations' propose (MessageParser.java: the
    receipt for "jm-propose-<sid>" is "device found"), Monal's (MLCall.m:
    no ringing or proceed within 30 s ends the call) and Movim's
    (Visio.php onPropose: ringing at once): the receipt, <ringing/>,
    <proceed/>, in that order, to the proposer's full JID, promptly."""
    pid = new_sid("prop")
    start = mark(alice)
    t0 = time.monotonic()
    mid = message(alice, address, propose_xml(pid), msg_id=f"jm-propose-{pid}")
    proceed = wait_new(alice, start, lambda e: is_jmi(e, "proceed", pid), 5, f"proceed {pid}")
    took = time.monotonic() - t0
    assert took < 2.0, f"proceed after {took:.1f}s"
    got = [e for e in received(alice, start) if e.get("from") == address]
    kinds = []
    for e in got:
        if is_receipt(e, mid):
            kinds.append("receipt")
        elif jmi_child(e) is not None:
            kinds.append(local(jmi_child(e).tag))
    assert kinds == ["receipt", "ringing", "proceed"], "\n".join(map(dump, got))
    for e in got:
        assert e.get("to") == alice.full_jid and e.get("type") == "chat", dump(e)
        assert jmi_child(e) is None or jmi_child(e).get("id") == pid, dump(e)
    ids = [e.get("id") for e in got]
    assert all(ids) and len(set(ids)) == len(ids), f"message ids not unique: {ids}"
    assert proceed is got[-1]
    # Without a receipt request: no receipt, still ringing and proceed.
    pid2 = new_sid("prop-norcpt")
    start = mark(alice)
    mid2 = message(alice, address, propose_xml(pid2, receipt=False))
    wait_new(alice, start, lambda e: is_jmi(e, "proceed", pid2), 5, f"proceed {pid2}")
    got = received(alice, start)
    assert any(is_jmi(e, "ringing", pid2) for e in got), "\n".join(map(dump, got))
    assert not any(is_receipt(e, mid2) for e in got), "\n".join(map(dump, got))


def test_placed_propose_asks_for_a_receipt_and_the_receipt_rings_the_caller(relay, alice, bob,
                                                                           calls):
    """belfry proposes as Conversations does (MessageGenerator.java
    sessionProposal(): type chat, receipt request, <store/>), so that an
    offline device gets it and a Conversations callee's receipt (sent on
    delivery, MessageParser.java processMessageReceipts()) tells belfry that
    a device rings: the caller hears ringing once, however many receipts
    and <ringing/>s follow."""
    c = new_call(calls, relay, alice, bob)
    c.initiate(video=False)
    msg = c.wait_propose()
    assert msg.get("type") == "chat", dump(msg)
    assert msg.find("{%s}request" % NS_RECEIPTS) is not None, f"no receipt request: {dump(msg)}"
    assert msg.find("{%s}store" % NS_HINTS) is not None, f"no <store/>: {dump(msg)}"
    assert msg.get("id"), dump(msg)
    assert c.a_actions() == [], c.a_actions()
    start_b = mark(bob)
    # bob's receipt, as Conversations sends it (to the proposer's full JID).
    message(bob, c.b_from, f"<received xmlns='{NS_RECEIPTS}' id={quoteattr(msg.get('id'))}/>"
                           f"<store xmlns='{NS_HINTS}'/>")
    ring = c.wait_a("session-info", 5)
    assert local(info_payload(ring).tag) == "ringing", dump(ring)
    # Never answered with an error.
    assert_no(bob, start_b, lambda e: e.get("type") == "error", 0.5, "an error for a receipt")
    # A JMI <ringing/> as well (Monal, Movim, Conversations >= 2.13): no second ringing.
    c.bob.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(c.b_from)} "
                   f"id='r-{os.urandom(3).hex()}'>" + jmi_body("ringing", c.b_sid) + "</message>")
    time.sleep(0.7)
    assert c.a_actions() == ["session-info"], c.a_actions()


def test_jmi_ringing_rings_the_caller(relay, alice, bob, calls):
    """A JMI <ringing/> from bob's device (Monal MLCall.m sendJmiRinging, Movim)
    reaches alice as session-info <ringing/>."""
    c = new_call(calls, relay, alice, bob)
    c.initiate(video=False)
    c.wait_propose()
    c.b_jmi("ringing")
    ring = c.wait_a("session-info", 5)
    assert local(info_payload(ring).tag) == "ringing", dump(ring)


# ---------------------------------------------------------------------------
# 4. proceed/reject/ringing only from the callee's resource, to our full JID
# ---------------------------------------------------------------------------

def test_jmi_answers_only_from_the_callee_to_our_full_jid(relay, alice, bob, carol, calls):
    """Conversations takes a <proceed/> only "addressedDirectly" (to its own
    full JID) and from the bare JID it proposed to
    (JingleConnectionManager.java deliverMessage()); anything else would let
    a third party, or a copy fanned out to the bare address, take the call.
    Ignored and logged."""
    c = new_call(calls, relay, alice, bob)
    c.initiate(video=False)
    c.wait_propose()
    start_b = mark(bob)
    ignored_before = relay.count("ignored <")
    # carol proceeds; bob proceeds / rejects / rings to belfry's BARE address.
    carol.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(c.b_from)} "
                   f"id='x1'>" + jmi_body("proceed", c.b_sid) + "</message>")
    for kind in ("proceed", "reject", "ringing"):
        bob.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(ALICE_ADDR)} "
                     f"id='x-{kind}'>" + jmi_body(kind, c.b_sid) + "</message>")
    relay.wait_log("ignored <", 5, count=ignored_before + 4)
    log = relay.log()
    assert f"ignored <proceed/> from {CAROL}/carolres" in log, log[-3000:]
    assert f"ignored <proceed/> from {bob.full_jid} to {ALICE_ADDR}: not to our full JID" in log
    assert f"ignored <reject/> from {bob.full_jid} to {ALICE_ADDR}" in log
    assert_no(bob, start_b, lambda e: jingle_of(e) is not None, 0.5, "Jingle after a wrong proceed")
    assert c.a_actions() == [], f"alice's leg moved: {c.a_actions()}"
    # The right one works.
    c.b_jmi("proceed")
    c.wait_b("session-initiate")


# ---------------------------------------------------------------------------
# 5. the session's media are the proposal's
# ---------------------------------------------------------------------------

def test_our_session_initiate_carries_exactly_the_proposed_media(relay, alice, bob, calls):
    """Conversations ends a call whose session-initiate differs from the
    proposal (JingleRtpConnection.java receiveSessionInitiate(): security
    error); Monal treats video in an audio-only proposal as an attack."""
    for video in (False, True):
        c = new_call(calls, relay, alice, bob, tag=f"media{int(video)}")
        c.initiate(video=video)
        msg = c.wait_propose()
        proposed = sorted(d.get("media") for d in jmi_child(msg, "propose"))
        c.b_jmi("proceed")
        init = c.wait_b("session-initiate")
        assert sorted(g["media"] for g in describe(jingle_of(init)).values()) == proposed, \
            dump(init)
        c.a_send(terminate_xml(c.a_sid, "success"))


@pytest.mark.parametrize("address", [ECHO, BOB_ADDR], ids=["echo", "relay-address"])
def test_session_initiate_with_other_media_than_proposed_is_a_security_error(relay, alice, bob,
                                                                             address):
    pid = new_sid("mismatch")
    start = mark(alice)
    message(alice, address, propose_xml(pid, media=("audio",)))
    wait_new(alice, start, lambda e: is_jmi(e, "proceed", pid), 5, f"proceed {pid}")
    start_b = mark(bob)
    reply = alice.iq(address, "set", echo_offer(pid, alice.full_jid, media=("audio", "video")))
    assert reply.get("type") == "result", dump(reply)
    term = jingle_set(alice, start, address, pid, "session-terminate", 5)
    reason, text = reason_of(term)
    assert reason == "security-error", dump(term)
    assert text and "proposal" in text, dump(term)
    assert "session-accept" not in [jingle_of(e).get("action") for e in received(alice, start)
                                    if is_jingle(e, address, pid)]
    assert_no(bob, start_b, lambda e: jmi_child(e, "propose") is not None, 0.5,
              "a propose for a refused call")
    # The same media as proposed: taken.
    pid = new_sid("match")
    start = mark(alice)
    message(alice, ECHO, propose_xml(pid, media=("audio", "video")))
    wait_new(alice, start, lambda e: is_jmi(e, "proceed", pid), 5, f"proceed {pid}")
    reply = alice.iq(ECHO, "set", echo_offer(pid, alice.full_jid, media=("audio", "video")))
    assert reply.get("type") == "result", dump(reply)
    jingle_set(alice, start, ECHO, pid, "session-accept", 10)
    end_echo(alice, relay, pid)


# ---------------------------------------------------------------------------
# 6. DTLS setup: actpass in offers, active|passive (the same) in answers
# ---------------------------------------------------------------------------

def bob_answer_setups(sid, responder, initiator, setups):
    """bob's answer to an audio+video offer, one DTLS setup per content."""
    body = ""
    for (name, media, pts), setup in zip((("a0", "audio", pt_xml(111, "opus", 48000, 2)),
                                          ("v1", "video", pt_xml(96, "VP8", 90000))), setups):
        tr = (f"<transport xmlns='{NS_ICE}' ufrag='{B.ufrag}' pwd='{B.pwd}'>"
              f"<fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='{setup}'>{B.fp}</fingerprint>"
              + candidate_xml(*B.cands[0], 0) + "</transport>")
        body += content_xml(name, f"<description xmlns='{NS_RTP}' media='{media}'>{pts}"
                            "<rtcp-mux/></description>", tr)
    body += BUNDLE
    return jingle("session-accept", sid, body,
                  f" initiator={quoteattr(initiator)} responder={quoteattr(responder)}")


def test_belfrys_offers_say_actpass_and_answers_one_role(relay, alice, bob, calls):
    """Conversations requires actpass from the initiator and one distinct
    active/passive from the responder (RtpContentMap.java
    requireDTLSFingerprint(true), getDtlsSetup())."""
    c = new_call(calls, relay, alice, bob)
    init, acc = c.establish(video=True)
    offered = {n: g["fps"] for n, g in describe(jingle_of(init)).items()}
    assert all(len(f) == 1 and f[0][1] == "actpass" for f in offered.values()), dump(init)
    answered = [g["fps"][0][1] for g in describe(jingle_of(acc)).values()]
    assert len(answered) == 2 and len(set(answered)) == 1 and answered[0] in ("active", "passive"), \
        dump(acc)


@pytest.mark.parametrize("setups", [("actpass", "actpass"), ("active", "passive")],
                         ids=["actpass", "mixed"])
def test_answer_with_actpass_or_mixed_setups_is_a_security_error(relay, alice, bob, calls, setups):
    """Conversations: an answer with actpass cannot be stored
    (JingleRtpConnection.java storePeerDtlsSetup()), contents that disagree
    have no "distinct DTLS setup" (RtpContentMap.java getDtlsSetup()): the
    call ends.  belfry ends it with <security-error/>, on both legs."""
    c = new_call(calls, relay, alice, bob)
    c.initiate(video=True)
    c.wait_propose()
    c.b_jmi("proceed")
    c.wait_b("session-initiate")
    reply = c.b_send(bob_answer_setups(c.b_sid, bob.full_jid, c.b_from, setups))
    assert reply.get("type") == "result", dump(reply)
    term_b = c.wait_b("session-terminate", 5)
    assert reason_of(term_b)[0] == "security-error", dump(term_b)
    term_a = c.wait_a("session-terminate", 5)
    assert reason_of(term_a)[0] == "security-error", dump(term_a)
    assert "session-accept" not in c.a_actions(), c.a_actions()


# ---------------------------------------------------------------------------
# 7. a result for every Jingle request the XEP does not require refusing
# ---------------------------------------------------------------------------

def test_requests_echo_does_not_take_get_a_result_and_a_jingle_answer(relay, alice):
    """Conversations ends a call on any iq error to a Jingle request it sent
    (JingleRtpConnection.java handleIqErrorResponse()) and adds video to an
    audio call with content-add (ContentAddition.java); Dino answers a video
    call audio-only with content-modify (call_peer_state.vala accept()).
    XEP-0166 §7.2.3 / §7.2.15: refuse a content with content-reject and a
    transport with transport-reject, after the iq result."""
    sid = new_sid("results")
    start = mark(alice)
    reply = alice.iq(ECHO, "set", echo_offer(sid, alice.full_jid))
    assert reply.get("type") == "result", dump(reply)
    jingle_set(alice, start, ECHO, sid, "session-accept")
    tr = (f"<transport xmlns='{NS_ICE}' ufrag='{A.ufrag}' pwd='{A.pwd}'>"
          f"<fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='actpass'>{A.fp}</fingerprint>"
          "</transport>")
    video = content_xml("v9", f"<description xmlns='{NS_RTP}' media='video'>"
                        + pt_xml(96, "VP8", 90000) + "<rtcp-mux/></description>", tr)
    reply = alice.iq(ECHO, "set", jingle("content-add", sid, video))
    assert reply.get("type") == "result", f"content-add refused with an iq error: {dump(reply)}"
    rej = jingle_set(alice, start, ECHO, sid, "content-reject", 5)
    assert [c.get("name") for c in jingle_of(rej).findall("{%s}content" % NS_JINGLE)] == ["v9"]
    modify = ("<content creator='initiator' name='a0' senders='initiator'/>")
    reply = alice.iq(ECHO, "set", jingle("content-modify", sid, modify))
    assert reply.get("type") == "result", f"content-modify: {dump(reply)}"
    reply = alice.iq(ECHO, "set", jingle("description-info", sid, content_xml(
        "a0", f"<description xmlns='{NS_RTP}' media='audio'>" + pt_xml(111, "opus", 48000, 2)
        + "</description>", "")))
    assert reply.get("type") == "result", f"description-info: {dump(reply)}"
    reply = alice.iq(ECHO, "set", jingle("security-info", sid,
                                         "<content creator='initiator' name='a0'/>"))
    assert reply.get("type") == "result", f"security-info: {dump(reply)}"
    other = ("<content creator='initiator' name='a0'>"
             "<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='x'/>"
             "</content>")
    reply = alice.iq(ECHO, "set", jingle("transport-replace", sid, other))
    assert reply.get("type") == "result", f"transport-replace: {dump(reply)}"
    jingle_set(alice, start, ECHO, sid, "transport-reject", 5)
    # The session is still up.
    assert "session-terminate" not in [jingle_of(e).get("action") for e in received(alice, start)
                                       if is_jingle(e, ECHO, sid)]
    end_echo(alice, relay, sid)


# ---------------------------------------------------------------------------
# 8. foreign children never cross: OMEMO verification, SDES
# ---------------------------------------------------------------------------

OMEMO_DEVICE = f"<device xmlns='{NS_OMEMO_DTLS}' id='1234567'/>"
OMEMO_FP = (f"<fingerprint xmlns='{NS_OMEMO_DTLS}' hash='sha-256' setup='actpass'>"
            f"<encrypted xmlns='{NS_AXOLOTL}'><header sid='1234567'/></encrypted></fingerprint>")
SDES = ("<encryption required='0'><crypto crypto-suite='AES_CM_128_HMAC_SHA1_80' "
        "key-params='inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2VhbGluZ3Q=' "
        "tag='1'/></encryption>")
FOREIGN = (NS_OMEMO_DTLS, NS_AXOLOTL, "crypto", "encryption", "inline:")


def with_foreign(offer):
    """Conversations' OMEMO verification elements in the transport and
    fingerprint, Dino's SDES <encryption/> in each description."""
    return (offer.replace(f"</fingerprint>", f"{OMEMO_DEVICE}</fingerprint>{OMEMO_FP}")
            .replace("<rtcp-mux/></description>", f"{SDES}<rtcp-mux/></description>"))


def assert_clean(el, who):
    text = dump(el)
    for needle in FOREIGN:
        assert needle not in text, f"{needle!r} reached {who}: {text}"


def test_omemo_and_sdes_children_never_cross_a_relayed_call(relay, alice, bob, calls):
    """Conversations adds <device xmlns='...dlts-srtp-verification'/> to
    proceed and OMEMO fingerprints to transports (crypto/axolotl/
    AxolotlService.java, JingleRtpConnection.java sendJingleMessage()); Dino
    offers SDES <encryption><crypto/> beside DTLS (jingle_rtp_module.vala
    generate_local_crypto()).  None of it belongs to the other leg, and
    belfry's answers carry no SDES."""
    c = new_call(calls, relay, alice, bob)
    c.t0 = time.monotonic()
    reply = alice.iq(c.addr, "set", with_foreign(alice_offer(c.a_sid, alice.full_jid, True)))
    assert reply.get("type") == "result", dump(reply)
    c.wait_propose()
    c.b_jmi("proceed", OMEMO_DEVICE)
    init = c.wait_b("session-initiate")
    assert_clean(init, "bob")
    from test_call import bob_answer
    reply = c.b_send(with_foreign(bob_answer(c.b_sid, bob.full_jid, c.b_from, True)))
    assert reply.get("type") == "result", dump(reply)
    acc = c.wait_a("session-accept")
    assert_clean(acc, "alice")
    for e in relay_stanzas(bob, c.b_mark) + relay_stanzas(alice, c.a_mark):
        assert_clean(e, "a client")
    # echo@ answers Dino's SDES offer without SDES.
    sid = new_sid("sdes")
    start = mark(alice)
    reply = alice.iq(ECHO, "set", echo_offer(sid, alice.full_jid, extra_description=SDES,
                                             extra_transport=OMEMO_DEVICE))
    assert reply.get("type") == "result", dump(reply)
    assert_clean(jingle_set(alice, start, ECHO, sid, "session-accept"), "alice (echo)")
    end_echo(alice, relay, sid)


# ---------------------------------------------------------------------------
# 10. Monal: at most one candidate per transport-info
# ---------------------------------------------------------------------------

def test_belfry_sends_at_most_one_candidate_per_transport_info(relay, alice, bob, calls):
    """Monal takes only the first candidate of a transport-info
    (MLCall.m processIncomingICECandidate; candidates in an initiate/accept
    it splits itself, one fake transport-info each); belfry puts its
    candidates in its initiate/accept and must never trickle several in one
    transport-info."""
    c = new_call(calls, relay, alice, bob)
    c.establish(video=True)
    assert c.a_send(trickle_xml(c.a_sid, A)).get("type") == "result"
    assert c.b_send(trickle_xml(c.b_sid, B)).get("type") == "result"
    time.sleep(1.5)
    for client, frm, sid in ((alice, c.addr, c.a_sid), (bob, c.b_from, c.b_sid)):
        for e in received(client):
            if is_jingle(e, frm, sid, "transport-info"):
                n = sum(len(g["cands"]) for g in describe(jingle_of(e)).values())
                assert n <= 1, f"{n} candidates in one transport-info: {dump(e)}"


# ---------------------------------------------------------------------------
# 9. payload types the receiving peer did not negotiate are not forwarded
# ---------------------------------------------------------------------------

class Load:
    """tests/bench/call-load in ice mode: plays both ends' media (ICE, DTLS,
    SRTP with belfry's own code) of relayed calls; line protocol in its
    header.  Audio: PT 111, SSRC 0x10000000+I (alice) / 0x20000000+I (bob)."""

    def __init__(self, exe):
        import queue
        import subprocess
        import threading
        assert os.access(exe, os.X_OK), f"{exe} not built (ninja -C build)"
        self.proc = subprocess.Popen([str(exe), "ice"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        self.over = set()    # calls hung up: their DTLS close is no failure
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout, what):
        import queue
        for line in self.seen:
            if pred(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None:
                raise AssertionError(f"call-load exited; it said:\n" + "\n".join(self.seen[-20:]))
            if line:
                self.seen.append(line)
                ended = line.split(" ", 1)[0] in self.over
                assert not line.startswith("error") and (ended or " failed " not in line), line
                if pred(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"call-load: no {what} within {timeout}s; it said:\n"
                                     + "\n".join(self.seen[-20:]))

    def side(self, i, s):
        """(ufrag, pwd, (hash, fp), [candidate lines]) of one side, once gathered."""
        self.wait(lambda l: l == f"{i} {s} gathering-done", 10, f"{i} {s} gathering-done")
        own = [l.split()[2:] for l in self.seen if l.startswith(f"{i} {s} ")]
        creds = next(x[1:3] for x in own if x[0] == "credentials")
        fp = next(x[1:3] for x in own if x[0] == "fingerprint")
        cands = [x[1:] for x in own if x[0] == "candidate"]
        return creds, fp, cands

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)


def load_transport(creds, fp, setup, cands):
    return (f"<transport xmlns='{NS_ICE}' ufrag={quoteattr(creds[0])} pwd={quoteattr(creds[1])}>"
            f"<fingerprint xmlns='{NS_DTLS}' hash={quoteattr(fp[0])} setup='{setup}'>{fp[1]}"
            "</fingerprint>"
            + "".join(f"<candidate component='{c[1]}' foundation='{c[0]}' generation='0' "
                      f"id='l{k}' ip='{c[3]}' network='0' port='{c[4]}' priority='{c[5]}' "
                      f"protocol='udp' type='{c[2]}'/>" for k, c in enumerate(cands))
            + "</transport>")


def load_audio(tr, ssrc, pts):
    return content_xml("a0", f"<description xmlns='{NS_RTP}' media='audio'>"
                       + "".join(pt_xml(*p) for p in pts)
                       + sources_xml([ssrc], f"load{ssrc}") + "<rtcp-mux/></description>", tr)


def feed_remote(load, i, s, j, relay_role, our_setup):
    t = j.find(f"{{{NS_JINGLE}}}content/{{{NS_ICE}}}transport")
    f = t.find(f"{{{NS_DTLS}}}fingerprint")
    load.send(f"{i} {s} remote-ice {t.get('ufrag')} {t.get('pwd')} {relay_role}")
    load.send(f"{i} {s} remote-dtls {our_setup} {f.get('hash')} {f.text.strip()}")
    for c in t.findall(f"{{{NS_ICE}}}candidate"):
        load.send(f"{i} {s} candidate {c.get('foundation')} {c.get('component')} "
                  f"{c.get('type')} {c.get('ip')} {c.get('port')} {c.get('priority')}")


def load_call(load, i, alice, bob, bob_pts):
    """alice calls bob's resource directly through belfry, offering Opus 111
    and PCMU 0; bob answers with @bob_pts; the load does both ends' media.
    Returns leg A's sid once both legs are DTLS-connected."""
    load.send(f"call {i}")
    a_creds, a_fp, a_cands = load.side(i, "a")
    b_creds, b_fp, b_cands = load.side(i, "b")
    to = addr(bob.full_jid)
    sid = new_sid(f"pt{i}")
    start_a, start_b = mark(alice), mark(bob)
    offer = jingle("session-initiate", sid,
                   load_audio(load_transport(a_creds, a_fp, "actpass", a_cands), 0x10000000 + i,
                              [(111, "opus", 48000, 2), (0, "PCMU", 8000)]),
                   f" initiator={quoteattr(alice.full_jid)}")
    assert alice.iq(to, "set", offer).get("type") == "result"
    init = wait_new(bob, start_b, lambda e: is_jingle(e, action="session-initiate")
                    and bare(e.get("from")) == ALICE_ADDR, 10, "session-initiate for bob")
    b_from, b_sid = init.get("from"), jingle_of(init).get("sid")
    feed_remote(load, i, "b", jingle_of(init), "controlling", "active")
    answer = jingle("session-accept", b_sid,
                    load_audio(load_transport(b_creds, b_fp, "active", b_cands), 0x20000000 + i,
                               bob_pts),
                    f" initiator={quoteattr(b_from)} responder={quoteattr(bob.full_jid)}")
    assert bob.iq(b_from, "set", answer).get("type") == "result"
    acc = jingle_set(alice, start_a, to, sid, "session-accept")
    setup = acc.find(f".//{{{NS_DTLS}}}fingerprint").get("setup")
    feed_remote(load, i, "a", jingle_of(acc), "controlled",
                "passive" if setup == "active" else "active")
    for s in ("a", "b"):
        load.wait(lambda l, s=s: l.startswith(f"{i} {s} dtls-connected"), 15,
                  f"{i} {s} dtls-connected")
    return to, sid


def test_payload_types_not_negotiated_on_the_receiving_leg_are_dropped(relay, alice, bob):
    """Dino answers with one payload type per medium and plays the first SSRC
    of a stream only ("Got second ssrc on stream", plugins/rtp/src/
    stream.vala on_ssrc_pad_added()): RTP of a payload type the receiving peer did
    not negotiate (here Opus, when bob took PCMU only) must not reach it,
    however the sending side got it.  Counted in belfry's log.  Real media:
    ICE, DTLS and SRTP with call-load playing both ends."""
    # Next to the belfry under test: <build>/relay/belfry -> <build>/tests/bench/call-load.
    exe = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(BELFRY_BIN))),
                       "tests", "bench", "call-load")
    load = Load(exe)
    try:
        # bob took PCMU only: the load's Opus (111) goes nowhere, either way.
        to, sid = load_call(load, 0, alice, bob, [(0, "PCMU", 8000)])
        load.send("probe 0")
        time.sleep(3.0)
        load.send("stats")
        stats = load.wait(lambda l: l.startswith("stats"), 5, "stats")   # reads all before it
        assert not any(l.startswith("0 media-ok") for l in load.seen), load.seen[-10:]
        assert " received=0 " in stats, stats
        assert alice.iq(to, "set", terminate_xml(sid, "success")).get("type") == "result"
        load.over.add("0")
        # Counted by the core's forwarding, one line per leg at its end.
        relay.wait_log("RTP packets dropped (payload type not negotiated", 5)
        m = re.findall(r"session \S+: (\d+) RTP packets dropped \(payload type not negotiated",
                       relay.log())
        assert sum(map(int, m)) >= 20, m   # 3 s of 50 pps both ways, minus what came before DTLS
        # The same call with Opus taken: it flows (so the above is the filter).
        to, sid = load_call(load, 1, alice, bob, [(111, "opus", 48000, 2)])
        load.send("probe 1")
        load.wait(lambda l: l.startswith("1 media-ok"), 10, "1 media-ok")
        assert alice.iq(to, "set", terminate_xml(sid, "success")).get("type") == "result"
    finally:
        load.close()
