"""Stanzas over belfry's limits, from a real client through a real Prosody:
one user's oversized or overdeep stanza costs that user an error, not
everyone the component link (issue 10, finding 1).

Each over-limit shape goes to several addresses on the component (the
domain, echo@, a relay address, a localpart nobody owns); after each the
sender has its policy-violation error, belfry answers a disco#info, and the
component link is the same one: Prosody logs one component authentication
and belfry one attach for the whole module.
"""

import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import pytest

from harness import (COMPONENT, ECHO, NS_CLIENT, NS_DISCO_INFO, USERS, Belfry, Client,
                     Prosody, free_port, iq_error_condition)
from test_metrics import scrape, value

LIMIT = 256 * 1024            # belfry's default max-stanza-size
RELAY_ADDR = r"bob\40localhost@" + COMPONENT
ADDRESSES = [COMPONENT, ECHO, RELAY_ADDR, "nobody@" + COMPONENT]
MEDIA = {"addresses": "127.0.0.1", "port-range": "20000-40000"}
# Prosody's own c2s limit (256 KiB) would refuse the oversized stanzas
# before they reach the component: raised so that they get through, as
# they do on a server-to-server link (512 KiB) from a remote user.
PROSODY_EXTRA = "c2s_stanza_size_limit = 4 * 1024 * 1024\n"
PROSODY_AUTH = "External component successfully authenticated"


def deep(n):
    """A payload nested so that the stanza has n levels (itself the 1st)."""
    return "<x xmlns='urn:test:deep'>" + "<x>" * (n - 2) + "</x>" * (n - 2) + "</x>"


def many_attrs(n):
    attrs = " ".join(f"a{i}='{i}'" for i in range(n))
    return f"<x xmlns='urn:test:attrs' {attrs}/>"


def big_text(n):
    return f"<x xmlns='urn:test:big'>{'a' * n}</x>"


def quotes(n):
    """n bytes of apostrophes in text: under the limit as the client sends
    them, but Prosody re-escapes each as &apos; (6 bytes) on the way out."""
    return f"<x xmlns='urn:test:quotes'>{chr(39) * n}</x>"


# (name, payload): each over one of belfry's limits at the component
SHAPES = [
    ("depth-33", deep(33)),
    ("attributes-65", many_attrs(65)),
    ("size", big_text(LIMIT + 1024)),
    ("size-after-reescaping", quotes(LIMIT // 4)),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    p = Prosody(extra=PROSODY_EXTRA)
    b = None
    alice = None
    try:
        p.start()
        mport = free_port()
        b = Belfry(tmp_path_factory.mktemp("belfry-limits"), port=p.component_port,
                   modules="echo;call",
                   groups={"media": MEDIA, "metrics": {"listen": f"127.0.0.1:{mport}"}})
        b.start()
        b.wait_log("metrics: serving", 5)
        b.mport = mport
        alice = Client("alice@localhost", USERS["alice"], p.c2s_port)
        yield p, b, alice
    finally:
        if alice:
            alice.close()
        try:
            if b:
                b.stop()
        finally:
            if b:
                b.kill_quietly()
            p.close()


def error_of(alice, kind, stanza_id, sender, timeout=10.0):
    el = alice.wait_stanza(
        lambda e: e.tag == "{%s}%s" % (NS_CLIENT, kind) and e.get("id") == stanza_id
        and e.get("type") in ("error", "result"),
        timeout, what=f"answer to {kind} {stanza_id}")
    assert el.get("type") == "error", f"{kind} {stanza_id} got a result"
    assert el.get("from") == sender, (el.get("from"), sender)
    return iq_error_condition(el)


def assert_disco_answered(alice):
    reply = alice.query(COMPONENT, NS_DISCO_INFO, timeout=10)
    assert reply.get("type") == "result", "belfry did not answer disco#info after a drop"


def refused(b, reason="over_limit"):
    """belfry_stanzas_refused_total{reason} as /metrics shows it now."""
    return value(scrape(b.mport)[1], "belfry_stanzas_refused_total", reason=reason)


def assert_one_link(p, b):
    assert b.running()
    assert b.count("attached to") == 1, b.log()[-3000:]
    assert p.log_text().count(PROSODY_AUTH) == 1, "the component link was re-established"


@pytest.mark.parametrize("shape", [s[0] for s in SHAPES])
@pytest.mark.parametrize("kind", ["message", "iq"])
def test_over_limit_bounced_link_stays(setup, shape, kind):
    p, b, alice = setup
    payload = dict(SHAPES)[shape]
    before = refused(b)
    for to in ADDRESSES:
        sid = alice.new_id()
        if kind == "message":
            alice.send_raw(f"<message xmlns='jabber:client' type='chat' to='{to}' id='{sid}'>"
                           f"<body>hi</body>{payload}</message>")
        else:
            alice.send_raw(f"<iq xmlns='jabber:client' type='set' to='{to}' id='{sid}'>"
                           f"{payload}</iq>")
        cond = error_of(alice, kind, sid, to)
        assert cond == ("modify", ["policy-violation"]), (shape, to, cond)
        assert_disco_answered(alice)
    assert_one_link(p, b)
    # one over_limit refusal per stanza dropped, by value
    assert refused(b) - before == len(ADDRESSES), (before, refused(b))
    # counted and logged with the sender and the reason, not the content
    reason = {"depth-33": "depth", "attributes-65": "attributes"}.get(shape, "size")
    assert b.count(f"over the {reason} limit") >= len(ADDRESSES), b.log()[-3000:]
    assert "urn:test:" not in b.log()


def test_over_limit_presence_dropped_silently(setup):
    """Presence is never answered (RFC 6120 §8.3.1): dropped, no error."""
    p, b, alice = setup
    before = len(alice.received)
    count_before = refused(b)
    for to in ADDRESSES:
        alice.send_raw(f"<presence xmlns='jabber:client' to='{to}'>{deep(33)}</presence>")
    assert_disco_answered(alice)
    assert refused(b) - count_before == len(ADDRESSES), (count_before, refused(b))
    errors = [e for e in alice.received[before:]
              if e.tag == "{%s}presence" % NS_CLIENT and e.get("type") == "error"]
    assert errors == []
    assert_one_link(p, b)


def test_just_under_the_limits_is_served(setup):
    """The limits themselves: 32 levels and 64 attributes still reach echo."""
    p, b, alice = setup
    before = refused(b)
    for payload in (deep(32), many_attrs(64)):
        mid = alice.new_id()
        alice.send_raw(f"<message xmlns='jabber:client' type='chat' to='{ECHO}' id='{mid}'>"
                       f"<body>under {mid}</body>{payload}</message>")
        alice.wait_stanza(
            lambda e: e.tag == "{%s}message" % NS_CLIENT and e.get("from", "").startswith(ECHO)
            and e.get("type") != "error"
            and (e.findtext("{%s}body" % NS_CLIENT) or "").endswith(mid),
            10, what=f"echo of {mid}")
    assert_one_link(p, b)
    assert refused(b) == before, "a stanza within the limits was counted as refused"


@pytest.mark.parametrize("to", [
    "a b@" + COMPONENT, "a@b@" + COMPONENT, 'q"q@' + COMPONENT, "l" * 1024 + "@" + COMPONENT,
    COMPONENT + "/", "@" + COMPONENT,
], ids=["space", "two-ats", "quote", "local-1024", "empty-resource", "empty-local"])
def test_malformed_to_through_prosody(setup, to):
    """Prosody refuses most malformed addresses itself; whichever of the two
    answers, the sender gets jid-malformed and the link stays."""
    p, b, alice = setup
    sid = alice.new_id()
    alice.send_raw(f"<iq xmlns='jabber:client' type='get' to={quoteattr(to)} id='{sid}'>"
                   f"<ping xmlns='urn:xmpp:ping'/></iq>")
    el = alice.wait_stanza(lambda e: e.get("id") == sid, 10, what=f"answer to {sid}")
    assert el.get("type") == "error"
    assert iq_error_condition(el)[1] == ["jid-malformed"], ET.tostring(el)
    assert_disco_answered(alice)
    assert_one_link(p, b)
