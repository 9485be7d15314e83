"""belfry against a server that misbehaves on purpose: the test plays the
XEP-0114 server on a raw TCP socket (the only fake server allowed)."""

import re
import select
import signal
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from harness import COMPONENT, ECHO, NS_PING, NS_STREAMS, SECRET, handshake_digest

ATTACHED = "attached to 127.0.0.1:{port} as " + COMPONENT
REFUSED = "the server refused the component secret for " + COMPONENT


def accept(fake, b, timeout):
    """fake.accept, with belfry's log in the failure message."""
    try:
        return fake.accept(timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; belfry's log:\n{b.log()[-5000:]}") from None


def attach(fake, factory, **config):
    config.setdefault("verbose", True)
    b = factory(port=fake.port, **config).start(wait_attached=False)
    c = accept(fake, b, 10)
    sid = c.serve_handshake()
    b.forbidden.append(handshake_digest(sid, SECRET))
    b.wait_log(ATTACHED.format(port=fake.port), 5)
    return b, c


def expect_stream_error_and_close(c, condition):
    got = c.stream_error(5)
    assert got == condition, f"stream error <{got}/>, expected <{condition}/>"
    c.wait_for(rb"</stream:stream\s*>", 3, start=c.stream_error_end)
    assert c.wait_eof(3), "belfry did not close the TCP connection after its stream error"


def expect_reconnect(fake, b, c, attached_before=1, lo=0.7, hi=3.0):
    """A new connection lo..hi s after c closed (backoff, not a busy loop),
    which then attaches again."""
    assert c.eof_at is not None
    c2 = accept(fake, b, hi + 1)
    gap = c2.accepted_at - c.eof_at
    assert lo <= gap <= hi, f"reconnected {gap:.2f} s after the close, expected {lo}..{hi} s"
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake.port), 5, count=attached_before + 1)
    return c2


# --- the handshake -----------------------------------------------------------

def test_handshake_is_sha1_of_id_and_secret(fake_server, belfry_factory):
    b, c = attach(fake_server, belfry_factory)  # serve_handshake checks the digest
    log = b.log()
    assert f"connecting to 127.0.0.1:{fake_server.port}" in log, log
    assert SECRET not in log


def test_stanza_below_limit_is_processed(fake_server, belfry_factory):
    b, c = attach(fake_server, belfry_factory, limits={"max-stanza-size": "262144"})
    body = "b" * 200000
    c.send(f"<message from='alice@localhost/r1' to='{ECHO}' type='chat' id='big1'>"
           f"<body>{body}</body></message>")
    m = c.wait_for(rb"<message\b.*?</message\s*>", 10, start=c.handshake_end)
    el = ET.fromstring(m.group(0))
    assert el.get("from") == ECHO and el.get("to") == "alice@localhost/r1", el.attrib
    assert el.findtext("{*}body") == body
    assert b.running()


# --- (a) malformed XML -------------------------------------------------------

@pytest.mark.parametrize("garbage", [
    "<message from='alice@localhost/r' to='relay.localhost'><body>x</bdoy></message>",
    "<message from='alice@localhost/r' to='relay.localhost'><body>fish & chips</body></message>",
    "<message from='alice@localhost/r' to='relay.localhost' id='a' id='b'/>",
], ids=["mismatched-tag", "bare-ampersand", "duplicate-attribute"])
def test_malformed_xml_not_well_formed(fake_server, belfry_factory, garbage):
    b, c = attach(fake_server, belfry_factory)
    c.send(garbage)
    expect_stream_error_and_close(c, "not-well-formed")
    expect_reconnect(fake_server, b, c)
    assert b.running()


# --- (b) oversized stanza ----------------------------------------------------

def test_oversized_stanza_policy_violation_bounded_memory(fake_server, belfry_factory):
    """A stanza that never ends: skipped (no content kept) up to the hard
    bound (16 x max-stanza-size), then the stream ends: memory stays bounded
    whatever the server sends."""
    b, c = attach(fake_server, belfry_factory, limits={"max-stanza-size": "262144"})
    time.sleep(0.2)
    hwm_before = b.vm_hwm_kb()
    c.send(f"<message from='alice@localhost/r' to='{ECHO}' type='chat'><body>")
    chunk = b"a" * 65536
    total, deadline = 0, time.monotonic() + 20
    while total < 10 * 1024 * 1024 and c.eof_at is None:
        assert time.monotonic() < deadline, (
            f"belfry stopped reading after {total} bytes without closing the stream")
        _, writable, _ = select.select([], [c.sock], [], 0.2)
        if not writable:
            continue
        try:
            total += c.sock.send(chunk, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    expect_stream_error_and_close(c, "policy-violation")
    assert b.running()
    growth = b.vm_hwm_kb() - hwm_before
    assert growth < 8 * 1024, f"VmHWM grew by {growth} kB while refusing a 10 MB stanza"
    expect_reconnect(fake_server, b, c)


def over_limit_stanzas(to):
    """(name, stanza, reason) over belfry's default limits, each from a
    remote user, addressed to @to."""
    deep = "<x xmlns='urn:test'>" + "<x>" * 31 + "</x>" * 31 + "</x>"
    attrs = "<x xmlns='urn:test' " + " ".join(f"a{i}='{i}'" for i in range(65)) + "/>"
    big = "<x xmlns='urn:test'>" + "a" * (256 * 1024) + "</x>"
    frm = "mallory@remote.example/r"
    return [(name, f"<message from='{frm}' to='{to}' type='chat' id='ol-{name}'>{payload}"
             "</message>", reason)
            for name, payload, reason in (("depth", deep, "depth"),
                                          ("attributes", attrs, "attributes"),
                                          ("size", big, "size"))]


def test_over_limit_stanza_dropped_stream_stays(fake_server, belfry_factory):
    """One sender's stanza over a limit costs that sender an error, not the
    link: no stream error, no reconnect, the next stanza is served."""
    b, c = attach(fake_server, belfry_factory)
    for name, stanza, reason in over_limit_stanzas(ECHO):
        start = len(c.buf)
        c.send(stanza)
        m = c.wait_for(rb"<message\b[^>]*id=['\"]ol-%s['\"].*?</message\s*>" % name.encode(),
                       5, start=start)
        el = ET.fromstring(m.group(0))
        assert el.get("type") == "error" and el.get("from") == ECHO, m.group(0)
        assert el.get("to") == "mallory@remote.example/r", m.group(0)
        assert b"policy-violation" in m.group(0) and b"urn:test" not in m.group(0), m.group(0)
        c.send(f"<iq type='get' from='alice@localhost/r1' to='{ECHO}' id='after-{name}'>"
               f"<ping xmlns='{NS_PING}'/></iq>")
        c.wait_for(rb"<iq\b[^>]*id=['\"]after-%s['\"]" % name.encode(), 5, start=start)
        assert b.count(f"over the {reason} limit") == 1
    assert b"stream:error" not in c.buf
    assert c.eof_at is None
    assert fake_server.no_connection_within(1.0), "belfry reconnected"
    assert b.count("attached to") == 1


# --- (c) restricted XML ------------------------------------------------------

@pytest.mark.parametrize("restricted", [
    "<!-- a comment -->",
    "<?belfry-test some processing instruction?>",
    "<message from='alice@localhost/r' to='relay.localhost'><!-- inside --></message>",
], ids=["comment", "processing-instruction", "comment-in-stanza"])
def test_restricted_xml(fake_server, belfry_factory, restricted):
    b, c = attach(fake_server, belfry_factory)
    c.send(restricted)
    expect_stream_error_and_close(c, "restricted-xml")
    expect_reconnect(fake_server, b, c)


def test_dtd_in_stream_header_is_restricted_xml(fake_server, belfry_factory):
    b = belfry_factory(port=fake_server.port, verbose=True).start(wait_attached=False)
    c = accept(fake_server, b, 10)
    c.wait_for(rb"<(?:stream:)?stream\b[^>]*>", 10)
    c.send("<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY boom 'boom'>]>"
           "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
           f"xmlns='jabber:component:accept' from='{COMPONENT}' id='dtd1'>")
    expect_stream_error_and_close(c, "restricted-xml")
    assert "<handshake" not in c.text(), "belfry went on with the handshake despite a DTD"
    assert "attached to" not in b.log()
    c2 = accept(fake_server, b, 4)
    assert 0.7 <= c2.accepted_at - c.eof_at <= 3.0
    assert b.running()


# --- (d) refused secret ------------------------------------------------------

def refuse(c):
    c.serve_handshake(accept=False)
    c.send(f"<stream:error><not-authorized xmlns='{NS_STREAMS}'/></stream:error>"
           "</stream:stream>")
    closed = time.monotonic()
    c.close()
    return closed


def test_refused_secret_logged_and_backoff(fake_server, belfry_factory):
    b = belfry_factory(port=fake_server.port, verbose=True).start(wait_attached=False)
    c1 = accept(fake_server, b, 10)
    closed = refuse(c1)
    b.wait_log(REFUSED, 3)

    c2 = accept(fake_server, b, 4)
    gap1 = c2.accepted_at - closed
    assert 0.7 <= gap1 <= 2.0, f"first retry after {gap1:.2f} s, expected ~1 s"
    closed = refuse(c2)
    b.wait_log(REFUSED, 3, count=2)

    c3 = accept(fake_server, b, 6)
    gap2 = c3.accepted_at - closed
    assert 1.4 <= gap2 <= 3.0, f"second retry after {gap2:.2f} s, expected ~2 s (doubling)"
    assert "reconnecting in" in b.log()

    # Now accept; an authenticated session resets the backoff to ~1 s.
    c3.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5)
    c3.send("</stream:stream>")
    assert c3.wait_eof(3), "belfry did not close after the server closed the stream"
    c4 = accept(fake_server, b, 4)
    gap3 = c4.accepted_at - c3.eof_at
    assert 0.7 <= gap3 <= 2.0, f"backoff not reset after a session: {gap3:.2f} s"
    assert b.running()


# --- (e) SIGTERM while attached ----------------------------------------------

@pytest.mark.parametrize("server_answers", [True, False], ids=["server-closes", "server-silent"])
def test_sigterm_closes_stream_then_exits_0(fake_server, belfry_factory, server_answers):
    b, c = attach(fake_server, belfry_factory)
    b.send_signal(signal.SIGTERM)
    c.wait_for(rb"</stream:stream\s*>", 2, start=c.handshake_end)
    if server_answers:
        c.send("</stream:stream>")
    assert c.wait_eof(2.5), "belfry did not close the socket after </stream:stream>"
    rc, secs = b.wait_exit(5)
    assert rc == 0, f"exit code {rc}; stderr:\n{b.log()[-4000:]}"
    assert secs < 2.0, f"exit took {secs:.2f} s after SIGTERM"
    b.assert_secret_not_logged()


# --- (f) dead link -----------------------------------------------------------

KEEPALIVE = {"keepalive-interval": "1", "ping-timeout": "2"}


def test_dead_link_detected_and_reconnected(fake_server, belfry_factory):
    b, c = attach(fake_server, belfry_factory, component_extra=KEEPALIVE)
    attached_at = time.monotonic()
    c.wait_for(rb"<iq\b[^>]*>\s*<ping\s+xmlns=['\"]" + NS_PING.encode(), 3,
               start=c.handshake_end)
    c2 = accept(fake_server, b, max(0.1, 6 - (time.monotonic() - attached_at)))
    assert c.eof_at is not None, "belfry opened a new connection without closing the dead one"
    assert c.eof_at - attached_at >= 2.0, (
        "belfry closed the silent link before keepalive-interval + ping-timeout")
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5, count=2)


def test_live_link_survives_keepalive(fake_server, belfry_factory):
    import re
    b, c = attach(fake_server, belfry_factory, component_extra=KEEPALIVE)
    ping_rx = re.compile(rb"<iq\b([^>]*)>\s*<ping\s+xmlns=['\"]urn:xmpp:ping['\"]\s*/>\s*</iq>")
    attr_rx = re.compile(rb"""\b(id|from|to)=['"]([^'"]*)['"]""")
    pos, answered, end = c.handshake_end, 0, time.monotonic() + 6
    while time.monotonic() < end:
        try:
            m = c.wait_for(ping_rx.pattern, min(1.0, max(0.05, end - time.monotonic())),
                           start=pos)
        except AssertionError:
            assert c.eof_at is None, "belfry dropped a link whose pings were answered"
            continue
        pos = m.end()
        attrs = {k.decode(): v.decode() for k, v in attr_rx.findall(m.group(1))}
        frm = attrs.get("from", "")
        assert frm.split("/")[0].split("@")[-1] == COMPONENT, m.group(0)
        c.send(f"<iq type='result' id='{attrs['id']}' from='{attrs.get('to', 'localhost')}' "
               f"to='{COMPONENT}'/>")
        answered += 1
    assert answered >= 2, f"only {answered} keepalive pings in 6 s with keepalive-interval=1"
    assert c.eof_at is None, "belfry dropped a link whose pings were answered"
    assert fake_server.no_connection_within(0.1), "belfry opened a second connection"
    assert b.count("attached to") == 1


# --- stanzas a faulty server passes on without from or to --------------------

@pytest.mark.parametrize("stanza", [
    f"<iq type='set' to='{ECHO}' id='nofrom1'><jingle xmlns='urn:xmpp:jingle:1' "
    "action='session-initiate' sid='s1'/></iq>",
    f"<iq type='error' to='{ECHO}' id='bf-j1-s1'><jingle xmlns='urn:xmpp:jingle:1' sid='s1'/>"
    "</iq>",
    f"<message to='{ECHO}' type='chat' id='nofrom2'>"
    "<propose xmlns='urn:xmpp:jingle-message:0' id='p1'>"
    "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>",
    f"<message to='{ECHO}' type='error' id='bf-m-p1'/>",
    "<iq type='set' from='alice@localhost/r1' id='noto1'><jingle xmlns='urn:xmpp:jingle:1' "
    "action='session-initiate' sid='s2'/></iq>",
    f"<message from='a@b@localhost/r' to='{ECHO}' type='chat' id='badfrom1'><body>x</body>"
    "</message>",
    f"<iq type='set' from='sp ace@localhost/r' to='{ECHO}' id='badfrom2'>"
    "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s3'/></iq>",
    f"<iq type='set' from='{'l' * 1024}@localhost/r' to='{ECHO}' id='badfrom3'>"
    "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s4'/></iq>",
    f"<message from='alice@localhost/' to='{ECHO}' type='error' id='bf-m-p1'/>",
], ids=["jingle-set-no-from", "jingle-error-no-from", "jmi-no-from", "jmi-bounce-no-from",
        "jingle-no-to", "message-from-two-ats", "jingle-from-space", "jingle-from-1024-local",
        "jmi-bounce-from-empty-resource"])
def test_stanza_without_from_or_to_is_dropped_not_a_crash(fake_server, belfry_factory, stanza):
    """Only a faulty server sends a stanza without 'from' (RFC 6120 §8.1.2.1
    makes the server stamp it); belfry drops it (nothing can be answered)
    and goes on: the next ping from the server is answered."""
    b, c = attach(fake_server, belfry_factory)
    c.send(stanza)
    c.send(f"<iq type='get' from='alice@localhost/r1' to='{ECHO}' id='after1'>"
           f"<ping xmlns='{NS_PING}'/></iq>")
    m = c.wait_for(rb"<iq\b[^>]*id=['\"]after1['\"][^>]*>", 5, start=c.handshake_end)
    assert b"type='result'" in m.group(0) or b'type="result"' in m.group(0), m.group(0)
    sent_id = re.search(r"id='([^']*)'", stanza).group(1).encode()
    assert not re.search(rb"id=['\"]%s['\"]" % re.escape(sent_id), c.buf[c.handshake_end:]), (
        "belfry answered a stanza it cannot address")
    assert b.running()
    assert b.count("attached to") == 1


def test_malformed_to_answered_from_the_domain(fake_server, belfry_factory):
    """jid-malformed for a malformed 'to' comes from the component's domain:
    Prosody closes a component's stream over a 'from' outside its domain
    (invalid-from), so echoing the malformed address back would cost the
    link."""
    b, c = attach(fake_server, belfry_factory)
    c.send(f"<iq type='get' from='alice@localhost/r1' to='a@@{COMPONENT}' id='badto1'>"
           f"<ping xmlns='{NS_PING}'/></iq>")
    m = c.wait_for(rb"<iq\b[^>]*id=['\"]badto1['\"].*?</iq\s*>", 5, start=c.handshake_end)
    el = ET.fromstring(m.group(0))
    assert el.get("type") == "error" and el.get("from") == COMPONENT, m.group(0)
    assert b"jid-malformed" in m.group(0)
    assert b.count("with a malformed 'to'") == 1
