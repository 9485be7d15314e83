"""Abuse of the call relay (issue 10, findings 5, 7 and 9): the placed-call
rate per caller ([call] max-calls-per-minute), relay-to-relay chains
refused both ways, a bounce or JMI answer for a pending call taken only
from the callee, and nothing of one party's identity (cname, msid) in the
other leg's signalling.

The drivers and stanzas of test_call.py (a real Prosody 0.12, slixmpp
clients sending raw Jingle/JMI, fake candidates: no media flows).
"""

import time
from xml.sax.saxutils import quoteattr

from harness import DOMAIN, USERS, Client
from relay_fixtures import _belfry_survives, belfry_fixture, client_fixture, prosody_fixture  # noqa: F401
from test_call import (BOB, CAROL_PW, MEDIA, A, B, addr, alice_offer, bare, calls,  # noqa: F401
                       dump, jingle_of, jmi_child, jmi_xml, new_call, online, online_as,
                       reason_of, received, terminate_xml, wait_new)
from test_jingle import NS_SSMA

# A user whose localpart is an escaped JID: what a call relay's address
# looks like (another relay calling through this one).
RELAYISH = "eve\\40evil.example"
RELAYISH_PW = "eve-pw-8Kd"
USERS_HERE = dict(USERS, carol=CAROL_PW, **{RELAYISH: RELAYISH_PW})

RATE = 3
CONFIG = {"ring-timeout": "20", "max-calls-per-minute": str(RATE), "max-calls-per-jid": "10"}


abuse_prosody = prosody_fixture("abuse_prosody", USERS_HERE)
relay = belfry_fixture("abuse_prosody", "belfry-call-abuse", modules="call",
                       groups={"media": MEDIA, "call": CONFIG})
alice = client_fixture("alice", "abuse_prosody", lambda p: online(p, "alice", "abuse-a"))
bob = client_fixture("bob", "abuse_prosody", lambda p: online(p, "bob", "abuse-b"))
carol = client_fixture("carol", "abuse_prosody",
                       lambda p: online_as(p, f"carol@{DOMAIN}/abuse-c", CAROL_PW))


def proposes_to(client, start, sid=None):
    return [e for e in received(client, start) if jmi_child(e, "propose") is not None
            and (sid is None or jmi_child(e, "propose").get("id") == sid)]


def hang_up(c):
    reply = c.a_send(terminate_xml(c.a_sid, "success"))
    assert reply.get("type") == "result", dump(reply)


def refused(c, condition, text_has):
    t = c.wait_a("session-terminate")
    cond, text = reason_of(t)
    assert cond == condition and text_has in (text or ""), dump(t)
    return t


# ---------------------------------------------------------------------------
# relay -> relay
# ---------------------------------------------------------------------------

def test_a_callee_that_is_a_relay_address_is_refused(relay, alice, calls):
    # bob's address on another relay, called through this one.
    other = "bob\\40localhost@relay.example.org"
    c = new_call(calls, relay, alice, None, to=addr(other), tag="chain")
    c.initiate(video=False)
    refused(c, "decline", "relay")
    relay.wait_log(f"session {c.a_sid} from {alice.full_jid} to {addr(other)} refused: "
                   "the callee is the address of a call relay", 5)
    assert "proposed to" not in relay.log().split(c.a_sid, 1)[1].split("\n", 1)[0]


def test_a_caller_that_is_a_relay_address_is_refused(relay, abuse_prosody, bob, calls):
    eve = Client(f"{RELAYISH}@{DOMAIN}/chain", RELAYISH_PW, abuse_prosody.c2s_port)
    try:
        mark = len(received(bob))
        c = new_call(calls, relay, eve, bob, tag="chain-caller")
        c.initiate(video=False)
        refused(c, "decline", "relay")
        relay.wait_log(f"session {c.a_sid} from {eve.full_jid} refused: the caller is a call "
                       "relay's address", 5)
        time.sleep(0.5)
        assert proposes_to(bob, mark) == [], "bob was rung by a relay's call"
    finally:
        eve.close()


# ---------------------------------------------------------------------------
# bounces and JMI answers only from the callee
# ---------------------------------------------------------------------------

def test_a_bounce_or_answer_from_a_third_party_is_ignored(relay, alice, bob, carol, calls):
    c = new_call(calls, relay, alice, bob, tag="bounce")
    c.initiate(video=False)
    c.wait_propose()
    # carol learnt the propose's message id (bob's client leaked it): she
    # forges a bounce of it, then a reject and a proceed.
    carol.send_raw(f"<message xmlns='jabber:client' type='error' to={quoteattr(c.b_from)} "
                   f"id={quoteattr(c.propose.get('id'))}><error type='cancel'><service-unavailable "
                   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
    relay.wait_log(f"session {c.b_sid}: ignored a bounce of our proposal from {carol.full_jid}", 5)
    carol.send_raw(jmi_xml(c.b_from, "reject", c.b_sid))
    carol.send_raw(jmi_xml(c.b_from, "proceed", c.b_sid))
    relay.wait_log(f"session {c.b_sid}: ignored <proceed/> from {carol.full_jid}", 5)
    assert f"the proposal to {BOB} bounced" not in relay.log()
    assert "session-terminate" not in c.a_actions(), c.a_actions()
    # The call is still bob's to take.
    c.b_jmi("proceed")
    c.wait_b("session-initiate")
    c.b_accept(video=False)
    c.wait_a("session-accept")


def test_a_bounce_from_the_callee_still_ends_the_call(relay, alice, bob, calls):
    c = new_call(calls, relay, alice, bob, tag="bounce-real")
    c.initiate(video=False)
    c.wait_propose()
    bob.send_raw(f"<message xmlns='jabber:client' type='error' to={quoteattr(c.b_from)} "
                 f"id={quoteattr(c.propose.get('id'))}><error type='cancel'><service-unavailable "
                 "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
    relay.wait_log(f"session {c.b_sid}: the proposal to {BOB} bounced", 5)
    c.wait_a("session-terminate")


# ---------------------------------------------------------------------------
# privacy: cname and msid stay on their leg
# ---------------------------------------------------------------------------

A_MSID = "alice-stream-Zk3 alice-track-Zk3"


def source_params(j):
    out = {}
    for c in j.findall("{urn:xmpp:jingle:1}content"):
        for d in c:
            for s in d.findall("{%s}source" % NS_SSMA):
                out[int(s.get("ssrc"))] = {p.get("name"): p.get("value")
                                           for p in s.findall("{%s}parameter" % NS_SSMA)}
    return out


def test_cname_and_msid_do_not_cross_the_relay(relay, alice, bob, calls):
    c = new_call(calls, relay, alice, bob, tag="privacy")
    offer = alice_offer(c.a_sid, alice.full_jid).replace(
        f"<parameter name='cname' value='{A.cname}'/>",
        f"<parameter name='cname' value='{A.cname}'/><parameter name='msid' value='{A_MSID}'/>"
        "<parameter name='label' value='alice-track-Zk3'/>"
        "<parameter name='mslabel' value='alice-stream-Zk3'/>")
    assert A_MSID in offer
    reply = alice.iq(c.addr, "set", offer)
    assert reply.get("type") == "result", dump(reply)
    c.wait_propose()
    c.b_jmi("proceed")
    init = c.wait_b("session-initiate")
    text = dump(init)
    for leak in (A.cname, "alice-stream", "alice-track", "Zk3"):
        assert leak not in text, f"alice's {leak!r} reached bob: {text}"
    params = source_params(jingle_of(init))
    assert set(params) == set(A.ssrcs), text
    cnames = {p.get("cname") for p in params.values()}
    assert len(cnames) == 1 and None not in cnames, text   # one endpoint: one cname
    b_cname = cnames.pop()
    msids = {ssrc: p.get("msid") for ssrc, p in params.items()}
    assert all(msids.values()), f"msid dropped, not replaced: {text}"
    # One stream for both contents, one track per content (rtx with its video).
    streams = {m.split()[0] for m in msids.values()}
    assert len(streams) == 1, text
    assert msids[A.ssrcs[1]] == msids[A.ssrcs[2]] != msids[A.ssrcs[0]], text

    c.b_accept()
    acc = c.wait_a("session-accept")
    text = dump(acc)
    assert B.cname not in text, f"bob's cname reached alice: {text}"
    a_cnames = {p.get("cname") for p in source_params(jingle_of(acc)).values()}
    assert len(a_cnames) == 1 and None not in a_cnames, text
    assert a_cnames != {b_cname}, "both legs got the same cname"


# ---------------------------------------------------------------------------
# [call] max-calls-per-minute (carol calls: her rate is untouched so far)
# ---------------------------------------------------------------------------

def test_placed_call_rate_is_limited_per_caller(relay, alice, bob, carol, calls):
    for i in range(RATE):
        c = new_call(calls, relay, carol, bob, tag=f"rate{i}")
        c.initiate(video=False)
        wait_new(bob, c.b_mark, lambda e: jmi_child(e, "propose") is not None
                 and bare(e.get("from")) == addr(f"carol@{DOMAIN}"), 10, "carol's call ringing")
        hang_up(c)
    mark = len(received(bob))
    over = new_call(calls, relay, carol, bob, tag="rate-over")
    over.initiate(video=False)
    # XEP-0166 <decline/> with the reason in <text/>: the relay refuses by
    # its policy (not <busy/>: the callee is not on another call).
    refused(over, "decline", "a minute")
    relay.wait_log(f"session {over.a_sid} from {carol.full_jid} refused: more than {RATE} "
                   "calls a minute ([call] max-calls-per-minute", 5)
    time.sleep(0.5)
    assert proposes_to(bob, mark) == [], "bob was rung for a call over the rate"

    # The rate is carol's: bob may still call alice.
    mark_a = len(received(alice))
    back = new_call(calls, relay, bob, alice, to=addr(f"alice@{DOMAIN}"), tag="rate-other")
    back.initiate(video=False)
    msg = wait_new(alice, mark_a, lambda e: jmi_child(e, "propose") is not None, 10,
                   "bob's call ringing alice")
    assert bare(msg.get("from")) == addr(BOB), dump(msg)
    hang_up(back)
