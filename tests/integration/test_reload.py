"""SIGHUP reloads the configuration (relay/reload.c, relay/main.c), through a
real Prosody with slixmpp clients:

  - [media] max-sessions 1000 -> 1 live: the running session goes on, the
    next one gets <busy/>
  - [admin] jids: bob becomes an admin without a restart
  - [component] log-level info -> debug: debug records appear
  - [metrics] listen: off -> on -> another port -> off, each scrape answered
    where it should be and refused where it should not; a busy port keeps
    the running listener
  - a broken file (a bad value, a syntax error) changes nothing: belfry
    keeps running with the old values and logs file, group and key
  - a change that needs a restart ([media] workers and shared-port,
    [component] secret) is
    refused by name, the value (a secret!) never logged, and the rest of
    the reload is applied
"""

import signal
import socket
import time
import urllib.error

import pytest

from adhoc import command_items, command_of, execute, field_values, form_of
from harness import DOMAIN, Belfry, free_ports, write_config
from test_metrics import scrape
from test_jingle import (MEDIA, assert_result, initiate, jingle_client, new_sid, offer,
                         reason_of, send_jingle, terminate, wait_jingle)


def config(prosody, path, *, max_sessions=1000, admins="alice@localhost", media_extra=None,
           log_level=None, secret=None, metrics=None, per_jid=None):
    media = dict(MEDIA, **{"max-sessions": max_sessions}, **(media_extra or {}))
    extra = {"log-level": log_level} if log_level else None
    kw = {"secret": secret} if secret else {}
    return write_config(path, port=prosody.component_port, component_extra=extra,
                        groups={"media": media, "admin": {"jids": admins},
                                **({"metrics": {"listen": metrics}} if metrics else {}),
                                **({"limits": {"max-sessions-per-jid": per_jid}}
                                   if per_jid is not None else {})},
                        **kw)


@pytest.fixture
def relay(prosody, tmp_path):
    path = config(prosody, tmp_path / "reload.conf")
    b = Belfry(tmp_path, config_path=path)
    b.reload_path = path
    try:
        b.start()
        yield b
        b.stop()   # exit 0 after all the reloads
    finally:
        b.kill_quietly()


@pytest.fixture
def alice(prosody):
    c = jingle_client(prosody, "alice", "reload")
    yield c
    c.close()


@pytest.fixture
def bob(prosody):
    c = jingle_client(prosody, "bob", "reload")
    yield c
    c.close()


def reload(relay, prosody, n, **kw):
    """Rewrites the file, sends SIGHUP and waits for the n-th reload's end."""
    config(prosody, relay.reload_path, **kw)
    relay.send_signal(signal.SIGHUP)
    relay.wait_log("reload: reading", 5, count=n)
    # every reload ends with one of these two lines
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        tail = relay.log().split("reload: reading")[n:]
        if tail and ("reload: done" in tail[0] or "reload refused" in tail[0]):
            return tail[0]
        time.sleep(0.05)
    raise AssertionError(relay.log()[-3000:])


def max_sessions(client):
    return field_values(form_of(command_of(execute(client, "show-counters"))))["max-sessions"]


def test_max_sessions_live(relay, prosody, alice):
    running = new_sid("live")
    initiate(alice, running)
    out = reload(relay, prosody, 1, max_sessions=1)
    assert "reload: [media] max-sessions: 1000 → 1" in out
    assert max_sessions(alice) == "1"
    # the next session is over the new limit
    sid = new_sid("over")
    assert_result(send_jingle(alice, offer(sid, alice.full_jid)), "session-initiate")
    assert reason_of(wait_jingle(alice, sid, "session-terminate"))[0] == "busy"
    # nothing running was dropped
    assert f"session {running} with {alice.full_jid} ended" not in relay.log()
    terminate(alice, relay, running)
    # and with the limit back, sessions are taken again
    out = reload(relay, prosody, 2, max_sessions=1000)
    assert "[media] max-sessions: 1 → 1000" in out
    again = new_sid("again")
    initiate(alice, again)
    terminate(alice, relay, again)


def test_max_sessions_per_jid_live(relay, prosody, alice, bob):
    running = new_sid("jid")
    initiate(alice, running)
    out = reload(relay, prosody, 1, per_jid=1)
    assert "reload: [limits] max-sessions-per-jid: 8 → 1" in out
    # alice is at the new limit; bob is not
    sid = new_sid("over")
    assert_result(send_jingle(alice, offer(sid, alice.full_jid)), "session-initiate")
    assert reason_of(wait_jingle(alice, sid, "session-terminate"))[0] == "busy"
    other = new_sid("bob")
    initiate(bob, other)
    assert f"session {running} with {alice.full_jid} ended" not in relay.log()
    terminate(alice, relay, running)
    terminate(bob, relay, other)
    out = reload(relay, prosody, 2, per_jid=8)
    assert "[limits] max-sessions-per-jid: 1 → 8" in out


def test_admin_jids_and_log_level_live(relay, prosody, alice, bob):
    assert command_items(bob) == []
    out = reload(relay, prosody, 1, admins="alice@localhost;bob@localhost", log_level="debug")
    assert "reload: [admin] jids: 1 → 2 entries" in out
    assert "reload: [component] log-level: info → debug" in out
    assert len(command_items(bob)) == 4
    assert command_of(execute(bob, "show-counters")).get("status") == "completed"
    # debug records now reach the log
    relay.wait_log(" DEBUG ", 5)
    out = reload(relay, prosody, 2, admins="alice@localhost")
    assert "[admin] jids: 2 → 1 entry" in out
    assert "[component] log-level: debug → info" in out
    assert command_items(bob) == []
    # the same file again: nothing to report
    out = reload(relay, prosody, 3, admins="alice@localhost")
    assert "reload: done; no live setting changed" in out
    assert "[admin] jids" not in out


def test_broken_file_changes_nothing(relay, prosody, alice):
    path = relay.reload_path
    good = path.read_text()
    path.write_text(good.replace("max-sessions = 1000", "max-sessions = lots")
                    .replace("jids = alice@localhost", "jids = alice@localhost;bob@localhost"))
    relay.send_signal(signal.SIGHUP)
    relay.wait_log("reload refused, nothing changed:", 5)
    assert f"{path}: [media] max-sessions: 'lots' is not an integer" in relay.log()
    assert relay.running()
    assert max_sessions(alice) == "1000"
    assert "[admin] jids:" not in relay.log()   # the good part was not applied either

    # a value that only the reload's own check catches
    path.write_text(good.replace("jids = alice@localhost", "jids = alice@localhost/phone"))
    relay.send_signal(signal.SIGHUP)
    relay.wait_log("reload refused, nothing changed:", 5, count=2)
    assert f"{path}: [admin] jids: 'alice@localhost/phone' is not a bare JID" in relay.log()

    # not a key file at all
    path.write_text("[component\njid = \n")
    relay.send_signal(signal.SIGHUP)
    relay.wait_log("reload refused, nothing changed:", 5, count=3)
    assert relay.running()
    sid = new_sid("still")
    initiate(alice, sid)
    terminate(alice, relay, sid)


def test_restart_only_keys_refused(relay, prosody, alice):
    # 40000: a change whether the suite runs on the shared port (0) or not
    out = reload(relay, prosody, 1, media_extra={"workers": 3, "shared-port": 40000},
                 secret="another-secret-Xy7", max_sessions=5)
    log = relay.log()
    assert "reload: [media] workers changed: needs a restart; the running value stays" in log
    assert "reload: [media] shared-port changed: needs a restart; the running value stays" in log
    assert "reload: [component] secret changed: needs a restart; the running value stays" in log
    assert "another-secret-Xy7" not in log
    # the live part of the same file is applied
    assert "[media] max-sessions: 1000 → 5" in out
    assert max_sessions(alice) == "5"
    # still attached with the old secret: a session works
    sid = new_sid("kept")
    initiate(alice, sid)
    terminate(alice, relay, sid)


def metrics_answers(port):
    try:
        scrape(port)
        return True
    except (urllib.error.URLError, ConnectionError):
        return False


def test_metrics_listen_live(relay, prosody, alice):
    p1, p2 = free_ports(2)
    assert not metrics_answers(p1)
    out = reload(relay, prosody, 1, metrics=f"127.0.0.1:{p1}")
    assert f"reload: [metrics] listen: off → 127.0.0.1:{p1}" in out
    fams, _ = scrape(p1)
    assert "belfry_link_up" in fams
    out = reload(relay, prosody, 2, metrics=f"127.0.0.1:{p2}")
    assert f"[metrics] listen: 127.0.0.1:{p1} → 127.0.0.1:{p2}" in out
    assert metrics_answers(p2) and not metrics_answers(p1)
    # a port someone else holds: the running listener stays
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        out = reload(relay, prosody, 3, metrics=f"127.0.0.1:{busy.getsockname()[1]}")
        assert "still serving on 127.0.0.1:%d" % p2 in relay.log()
        assert metrics_answers(p2)
    out = reload(relay, prosody, 4)
    assert f"[metrics] listen: 127.0.0.1:{p2} → off" in out
    assert not metrics_answers(p2)
