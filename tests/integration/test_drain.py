"""Draining and stopping with calls running (relay/main.c, relay/session-admin.c),
through a real Prosody with a slixmpp Jingle client (no media needed: the
echo session is accepted, which is all a running call is to signalling).

  SIGUSR1          no new sessions: a session-initiate is acknowledged and
                   ended with session-terminate <busy/>, a JMI proposal gets
                   <reject/> with <busy/>; the running session goes on;
                   belfry exits 0 when it ends
  drain-timeout    the sessions still running then get session-terminate
                   <gone/>; exit 0
  drain command    (XEP-0050, an admin) with nothing running: exit 0 at once
  SIGTERM          every running session's peer gets session-terminate
                   <gone/> before belfry exits; exit 0
"""

import signal
import time

import pytest

from adhoc import NS_COMMANDS, command_of, execute
from harness import DOMAIN, ECHO, Belfry
from test_jingle import (MEDIA, MESSAGE, NS_JMI, NS_RTP, assert_result, initiate, jingle_client,
                         new_sid, offer, reason_of, send_jingle, terminate, wait_jingle)


@pytest.fixture
def make_relay(prosody, tmp_path):
    made = []

    def make(**component_extra):
        b = Belfry(tmp_path, port=prosody.component_port, component_extra=component_extra,
                   groups={"media": MEDIA, "admin": {"jids": f"alice@{DOMAIN}"}})
        made.append(b)
        b.start()
        return b

    yield make
    for b in made:
        b.kill_quietly()


@pytest.fixture
def alice(prosody):
    c = jingle_client(prosody, "alice", "drain")
    yield c
    c.close()


def wait_exit_ok(relay, timeout):
    rc, _ = relay.wait_exit(timeout)
    assert rc == 0, f"belfry exited {rc}:\n{relay.log()[-4000:]}"
    relay.assert_secret_not_logged()


def test_sigusr1_drains_then_exits_when_last_session_ends(make_relay, alice):
    relay = make_relay()
    running = new_sid("run")
    initiate(alice, running)

    relay.send_signal(signal.SIGUSR1)
    relay.wait_log("drain: taking no new sessions; 1 running", 5)

    # a new session: acknowledged, then <busy/>
    refused = new_sid("new")
    assert_result(send_jingle(alice, offer(refused, alice.full_jid)), "session-initiate")
    t = wait_jingle(alice, refused, "session-terminate")
    assert reason_of(t)[0] == "busy"

    # a JMI proposal: <reject/> with <busy/>
    pid = new_sid("jmi")
    alice.send_raw(f"<message xmlns='jabber:client' type='chat' to='{ECHO}' id='m-{pid}'>"
                   f"<propose xmlns='{NS_JMI}' id='{pid}'>"
                   f"<description xmlns='{NS_RTP}' media='audio'/></propose></message>")

    def is_reject(e):
        r = e.find("{%s}reject" % NS_JMI)
        return e.tag == MESSAGE and e.get("from") == ECHO and r is not None and r.get("id") == pid

    m = alice.wait_stanza(is_reject, 5, what=f"<reject id='{pid}'/>")
    assert m.find(".//{urn:xmpp:jingle:1}busy") is not None
    with alice._cond:
        proceeds = [e for e in alice.received if e.find("{%s}proceed" % NS_JMI) is not None
                    and e.find("{%s}proceed" % NS_JMI).get("id") == pid]
    assert not proceeds

    # the running session goes on: belfry waits for it
    time.sleep(1.5)
    assert relay.running()
    assert f"session {running} with {alice.full_jid} ended" not in relay.log()

    # its end ends belfry, with exit 0
    relay.signalled_at = time.monotonic()
    terminate(alice, relay, running)
    wait_exit_ok(relay, 10)
    assert "drain: the last session ended" in relay.log()
    assert "stopping (drained): ending 0 sessions" in relay.log()


def test_drain_timeout_ends_remaining_sessions(make_relay, alice):
    relay = make_relay(**{"drain-timeout": 2})
    sid = new_sid("slow")
    initiate(alice, sid)
    relay.send_signal(signal.SIGUSR1)
    relay.wait_log("drain: taking no new sessions; 1 running", 5)
    t = wait_jingle(alice, sid, "session-terminate", timeout=10)
    assert reason_of(t)[0] == "gone"
    wait_exit_ok(relay, 10)
    # not before the timeout: the signal was sent before belfry armed it
    # (with g_timeout_add_seconds it once fired at 1.78 s)
    assert relay.stop_seconds >= 2.0, relay.stop_seconds
    assert "drain: drain-timeout (2 s) reached with 1 session running" in relay.log()


def test_drain_command_with_nothing_running_exits(make_relay, alice):
    relay = make_relay()
    relay.signalled_at = time.monotonic()
    c = command_of(execute(alice, "drain"))
    assert c.get("status") == "completed"
    assert "0 sessions running" in c.find("{%s}note" % NS_COMMANDS).text
    wait_exit_ok(relay, 10)
    assert f"admin alice@{DOMAIN}/drain asked to drain" in relay.log()


def test_sigterm_tells_every_peer(make_relay, alice):
    relay = make_relay()
    sids = [new_sid("term") for _ in range(2)]
    for sid in sids:
        initiate(alice, sid)
    relay.send_signal(signal.SIGTERM)
    for sid in sids:
        t = wait_jingle(alice, sid, "session-terminate", timeout=5)
        assert reason_of(t)[0] == "gone"
    wait_exit_ok(relay, 10)
    assert "stopping (signal): ending 2 sessions" in relay.log()
