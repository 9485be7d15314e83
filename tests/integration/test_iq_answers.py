"""Answers to belfry's own Jingle requests (relay/iq-tracker.c): matched
through a table of pending requests by the id belfry gave each one, and
only from the JID the request went to.  An error answering a pending
request ends the call; forged answers (a third party that learnt the id,
the callee with an id belfry never used) change nothing.

The drivers and stanzas of test_call.py (a real Prosody, slixmpp clients
sending raw Jingle/JMI, fake candidates: no media flows).
"""

from xml.sax.saxutils import quoteattr

import pytest

from harness import DOMAIN, NS_PING, USERS, Client
from relay_fixtures import _belfry_survives, belfry_fixture, client_fixture, prosody_fixture  # noqa: F401
from test_call import CAROL_PW, MEDIA, Call, dump, online

USERS_HERE = dict(USERS, carol=CAROL_PW)


iq_prosody = prosody_fixture("iq_prosody", USERS_HERE)
relay = belfry_fixture("iq_prosody", "belfry-iq-answers", modules="call",
                       groups={"media": MEDIA, "call": {"ring-timeout": "20"}})
alice = client_fixture("alice", "iq_prosody", lambda p: online(p, "alice", "iq-a"))
carol = client_fixture("carol", "iq_prosody",
                       lambda p: Client(f"carol@{DOMAIN}/iq-c", CAROL_PW, p.c2s_port))


@pytest.fixture(scope="module")
def silent_bob(iq_prosody, relay):
    """bob answering no Jingle request itself (the test answers them;
    slixmpp alone would refuse them at once)."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    c = Client(f"bob@{DOMAIN}/iq-silent", USERS["bob"], iq_prosody.c2s_port)

    async def register():
        c.xmpp.register_handler(Callback(
            "belfry-test jingle silence",
            MatchXPath("{jabber:client}iq/{urn:xmpp:jingle:1}jingle"), lambda iq: None))

    try:
        c._call(register(), 5)
        c.send_raw("<presence xmlns='jabber:client'/>")
        yield c
    finally:
        c.close()


@pytest.fixture
def calls():
    made = []
    yield made
    for c in made:
        c.cleanup()


def iq_error_xml(to, iq_id):
    return (f"<iq xmlns='jabber:client' type='error' to={quoteattr(to)} id={quoteattr(iq_id)}>"
            "<error type='cancel'><service-unavailable "
            "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")


def test_an_iq_error_ends_the_call_only_for_a_pending_request(relay, alice, silent_bob, carol,
                                                              calls):
    """An error answering belfry's session-initiate ends the call, but only
    with the id belfry gave that request and only from the callee: a third
    party that learnt the id, and the callee with ids belfry never used
    (the shape of belfry's old "bf-j<n>-<sid>" ids), are ignored."""
    bob = silent_bob
    c = Call(relay, alice, bob, tag="iq-err")
    calls.append(c)
    c.initiate(video=False)
    c.wait_propose()
    c.b_jmi("proceed")
    rid = c.wait_b("session-initiate").get("id")   # unanswered: pending
    carol.send_raw(iq_error_xml(c.b_from, rid))
    bob.send_raw(iq_error_xml(c.b_from, f"bf-j1-{c.b_sid}"))
    bob.send_raw(iq_error_xml(c.b_from, f"bf-j2-{c.b_sid}"))
    # Round trips after them: each sender's stanzas are handled in order.
    for client in (carol, bob):
        reply = client.iq(c.b_from, "get", f"<ping xmlns='{NS_PING}'/>")
        assert reply.get("type") == "result", dump(reply)
    assert "session-terminate" not in c.a_actions(), c.a_actions()
    assert "session-terminate" not in c.b_actions(), c.b_actions()
    assert f"session {c.b_sid} with " not in relay.log()
    bob.send_raw(iq_error_xml(c.b_from, rid))
    c.wait_a("session-terminate")
    relay.wait_log(f"session {c.b_sid} with {bob.full_jid} ended", 5)
