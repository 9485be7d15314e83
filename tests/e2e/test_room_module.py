"""The conference-shaped example module `room` (examples/module-room)
with real peers: what a conference does with the module API — one worker
and one timer for all its sessions, calls it places with an offer of its
own and XEP-0298 <conference-info/>, a content added per stream — works
from include/belfry/ alone.

room.so is built here by the example's own meson.build against this
checkout's include/ (a belfry.pc written for it), as test_tone_module.py
builds tone.so; scripts/test-example-module.sh builds it against an
installed belfry.  belfry runs four media workers, so that two sessions
share one only because the room pins them there.

  * "call" from bob's chat client: the room rings bob@localhost (XEP-0353)
    and bob's Dino-shaped client (answer mode) takes the call.  Its
    session-initiate comes from room@relay.localhost/room, offers PCMU and
    PCMA with the room's source, and carries <conference-info
    xmlns='urn:xmpp:coin:1' isfocus='true'> with its <user/> child intact;
    bob answers PCMA and decodes a 440 Hz tone in it at 50 packets/s (the
    room read the codec from bob's answer).
  * carol and then dave call room@: dave's session is moved to carol's
    worker (the core chose another, the least loaded), one 20 ms timer is
    started for both and sends to both in one tick, and both decode 440 Hz.
  * "add" while bob is in a call from the room: the room adds the audio
    content 'tone-2' with its own SSRC; bob accepts it (content-accept, a
    transport of its own) and decodes 660 Hz on it, 440 Hz on the first.
  * an over-long command is refused (policy-violation), anything else
    answered with the list of commands.
"""

import os
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import e2e
import harness
import sdp_jingle as sj
from test_dino import DINO, action

ROOM = "room@relay.localhost"
NS_COIN = "urn:xmpp:coin:1"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_CLIENT = "jabber:client"
DURATION = 6
TIMEOUT = 60


# ---------------------------------------------------------------------------
# Building room.so and running belfry with it
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def belfry(prosody):
    e2e.require_gst_elements()
    tmp = Path(tempfile.mkdtemp(prefix="belfry-e2e-room-"))
    room_dir = e2e.build_example_module(tmp, "room")
    echo_dir = e2e.build_tree_echo_dir()
    b = harness.Belfry(tmp / "run", port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;room",
                       groups={"modules": {"path": f"{room_dir};{echo_dir}"},
                               # Several workers: sessions share one only
                               # because the room pins them.
                               "media": {"addresses": "127.0.0.1", "workers": "4"},
                               "room": {"allow-domains": "localhost",
                                        "max-participants": "4"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()   # exit 0 on SIGTERM; fails if belfry died during the module


class Log:
    """belfry's log from the moment this was made."""

    def __init__(self, b):
        self.b = b
        self.start = len(b.log())

    def text(self):
        return self.b.log()[self.start:]

    def wait_for(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return self.text()
            time.sleep(0.2)
        raise AssertionError(f"belfry never logged {needle!r}:\n{self.text()[-6000:]}")


@pytest.fixture
def chat(prosody):
    made = []

    def login(user, resource):
        c = harness.Client(f"{user}@{e2e.DOMAIN}/{resource}", e2e.E2E_USERS[user],
                           prosody.c2s_port)
        made.append(c)
        return c
    yield login
    for c in made:
        c.close()


def command(client, body, timeout=10):
    """Sends @body to the room; its answer (a <message/>, maybe an error),
    the first one received after sending."""
    seen = {id(e) for e in client.received}
    msg_id = client.message(ROOM, body)

    def is_answer(e):
        return id(e) not in seen and e.tag == f"{{{NS_CLIENT}}}message" \
            and (e.get("from") or "").startswith(ROOM) \
            and (e.get("type") == "error" and e.get("id") == msg_id
                 or e.find(f"{{{NS_CLIENT}}}body") is not None)
    return client.wait_stanza(is_answer, timeout, what=f"the room's answer to {body[:20]!r}")


def body_of(msg):
    b = msg.find(f"{{{NS_CLIENT}}}body")
    return b.text if b is not None else None


def audio_packet_rate(res, name="audio"):
    tl = res["timeline"]
    assert len(tl) >= 3, e2e.debug_dump(res)
    a, b = tl[1], tl[-1]
    return (b["rtp_in"][name] - a["rtp_in"][name]) * 1000.0 / (b["t"] - a["t"])


def payload_types(content):
    desc = content.find(sj.q(sj.NS_RTP, "description"))
    return [(int(p.get("id")), p.get("name"), int(p.get("clockrate") or 0))
            for p in desc.findall(sj.q(sj.NS_RTP, "payload-type"))]


def sources(content):
    desc = content.find(sj.q(sj.NS_RTP, "description"))
    return [int(s.get("ssrc")) for s in desc.findall(sj.q(NS_SSMA, "source"))]


def assert_tone(res, info, hz, name="audio"):
    tr = {t["name"]: t for t in res["transports"].values()}[name]
    assert tr["audio_freq_hz"] is not None and abs(tr["audio_freq_hz"] - hz) <= 10, (tr, info)
    return tr


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_room_calls_back_with_conference_info(prosody, belfry, workdir, peers, chat):
    log = Log(belfry)
    bob = e2e.dino_peer(prosody, workdir, "bob-dino", "bob", "answer",
                        **dict(DINO, duration=DURATION, timeout=TIMEOUT, audio_codecs=["pcma"]))
    peers.append(bob)
    bob.wait_ready()
    answer = command(chat("bob", "chat"), "call")
    assert body_of(answer) == "Calling you.", ET.tostring(answer)
    res = bob.result(DURATION + TIMEOUT + 15)
    blog = "\n--- belfry ---\n" + log.text()[-8000:]
    info = e2e.debug_dump(res) + blog
    assert res["ok"] and res["connected"], info

    # Rung on the bare JID (XEP-0353), then called from the room's address.
    assert any(m["dir"] == "in" and "propose" in m["xml"] for m in res["jmi"]), info
    assert res["remote_jid"] == ROOM + "/room", info
    initiate = action(res, "in", "session-initiate")
    assert len(initiate) == 1, info
    # XEP-0298 §5 as the room built it, child and all.
    extra = [ET.fromstring(x) for x in res["jingle_extra"]]
    assert len(extra) == 1, info
    ci = extra[0]
    assert ci.tag == f"{{{NS_COIN}}}conference-info" and ci.get("isfocus") == "true", info
    users = list(ci)
    assert len(users) == 1 and users[0].tag == f"{{{NS_COIN}}}user", info
    assert users[0].get("entity") == f"xmpp:{ROOM}", info
    # The module's own offer: one audio content, PCMU and PCMA, its source.
    contents = initiate[0].findall(sj.q(sj.NS_JINGLE, "content"))
    assert [c.get("name") for c in contents] == ["audio"], info
    assert payload_types(contents[0]) == [(0, "PCMU", 8000), (8, "PCMA", 8000)], info
    ssrcs = sources(contents[0])
    assert len(ssrcs) == 1, info

    # bob answered PCMA: the room sends PCMA (payload type 8), read from
    # bob's answer; bob decodes the 440 Hz tone on the room's SSRC.
    accepted = action(res, "out", "session-accept")
    assert len(accepted) == 1, info
    assert [p[1] for p in payload_types(
        accepted[0].find(sj.q(sj.NS_JINGLE, "content")))] == ["PCMA"], info
    assert "answered; sending the tone in PCMA (payload type 8)" in blog, blog
    tr = assert_tone(res, info, 440)
    assert tr["locked_ssrc"] == ssrcs[0], info
    assert tr["payload_type"]["id"] == 8, info
    assert res["audio_samples_decoded"] >= 8000 * (DURATION - 2), info
    rate = audio_packet_rate(res)
    assert 40 <= rate <= 56, (rate, info)


def test_room_two_calls_share_one_worker_and_one_timer(prosody, belfry, workdir, peers):
    log = Log(belfry)
    carol = e2e.dino_peer(prosody, workdir, "carol-dino", "carol", "call", target=ROOM,
                          video=False, **dict(DINO, duration=DURATION + 6, timeout=TIMEOUT))
    peers.append(carol)
    carol.wait_event("connected", 40)
    dave = e2e.dino_peer(prosody, workdir, "dave-dino", "dave", "call", target=ROOM,
                         video=False, **dict(DINO, duration=DURATION, timeout=TIMEOUT))
    peers.append(dave)
    rc = carol.result(DURATION + TIMEOUT + 20)
    rd = dave.result(DURATION + TIMEOUT + 20)
    text = log.wait_for("room: timer stopped after")
    blog = "\n--- belfry ---\n" + text[-10000:]
    info = e2e.debug_dump(rc) + "\n" + e2e.debug_dump(rd) + blog
    assert rc["ok"] and rc["connected"] and rd["ok"] and rd["connected"], info

    # Both on the room's worker; dave's moved there from the core's choice
    # (four workers, the least loaded: not carol's).
    assert f"call {rc['sid']} from {rc['jid']} joins the room on the room's worker" in text, blog
    assert f"call {rd['sid']}: moved from the core's choice of worker to the room's" in text, blog
    assert f"call {rd['sid']} from {rd['jid']} joins the room on the room's worker" in text, blog
    # One timer for the room, sending to both in one tick.
    assert text.count("one 20 ms timer started on the room's worker") == 1, blog
    assert "the timer now sends to 2 participants in one tick" in text, blog
    assert "at most 2 in one tick" in text, blog
    for res in (rc, rd):
        i = e2e.debug_dump(res) + blog
        assert_tone(res, i, 440)
        assert res["audio_samples_decoded"] >= 8000 * (DURATION - 2), i
        rate = audio_packet_rate(res)
        assert 40 <= rate <= 56, (rate, i)


def test_room_adds_a_content_per_stream(prosody, belfry, workdir, peers, chat):
    log = Log(belfry)
    bob = e2e.dino_peer(prosody, workdir, "bob-dino-add", "bob", "answer",
                        accept_content_add=True,
                        **dict(DINO, duration=DURATION + 6, timeout=TIMEOUT))
    peers.append(bob)
    bob.wait_ready()
    client = chat("bob", "chat-add")
    assert body_of(command(client, "call")) == "Calling you."
    bob.wait_event("connected", 40)
    assert body_of(command(client, "add")) == "Adding a second tone."
    res = bob.result(DURATION + TIMEOUT + 20)
    blog = "\n--- belfry ---\n" + log.text()[-8000:]
    info = e2e.debug_dump(res) + blog
    assert res["ok"] and res["connected"], info

    added = action(res, "in", "content-add")
    assert len(added) == 1, info
    contents = added[0].findall(sj.q(sj.NS_JINGLE, "content"))
    assert [c.get("name") for c in contents] == ["tone-2"], info
    # Numbers of its own (the first content has 0): a transport per content
    # here, and belfry sends each packet on its payload type's.
    assert payload_types(contents[0]) == [(96, "PCMU", 8000), (97, "PCMA", 8000)], info
    ssrcs = sources(contents[0])
    assert len(ssrcs) == 1, info
    assert len(action(res, "out", "content-accept")) == 1, info
    assert res["contents_added"] == ["tone-2"], info
    assert "content 'tone-2' accepted; sending 660 Hz on it in PCMU (payload type 96)" in blog, blog

    # 660 Hz on the added content, under its own SSRC, on its own
    # transport; the first content still carries 440 Hz.
    second = assert_tone(res, info, 660, "tone-2")
    assert second["locked_ssrc"] == ssrcs[0], info
    assert second["audio_samples_decoded"] >= 8000 * 2, info
    assert second["foreign_ssrc_packets"] == 0, info
    first = assert_tone(res, info, 440, "audio")
    assert first["locked_ssrc"] != ssrcs[0] and first["foreign_ssrc_packets"] == 0, info
    assert abs(res["audio_freq_hz"] - 440) <= 10, info


def test_room_commands_are_bounded(prosody, belfry, chat):
    client = chat("carol", "chat-cmd")
    help_ = command(client, "hello")
    assert "Commands:" in (body_of(help_) or ""), ET.tostring(help_)
    err = command(client, "x" * 300)
    assert err.get("type") == "error", ET.tostring(err)
    assert err.find(f"{{{NS_CLIENT}}}error/{{urn:ietf:params:xml:ns:xmpp-stanzas}}"
                    "policy-violation") is not None, ET.tostring(err)
    # "add" without a call of the room's: nothing to add to.
    assert body_of(command(client, "add")) == "No call to add a tone to."
