"""Stanzas belfry sends while its component link is down are held and sent
after the next handshake (relay/link.c, [component] hold-while-detached and
hold-stanzas): the signalling of calls whose media never stopped catches up
once the server is back.

The test plays the XEP-0114 server on a raw socket (harness.FakeServer), so
it decides exactly when the link is down and when the handshake completes.
What belfry sends while detached: session-terminates of echo sessions
whose ICE never connects ([media] ice-timeout = 2 s), fired while the test
holds the reconnected stream before its handshake.
"""

import re
import time
import xml.etree.ElementTree as ET

import pytest

from harness import ECHO, SECRET, handshake_digest, run_belfry, write_config
from test_jingle import JINGLE, jingle, new_sid, offer

ALICE = "alice@localhost/r1"
MEDIA = {"addresses": "127.0.0.1", "ice-timeout": "2"}
ATTACHED = "attached to 127.0.0.1:{port} as "


def start(fake, factory, **component):
    b = factory(port=fake.port, verbose=True, component_extra=component,
                groups={"media": MEDIA}).start(wait_attached=False)
    c = fake.accept(10)
    sid = c.serve_handshake()
    b.forbidden.append(handshake_digest(sid, SECRET))
    b.wait_log(ATTACHED.format(port=fake.port), 5)
    return b, c


def open_sessions(c, n):
    """n echo sessions from Alice, each answered (iq result, then
    session-accept once belfry gathered), one after the other so that their
    ICE timeouts fire in this order."""
    sids = []
    for i in range(n):
        sid = new_sid(f"hold{i}")
        c.send(f"<iq type='set' id='ini-{sid}' from='{ALICE}' to='{ECHO}'>"
               f"{offer(sid, ALICE, video=False)}</iq>")
        c.wait_for(rb"<iq[^>]*id=['\"]ini-%s['\"]" % re.escape(sid).encode(), 10)
        c.wait_for(rb"action=['\"]session-accept['\"][^>]*sid=['\"]%s['\"]"
                   % re.escape(sid).encode(), 10)
        sids.append(sid)
        time.sleep(0.3)
    return sids


def drop_and_hold(fake, b, c, sids):
    """The server goes away; belfry reconnects, and the test keeps the new
    stream before its handshake until every session has timed out."""
    c.close()
    b.wait_log(f"the server at 127.0.0.1:{fake.port} closed the connection", 5)
    c2 = fake.accept(10)
    for sid in sids:
        b.wait_log(f"session {sid} with {ALICE} ended", 10)
    return c2


def terminates(c, start):
    """The session-terminates c received after `start`, as (sid, reason)."""
    out = []
    for m in re.finditer(rb"<iq\b.*?</iq\s*>", c.buf[start:], re.S):
        el = ET.fromstring(m.group(0))
        j = el.find(JINGLE)
        if j is None or j.get("action") != "session-terminate":
            continue
        reason = j.find("{*}reason")
        conds = [c.tag.split("}", 1)[1] for c in (reason if reason is not None else [])
                 if not c.tag.endswith("}text")]
        assert el.get("to") == ALICE and el.get("from", "").startswith(ECHO), el.attrib
        out.append((j.get("sid"), conds[0] if conds else None))
    return out


def wait_terminates(c, start, n, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = terminates(c, start)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    return terminates(c, start)


def test_held_stanzas_go_out_in_order_after_the_handshake(fake_server, belfry_factory):
    b, c = start(fake_server, belfry_factory)
    sids = open_sessions(c, 3)
    c2 = drop_and_hold(fake_server, b, c, sids)
    time.sleep(0.5)
    # Nothing leaves before the server accepted the handshake.
    assert b"session-terminate" not in c2.buf, c2.text()
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5, count=2)
    got = wait_terminates(c2, c2.handshake_end, 3)
    assert got == [(sid, "failed-transport") for sid in sids], (got, b.log()[-4000:])
    log = b.log()
    assert "sent 3 stanzas held while detached (0 dropped" in log, log[-4000:]
    assert "re-attached (handshake 2)" in log, log[-4000:]
    # The link works as before: an echo message is answered at once.
    mark = len(c2.buf)
    c2.send(f"<message type='chat' id='after' from='{ALICE}' to='{ECHO}'><body>hi</body></message>")
    c2.wait_for(rb"<message\b[^>]*>.*?<body>hi</body>", 5, start=mark)


def test_over_the_count_limit_the_oldest_are_dropped(fake_server, belfry_factory):
    b, c = start(fake_server, belfry_factory, **{"hold-stanzas": "2"})
    sids = open_sessions(c, 4)
    c2 = drop_and_hold(fake_server, b, c, sids)
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5, count=2)
    got = wait_terminates(c2, c2.handshake_end, 2)
    time.sleep(1)   # nothing else follows
    got = terminates(c2, c2.handshake_end)
    assert got == [(sid, "failed-transport") for sid in sids[2:]], (got, b.log()[-4000:])
    log = b.log()
    assert "sent 2 stanzas held while detached (2 dropped" in log, log[-4000:]
    assert log.count("dropped a held <iq/> (over the hold limit)") == 2, log[-4000:]
    b.terminate()
    assert re.search(r"\(4 held while detached, 2 of them dropped\)", b.log()), b.log()[-2000:]


def test_held_too_long_is_dropped(fake_server, belfry_factory):
    b, c = start(fake_server, belfry_factory, **{"hold-while-detached": "1"})
    sids = open_sessions(c, 1)
    c2 = drop_and_hold(fake_server, b, c, sids)
    time.sleep(2.0)   # > hold-while-detached
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5, count=2)
    time.sleep(1)
    assert terminates(c2, c2.handshake_end) == [], c2.text()
    assert "dropped a held <iq/> (held too long)" in b.log(), b.log()[-4000:]


def test_holding_off_drops_at_once(fake_server, belfry_factory):
    b, c = start(fake_server, belfry_factory, **{"hold-while-detached": "0"})
    sids = open_sessions(c, 1)
    c2 = drop_and_hold(fake_server, b, c, sids)
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5, count=2)
    time.sleep(1)
    assert terminates(c2, c2.handshake_end) == [], c2.text()
    assert "not attached to the server: dropped a <iq/>" in b.log(), b.log()[-4000:]


def presences(c, start):
    """(from, to, type) of the presence stanzas c received after `start`."""
    out = []
    for m in re.finditer(rb"<presence\b[^>]*?(?:/>|>.*?</presence\s*>)", c.buf[start:], re.S):
        el = ET.fromstring(m.group(0))
        out.append((el.get("from"), el.get("to"), el.get("type")))
    return out


def test_presence_is_announced_again_after_a_reattach(fake_server, belfry_factory):
    """The server forgot echo@'s presence when it restarted, and a client that
    logged in before belfry re-attached had its probe bounced: after the
    handshake, echo's available presence goes again to every contact it was
    sent to (bare JIDs), except one that unsubscribed."""
    b, c = start(fake_server, belfry_factory)
    online = f"{ECHO}/belfry"
    c.send(f"<presence type='subscribe' from='alice@localhost' to='{ECHO}'/>")
    c.send(f"<presence from='bob@localhost/phone' to='{ECHO}'/>")
    c.send(f"<presence type='subscribe' from='carol@localhost' to='{ECHO}'/>")
    c.wait_for(rb"<presence[^>]*to=['\"]carol@localhost['\"]", 5)
    c.send(f"<presence type='unsubscribe' from='carol@localhost' to='{ECHO}'/>")
    c.wait_for(rb"type=['\"]unsubscribed['\"]", 5)
    before = presences(c, 0)
    assert (online, "alice@localhost", None) in before, before
    assert (online, "bob@localhost/phone", None) in before, before
    c.close()
    c2 = fake_server.accept(10)
    c2.serve_handshake()
    b.wait_log(ATTACHED.format(port=fake_server.port), 5, count=2)
    b.wait_log("presence re-announced to 2 contacts", 5)
    time.sleep(0.5)
    got = presences(c2, c2.handshake_end)
    assert sorted(got) == [(online, "alice@localhost", None), (online, "bob@localhost", None)], got
    mark = len(c2.buf)
    # Each carries the caps echo announces, as the first time.
    assert b"http://jabber.org/protocol/caps" in c2.buf[c2.handshake_end:mark], c2.text()


@pytest.mark.parametrize("key,value", [("hold-while-detached", "301"),
                                       ("hold-while-detached", "-1"),
                                       ("hold-stanzas", "0"),
                                       ("hold-stanzas", "many")])
def test_hold_limits_out_of_range_are_config_errors(tmp_path, key, value):
    path = write_config(tmp_path / "belfry.conf", port=5347, component_extra={key: value})
    r = run_belfry(["-c", str(path), "--check-config"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{path}: [component] {key}: " in r.stderr, r.stderr


def test_a_hang_up_from_another_resource_is_unknown_session(fake_server, belfry_factory):
    """belfry knows a session by the peer's full JID and sid: after a server
    restart a client must come back with the same resource (as Conversations,
    Monal and Dino do) for its hang-up to count. Another resource of the same
    account gets <item-not-found/> + <unknown-session/>; the session goes on
    and the right resource can still end it."""
    b, c = start(fake_server, belfry_factory)
    [sid] = open_sessions(c, 1)
    other = "alice@localhost/r2"
    c.send(f"<iq type='set' id='t-other' from='{other}' to='{ECHO}'>"
           f"{jingle('session-terminate', sid, '<reason><success/></reason>')}</iq>")
    m = c.wait_for(rb"<iq[^>]*id=['\"]t-other['\"].*?</iq\s*>", 5)
    reply = m.group(0).decode()
    assert "type='error'" in reply or 'type="error"' in reply, reply
    assert "item-not-found" in reply and "unknown-session" in reply, reply
    assert f"session {sid} with {ALICE} ended" not in b.log()
    c.send(f"<iq type='set' id='t-same' from='{ALICE}' to='{ECHO}'>"
           f"{jingle('session-terminate', sid, '<reason><success/></reason>')}</iq>")
    m = c.wait_for(rb"<iq[^>]*id=['\"]t-same['\"][^>]*>", 5)
    assert "result" in m.group(0).decode(), m.group(0)
    b.wait_log(f"session {sid} with {ALICE} ended: success", 5)
