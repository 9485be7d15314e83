"""A room's configuration (README "Group calls (`conference`)", "Recording"):
the XEP-0050 command on XEP-0521's node urn:xmpp:av-conferences:config,
with real Prosody and slixmpp clients sending raw Jingle (no media flows:
fake candidates, as tests/integration/test_conference.py).  The recorded
file's content is tests/e2e/test_conference_record.py's.

What is asserted:

  listing         the node is in a moderator's disco#items of the room's
                  commands, not in anyone else's
  the form        record (only with [conference] record-dir),
                  max-participants, moderators (jid-multi)
  moderator       sets record and max-participants: a WebM file appears in
                  record-dir (mode 0640), the participants get "This room
                  is being recorded" and the XEP-0298 state; the room's
                  max-participants turns the next caller away with <busy/>;
                  record off ends the file; named moderators moderate
  others          <forbidden/> for the form and for a submitted one
  hostile forms   <bad-request/> for malformed values, too many fields,
                  a wrong FORM_TYPE, a full JID as moderator;
                  <not-acceptable/> for values out of range or recording
                  where the service has no record-dir
  configuration   record-dir missing or not a directory, and record
                  without record-dir, exit 2 naming file, group and key
"""

import contextlib
import os
import stat

import pytest

from harness import DOMAIN, NS_DISCO_ITEMS, Belfry, run_belfry, write_config
from relay_fixtures import prosody_fixture
from test_config import assert_config_error, listener  # noqa: F401 (a fixture)
from test_call import wait_new
from test_conference import (MEDIA, NS_COMMANDS, NS_CONFINFO, NS_DATA, USERS, call, coin_client,
                             command, error_condition, hang_up, mark, new_room, reason_of,
                             room_jid, wait_count, wait_info)
from test_jingle import dump

NODE = "urn:xmpp:av-conferences:config"
NS_RECORDING = "urn:belfry:conference:recording:0"
NOTICE = "This room is being recorded"
GLOBAL_MAX = 5

cfg_prosody = prosody_fixture("cfg_prosody", USERS)
# For a belfry of a test's own (one component per server).
own_prosody = prosody_fixture("own_prosody", USERS, scope="function")


@pytest.fixture(scope="module")
def record_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="module")
def relay(cfg_prosody, record_dir, tmp_path_factory):
    b = Belfry(tmp_path_factory.mktemp("belfry-config"), port=cfg_prosody.component_port,
               modules="conference",
               groups={"media": MEDIA,
                       "conference": {"max-participants": str(GLOBAL_MAX),
                                      "record-dir": str(record_dir)}})
    try:
        with gstreamer_in_belfry():
            b.start()
        yield b
        b.stop()
        assert "CRITICAL" not in b.log(), b.log()[-3000:]
    finally:
        b.kill_quietly()


@contextlib.contextmanager
def gstreamer_in_belfry():
    """For a belfry that records (loads GStreamer), started inside: in the
    ASan build, mallocs are unwound fully, so LeakSanitizer sees that the
    one block GLib leaks on purpose once GStreamer's quarks outgrow its
    first table was allocated while libglib loaded (tests/lsan.supp,
    _dl_init); the fast unwinder stops inside libglib and cannot tell it
    from a leak of ours.  No effect outside ASan."""
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = ((old + ":") if old else "") + "fast_unwind_on_malloc=0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old


def _client(name, coin):
    @pytest.fixture(scope="module", name=name)
    def _c(cfg_prosody, relay):
        c = coin_client(cfg_prosody, name, f"{name}-res", coin)
        yield c
        c.close()
    return _c


alice = _client("alice", True)
bob = _client("bob", True)
carol = _client("carol", False)


def command_nodes(client, name):
    items = client.iq(room_jid(name), "get",
                      f"<query xmlns='{NS_DISCO_ITEMS}' node='{NS_COMMANDS}'/>")
    assert items.get("type") == "result", dump(items)
    return {i.get("node") for i in items.iter("{%s}item" % NS_DISCO_ITEMS)}


def status_of(reply):
    c = reply.find("{%s}command" % NS_COMMANDS)
    assert reply.get("type") == "result" and c is not None, dump(reply)
    return c.get("status")


def form_of(reply):
    x = reply.find("{%s}command/{%s}x" % (NS_COMMANDS, NS_DATA))
    assert x is not None, dump(reply)
    return {f.get("var"): (f.get("type"), [v.text for v in f.findall("{%s}value" % NS_DATA)])
            for f in x.findall("{%s}field" % NS_DATA)}


def raw_submit(client, name, fields_xml):
    return client.iq(room_jid(name), "set",
                     f"<command xmlns='{NS_COMMANDS}' node='{NODE}'>"
                     f"<x xmlns='{NS_DATA}' type='submit'>{fields_xml}</x></command>")


def recordings(record_dir, name):
    return sorted(p for p in record_dir.iterdir() if p.name.startswith(name + "-"))


def wait_message(client, start, name, body, timeout=5.0):
    def pred(e):
        b = e.find("{jabber:client}body")
        return (e.tag == "{jabber:client}message" and e.get("from") == room_jid(name)
                and b is not None and b.text == body)
    return wait_new(client, start, pred, timeout, f"message '{body}'")


def test_moderator_configures_recording_and_max_participants(relay, record_dir, alice, bob,
                                                             carol):
    name = new_room("cfg")
    sa, _ = call(alice, room_jid(name))          # the first: its moderator
    start_b = mark(bob)
    sb, _ = call(bob, room_jid(name))
    wait_count(alice, name, 2)

    # Listed for the moderator only.
    assert NODE in command_nodes(alice, name)
    assert command_nodes(bob, name) == set()

    # The form: record (a record-dir is set), max-participants, moderators.
    r = command(alice, name, NODE)
    assert status_of(r) == "executing", dump(r)
    form = form_of(r)
    assert form["FORM_TYPE"] == ("hidden", [NODE]), form
    assert form["record"] == ("boolean", ["0"]), form
    assert form["max-participants"] == ("text-single", [str(GLOBAL_MAX)]), form
    assert form["moderators"][0] == "jid-multi", form
    sid = r.find("{%s}command" % NS_COMMANDS).get("sessionid")

    # Record on, at most 2.
    r = command(alice, name, NODE, {"FORM_TYPE": NODE, "record": "1", "max-participants": "2"},
                action="complete", sessionid=sid)
    assert status_of(r) == "completed", dump(r)
    relay.wait_log(f"room {name}: recording started", 5)
    files = recordings(record_dir, name)
    assert len(files) == 1, files
    assert files[0].suffix == ".webm"
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o640
    # Told: a message to each participant, and the XEP-0298 state.
    wait_message(bob, start_b, name, NOTICE)
    wait_info(bob, start_b, name,
              lambda ci: ci.find("{%s}conference-state/{%s}recording"
                                 % (NS_CONFINFO, NS_RECORDING)) is not None,
              "the recording state")
    assert form_of(command(alice, name, NODE))["record"][1] == ["1"]

    # The room's own maximum: a third caller is busy.
    sid_c, term = call(carol, room_jid(name), expect="session-terminate")
    assert reason_of(term)[0] == "busy", dump(term)
    wait_count(alice, name, 2)

    # A late joiner of a recording room is told too (after room for it).
    r = command(alice, name, NODE, {"max-participants": "3"})
    assert status_of(r) == "completed", dump(r)
    start_c = mark(carol)
    sc, _ = call(carol, room_jid(name))
    wait_message(carol, start_c, name, NOTICE)

    # bob named a moderator: now he may configure.
    r = command(alice, name, NODE, {"moderators": f"bob@{DOMAIN}"})
    assert status_of(r) == "completed", dump(r)
    assert NODE in command_nodes(bob, name)

    # Record off: the file ends; the participants are told.
    start_c = mark(carol)
    r = command(bob, name, NODE, {"record": "0"})
    assert status_of(r) == "completed", dump(r)
    relay.wait_log(f"room {name}: recording stopped", 5)
    relay.wait_log(f"room {name}: recording ended", 10)
    wait_message(carol, start_c, name, "This room is no longer being recorded")
    assert len(recordings(record_dir, name)) == 1

    for c, s in ((alice, sa), (bob, sb), (carol, sc)):
        hang_up(c, relay, room_jid(name), s)


def test_others_are_forbidden(relay, alice, bob):
    name = new_room("forbid")
    sa, _ = call(alice, room_jid(name))
    sb, _ = call(bob, room_jid(name))
    wait_count(alice, name, 2)
    r = command(bob, name, NODE)
    assert error_condition(r) == ("auth", ["forbidden"]), dump(r)
    r = command(bob, name, NODE, {"record": "1"})
    assert error_condition(r) == ("auth", ["forbidden"]), dump(r)
    assert f"room {name}: recording started" not in relay.log()
    for c, s in ((alice, sa), (bob, sb)):
        hang_up(c, relay, room_jid(name), s)


BAD_FORMS = [
    ("record-not-boolean", "<field var='record'><value>maybe</value></field>", "bad-request"),
    ("max-not-a-number", "<field var='max-participants'><value>ten</value></field>",
     "bad-request"),
    ("max-negative", "<field var='max-participants'><value>-3</value></field>", "bad-request"),
    ("max-over-global", f"<field var='max-participants'><value>{GLOBAL_MAX + 1}</value></field>",
     "not-acceptable"),
    ("max-one", "<field var='max-participants'><value>1</value></field>", "not-acceptable"),
    ("max-huge", "<field var='max-participants'><value>99999999999999999999999</value></field>",
     "not-acceptable"),
    ("wrong-form-type", "<field var='FORM_TYPE'><value>urn:example:other</value></field>",
     "bad-request"),
    ("full-jid-moderator", f"<field var='moderators'><value>bob@{DOMAIN}/phone</value></field>",
     "bad-request"),
    ("no-var", "<field><value>1</value></field>", "bad-request"),
    ("too-many-fields", "".join(f"<field var='x{i}'><value>1</value></field>" for i in range(20)),
     "bad-request"),
    ("too-many-values", "<field var='moderators'>"
     + "".join(f"<value>u{i}@{DOMAIN}</value>" for i in range(40)) + "</field>", "bad-request"),
    ("too-long-value", "<field var='moderators'><value>" + "a" * 2000 + f"@{DOMAIN}</value>"
     "</field>", "bad-request"),
]


def test_malformed_forms_are_refused_and_change_nothing(relay, record_dir, alice):
    name = new_room("bad")
    sa, _ = call(alice, room_jid(name))
    before = form_of(command(alice, name, NODE))
    for case, fields, condition in BAD_FORMS:
        # A valid record=1 alongside: nothing of a refused form applies.
        r = raw_submit(alice, name, "<field var='record'><value>1</value></field>" + fields
                       if case != "record-not-boolean" else fields)
        assert r.get("type") == "error", f"{case}: {dump(r)}"
        assert error_condition(r)[1] == [condition], f"{case}: {dump(r)}"
    assert form_of(command(alice, name, NODE)) == before
    assert recordings(record_dir, name) == []
    hang_up(alice, relay, room_jid(name), sa)


def test_without_record_dir_no_record_field_and_not_acceptable(own_prosody, tmp_path):
    cfg_prosody = own_prosody
    b = Belfry(tmp_path, port=cfg_prosody.component_port, modules="conference",
               groups={"media": MEDIA})
    a = None
    try:
        b.start()
        a = coin_client(cfg_prosody, "alice", "norec", False)
        name = new_room("norec")
        sa, _ = call(a, room_jid(name))
        form = form_of(command(a, name, NODE))
        assert "record" not in form and "max-participants" in form, form
        r = command(a, name, NODE, {"record": "1"})
        assert error_condition(r) == ("cancel", ["not-acceptable"]), dump(r)
        # Off where there is nothing to record is no error.
        assert status_of(command(a, name, NODE, {"record": "0"})) == "completed"
        hang_up(a, b, room_jid(name), sa)
        b.stop()
    finally:
        if a is not None:
            a.close()
        b.kill_quietly()


def test_record_true_records_every_room_from_its_start(own_prosody, tmp_path):
    cfg_prosody = own_prosody
    rec = tmp_path / "rec"
    rec.mkdir()
    b = Belfry(tmp_path / "b", port=cfg_prosody.component_port, modules="conference",
               groups={"media": MEDIA, "conference": {"record-dir": str(rec), "record": "true"}})
    a = None
    try:
        with gstreamer_in_belfry():
            b.start()
        a = coin_client(cfg_prosody, "alice", "always", False)
        name = new_room("always")
        start = mark(a)
        sa, _ = call(a, room_jid(name))
        wait_message(a, start, name, NOTICE)
        assert len(recordings(rec, name)) == 1
        hang_up(a, b, room_jid(name), sa)
        b.wait_log(f"room {name}: recording ended", 10)
        b.stop()
    finally:
        if a is not None:
            a.close()
        b.kill_quietly()


@pytest.mark.parametrize("case", ["missing", "a-file", "relative", "record-without-dir"])
def test_bad_record_config_exits_2(tmp_path, listener, case):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    group, key = {
        "missing": ({"record-dir": str(tmp_path / "nope")}, "record-dir"),
        "a-file": ({"record-dir": str(a_file)}, "record-dir"),
        "relative": ({"record-dir": "recordings"}, "record-dir"),
        "record-without-dir": ({"record": "true"}, "record"),
    }[case]
    path = write_config(tmp_path / "belfry.conf", port=listener.port, modules="conference",
                        groups={"media": MEDIA, "conference": group})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert_config_error(path, r, "conference", key, listener)
