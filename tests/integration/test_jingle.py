"""Hostile Jingle signalling against belfry's echo module
(echo@relay.localhost), no media: a real slixmpp client (alice) sends raw
Jingle iqs through a real Prosody 0.12.

What is asserted is what relay/sessions.c and jingle/ define, with the XEP
it follows:

  XEP-0166 §6.7 / Example 29   a request for a session the recipient does not
                               have: cancel / <item-not-found/> +
                               <unknown-session/>
  XEP-0166 §6.3.2, §7.2        malformed request, unknown action:
                               <bad-request/> (type modify, RFC 6120 §8.3.3.1)
  XEP-0166 Table 4             a request that cannot occur in this state
                               (second session-initiate, session-accept from
                               the initiator): <unexpected-request/> +
                               <out-of-order/> (type wait, RFC 6120 §8.3.3.22)
  XEP-0166 §6.3, §7.4          an offer that cannot be taken is acknowledged,
                               then ended by session-terminate with
                               <unsupported-applications/>,
                               <unsupported-transports/>, <busy/>,
                               <security-error/> (no DTLS fingerprint)
  XEP-0166 §6.7, Example 24    ICE that never connects: session-terminate
                               <failed-transport/> after [media] ice-timeout
  XEP-0353 §3.2                <propose/> gets <proceed/>

belfry gathers ICE on 127.0.0.1 only ([media] addresses), so no namespace is
needed: nothing here ever exchanges media.
"""

import os
import re
import time
from pathlib import Path
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import pytest

from harness import DOMAIN, ECHO, NS_CLIENT, NS_STANZAS, USERS, Belfry, Client

NS_JINGLE = "urn:xmpp:jingle:1"
NS_JERR = "urn:xmpp:jingle:errors:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_GROUPING = "urn:xmpp:jingle:apps:grouping:0"
NS_JMI = "urn:xmpp:jingle-message:0"
NS_FT = "urn:xmpp:jingle:apps:file-transfer:5"
NS_IBB = "urn:xmpp:jingle:transports:ibb:1"

IQ = "{%s}iq" % NS_CLIENT
MESSAGE = "{%s}message" % NS_CLIENT
JINGLE = "{%s}jingle" % NS_JINGLE

MEDIA = {"addresses": "127.0.0.1"}


UFRAG = "aLiCe7"
PWD = "alicePassword0123456789+/"
# A well-formed sha-256 fingerprint (32 bytes); nobody ever checks it here.
FP = ":".join("%02X" % b for b in bytes(range(0x10, 0x30)))
AUDIO_SSRC = 1111111111
VIDEO_SSRC, VIDEO_RTX_SSRC = 2222222222, 3333333333


# ---------------------------------------------------------------------------
# stanzas
# ---------------------------------------------------------------------------

def dump(el):
    return ET.tostring(el, encoding="unicode") if el is not None else "None"


def new_sid(tag):
    return f"{tag}-{os.urandom(6).hex()}"


def jingle(action, sid, body="", extra=""):
    a = f" action={quoteattr(action)}" if action is not None else ""
    s = f" sid={quoteattr(sid)}" if sid is not None else ""
    return f"<jingle xmlns='{NS_JINGLE}'{a}{s}{extra}>{body}</jingle>"


def fingerprint(value=FP, setup="actpass", hash_="sha-256"):
    setup_attr = f" setup={quoteattr(setup)}" if setup is not None else ""
    return f"<fingerprint xmlns='{NS_DTLS}' hash={quoteattr(hash_)}{setup_attr}>{value}</fingerprint>"


def candidate(ip="127.0.0.1", port=50000, cid="c1"):
    return (f"<candidate component='1' foundation='1' generation='0' id={quoteattr(cid)} "
            f"ip={quoteattr(ip)} network='0' port='{port}' priority='2130706431' "
            f"protocol='udp' type='host'/>")


def ice(ufrag=UFRAG, pwd=PWD, fp=None, candidates=""):
    if fp is None:
        fp = fingerprint()
    return f"<transport xmlns='{NS_ICE}' ufrag={quoteattr(ufrag)} pwd={quoteattr(pwd)}>{fp}{candidates}</transport>"


def audio_description(ssrc=AUDIO_SSRC):
    return (f"<description xmlns='{NS_RTP}' media='audio'>"
            "<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
            "<parameter name='minptime' value='10'/><parameter name='useinbandfec' value='1'/>"
            "</payload-type>"
            "<payload-type id='0' name='PCMU' clockrate='8000'/>"
            f"<source xmlns='{NS_SSMA}' ssrc='{ssrc}'><parameter name='cname' value='alice'/></source>"
            "<rtcp-mux/></description>")


def video_description():
    return (f"<description xmlns='{NS_RTP}' media='video'>"
            "<payload-type id='96' name='VP8' clockrate='90000'/>"
            "<payload-type id='97' name='rtx' clockrate='90000'><parameter name='apt' value='96'/></payload-type>"
            f"<source xmlns='{NS_SSMA}' ssrc='{VIDEO_SSRC}'><parameter name='cname' value='alice'/></source>"
            f"<source xmlns='{NS_SSMA}' ssrc='{VIDEO_RTX_SSRC}'><parameter name='cname' value='alice'/></source>"
            f"<ssrc-group xmlns='{NS_SSMA}' semantics='FID'>"
            f"<source ssrc='{VIDEO_SSRC}'/><source ssrc='{VIDEO_RTX_SSRC}'/></ssrc-group>"
            "<rtcp-mux/></description>")


def content(name, description, transport, creator="initiator"):
    return (f"<content creator={quoteattr(creator)} name={quoteattr(name)} senders='both'>"
            f"{description}{transport}</content>")


OFFERED = {"a0": {"media": "audio", "pts": ["111", "0"], "ssrcs": [AUDIO_SSRC]},
           "v1": {"media": "video", "pts": ["96", "97"], "ssrcs": [VIDEO_SSRC, VIDEO_RTX_SSRC]}}


def offer(sid, initiator, *, video=True, setup="actpass", fp_value=FP, ufrag=UFRAG, pwd=PWD,
          candidates=""):
    """A well-formed audio (Opus) [+ video VP8/rtx] offer: ICE ufrag/pwd,
    DTLS fingerprint, no candidates unless given, BUNDLE."""
    tr = ice(ufrag, pwd, fingerprint(fp_value, setup), candidates)
    body = content("a0", audio_description(), tr)
    names = ["a0"]
    if video:
        body += content("v1", video_description(), tr)
        names.append("v1")
    body += (f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
             + "".join(f"<content name='{n}'/>" for n in names) + "</group>")
    return jingle("session-initiate", sid, body, f" initiator={quoteattr(initiator)}")


# ---------------------------------------------------------------------------
# assertions
# ---------------------------------------------------------------------------

def local(tag):
    return tag.split("}", 1)[1] if "}" in tag else tag


def assert_result(reply, what):
    assert reply.get("type") == "result", f"{what}: expected an iq result, got {dump(reply)}"
    assert reply.get("from") == ECHO, dump(reply)


def assert_iq_error(reply, etype, condition, jingle_condition=None):
    """The iq error with exactly this RFC 6120 condition and, when given, the
    XEP-0166 §10 condition (none at all otherwise)."""
    text = dump(reply)
    assert reply.get("type") == "error", f"expected an iq error, got {text}"
    assert reply.get("from") == ECHO, text
    err = reply.find("{%s}error" % NS_CLIENT)
    assert err is not None, text
    assert err.get("type") == etype, f"error type {err.get('type')!r} != {etype!r}: {text}"
    conds = [local(c.tag) for c in err
             if c.tag.startswith("{%s}" % NS_STANZAS) and local(c.tag) != "text"]
    assert conds == [condition], f"conditions {conds} != [{condition}]: {text}"
    jconds = [local(c.tag) for c in err if c.tag.startswith("{%s}" % NS_JERR)]
    assert jconds == ([jingle_condition] if jingle_condition else []), \
        f"jingle conditions {jconds} != {jingle_condition}: {text}"
    t = err.find("{%s}text" % NS_STANZAS)
    return t.text if t is not None else None


def is_jingle_set(el, sid, action=None):
    if el.tag != IQ or el.get("type") != "set" or el.get("from") != ECHO:
        return False
    j = el.find(JINGLE)
    return j is not None and j.get("sid") == sid and (action is None or j.get("action") == action)


def wait_jingle(client, sid, action, timeout=10.0):
    el = client.wait_stanza(lambda e: is_jingle_set(e, sid, action), timeout,
                            what=f"{action} for sid {sid} from {ECHO}")
    assert el.get("to") == client.full_jid, dump(el)
    return el


def jingle_sets(client, sid):
    with client._cond:
        return [e for e in client.received if is_jingle_set(e, sid)]


def assert_nothing_for(client, sid, seconds):
    """belfry sent no Jingle request for sid within seconds."""
    time.sleep(seconds)
    got = jingle_sets(client, sid)
    assert not got, f"unexpected Jingle requests for {sid}: " + "\n".join(map(dump, got))


def reason_of(terminate):
    j = terminate.find(JINGLE)
    r = j.find("{%s}reason" % NS_JINGLE)
    assert r is not None, f"session-terminate without <reason/>: {dump(terminate)}"
    conds = [local(c.tag) for c in r if c.tag.startswith("{%s}" % NS_JINGLE) and local(c.tag) != "text"]
    assert len(conds) == 1, dump(terminate)
    t = r.find("{%s}text" % NS_JINGLE)
    return conds[0], (t.text if t is not None else None)


def index_of(client, el):
    with client._cond:
        for i, e in enumerate(client.received):
            if e is el:
                return i
    raise AssertionError("stanza not recorded")


def send_jingle(client, payload, timeout=5.0):
    return client.iq(ECHO, "set", payload, timeout)


def ended_line(belfry, sid, client, reason):
    return f"session {sid} with {client.full_jid} ended: {reason}"


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

def jingle_client(prosody, user, resource=None, password=None):
    """A logged-in client that acknowledges every Jingle request it gets, as
    any Jingle endpoint does (slixmpp alone would answer them
    feature-not-implemented, and belfry ends a session whose request is
    refused). @prosody: any server with a c2s_port; @password: USERS[user]
    unless given."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    jid = f"{user}@{DOMAIN}" + (f"/{resource}" if resource else "")
    c = Client(jid, password or USERS[user], prosody.c2s_port)

    def ack(iq):
        if iq["type"] == "set":
            iq.reply(clear=True).send()

    async def register():
        c.xmpp.register_handler(Callback(
            "belfry-test jingle ack", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), ack))

    try:
        c._call(register(), 5)
    except BaseException:
        c.close()
        raise
    return c


def start_belfry(workdir, prosody, media):
    b = Belfry(workdir, port=prosody.component_port, groups={"media": media})
    try:
        b.start()
    except BaseException:
        b.kill_quietly()
        raise
    return b


@pytest.fixture(scope="module")
def relay(prosody, tmp_path_factory):
    b = start_belfry(tmp_path_factory.mktemp("belfry-jingle"), prosody, MEDIA)
    yield b
    try:
        b.stop()
    finally:
        b.kill_quietly()


@pytest.fixture(scope="module")
def alice(prosody, relay):
    c = jingle_client(prosody, "alice", "jingle")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(prosody, relay):
    c = jingle_client(prosody, "bob", "jingle")
    yield c
    c.close()


def belfry_fingerprint(belfry):
    m = re.search(r"DTLS fingerprint (\S+) ([0-9A-F:]+)", belfry.log())
    assert m, f"no DTLS fingerprint in belfry's log:\n{belfry.log()[-3000:]}"
    return m.group(1), m.group(2)


def initiate(client, sid, **kw):
    """A valid session-initiate: the iq result, then echo's session-accept."""
    assert_result(send_jingle(client, offer(sid, client.full_jid, **kw)), "session-initiate")
    return wait_jingle(client, sid, "session-accept")


def terminate(client, belfry, sid):
    reply = send_jingle(client, jingle("session-terminate", sid, "<reason><success/></reason>"))
    assert_result(reply, "session-terminate")
    belfry.wait_log(ended_line(belfry, sid, client, "success"), 5)


# ---------------------------------------------------------------------------
# unknown sessions (XEP-0166 §6.7, Example 29)
# ---------------------------------------------------------------------------

UNKNOWN_SID_REQUESTS = {
    "transport-info": lambda sid: jingle(
        "transport-info", sid, content("a0", "", ice(fp="", candidates=candidate()))),
    "session-terminate": lambda sid: jingle(
        "session-terminate", sid, "<reason><success/></reason>"),
    "session-accept": lambda sid: jingle(
        "session-accept", sid,
        content("a0", audio_description(), ice(fp=fingerprint(setup="active"))),
        f" responder={quoteattr(ECHO)}"),
    "session-info": lambda sid: jingle(
        "session-info", sid, "<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>"),
}


@pytest.mark.parametrize("action", list(UNKNOWN_SID_REQUESTS))
def test_unknown_sid_is_unknown_session(relay, alice, action):
    sid = new_sid("nosuch")
    reply = send_jingle(alice, UNKNOWN_SID_REQUESTS[action](sid))
    assert_iq_error(reply, "cancel", "item-not-found", "unknown-session")
    assert f"session {sid}" not in relay.log()


def test_another_users_request_is_unknown_session(relay, alice, bob):
    """The session is alice's (full JID + sid): bob naming its sid, in any
    request, is told there is no such session, and alice's session goes on."""
    sid = new_sid("hijack")
    initiate(alice, sid)
    for payload in (jingle("session-terminate", sid, "<reason><success/></reason>"),
                    jingle("transport-info", sid,
                           content("a0", "", ice(fp="", candidates=candidate("127.0.0.1", 40404))))):
        assert_iq_error(send_jingle(bob, payload), "cancel", "item-not-found", "unknown-session")
    assert_nothing_for(bob, sid, 0.5)
    assert not [e for e in jingle_sets(alice, sid) if e.find(JINGLE).get("action") != "session-accept"]
    assert ended_line(relay, sid, alice, "") not in relay.log()
    terminate(alice, relay, sid)


# ---------------------------------------------------------------------------
# malformed requests (XEP-0166 §6.3.2, §7.2; XEP-0176; XEP-0320)
# ---------------------------------------------------------------------------

MALFORMED = {
    "no-sid": lambda sid, me: jingle("session-terminate", None, "<reason><success/></reason>"),
    "no-action": lambda sid, me: jingle(None, sid, "<reason><success/></reason>"),
    "unknown-action": lambda sid, me: jingle("session-explode", sid, "<reason><success/></reason>"),
    "bad-candidate-ip": lambda sid, me: offer(sid, me, candidates=candidate("300.1.2.3")),
    "candidate-hostname": lambda sid, me: offer(sid, me, candidates=candidate("alice.local")),
    "bad-fingerprint-hex": lambda sid, me: offer(sid, me, fp_value="ZZ" + FP[2:]),
    "bad-fingerprint-length": lambda sid, me: offer(sid, me, fp_value=FP[:-3]),
    "bad-fingerprint-setup": lambda sid, me: offer(sid, me, setup="holdconn"),
    "ufrag-too-short": lambda sid, me: offer(sid, me, ufrag="abc"),
    "pwd-too-short": lambda sid, me: offer(sid, me, pwd="short0123456789"),
    "ufrag-bad-chars": lambda sid, me: offer(sid, me, ufrag="al ice!"),
    "initiate-without-content": lambda sid, me: jingle(
        "session-initiate", sid, "", f" initiator={quoteattr(me)}"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_is_bad_request(relay, alice, case):
    sid = new_sid(case)
    reply = send_jingle(alice, MALFORMED[case](sid, alice.full_jid))
    text = assert_iq_error(reply, "modify", "bad-request")
    assert text, f"bad-request without a <text/> saying why: {dump(reply)}"
    # Refused before any session existed: nothing follows, nothing logged.
    assert_nothing_for(alice, sid, 0.5)
    assert f"session {sid}" not in relay.log()


# ---------------------------------------------------------------------------
# out-of-order (XEP-0166 Table 4: session-initiate after session-accept etc.)
# ---------------------------------------------------------------------------

def test_out_of_order(relay, alice):
    sid = new_sid("ooo")
    initiate(alice, sid)
    # A second session-initiate with the same sid (jingle/jingle-session.c:
    # "session-initiate for a session already initiated").
    reply = send_jingle(alice, offer(sid, alice.full_jid))
    text = assert_iq_error(reply, "wait", "unexpected-request", "out-of-order")
    assert "session-initiate" in (text or ""), dump(reply)
    # session-accept comes from the responder only (§7.2.8); alice initiated.
    accept = jingle("session-accept", sid,
                    content("a0", audio_description(), ice(fp=fingerprint(setup="active"))),
                    f" responder={quoteattr(alice.full_jid)}")
    text = assert_iq_error(send_jingle(alice, accept), "wait", "unexpected-request", "out-of-order")
    assert "from the initiator" in (text or ""), dump(reply)
    # Neither touched the session: no second accept, no terminate, and it
    # still ends normally.
    assert [e.find(JINGLE).get("action") for e in jingle_sets(alice, sid)] == ["session-accept"]
    assert relay.count(f"session {sid} from {alice.full_jid} to {ECHO}") == 1
    terminate(alice, relay, sid)


# ---------------------------------------------------------------------------
# the valid call, answered
# ---------------------------------------------------------------------------

def test_valid_initiate_is_accepted(relay, alice):
    sid = new_sid("call")
    reply = send_jingle(alice, offer(sid, alice.full_jid))
    assert_result(reply, "session-initiate")
    accept_iq = wait_jingle(alice, sid, "session-accept")
    # The iq result came first (XEP-0166 §6.3: acknowledge, then answer).
    assert index_of(alice, reply) < index_of(alice, accept_iq)
    assert accept_iq.get("from") == ECHO            # the bare address called, no resource
    j = accept_iq.find(JINGLE)
    assert j.get("responder") == ECHO, dump(accept_iq)
    assert j.get("initiator") == alice.full_jid, dump(accept_iq)

    hash_, value = belfry_fingerprint(relay)
    contents = j.findall("{%s}content" % NS_JINGLE)
    assert [c.get("name") for c in contents] == list(OFFERED), dump(accept_iq)
    local_ssrcs = []
    offered_ssrcs = {s for o in OFFERED.values() for s in o["ssrcs"]}
    creds = set()
    for c in contents:
        want = OFFERED[c.get("name")]
        assert c.get("creator") == "initiator", dump(c)
        d = c.find("{%s}description" % NS_RTP)
        assert d is not None and d.get("media") == want["media"], dump(c)
        assert [p.get("id") for p in d.findall("{%s}payload-type" % NS_RTP)] == want["pts"], dump(c)
        opus = d.find("{%s}payload-type[@id='111']" % NS_RTP)
        if want["media"] == "audio":
            assert opus.get("name") == "opus" and opus.get("clockrate") == "48000", dump(c)
        assert d.find("{%s}rtcp-mux" % NS_RTP) is not None, dump(c)
        srcs = [int(s.get("ssrc")) for s in d.findall("{%s}source" % NS_SSMA)]
        # One source of belfry's own per source offered (XEP-0339).
        assert len(srcs) == len(want["ssrcs"]), dump(c)
        local_ssrcs += srcs
        groups = d.findall("{%s}ssrc-group" % NS_SSMA)
        if want["media"] == "video":
            assert len(groups) == 1 and groups[0].get("semantics") == "FID", dump(c)
            assert [int(s.get("ssrc")) for s in groups[0]] == srcs, dump(c)
        t = c.find("{%s}transport" % NS_ICE)
        assert t is not None, dump(c)
        ufrag, pwd = t.get("ufrag"), t.get("pwd")
        assert ufrag and pwd and len(ufrag) >= 4 and len(pwd) >= 22, dump(t)
        creds.add((ufrag, pwd))
        fp = t.find("{%s}fingerprint" % NS_DTLS)
        assert fp is not None, dump(t)
        # RFC 5763 §5: the answerer to actpass is active or passive.
        assert fp.get("setup") in ("active", "passive"), dump(fp)
        assert (fp.get("hash"), fp.text.strip()) == (hash_, value), dump(fp)
        cands = t.findall("{%s}candidate" % NS_ICE)
        assert cands, f"no candidate in the session-accept: {dump(t)}"
        for cand in cands:
            assert cand.get("ip") == "127.0.0.1", dump(cand)
            assert cand.get("protocol") == "udp" and cand.get("component") == "1", dump(cand)
            assert cand.get("type") == "host" and 0 < int(cand.get("port")) < 65536, dump(cand)
    assert len(creds) == 1, f"BUNDLE: one transport, yet {creds}"
    assert len(set(local_ssrcs)) == len(local_ssrcs), local_ssrcs
    assert not set(local_ssrcs) & offered_ssrcs, (local_ssrcs, offered_ssrcs)
    group = j.find("{%s}group" % NS_GROUPING)
    assert group is not None and group.get("semantics") == "BUNDLE", dump(accept_iq)
    assert [g.get("name") for g in group] == list(OFFERED), dump(group)
    assert f"session {sid} with {alice.full_jid} accepted (2 contents" in relay.log()

    # In-session requests: a trickled candidate and a ping are acknowledged;
    # content-add is not supported by this endpoint (sessions.c).
    trickle = jingle("transport-info", sid,
                     content("a0", "", ice(fp="", candidates=candidate("127.0.0.1", 9))))
    assert_result(send_jingle(alice, trickle), "transport-info")
    # StanzaJS trickles with the ufrag alone (no pwd): taken as well.
    ufrag_only = jingle("transport-info", sid, content(
        "a0", "", f"<transport xmlns='{NS_ICE}' ufrag={quoteattr(UFRAG)}>"
                  + candidate("127.0.0.1", 11) + "</transport>"))
    assert_result(send_jingle(alice, ufrag_only), "transport-info")
    assert_result(send_jingle(alice, jingle("session-info", sid, "")), "session-info")
    # A content the echo does not take: acknowledged, then content-reject
    # (XEP-0166 §7.2.3), never an iq error, which ends a Conversations call.
    add = jingle("content-add", sid, content("a9", audio_description(4444), ice()))
    assert_result(send_jingle(alice, add), "content-add")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not [
            e for e in jingle_sets(alice, sid) if e.find(JINGLE).get("action") == "content-reject"]:
        time.sleep(0.05)
    rej = [e for e in jingle_sets(alice, sid) if e.find(JINGLE).get("action") == "content-reject"]
    assert rej, "no content-reject"
    assert [c.get("name") for c in rej[0].find(JINGLE)][:1] == ["a9"], ET.tostring(rej[0])
    terminate(alice, relay, sid)
    # §6.7: after the session ended, its sid is unknown; belfry sent nothing.
    reply = send_jingle(alice, UNKNOWN_SID_REQUESTS["transport-info"](sid))
    assert_iq_error(reply, "cancel", "item-not-found", "unknown-session")
    assert [e.find(JINGLE).get("action") for e in jingle_sets(alice, sid)] == \
        ["session-accept", "content-reject"]


def test_refused_session_accept_ends_the_session(prosody, relay):
    """A caller that answers belfry's session-accept with an iq error:
    belfry ends the session at once, without a session-terminate (the peer
    refused it; sessions.c handle_jingle_iq: "an error ends it"), and
    forgets it.  The error is slixmpp's own for an unhandled iq
    (feature-not-implemented), which, like most clients' errors, does not
    echo the <jingle/> payload (RFC 6120 §8.2: the original payload MAY be
    included)."""
    c = Client(f"alice@{DOMAIN}/plain", USERS["alice"], prosody.c2s_port)
    sid = new_sid("refuser")
    try:
        initiate(c, sid, video=False)
        # Well before [media] ice-timeout (30 s), which would end it anyway.
        relay.wait_log(ended_line(relay, sid, c, "general-error"), 5)
        reply = send_jingle(c, jingle("session-terminate", sid, "<reason><success/></reason>"))
        assert_iq_error(reply, "cancel", "item-not-found", "unknown-session")
        assert [e.find(JINGLE).get("action") for e in jingle_sets(c, sid)] == ["session-accept"]
    finally:
        # If belfry kept it, end it here so it does not linger.
        c.send_raw(f"<iq xmlns='jabber:client' type='set' to='{ECHO}' id='cleanup-{sid}'>"
                   + jingle("session-terminate", sid, "<reason><success/></reason>") + "</iq>")
        time.sleep(0.3)
        c.close()


# No 'setup' at all (some clients omit it): taken as actpass.
@pytest.mark.parametrize("setup,answer", [("actpass", "active"), ("active", "passive"),
                                          ("passive", "active"), (None, "active")])
def test_dtls_setup_of_the_answer(relay, alice, setup, answer):
    """RFC 5763 §5 / XEP-0320: belfry takes the role the offer leaves it."""
    sid = new_sid("setup-" + (setup or "absent"))
    acc = initiate(alice, sid, video=False, setup=setup)
    fps = acc.findall(".//{%s}fingerprint" % NS_DTLS)
    assert [f.get("setup") for f in fps] == [answer], dump(acc)
    terminate(alice, relay, sid)


# ---------------------------------------------------------------------------
# offers that cannot be taken: result, then session-terminate (§6.3, §7.4)
# ---------------------------------------------------------------------------

def refused_offer(client, belfry, sid, payload, reason):
    reply = send_jingle(client, payload)
    assert_result(reply, "session-initiate")
    term = wait_jingle(client, sid, "session-terminate")
    assert index_of(client, reply) < index_of(client, term)
    got, text = reason_of(term)
    assert got == reason, dump(term)
    belfry.wait_log(ended_line(belfry, sid, client, reason), 5)
    assert f"session {sid} from {client.full_jid} refused" in belfry.log()
    assert [e.find(JINGLE).get("action") for e in jingle_sets(client, sid)] == ["session-terminate"]
    # It is gone: the sid is unknown now.
    again = send_jingle(client, jingle("session-terminate", sid, "<reason><success/></reason>"))
    assert_iq_error(again, "cancel", "item-not-found", "unknown-session")
    return text


def test_unsupported_application(relay, alice):
    sid = new_sid("ft")
    desc = (f"<description xmlns='{NS_FT}'><file><name>x.txt</name><size>3</size>"
            "<hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>"
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</hash></file></description>")
    payload = jingle("session-initiate", sid, content("f", desc, ice()),
                     f" initiator={quoteattr(alice.full_jid)}")
    refused_offer(alice, relay, sid, payload, "unsupported-applications")


def test_unsupported_application_in_a_second_content(relay, alice):
    sid = new_sid("ft2")
    desc = f"<description xmlns='{NS_FT}'><file><name>x</name></file></description>"
    payload = jingle("session-initiate", sid,
                     content("a0", audio_description(), ice()) + content("f", desc, ice()),
                     f" initiator={quoteattr(alice.full_jid)}")
    refused_offer(alice, relay, sid, payload, "unsupported-applications")


def test_unsupported_transport(relay, alice):
    sid = new_sid("ibb")
    tr = f"<transport xmlns='{NS_IBB}' block-size='4096' sid='ibb-{sid}'/>"
    payload = jingle("session-initiate", sid, content("a0", audio_description(), tr),
                     f" initiator={quoteattr(alice.full_jid)}")
    refused_offer(alice, relay, sid, payload, "unsupported-transports")


def test_no_dtls_fingerprint_is_security_error(relay, alice):
    """DTLS-SRTP is required (sessions.c check_offer): ICE without a
    fingerprint is refused with <security-error/>."""
    sid = new_sid("nodtls")
    payload = jingle("session-initiate", sid, content("a0", audio_description(), ice(fp="")),
                     f" initiator={quoteattr(alice.full_jid)}")
    refused_offer(alice, relay, sid, payload, "security-error")


# ---------------------------------------------------------------------------
# JMI (XEP-0353)
# ---------------------------------------------------------------------------

def test_jmi_propose_gets_proceed(relay, alice):
    pid = new_sid("jmi")
    alice.send_raw(f"<message xmlns='jabber:client' type='chat' to='{ECHO}' id='m-{pid}'>"
                   f"<propose xmlns='{NS_JMI}' id='{pid}'>"
                   f"<description xmlns='{NS_RTP}' media='audio'/></propose>"
                   "<store xmlns='urn:xmpp:hints'/></message>")

    def is_proceed(e):
        return (e.tag == MESSAGE and e.get("from") == ECHO
                and e.find("{%s}proceed" % NS_JMI) is not None
                and e.find("{%s}proceed" % NS_JMI).get("id") == pid)

    msg = alice.wait_stanza(is_proceed, 5, what=f"<proceed id='{pid}'/> from {ECHO}")
    assert msg.get("to") == alice.full_jid, dump(msg)
    assert msg.get("type") != "error", dump(msg)
    # The proposer then sends the session-initiate with that id as sid.
    initiate(alice, pid, video=False)
    terminate(alice, relay, pid)
    # A retract (nothing is pending on belfry's side) gets no answer.
    alice.send_raw(f"<message xmlns='jabber:client' type='chat' to='{ECHO}' id='r-{pid}'>"
                   f"<retract xmlns='{NS_JMI}' id='{pid}'/></message>")
    time.sleep(0.7)
    with alice._cond:
        answers = [e for e in alice.received if e.tag == MESSAGE and e.get("from") == ECHO
                   and any(c.tag.startswith("{%s}" % NS_JMI) for c in e)]
    # XEP-0353: <ringing/> then <proceed/> (Conversations shows ringing on
    # either; Monal gives up without one within 30 s: MLCall.m).
    kinds = [local(c.tag) for e in answers for c in e if c.tag.startswith("{%s}" % NS_JMI)]
    assert kinds == ["ringing", "proceed"], "\n".join(map(dump, answers))


# ---------------------------------------------------------------------------
# limits: each with a Prosody and belfry of its own
# ---------------------------------------------------------------------------

def test_max_sessions_busy(fresh_prosody, belfry_factory):
    b = belfry_factory(port=fresh_prosody.component_port,
                       groups={"media": dict(MEDIA, **{"max-sessions": 1})})
    b.start()
    c = jingle_client(fresh_prosody, "alice", "busy")
    try:
        first = new_sid("first")
        initiate(c, first, video=False)
        second = new_sid("second")
        text = refused_offer(c, b, second, offer(second, c.full_jid, video=False), "busy")
        assert text == "too many sessions", text
        assert "sessions already (max-sessions)" in b.log()
        # The first one was not disturbed, and ending it frees the slot.
        assert [e.find(JINGLE).get("action") for e in jingle_sets(c, first)] == ["session-accept"]
        terminate(c, b, first)
        third = new_sid("third")
        initiate(c, third, video=False)
        terminate(c, b, third)
    finally:
        c.close()


def test_pending_session_ends_at_ice_timeout(fresh_prosody, belfry_factory):
    """No candidate from the caller and nobody checking: ICE never connects;
    belfry ends the session with <failed-transport/> (transport.c
    on_ice_timeout -> sessions.c bf_session_on_worker_news) after [media] ice-timeout,
    and forgets it."""
    timeout = 3
    b = belfry_factory(port=fresh_prosody.component_port,
                       groups={"media": dict(MEDIA, **{"ice-timeout": timeout})})
    b.start()
    c = jingle_client(fresh_prosody, "alice", "timeout")
    try:
        sid = new_sid("pending")
        started = time.monotonic()
        initiate(c, sid, video=False)
        term = wait_jingle(c, sid, "session-terminate", timeout + 10)
        took = time.monotonic() - started
        reason, text = reason_of(term)
        assert reason == "failed-transport", dump(term)
        assert text == "ICE did not connect in time", dump(term)
        assert timeout - 0.5 <= took <= timeout + 3, f"session-terminate after {took:.1f}s"
        b.wait_log(ended_line(b, sid, c, "failed-transport"), 5)
        assert f"session {sid} with {c.full_jid} failed: ICE did not connect in time" in b.log()
        # Freed: the sid is unknown now.
        reply = send_jingle(c, UNKNOWN_SID_REQUESTS["transport-info"](sid))
        assert_iq_error(reply, "cancel", "item-not-found", "unknown-session")
        assert [e.find(JINGLE).get("action") for e in jingle_sets(c, sid)] == \
            ["session-accept", "session-terminate"]
    finally:
        c.close()


# ---------------------------------------------------------------------------
# Contents on transports of their own (no BUNDLE) and ICE restarts
# ---------------------------------------------------------------------------

def transport_of(content_el):
    t = content_el.find("{%s}transport" % NS_ICE)
    assert t is not None, dump(content_el)
    cands = [(c.get("ip"), int(c.get("port"))) for c in t.findall("{%s}candidate" % NS_ICE)]
    fp = t.find("{%s}fingerprint" % NS_DTLS)
    return t.get("ufrag"), t.get("pwd"), cands, (fp.get("setup") if fp is not None else None)


def test_offer_without_bundle_gets_a_transport_per_content(relay, alice):
    """Dino's way (plugins/ice/src/transport_parameters.vala): each content
    its own ICE-UDP transport (own ufrag/pwd), no <group>, two components
    offered.  belfry answers each content with a transport of its own:
    own credentials, own candidates (ports), no group; component-2
    candidates are ignored (rtcp-mux is answered)."""
    sid = new_sid("dino")
    cands_a = candidate("127.0.0.1", 40000, "a1") + candidate("127.0.0.1", 40001, "a2").replace(
        "component='1'", "component='2'")
    body = (content("a0", audio_description(), ice("dinoA", "dinoAudioPassword0123456", None,
                                                    cands_a))
            + content("v1", video_description(), ice("dinoV", "dinoVideoPassword0123456", None,
                                                     candidate("127.0.0.1", 40002, "v1"))))
    reply = send_jingle(alice, jingle("session-initiate", sid, body,
                                      f" initiator={quoteattr(alice.full_jid)}"))
    assert_result(reply, "session-initiate")
    acc = wait_jingle(alice, sid, "session-accept")
    j = acc.find(JINGLE)
    assert j.find("{%s}group" % NS_GROUPING) is None, dump(acc)
    got = {c.get("name"): transport_of(c) for c in j.findall("{%s}content" % NS_JINGLE)}
    assert set(got) == {"a0", "v1"}, dump(acc)
    (ua, pa, ca, sa), (uv, pv, cv, sv) = got["a0"], got["v1"]
    assert (ua, pa) != (uv, pv), f"one transport for two contents: {dump(acc)}"
    if os.environ.get("BELFRY_TEST_SHARED_PORT") == "1":
        # [media] shared-port: both transports on the worker's one socket,
        # told apart by their credentials and, once selected, the peer's
        # address.
        assert ca and ca == cv, f"not the worker's one port: {dump(acc)}"
    else:
        assert ca and cv and not set(ca) & set(cv), f"candidates shared: {dump(acc)}"
    assert sa == sv and sa in ("active", "passive"), dump(acc)
    for c in j.findall("{%s}content" % NS_JINGLE):
        assert c.find("{%s}description/{%s}rtcp-mux" % (NS_RTP, NS_RTP)) is not None, dump(c)
    relay.wait_log(f"session {sid} from {alice.full_jid} to {ECHO}: 2 contents, 3 SSRCs, "
                   "2 transports", 5)
    terminate(alice, relay, sid)


def test_ice_restart_is_answered_with_new_credentials(relay, alice):
    """XEP-0176 §5.9: a transport-info with a new ufrag and pwd restarts
    ICE (Conversations does it on every network change, with no candidate:
    JingleRtpConnection.java).  belfry acknowledges it, restarts its side
    and sends its own new ufrag/pwd in a transport-info, the fingerprint
    with the role already established, one candidate per transport-info
    (Monal uses only the first of each: MLCall.m); candidates of the old
    generation that arrive afterwards are ignored, new ones taken."""
    sid = new_sid("restart")
    send_jingle(alice, offer(sid, alice.full_jid))
    acc = wait_jingle(alice, sid, "session-accept")
    before = {c.get("name"): transport_of(c) for c in acc.find(JINGLE).findall("{%s}content" % NS_JINGLE)}
    old_ufrag = before["a0"][0]
    mark = len(jingle_sets(alice, sid))
    body = "".join(content(n, "", ice("nEw7", "newAlicePassword01234567"))
                   for n in ("a0", "v1"))
    assert_result(send_jingle(alice, jingle("transport-info", sid, body)), "transport-info")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(jingle_sets(alice, sid)) == mark:
        time.sleep(0.05)
    infos = jingle_sets(alice, sid)[mark:]
    assert infos, "no transport-info with belfry's new credentials"
    for info in infos:
        j = info.find(JINGLE)
        assert j.get("action") == "transport-info", dump(info)
        contents = j.findall("{%s}content" % NS_JINGLE)
        assert [c.get("name") for c in contents] == ["a0", "v1"] or \
            sorted(c.get("name") for c in contents) == ["a0", "v1"], dump(info)
        for c in contents:
            ufrag, pwd, cands, setup = transport_of(c)
            assert ufrag and ufrag != old_ufrag and len(pwd) >= 22, dump(info)
            assert setup == before["a0"][3], f"DTLS role changed: {dump(info)}"
            assert len(cands) == 1, f"one candidate per transport-info: {dump(info)}"
    relay.wait_log(f"session {sid}: ICE restarted by {alice.full_jid} on transport 0", 5)
    # A late candidate of the old generation, then one of the new: both
    # acknowledged (never an iq error), the session goes on.
    late = jingle("transport-info", sid, content("a0", "", ice(UFRAG, PWD, "",
                                                              candidate("127.0.0.1", 9999))))
    assert_result(send_jingle(alice, late), "transport-info")
    new = jingle("transport-info", sid, content("a0", "", ice("nEw7", "newAlicePassword01234567",
                                                             "", candidate("127.0.0.1", 9998))))
    assert_result(send_jingle(alice, new), "transport-info")
    # The same credentials again are no restart.
    assert_result(send_jingle(alice, jingle("transport-info", sid, body)), "transport-info")
    time.sleep(0.5)
    assert len(jingle_sets(alice, sid)) == mark + len(infos), "a second restart answer"
    terminate(alice, relay, sid)


def test_transport_replace_restarts_ice_or_is_rejected(relay, alice):
    """XEP-0166 §7.2.15: ICE-UDP replaced by ICE-UDP with new credentials is
    an ICE restart, answered with transport-accept (new credentials, every
    candidate, the same fingerprint role); a transport belfry cannot take
    is refused with transport-reject, never an iq error; the session goes
    on either way."""
    sid = new_sid("replace")
    send_jingle(alice, offer(sid, alice.full_jid, video=False))
    acc = wait_jingle(alice, sid, "session-accept")
    ufrag0, _, cands0, setup0 = transport_of(acc.find(JINGLE).find("{%s}content" % NS_JINGLE))
    ibb = f"<transport xmlns='{NS_IBB}' block-size='4096' sid='ibb-{sid}'/>"
    assert_result(send_jingle(alice, jingle("transport-replace", sid, content("a0", "", ibb))),
                  "transport-replace")
    rej = wait_jingle(alice, sid, "transport-reject")
    assert [c.get("name") for c in rej.find(JINGLE)] == ["a0"], dump(rej)
    new = ice("rEpl", "replacedAlicePassword0123", fingerprint(FP, "actpass"),
              candidate("127.0.0.1", 41000))
    assert_result(send_jingle(alice, jingle("transport-replace", sid, content("a0", "", new))),
                  "transport-replace")
    ta = wait_jingle(alice, sid, "transport-accept")
    ufrag, pwd, cands, setup = transport_of(ta.find(JINGLE).find("{%s}content" % NS_JINGLE))
    assert ufrag and ufrag != ufrag0 and len(pwd) >= 22, dump(ta)
    assert sorted(cands) == sorted(cands0) and setup == setup0, dump(ta)
    relay.wait_log(f"session {sid}: ICE restarted by {alice.full_jid} on transport 0", 5)
    assert_result(send_jingle(alice, jingle("session-info", sid, "")), "session-info")
    terminate(alice, relay, sid)
