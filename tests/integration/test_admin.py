"""Operator control over XMPP: the XEP-0050 ad-hoc commands belfry offers on
its domain to the bare JIDs of [admin] jids (relay/admin.c), through a real
Prosody from real slixmpp clients.

alice@localhost is the admin, bob@localhost is not.  alice runs an echo
session (a Jingle offer as test_jingle.py sends it; no media needed) and
sees it in list-sessions, ends it with end-session (two stages: the form,
then the sid; her own client gets session-terminate <success/>) and reads
show-counters.  bob sees an empty command list and gets <forbidden/>.
The XEP-0050 §4.6 errors: unknown node (item-not-found), malformed action
(bad-request + malformed-action), an unknown sessionid (bad-request +
bad-sessionid), cancel (status canceled).
"""

from adhoc import (NS_COMMANDS, command_items, command_of, error_of, execute, field_values,
                   form_of, list_sessions)
from harness import COMPONENT, DOMAIN, NS_DISCO_INFO
from relay_fixtures import belfry_fixture, client_fixture
from test_jingle import (MEDIA, initiate, jingle_client, new_sid, reason_of, terminate,
                         wait_jingle)

COMMANDS = ["list-sessions", "end-session", "show-counters", "drain"]


relay = belfry_fixture("prosody", "belfry-admin",
                       groups={"media": MEDIA, "admin": {"jids": f"Alice@{DOMAIN}"}})
alice = client_fixture("alice", "prosody", lambda p: jingle_client(p, "alice", "admin"))
bob = client_fixture("bob", "prosody", lambda p: jingle_client(p, "bob", "notadmin"))


def test_domain_advertises_commands(bob):
    r = bob.query(COMPONENT, NS_DISCO_INFO)
    feats = {f.get("var") for f in r.iter("{%s}feature" % NS_DISCO_INFO)}
    assert NS_COMMANDS in feats


def test_command_list_only_for_admins(alice, bob):
    # the configured JID is matched case-insensitively, full JID by its bare
    assert command_items(alice) == [(COMPONENT, n) for n in COMMANDS]
    assert command_items(bob) == []
    # a command node's disco#info: described to the admin, hidden from others
    r = alice.query(COMPONENT, NS_DISCO_INFO, node="end-session")
    ident = r.find(".//{%s}identity" % NS_DISCO_INFO)
    assert (ident.get("category"), ident.get("type")) == ("automation", "command-node")
    assert NS_COMMANDS in {f.get("var") for f in r.iter("{%s}feature" % NS_DISCO_INFO)}
    assert error_of(bob.query(COMPONENT, NS_DISCO_INFO, node="end-session"))[:2] == \
        ("cancel", ["item-not-found"])


def test_non_admin_is_forbidden(bob, relay):
    for node in COMMANDS + ["no-such-command"]:
        r = execute(bob, node)
        assert error_of(r)[:2] == ("auth", ["forbidden"]), node
    # nothing happened: the drain command was refused too
    assert "drain:" not in relay.log()
    assert "refused an ad-hoc command from bob@localhost/notadmin" in relay.log()


def test_list_end_and_counters(alice, relay):
    sid = new_sid("adm")
    initiate(alice, sid)
    rows = list_sessions(alice)
    mine = [r for r in rows if r["sid"] == sid]
    assert len(mine) == 1, rows
    row = mine[0]
    assert row["peer"] == alice.full_jid
    assert row["module"] == "echo"
    assert row["local"] == f"echo@{COMPONENT}"
    assert row["direction"] == "incoming"
    assert row["since"].endswith("Z") and row["since"].startswith("20")
    assert int(row["packets-in"]) >= 0 and int(row["packets-out"]) >= 0

    # stage 1: the form
    r = execute(alice, "end-session")
    c = command_of(r)
    assert c.get("status") == "executing"
    sessionid = c.get("sessionid")
    assert sessionid
    form = form_of(c)
    assert form.get("type") == "form"
    assert "sid" in field_values(form)
    # stage 2: the answer
    r = execute(alice, "end-session", action="complete", sessionid=sessionid,
                fields={"sid": sid})
    c = command_of(r)
    assert c.get("status") == "completed", r
    note = c.find("{%s}note" % NS_COMMANDS)
    assert note is not None and note.get("type") == "info" and sid in note.text
    # the peer is told, with <success/> (a normal hang-up by the relay)
    t = wait_jingle(alice, sid, "session-terminate")
    assert reason_of(t)[0] == "success"
    relay.wait_log(f"admin alice@{DOMAIN}/admin ended session {sid}", 5)
    assert not [r for r in list_sessions(alice) if r["sid"] == sid]
    # the command session is closed: reusing it is a bad sessionid
    r = execute(alice, "end-session", action="complete", sessionid=sessionid,
                fields={"sid": sid})
    assert error_of(r) == ("modify", ["bad-request"], ["bad-sessionid"])

    r = execute(alice, "show-counters")
    c = command_of(r)
    assert c.get("status") == "completed"
    counters = field_values(form_of(c))
    assert int(counters["sessions-ended"]) >= 1
    assert int(counters["sessions-accepted"]) >= 1
    assert int(counters["link-stanzas-in"]) > 0
    assert counters["sessions"] == "0"
    assert counters["draining"] == "0"


def test_end_unknown_session(alice):
    r = execute(alice, "end-session", fields={"sid": "no-such-sid"})
    c = command_of(r)
    assert c.get("status") == "completed"
    assert c.find("{%s}note" % NS_COMMANDS).get("type") == "error"


def test_protocol_errors(alice):
    assert error_of(execute(alice, "no-such-command"))[:2] == ("cancel", ["item-not-found"])
    assert error_of(execute(alice, "list-sessions", action="explode")) == \
        ("modify", ["bad-request"], ["malformed-action"])
    assert error_of(execute(alice, "end-session", action="complete", sessionid="forged",
                            fields={"sid": "x"})) == ("modify", ["bad-request"], ["bad-sessionid"])
    # a command is an iq set
    r = alice.iq(COMPONENT, "get", f"<command xmlns='{NS_COMMANDS}' node='list-sessions'/>")
    assert error_of(r)[:2] == ("modify", ["bad-request"])
    # cancel ends a started command
    c = command_of(execute(alice, "end-session"))
    r = execute(alice, "end-session", action="cancel", sessionid=c.get("sessionid"))
    assert command_of(r).get("status") == "canceled"


def test_sessions_survive_listing_under_load(alice, relay):
    """A listing of several sessions, each asked of its worker."""
    sids = [new_sid("many") for _ in range(3)]
    for sid in sids:
        initiate(alice, sid)
    rows = list_sessions(alice)
    assert {r["sid"] for r in rows} >= set(sids)
    for sid in sids:
        terminate(alice, relay, sid)
