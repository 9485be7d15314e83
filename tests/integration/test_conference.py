"""The conference module (README "Group calls (`conference`)"): rooms that
any client calls like a 1:1 peer.  Real Prosody, real slixmpp clients
sending raw Jingle; no media flows (fake candidates and fingerprints, every
session ended by the test long before [media] ice-timeout).  Audio through
a room is tests/e2e's (test_conference_smoke.py, test_conference_audio.py).

What is asserted:

  addressing      with load = echo;call;conference, team-x@ is a room,
                  echo@ stays the echo, bob\\40localhost@ stays the call
                  relay's; with a list of rooms, other names are not rooms
  the answer      Opus alone under the offer's number with useinbandfec=1,
                  the RFC 6464 audio level kept under the offer's id (and
                  no other extension), our own SSRC and cname, video
                  (VP8) taken with senders 'initiator'
  refusals        no Opus -> <incompatible-parameters/>; a full room ->
                  <busy/>; a domain outside allow-domains -> <decline/>
  configuration   bad values exit 2 naming file, group and key
  disco           a room's disco#info: conference/audio-video, the Jingle
                  features, a XEP-0128 form whose count follows joins and
                  leaves; the component's disco#items lists open rooms only
  XEP-0298        a participant whose client advertises urn:xmpp:coin:1
                  gets the room's conference-info on joins, leaves and
                  mutes; one that does not gets none
  moderation      the first participant mutes and removes with XEP-0050
                  commands on the room's JID; anyone else gets <forbidden/>
  lifetime        the room ends with its last participant
"""

import os
import re
import signal
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import pytest

from harness import (COMPONENT, DOMAIN, NS_CLIENT, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_STANZAS,
                     SECRET, Belfry, Client, FakeServer, free_port, run_belfry,
                     write_config)
from relay_fixtures import prosody_fixture
from test_call import caps_ver, wait_new
from test_metrics import scrape, total
from test_config import assert_config_error
from test_jingle import (IQ, JINGLE, NS_GROUPING, NS_JINGLE, NS_RTP, NS_SSMA, dump, ice,
                         jingle, local, new_sid)

NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_INFO = "urn:xmpp:jingle:apps:rtp:info:1"
NS_COIN = "urn:xmpp:coin:1"
NS_CONFINFO = "urn:ietf:params:xml:ns:conference-info"
NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NS_CAPS = "http://jabber.org/protocol/caps"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
TWCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

USERS = {"alice": "alice-pw-7Qx", "bob": "bob-pw-3Lm", "carol": "carol-pw-5Tn",
         "dave": "dave-pw-8Kp"}
MEDIA = {"addresses": "127.0.0.1", "port-range": "20000-40000", "ice-timeout": "120",
         "workers": "2"}
MAX = 3
METRICS_PORT = free_port()

conf_prosody = prosody_fixture("conf_prosody", USERS)
own_prosody = prosody_fixture("own_prosody", USERS, scope="function")


@pytest.fixture(scope="module")
def relay(conf_prosody, tmp_path_factory):
    b = Belfry(tmp_path_factory.mktemp("belfry-conference"), port=conf_prosody.component_port,
               modules="echo;call;conference",
               groups={"media": MEDIA,
                       "metrics": {"listen": f"127.0.0.1:{METRICS_PORT}"},
                       "conference": {"max-participants": str(MAX)}})
    try:
        b.start()
        yield b
        b.stop()
        assert "CRITICAL" not in b.log(), b.log()[-3000:]
    finally:
        b.kill_quietly()


def coin_client(prosody, user, resource, coin):
    """A Jingle client that answers disco#info: @coin True lists
    urn:xmpp:coin:1 (XEP-0298 §7); "dino" is Dino's identity (client/pc
    "Dino") without it, as Dino answers (it takes conference-info but does
    not advertise it); False neither."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    c = Client(f"{user}@{DOMAIN}/{resource}", USERS[user], prosody.c2s_port)

    def ack(iq):
        if iq["type"] == "set":
            iq.reply(clear=True).send()

    def disco(iq):
        if iq["type"] != "get":
            return
        reply = iq.reply(clear=True)
        q = ET.SubElement(reply.xml, "{%s}query" % NS_DISCO_INFO)
        ET.SubElement(q, "{%s}identity" % NS_DISCO_INFO, category="client", type="pc",
                      name="Dino" if coin == "dino" else "Test")
        for f in [NS_DISCO_INFO, NS_JINGLE, NS_RTP] + ([NS_COIN] if coin is True else []):
            ET.SubElement(q, "{%s}feature" % NS_DISCO_INFO, var=f)
        reply.send()

    def info(iq):
        if iq["type"] == "set":
            iq.reply(clear=True).send()

    async def register():
        c.xmpp.register_handler(Callback(
            "test jingle ack", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), ack))
        c.xmpp.register_handler(Callback(
            "test disco", MatchXPath("{%s}iq/{%s}query" % (NS_CLIENT, NS_DISCO_INFO)), disco))
        c.xmpp.register_handler(Callback(
            "test coin", MatchXPath("{%s}iq/{%s}conference-info" % (NS_CLIENT, NS_CONFINFO)),
            info))

    try:
        c._call(register(), 5)
    except BaseException:
        c.close()
        raise
    return c


def _client(name, coin):
    @pytest.fixture(scope="module", name=name)
    def _c(conf_prosody, relay):
        c = coin_client(conf_prosody, name, f"{name}-res", coin)
        yield c
        c.close()
    return _c


alice = _client("alice", False)
bob = _client("bob", False)
carol = _client("carol", True)
dave = _client("dave", "dino")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def mark(client):
    with client._cond:
        return len(client.received)


def room_jid(name):
    return f"{name}@{COMPONENT}"


def new_room(tag):
    return f"{tag}-{os.urandom(3).hex()}"


def audio_description(ssrc, *, opus=True, level=True):
    pts = ""
    if opus:
        pts += ("<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
                "<parameter name='minptime' value='10'/>"
                "<parameter name='useinbandfec' value='1'/></payload-type>")
    pts += "<payload-type id='0' name='PCMU' clockrate='8000'/>"
    pts += "<payload-type id='8' name='PCMA' clockrate='8000'/>"
    exts = f"<rtp-hdrext xmlns='{NS_HDREXT}' id='3' uri='{TWCC}'/>"
    if level:
        exts += f"<rtp-hdrext xmlns='{NS_HDREXT}' id='1' uri='{AUDIO_LEVEL}'/>"
    return (f"<description xmlns='{NS_RTP}' media='audio'>{pts}{exts}"
            f"<source xmlns='{NS_SSMA}' ssrc='{ssrc}'><parameter name='cname' value='c{ssrc}'/>"
            "</source><rtcp-mux/></description>")


def video_description(ssrc, h264=None):
    """VP8; with @h264 (a profile-level-id) H.264 in packetization mode 1
    too, after it, or alone when @h264 starts with '=' ('=42e01f')."""
    pts = "" if h264 and h264.startswith("=") else \
        "<payload-type id='96' name='VP8' clockrate='90000'/>"
    if h264:
        pts += ("<payload-type id='102' name='H264' clockrate='90000'>"
                "<parameter name='packetization-mode' value='1'/>"
                f"<parameter name='profile-level-id' value='{h264.lstrip('=')}'/>"
                "</payload-type>")
    return (f"<description xmlns='{NS_RTP}' media='video'>{pts}"
            f"<source xmlns='{NS_SSMA}' ssrc='{ssrc}'><parameter name='cname' value='v{ssrc}'/>"
            "</source><rtcp-mux/></description>")


def room_offer(sid, initiator, ssrc, *, opus=True, level=True, video=True, audio_senders="both",
               video_senders="both", h264=None):
    tr = ice()
    body = (f"<content creator='initiator' name='a0' senders='{audio_senders}'>"
            f"{audio_description(ssrc, opus=opus, level=level)}{tr}</content>")
    names = ["a0"]
    if video:
        body += (f"<content creator='initiator' name='v1' senders='{video_senders}'>"
                 f"{video_description(ssrc + 1, h264)}{tr}</content>")
        names.append("v1")
    body += (f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
             + "".join(f"<content name='{n}'/>" for n in names) + "</group>")
    return jingle("session-initiate", sid, body, f" initiator={quoteattr(initiator)}")


def jingle_from(client, start, peer, sid, action, timeout=10.0):
    def pred(e):
        j = e.find(JINGLE) if e.tag == IQ else None
        return (j is not None and e.get("type") == "set" and e.get("from") == peer
                and j.get("sid") == sid and j.get("action") == action)
    return wait_new(client, start, pred, timeout, f"{action} {sid} from {peer}")


def call(client, to, ssrc=None, expect="session-accept", sid=None, **kw):
    """Sends a session-initiate to @to; returns (sid, the room's answer or
    terminate)."""
    sid = sid or new_sid("conf")
    ssrc = ssrc or (int.from_bytes(os.urandom(4), "big") | 1) & 0x7ffffff0
    start = mark(client)
    reply = client.iq(to, "set", room_offer(sid, client.full_jid, ssrc, **kw))
    assert reply.get("type") == "result", dump(reply)
    return sid, jingle_from(client, start, to, sid, expect)


def hang_up(client, relay, to, sid):
    reply = client.iq(to, "set", jingle("session-terminate", sid,
                                        "<reason><success/></reason>"))
    assert reply.get("type") == "result", dump(reply)
    relay.wait_log(f"session {sid} with {client.full_jid} ended: success", 5)


def reason_of(terminate):
    r = terminate.find(JINGLE).find("{%s}reason" % NS_JINGLE)
    assert r is not None, dump(terminate)
    names = [local(c.tag) for c in r if local(c.tag) != "text"]
    text = r.find("{%s}text" % NS_JINGLE)
    return names[0] if names else None, text.text if text is not None else None


def disco_info(client, jid, node=None):
    reply = client.query(jid, NS_DISCO_INFO, node=node)
    assert reply.get("type") == "result", dump(reply)
    return reply.find("{%s}query" % NS_DISCO_INFO)


def form_fields(query):
    form = query.find("{%s}x" % NS_DATA)
    assert form is not None, dump(query)
    return {f.get("var"): [v.text for v in f.findall("{%s}value" % NS_DATA)]
            for f in form.findall("{%s}field" % NS_DATA)}


def participant_count(client, name):
    return int(form_fields(disco_info(client, room_jid(name)))["muc#roominfo_occupants"][0])


def wait_count(client, name, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = participant_count(client, name)
        if got == n or time.monotonic() > deadline:
            assert got == n, f"room {name}: {got} participants, expected {n}"
            return
        time.sleep(0.1)


def open_rooms(client):
    reply = client.query(COMPONENT, NS_DISCO_ITEMS)
    assert reply.get("type") == "result", dump(reply)
    return {i.get("jid") for i in reply.iter("{%s}item" % NS_DISCO_ITEMS)}


def command(client, name, node, fields=None, action=None, sessionid=None):
    attrs = f" node={quoteattr(node)}"
    if action:
        attrs += f" action={quoteattr(action)}"
    if sessionid:
        attrs += f" sessionid={quoteattr(sessionid)}"
    form = ""
    if fields is not None:
        form = (f"<x xmlns='{NS_DATA}' type='submit'>"
                + "".join(f"<field var={quoteattr(k)}><value>{v}</value></field>"
                          for k, v in fields.items()) + "</x>")
    return client.iq(room_jid(name), "set", f"<command xmlns='{NS_COMMANDS}'{attrs}>{form}</command>")


def error_condition(reply):
    err = reply.find("{%s}error" % NS_CLIENT)
    assert err is not None, dump(reply)
    return err.get("type"), [local(c.tag) for c in err
                             if c.tag.startswith("{%s}" % NS_STANZAS) and local(c.tag) != "text"]


def conference_infos(client, start, name):
    """The RFC 4575 documents the room sent @client since @start."""
    with client._cond:
        got = list(client.received[start:])
    return [e.find("{%s}conference-info" % NS_CONFINFO) for e in got
            if e.tag == IQ and e.get("type") == "set" and e.get("from") == room_jid(name)
            and e.find("{%s}conference-info" % NS_CONFINFO) is not None]


def wait_info(client, start, name, pred, what, timeout=5.0):
    def match(e):
        ci = e.find("{%s}conference-info" % NS_CONFINFO) if e.tag == IQ else None
        return ci is not None and e.get("from") == room_jid(name) and pred(ci)
    return wait_new(client, start, match, timeout, what).find("{%s}conference-info" % NS_CONFINFO)


def users_of(ci):
    return {u.get("entity"): u for u in ci.iter("{%s}user" % NS_CONFINFO)}


def media_status(user):
    s = user.find(".//{%s}media/{%s}status" % (NS_CONFINFO, NS_CONFINFO))
    return s.text if s is not None else None


# ---------------------------------------------------------------------------
# addressing and the answer
# ---------------------------------------------------------------------------

def test_a_room_answers_with_opus_audio_level_and_its_own_ssrc(relay, alice):
    name = new_room("team")
    sid, accept = call(alice, room_jid(name), ssrc=123456789)
    contents = {c.get("name"): c for c in accept.find(JINGLE).findall("{%s}content" % NS_JINGLE)}
    assert set(contents) == {"a0", "v1"}, dump(accept)

    audio = contents["a0"]
    assert audio.get("senders", "both") == "both", dump(audio)
    desc = audio.find("{%s}description" % NS_RTP)
    pts = desc.findall("{%s}payload-type" % NS_RTP)
    assert [(p.get("id"), p.get("name").lower(), p.get("clockrate"), p.get("channels"))
            for p in pts] == [("111", "opus", "48000", "2")], dump(desc)
    params = {p.get("name"): p.get("value") for p in pts[0].findall("{%s}parameter" % NS_RTP)}
    assert params.get("useinbandfec") == "1", dump(desc)
    exts = [(e.get("id"), e.get("uri")) for e in desc.findall("{%s}rtp-hdrext" % NS_HDREXT)]
    assert exts == [("1", AUDIO_LEVEL)], dump(desc)
    sources = desc.findall("{%s}source" % NS_SSMA)
    assert len(sources) == 1, dump(desc)
    ours = int(sources[0].get("ssrc"))
    assert ours not in (0, 123456789), dump(desc)
    cname = {p.get("name"): p.get("value") for p in sources[0].findall("{%s}parameter" % NS_SSMA)}
    assert cname.get("cname") and cname["cname"] != "c123456789", dump(desc)

    # Video: the caller's VP8 both ways (senders 'both', the offer's: the
    # room receives it, a source of the composite and forwarded to XEP-0521
    # participants, and sends the composite back under an SSRC of its own,
    # with the audio's cname: one synchronised stream).
    video = contents["v1"]
    assert video.get("senders", "both") == "both", dump(video)
    vdesc = video.find("{%s}description" % NS_RTP)
    assert [(p.get("name"), p.get("clockrate")) for p in
            vdesc.findall("{%s}payload-type" % NS_RTP)] == [("VP8", "90000")], dump(video)
    vsources = vdesc.findall("{%s}source" % NS_SSMA)
    assert len(vsources) == 1, dump(video)
    assert int(vsources[0].get("ssrc")) not in (0, ours, 123456789), dump(video)
    vparams = {p.get("name"): p.get("value")
               for p in vsources[0].findall("{%s}parameter" % NS_SSMA)}
    assert vparams.get("cname") == cname["cname"], dump(video)

    # XEP-0298 §5: the room says it is a conference's focus, after the
    # contents (the last child of <jingle/>).
    children = list(accept.find(JINGLE))
    focus = children[-1]
    assert focus.tag == "{%s}conference-info" % NS_COIN, dump(accept)
    assert focus.get("isfocus") == "true", dump(accept)

    relay.wait_log(f"room {name}: call {sid} joined (participants: 1)", 5)
    hang_up(alice, relay, room_jid(name), sid)
    relay.wait_log(f"room {name} closed", 5)


def test_a_room_takes_a_jmi_proposal_as_conversations_calls(relay, alice):
    # Conversations rings the contact's bare JID with a XEP-0353 propose,
    # then sends the session-initiate under the proposal's id.
    name = new_room("jmi")
    pid = new_sid("jmi")
    start = mark(alice)
    alice.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(room_jid(name))} "
                   f"id='m-{pid}'><propose xmlns='urn:xmpp:jingle-message:0' id='{pid}'>"
                   f"<description xmlns='{NS_RTP}' media='audio'/></propose></message>")
    wait_new(alice, start, lambda e: e.tag == "{jabber:client}message"
             and e.get("from", "").startswith(room_jid(name))
             and e.find("{urn:xmpp:jingle-message:0}proceed") is not None, 5, "proceed")
    sid, accept = call(alice, room_jid(name), sid=pid, video=False)
    relay.wait_log(f"room {name}: call {pid} joined (participants: 1)", 5)
    hang_up(alice, relay, room_jid(name), sid)


def test_video_is_answered_with_its_senders_and_the_composite_ssrc(relay, alice, bob):
    # XEP-0166 senders, from the initiator's (the caller's) side: video it
    # only receives ('responder') gets the room's composite, announced under
    # an SSRC of the room's; video it only sends ('initiator', an XEP-0521
    # client) is taken and nothing is sent back (no source announced).
    name = new_room("vsenders")
    sa, accept = call(alice, room_jid(name), video_senders="responder")
    v1 = [c for c in accept.find(JINGLE).findall("{%s}content" % NS_JINGLE)
          if c.get("name") == "v1"][0]
    assert v1.get("senders") == "responder", dump(accept)
    assert len(v1.find("{%s}description" % NS_RTP).findall("{%s}source" % NS_SSMA)) == 1, \
        dump(accept)
    sb, accept = call(bob, room_jid(name), video_senders="initiator")
    v1 = [c for c in accept.find(JINGLE).findall("{%s}content" % NS_JINGLE)
          if c.get("name") == "v1"][0]
    assert v1.get("senders") == "initiator", dump(accept)
    assert v1.find("{%s}description" % NS_RTP).findall("{%s}source" % NS_SSMA) == [], \
        dump(accept)
    relay.wait_log(f"room {name}: call {sb} joined (participants: 2)", 5)
    hang_up(alice, relay, room_jid(name), sa)
    hang_up(bob, relay, room_jid(name), sb)


def test_a_listener_or_a_talker_only_is_answered_as_offered(relay, alice, bob):
    # A caller who only listens (audio senders='responder': the room sends)
    # or only talks ('initiator') is taken, with the senders it offered.
    name = new_room("oneway")
    sa, accept = call(alice, room_jid(name), audio_senders="responder", video=False)
    a0 = [c for c in accept.find(JINGLE).findall("{%s}content" % NS_JINGLE)
          if c.get("name") == "a0"][0]
    assert a0.get("senders") == "responder", dump(accept)
    sb, accept = call(bob, room_jid(name), audio_senders="initiator", video=False)
    a0 = [c for c in accept.find(JINGLE).findall("{%s}content" % NS_JINGLE)
          if c.get("name") == "a0"][0]
    assert a0.get("senders") == "initiator", dump(accept)
    relay.wait_log(f"room {name}: call {sb} joined (participants: 2)", 5)
    hang_up(alice, relay, room_jid(name), sa)
    hang_up(bob, relay, room_jid(name), sb)
    # Nobody sending at all is still refused.
    _, term = call(alice, room_jid(new_room("none")), audio_senders="none", video=False,
                   expect="session-terminate")
    assert reason_of(term)[0] == "incompatible-parameters", dump(term)


def test_audio_level_not_offered_is_not_answered(relay, alice):
    name = new_room("nolevel")
    sid, accept = call(alice, room_jid(name), level=False, video=False)
    desc = accept.find(JINGLE).find("{%s}content/{%s}description" % (NS_JINGLE, NS_RTP))
    assert desc.findall("{%s}rtp-hdrext" % NS_HDREXT) == [], dump(desc)
    hang_up(alice, relay, room_jid(name), sid)


def test_echo_and_escaped_jids_are_not_rooms(relay, alice, bob):
    bob.send_raw("<presence xmlns='jabber:client'/>")
    # echo@ answers as the echo: every content as offered, video sent back.
    sid, accept = call(alice, f"echo@{COMPONENT}")
    v = [c for c in accept.find(JINGLE).findall("{%s}content" % NS_JINGLE)
         if c.get("name") == "v1"][0]
    assert v.get("senders", "both") == "both", dump(accept)
    hang_up(alice, relay, f"echo@{COMPONENT}", sid)
    assert "room echo" not in relay.log()

    # bob\40localhost@ is the call relay's: bob is rung (XEP-0353 propose).
    start_b = mark(bob)
    sid = new_sid("conf")
    reply = alice.iq(f"bob\\40{DOMAIN}@{COMPONENT}", "set",
                     room_offer(sid, alice.full_jid, 4242))
    assert reply.get("type") == "result", dump(reply)
    wait_new(bob, start_b, lambda e: e.tag == "{%s}message" % NS_CLIENT
             and e.find("{urn:xmpp:jingle-message:0}propose") is not None, 10, "a propose")
    hang_up(alice, relay, f"bob\\40{DOMAIN}@{COMPONENT}", sid)
    assert "room bob" not in relay.log()

    # disco#info: a room is conference/audio-video, the echo is not.
    ids = disco_info(alice, f"echo@{COMPONENT}").findall("{%s}identity" % NS_DISCO_INFO)
    assert [(i.get("category"), i.get("type")) for i in ids] != [("conference", "audio-video")]


def test_no_opus_is_incompatible_parameters(relay, alice):
    name = new_room("pcmu")
    sid, term = call(alice, room_jid(name), expect="session-terminate", opus=False)
    reason, text = reason_of(term)
    assert reason == "incompatible-parameters", dump(term)
    assert "Opus" in (text or ""), dump(term)
    assert room_jid(name) not in open_rooms(alice)


def test_a_full_room_is_busy(relay, alice, bob, carol, dave):
    name = new_room("full")
    sids = []
    for c in (alice, bob, carol):
        sid, _ = call(c, room_jid(name))
        sids.append((c, sid))
    wait_count(alice, name, MAX)
    sid, term = call(dave, room_jid(name), expect="session-terminate")
    assert reason_of(term)[0] == "busy", dump(term)
    assert participant_count(alice, name) == MAX
    # One leaves: there is room again.
    c, s = sids.pop()
    hang_up(c, relay, room_jid(name), s)
    sid, _ = call(dave, room_jid(name))
    sids.append((dave, sid))
    wait_count(alice, name, MAX)
    for c, s in sids:
        hang_up(c, relay, room_jid(name), s)


def test_every_session_of_a_room_runs_on_the_rooms_worker(relay, alice, bob):
    # [media] workers = 2: the pool puts a second session on the idle
    # worker; the room moves it to the first one's.
    name = new_room("pin")
    s1, _ = call(alice, room_jid(name))
    relay.wait_log(f"room {name}: call {s1} joined (participants: 1)", 5)
    assert f"call {s1} moved" not in relay.log()
    s2, _ = call(bob, room_jid(name))
    relay.wait_log(f"room {name}: call {s2} moved from the core's choice of worker "
                   "to the room's", 5)
    relay.wait_log(f"room {name}: call {s2} joined (participants: 2)", 5)
    hang_up(alice, relay, room_jid(name), s1)
    hang_up(bob, relay, room_jid(name), s2)


# ---------------------------------------------------------------------------
# disco
# ---------------------------------------------------------------------------

def test_room_disco_info_counts_participants(relay, alice, bob):
    name = new_room("count")
    q = disco_info(alice, room_jid(name))
    ids = [(i.get("category"), i.get("type")) for i in q.findall("{%s}identity" % NS_DISCO_INFO)]
    assert ids == [("conference", "audio-video")], dump(q)
    features = {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}
    for f in ("urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:audio",
              "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0",
              NS_COMMANDS, NS_COIN):
        assert f in features, f"{f} missing: {dump(q)}"
    fields = form_fields(q)
    assert fields["FORM_TYPE"] == ["http://jabber.org/protocol/muc#roominfo"], dump(q)
    assert fields["muc#roominfo_occupants"] == ["0"], dump(q)

    s1, _ = call(alice, room_jid(name))
    wait_count(alice, name, 1)
    s2, _ = call(bob, room_jid(name))
    wait_count(alice, name, 2)
    hang_up(alice, relay, room_jid(name), s1)
    wait_count(bob, name, 1)
    hang_up(bob, relay, room_jid(name), s2)
    wait_count(bob, name, 0)


def test_disco_items_lists_open_rooms_only(relay, alice, bob):
    name, other = new_room("items"), new_room("never")
    assert room_jid(name) not in open_rooms(alice)
    s1, _ = call(alice, room_jid(name))
    s2, _ = call(bob, room_jid(name))
    items = open_rooms(alice)
    assert room_jid(name) in items and room_jid(other) not in items, items
    assert f"echo@{COMPONENT}" in items, items   # the modules' own stay listed
    hang_up(alice, relay, room_jid(name), s1)
    assert room_jid(name) in open_rooms(alice)   # bob is still in it
    hang_up(bob, relay, room_jid(name), s2)
    relay.wait_log(f"room {name} closed", 5)
    assert room_jid(name) not in open_rooms(alice)


# ---------------------------------------------------------------------------
# XEP-0298 conference-info
# ---------------------------------------------------------------------------

def test_conference_info_goes_to_clients_that_take_it(relay, alice, bob, carol, dave):
    name = new_room("coin")
    start_c, start_a, start_d = mark(carol), mark(alice), mark(dave)
    sc, _ = call(carol, room_jid(name))
    ci = wait_info(carol, start_c, name, lambda ci: f"xmpp:carol@{DOMAIN}" in users_of(ci),
                   "carol's conference-info")
    assert ci.get("state") == "full" and ci.get("entity") == f"xmpp:{room_jid(name)}", \
        ET.tostring(ci, encoding="unicode")

    sa, _ = call(alice, room_jid(name))
    ci = wait_info(carol, start_c, name, lambda ci: f"xmpp:alice@{DOMAIN}" in users_of(ci),
                   "alice joining")
    count = ci.find("{%s}conference-state/{%s}user-count" % (NS_CONFINFO, NS_CONFINFO))
    assert count is not None and count.text == "2", ET.tostring(ci, encoding="unicode")
    # Versions increase (RFC 4575 §4.1).
    versions = [int(c.get("version")) for c in conference_infos(carol, start_c, name)]
    assert versions == sorted(versions) and len(set(versions)) == len(versions), versions

    # alice putting the call on hold (XEP-0167 §7.3): out of the mix, and
    # the document says so (RFC 4575: endpoint on-hold, media inactive),
    # then back.
    for info, status, media in (("hold", "on-hold", "inactive"), ("active", None, None)):
        if info == "active":
            body = f"<unhold xmlns='{NS_INFO}'/>"
        else:
            body = f"<hold xmlns='{NS_INFO}'/>"
        reply = alice.iq(room_jid(name), "set", jingle("session-info", sa, body))
        assert reply.get("type") == "result", dump(reply)
        if status:
            wait_info(carol, start_c, name,
                      lambda ci: (lambda u: u is not None
                                  and u.find(".//{%s}endpoint/{%s}status" % (NS_CONFINFO, NS_CONFINFO)).text == status
                                  and media_status(u) == media)(users_of(ci).get(f"xmpp:alice@{DOMAIN}")),
                      "alice on hold")
            relay.wait_log(f"room {name}: call {sa} on hold", 5)
        else:
            wait_info(carol, start_c, name,
                      lambda ci: media_status(users_of(ci).get(f"xmpp:alice@{DOMAIN}",
                                                              ET.Element("x"))) == "sendrecv",
                      "alice back from hold")
            relay.wait_log(f"room {name}: call {sa} back from hold", 5)

    # alice muting herself (XEP-0167 §7.2) shows in the document.
    reply = alice.iq(room_jid(name), "set",
                     jingle("session-info", sa, f"<mute xmlns='{NS_INFO}' creator='initiator' "
                                                f"name='a0'/>"))
    assert reply.get("type") == "result", dump(reply)
    wait_info(carol, start_c, name,
              lambda ci: media_status(users_of(ci).get(f"xmpp:alice@{DOMAIN}",
                                                      ET.Element("x"))) == "recvonly",
              "alice muted")
    relay.wait_log(f"room {name}: call {sa} muted itself", 5)

    # Dino lists no feature for it but takes it (its identity says Dino):
    # dave gets the document the way Dino parses it (every user 'full' with
    # an endpoint: Dino keeps only users with one).
    sd, _ = call(dave, room_jid(name))
    ci = wait_info(dave, start_d, name, lambda ci: len(users_of(ci)) == 3, "dave's document")
    for entity, user in users_of(ci).items():
        assert user.get("state") == "full", ET.tostring(ci, encoding="unicode")
        assert user.find("{%s}endpoint" % NS_CONFINFO) is not None, entity
    hang_up(dave, relay, room_jid(name), sd)

    hang_up(alice, relay, room_jid(name), sa)
    wait_info(carol, start_c, name, lambda ci: f"xmpp:alice@{DOMAIN}" not in users_of(ci)
              and ci.find(".//{%s}user-count" % NS_CONFINFO).text == "1", "alice leaving")
    # alice's client lists neither feature nor is it Dino: she got none.
    assert conference_infos(alice, start_a, name) == []
    hang_up(carol, relay, room_jid(name), sc)


def test_one_user_on_two_devices_is_one_user_with_two_endpoints(relay, conf_prosody, carol):
    name = new_room("twodev")
    carol2 = coin_client(conf_prosody, "carol", "carol-second", True)
    try:
        start = mark(carol)
        s1, _ = call(carol, room_jid(name))
        s2, _ = call(carol2, room_jid(name))
        ci = wait_info(carol, start, name,
                       lambda ci: len(ci.findall(".//{%s}endpoint" % NS_CONFINFO)) == 2,
                       "two endpoints")
        users = ci.findall(".//{%s}user" % NS_CONFINFO)
        assert len(users) == 1 and users[0].get("entity") == f"xmpp:carol@{DOMAIN}", \
            ET.tostring(ci, encoding="unicode")
        assert {e.get("entity") for e in users[0].findall("{%s}endpoint" % NS_CONFINFO)} == \
            {f"xmpp:{carol.full_jid}", f"xmpp:{carol2.full_jid}"}
        assert ci.find(".//{%s}user-count" % NS_CONFINFO).text == "1"
        assert participant_count(carol, name) == 2     # disco counts sessions
        hang_up(carol2, relay, room_jid(name), s2)
        hang_up(carol, relay, room_jid(name), s1)
    finally:
        carol2.close()


def test_a_mute_toggled_in_a_loop_costs_few_documents(relay, alice, carol):
    # Each change costs a document to every participant that takes them:
    # 40 changes within a second go out as a handful (coalesced, 200 ms).
    name = new_room("toggle")
    sc, _ = call(carol, room_jid(name))
    sa, _ = call(alice, room_jid(name))
    start_c = mark(carol)
    for i in range(40):
        what = "mute" if i % 2 == 0 else "unmute"
        alice.send_raw(f"<iq xmlns='jabber:client' type='set' to={quoteattr(room_jid(name))} "
                       f"id='tog{i}'>" + jingle("session-info", sa,
                                                f"<{what} xmlns='{NS_INFO}' creator='initiator' "
                                                f"name='a0'/>") + "</iq>")
    alice.wait_stanza(lambda e: e.get("id") == "tog39", 10, "the last session-info's answer")
    time.sleep(1.0)
    docs = conference_infos(carol, start_c, name)
    assert 1 <= len(docs) <= 10, len(docs)
    # The last one says what is true now: alice unmuted (40 toggles).
    assert media_status(users_of(docs[-1])[f"xmpp:alice@{DOMAIN}"]) == "sendrecv"
    hang_up(alice, relay, room_jid(name), sa)
    hang_up(carol, relay, room_jid(name), sc)


def test_a_busy_rooms_documents_keep_within_a_byte_budget(own_prosody, tmp_path):
    # 16 participants that all take conference-info, each on a resource of
    # 1000 bytes (its endpoint in every document): a document is ~20 KB and
    # goes to all 16, ~320 KB a broadcast.  One toggling mute for 2 s must
    # not cost that five times a second (CF_INFO_COALESCE_MS alone): within
    # 256 KB/s a broadcast is followed by ~1.2 s without one.
    prosody = own_prosody
    clients = []
    b = None
    try:
        b = Belfry(tmp_path, port=prosody.component_port, modules="conference",
                   groups={"media": MEDIA, "limits": {"max-sessions-per-jid": "0"},
                           "conference": {"max-participants": "20"}})
        b.start()
        name = new_room("budget")
        sids = []
        for user in ("alice", "bob", "carol", "dave"):
            for i in range(4):
                c = coin_client(prosody, user, f"d{i}-" + "x" * 996, True)
                clients.append(c)
                sids.append(call(c, room_jid(name))[0])
        observer, toggler, toggler_sid = clients[0], clients[-1], sids[-1]
        # The joins' documents settle: the one with all 16 arrives.
        wait_info(observer, 0, name,
                  lambda ci: len(list(ci.iter("{%s}endpoint" % NS_CONFINFO))) == 16,
                  "a document of 16 endpoints", timeout=15)
        time.sleep(2.0)
        start = mark(observer)
        t0 = time.monotonic()
        for i in range(50):
            what = "mute" if i % 2 == 0 else "unmute"
            toggler.send_raw(
                f"<iq xmlns='jabber:client' type='set' to={quoteattr(room_jid(name))} "
                f"id='tog{i}'>" + jingle("session-info", toggler_sid,
                                         f"<{what} xmlns='{NS_INFO}' creator='initiator' "
                                         f"name='a0'/>") + "</iq>")
            time.sleep(0.04)
        toggler.wait_stanza(lambda e: e.get("id") == "tog49", 10, "the last answer")
        spent = time.monotonic() - t0
        after = mark(observer)
        docs = conference_infos(observer, start, name)
        # Without the budget: one every 200 ms (~10 in 2 s).
        assert 1 <= len(docs) <= 1 + spent / 1.0, (len(docs), spent)
        # The last state (unmuted: 50 toggles) still arrives, after the wait.
        statuses = ".//{%s}media/{%s}status" % (NS_CONFINFO, NS_CONFINFO)
        final = wait_info(observer, after, name, lambda ci: True, "the final document",
                          timeout=5)
        assert [s.text for s in final.iterfind(statuses)] == ["sendrecv"] * 16, dump(final)
        b.stop()
    finally:
        for c in clients:
            c.close()
        if b is not None:
            b.kill_quietly()


# ---------------------------------------------------------------------------
# presence and metrics
# ---------------------------------------------------------------------------

def test_a_room_in_the_roster_is_online_with_jingle_caps(relay, bob):
    name = new_room("roster")
    start = mark(bob)
    bob.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(room_jid(name))} "
                 "type='subscribe'/>")
    pres = wait_new(bob, start, lambda e: e.tag == "{jabber:client}presence"
                    and (e.get("from") or "").startswith(room_jid(name) + "/")
                    and e.get("type") is None and e.find("{%s}c" % NS_CAPS) is not None, 10,
                    "available presence with caps")
    c = pres.find("{%s}c" % NS_CAPS)
    node = f"{c.get('node')}#{c.get('ver')}"
    reply = bob.iq(pres.get("from"), "get",
                   f"<query xmlns='{NS_DISCO_INFO}' node={quoteattr(node)}/>")
    assert reply.get("type") == "result", dump(reply)
    q = reply.find("{%s}query" % NS_DISCO_INFO)
    assert caps_ver(q) == c.get("ver"), dump(reply)
    feats = {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}
    assert {"urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:rtp:audio",
            "urn:xmpp:jingle-message:0", NS_CAPS} <= feats, dump(reply)
    bob.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(room_jid(name))} "
                 "type='unsubscribe'/>")


def test_metrics_follow_rooms_and_participants(relay, alice, bob):
    _, before = scrape(METRICS_PORT)
    joined0 = total(before, "belfry_conference_participants_joined_total")
    opened0 = total(before, "belfry_conference_rooms_opened_total")
    name = new_room("metrics")
    s1, _ = call(alice, room_jid(name))
    s2, _ = call(bob, room_jid(name))
    _, during = scrape(METRICS_PORT)
    assert total(during, "belfry_conference_participants_joined_total") == joined0 + 2
    assert total(during, "belfry_conference_rooms_opened_total") == opened0 + 1
    assert total(during, "belfry_conference_participants") >= 2
    assert total(during, "belfry_conference_rooms") >= 1
    hang_up(alice, relay, room_jid(name), s1)
    hang_up(bob, relay, room_jid(name), s2)
    relay.wait_log(f"room {name} closed", 5)
    _, after = scrape(METRICS_PORT)
    assert total(after, "belfry_conference_participants") == \
        total(during, "belfry_conference_participants") - 2
    assert total(after, "belfry_conference_rooms") == total(during, "belfry_conference_rooms") - 1


# ---------------------------------------------------------------------------
# moderation (XEP-0050)
# ---------------------------------------------------------------------------

def test_moderator_mutes_and_removes_others_are_forbidden(relay, alice, bob, carol):
    name = new_room("mod")
    start_c = mark(carol)
    sa, _ = call(alice, room_jid(name))     # the first: the moderator
    sb, _ = call(bob, room_jid(name))
    sc, _ = call(carol, room_jid(name))
    wait_count(alice, name, 3)

    # The command list: alice's two commands, nothing for bob.
    items = alice.iq(room_jid(name), "get",
                     f"<query xmlns='{NS_DISCO_ITEMS}' node='{NS_COMMANDS}'/>")
    assert {i.get("node") for i in items.iter("{%s}item" % NS_DISCO_ITEMS)} == {
        "mute", "remove", "urn:xmpp:av-conferences:config"}
    items = bob.iq(room_jid(name), "get",
                   f"<query xmlns='{NS_DISCO_ITEMS}' node='{NS_COMMANDS}'/>")
    assert list(items.iter("{%s}item" % NS_DISCO_ITEMS)) == [], dump(items)

    # bob is not a moderator.
    for node in ("mute", "remove"):
        r = command(bob, name, node, {"participant": f"alice@{DOMAIN}"})
        assert error_condition(r) == ("auth", ["forbidden"]), dump(r)
    wait_count(alice, name, 3)

    # alice mutes bob in two stages: the form, then complete.
    r = command(alice, name, "mute")
    cmd = r.find("{%s}command" % NS_COMMANDS)
    assert r.get("type") == "result" and cmd.get("status") == "executing", dump(r)
    options = [o.find("{%s}value" % NS_DATA).text
               for o in cmd.iter("{%s}option" % NS_DATA)]
    assert len(options) == 3, dump(r)
    r = command(alice, name, "mute", {"participant": f"bob@{DOMAIN}", "muted": "1"},
                action="complete", sessionid=cmd.get("sessionid"))
    assert r.find("{%s}command" % NS_COMMANDS).get("status") == "completed", dump(r)
    relay.wait_log(f"room {name}: call {sb} muted by a moderator", 5)
    wait_info(carol, start_c, name,
              lambda ci: media_status(users_of(ci).get(f"xmpp:bob@{DOMAIN}",
                                                      ET.Element("x"))) == "recvonly",
              "bob muted")
    # A session id is the opener's: bob cannot reuse it.
    r = command(bob, name, "mute", {"participant": "1"}, action="complete",
                sessionid=cmd.get("sessionid"))
    assert error_condition(r)[1] == ["forbidden"], dump(r)

    # alice removes bob (one stage, the form submitted at once).
    start_b = mark(bob)
    r = command(alice, name, "remove", {"participant": f"bob@{DOMAIN}"})
    assert r.find("{%s}command" % NS_COMMANDS).get("status") == "completed", dump(r)
    term = jingle_from(bob, start_b, room_jid(name), sb, "session-terminate")
    assert "moderator" in (reason_of(term)[1] or ""), dump(term)
    wait_count(alice, name, 2)
    wait_info(carol, start_c, name, lambda ci: f"xmpp:bob@{DOMAIN}" not in users_of(ci),
              "bob removed")

    # A moderator's open commands are bounded: its oldest goes (4 at most).
    opened = [command(alice, name, "mute").find("{%s}command" % NS_COMMANDS).get("sessionid")
              for _ in range(5)]
    r = command(alice, name, "mute", {"participant": "1", "muted": "0"}, action="complete",
                sessionid=opened[0])
    assert error_condition(r) == ("modify", ["bad-request"]), dump(r)
    r = command(alice, name, "mute", {"participant": "1", "muted": "0"}, action="cancel",
                sessionid=opened[4])
    assert r.find("{%s}command" % NS_COMMANDS).get("status") == "canceled", dump(r)

    # A participant who is not there.
    r = command(alice, name, "remove", {"participant": f"dave@{DOMAIN}"})
    assert error_condition(r) == ("modify", ["bad-request"]), dump(r)

    hang_up(alice, relay, room_jid(name), sa)
    hang_up(carol, relay, room_jid(name), sc)
    relay.wait_log(f"room {name} closed", 5)


def test_open_commands_are_bounded_per_user_not_per_resource(relay, conf_prosody, alice):
    # alice moderates; a second device of hers opens a fifth command: the
    # bound is the user's (over her resources), so her first device's
    # oldest command is closed, as a fifth from one resource closes it.
    name = new_room("modres")
    sa, _ = call(alice, room_jid(name))
    other = Client(f"alice@{DOMAIN}/second-device", USERS["alice"], conf_prosody.c2s_port)
    try:
        opened = [command(alice, name, "mute").find("{%s}command" % NS_COMMANDS).get("sessionid")
                  for _ in range(4)]
        r = command(other, name, "mute")
        assert r.find("{%s}command" % NS_COMMANDS).get("status") == "executing", dump(r)
        r = command(alice, name, "mute", {"participant": "1", "muted": "0"}, action="complete",
                    sessionid=opened[0])
        assert error_condition(r) == ("modify", ["bad-request"]), dump(r)
        r = command(alice, name, "mute", {"participant": "1", "muted": "0"}, action="complete",
                    sessionid=opened[1])
        assert r.find("{%s}command" % NS_COMMANDS).get("status") == "completed", dump(r)
    finally:
        other.close()
    hang_up(alice, relay, room_jid(name), sa)
    relay.wait_log(f"room {name} closed", 5)


def test_a_command_to_a_room_nobody_is_in_is_forbidden_as_at_an_open_one(relay, alice, bob):
    # Whether a room is open is not told to a JID that is not its moderator:
    # the same <forbidden/> at a room nobody is in as at an open one.
    closed, opened = new_room("nobody"), new_room("open")
    sa, _ = call(alice, room_jid(opened))
    for name in (closed, opened):
        for node in ("mute", "remove"):
            r = command(bob, name, node, {"participant": "1"})
            assert error_condition(r) == ("auth", ["forbidden"]), dump(r)
    # An unknown command is unknown either way.
    r = command(bob, closed, "kick")
    assert error_condition(r) == ("cancel", ["item-not-found"]), dump(r)
    hang_up(alice, relay, room_jid(opened), sa)
    relay.wait_log(f"room {opened} closed", 5)


def test_a_removed_first_participant_moderates_no_more(own_prosody, tmp_path):
    # alice opened the room (its moderator); bob, a moderator of
    # [conference], removes her: calling again, she cannot remove him.
    prosody = own_prosody
    clients = []
    b = None
    try:
        b = Belfry(tmp_path, port=prosody.component_port, modules="conference",
                   groups={"media": MEDIA, "conference": {"moderators": f"bob@{DOMAIN}"}})
        b.start()
        a = coin_client(prosody, "alice", "first", False)
        clients.append(a)
        bb = coin_client(prosody, "bob", "mod", False)
        clients.append(bb)
        name = new_room("coup")
        sa, _ = call(a, room_jid(name))
        sb, _ = call(bb, room_jid(name))
        start_a = mark(a)
        r = command(bb, name, "remove", {"participant": f"alice@{DOMAIN}"})
        assert r.find("{%s}command" % NS_COMMANDS).get("status") == "completed", dump(r)
        jingle_from(a, start_a, room_jid(name), sa, "session-terminate")
        call(a, room_jid(name))
        r = command(a, name, "remove", {"participant": f"bob@{DOMAIN}"})
        assert error_condition(r) == ("auth", ["forbidden"]), dump(r)
        items = a.iq(room_jid(name), "get",
                     f"<query xmlns='{NS_DISCO_ITEMS}' node='{NS_COMMANDS}'/>")
        assert list(items.iter("{%s}item" % NS_DISCO_ITEMS)) == [], dump(items)
        # bob still moderates.
        r = command(bb, name, "mute", {"participant": f"alice@{DOMAIN}"})
        assert r.find("{%s}command" % NS_COMMANDS).get("status") == "completed", dump(r)
        b.stop()
    finally:
        for c in clients:
            c.close()
        if b is not None:
            b.kill_quietly()


def test_the_room_ends_with_its_last_participant(relay, alice, bob):
    name = new_room("end")
    s1, _ = call(alice, room_jid(name))
    s2, _ = call(bob, room_jid(name))
    hang_up(alice, relay, room_jid(name), s1)
    assert f"room {name} closed" not in relay.log()
    hang_up(bob, relay, room_jid(name), s2)
    relay.wait_log(f"room {name} closed", 5)
    # The worker's tick stopped with it.
    relay.wait_log(f"room {name}: the mixing tick stopped", 5)
    assert room_jid(name) not in open_rooms(alice)
    # The name opens a new room for the next caller.
    s3, _ = call(bob, room_jid(name))
    relay.wait_log(f"room {name}: call {s3} joined (participants: 1)", 5)
    hang_up(bob, relay, room_jid(name), s3)


# ---------------------------------------------------------------------------
# a listed set of rooms and allow-domains (a belfry of their own)
# ---------------------------------------------------------------------------

def test_rooms_list_and_allow_domains(fresh_prosody, tmp_path):
    b = Belfry(tmp_path, port=fresh_prosody.component_port, modules="echo;call;conference",
               groups={"media": MEDIA,
                       "conference": {"rooms": "team;Standup;Équipe",
                                      "allow-domains": "example.org"}})
    try:
        b.start()
        c = coin_client(fresh_prosody, "alice", "list", False)
        try:
            # Names are compared in lower case, non-ASCII too: the server
            # sends a localpart nodeprepped (équipe), the file says Équipe.
            for name in ("team", "standup", "équipe"):
                ids = disco_info(c, room_jid(name)).findall("{%s}identity" % NS_DISCO_INFO)
                assert [(i.get("category"), i.get("type")) for i in ids] == \
                    [("conference", "audio-video")], name
            # Another name is not a room: the call relay's (any address).
            ids = disco_info(c, room_jid("lobby")).findall("{%s}identity" % NS_DISCO_INFO)
            assert ("conference", "audio-video") not in \
                [(i.get("category"), i.get("type")) for i in ids]
            # alice@localhost is outside allow-domains: declined.
            sid, term = call(c, room_jid("team"), expect="session-terminate")
            assert reason_of(term)[0] == "decline", dump(term)
            assert "room team opened" not in b.log()
        finally:
            c.close()
        b.stop()
    finally:
        b.kill_quietly()


def test_reload_applies_conference_settings(fresh_prosody, tmp_path):
    path = tmp_path / "belfry.conf"

    def conf(**kv):
        write_config(path, port=fresh_prosody.component_port, modules="echo;call;conference",
                     groups={"media": MEDIA, "conference": kv})

    conf(**{"max-participants": "2"})
    b = Belfry(tmp_path, config_path=path)
    try:
        b.start()
        a = coin_client(fresh_prosody, "alice", "rl-a", False)
        o = coin_client(fresh_prosody, "bob", "rl-b", False)
        try:
            sa, _ = call(a, room_jid("keep"))
            # Only example.org may join from now on; alice stays in.
            conf(**{"max-participants": "2", "allow-domains": "example.org"})
            b.send_signal(signal.SIGHUP)
            b.wait_log("reload: [conference] allow-domains: localhost → example.org", 5)
            _, term = call(o, room_jid("keep"), expect="session-terminate")
            assert reason_of(term)[0] == "decline", dump(term)
            # Outside allow-domains, a room is not listed and shows no count
            # (who may not join does not learn how busy it is).
            assert room_jid("keep") not in open_rooms(o)
            q = disco_info(o, room_jid("keep"))
            assert q.find("{%s}x" % NS_DATA) is None, dump(q)
            assert ("conference", "audio-video") in \
                [(i.get("category"), i.get("type")) for i in q.findall("{%s}identity" % NS_DISCO_INFO)]
            # A bad value changes nothing.
            conf(**{"max-participants": "lots"})
            b.send_signal(signal.SIGHUP)
            b.wait_log("[conference] max-participants: 'lots' is not an integer "
                       "(the module keeps its running settings)", 5)
            _, term = call(o, room_jid("keep"), expect="session-terminate")
            assert reason_of(term)[0] == "decline", dump(term)
            # "keep" is no longer listed, but open: it stays a room until
            # alice leaves (her hang-up reaches it), new names follow the list.
            conf(**{"rooms": "other", "max-participants": "2"})
            b.send_signal(signal.SIGHUP)
            b.wait_log("reload: [conference] rooms: * → other", 5)
            assert participant_count(a, "keep") == 1
            assert room_jid("keep") in open_rooms(o)
            hang_up(a, b, room_jid("keep"), sa)
            b.wait_log("room keep closed", 5)
            ids = disco_info(a, room_jid("keep")).findall("{%s}identity" % NS_DISCO_INFO)
            assert ("conference", "audio-video") not in \
                [(i.get("category"), i.get("type")) for i in ids]
            # bob (localhost) may join again: allow-domains is back to its default.
            sb, _ = call(o, room_jid("other"))
            hang_up(o, b, room_jid("other"), sb)
        finally:
            a.close()
            o.close()
        b.stop()
    finally:
        b.kill_quietly()


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------

@pytest.fixture
def listener():
    s = FakeServer()
    yield s
    s.close()


BAD = [
    ("rooms-empty", {"rooms": ""}, "rooms"),
    ("rooms-star-and-names", {"rooms": "*;team"}, "rooms"),
    ("rooms-escaped", {"rooms": "bob\\40example.org"}, "rooms"),
    ("rooms-at", {"rooms": "team@x"}, "rooms"),
    ("max-participants-1", {"max-participants": "1"}, "max-participants"),
    ("max-participants-huge", {"max-participants": "501"}, "max-participants"),
    ("max-participants-word", {"max-participants": "many"}, "max-participants"),
    ("allow-domains-empty", {"allow-domains": ""}, "allow-domains"),
    ("moderators-full-jid", {"moderators": "alice@localhost/phone"}, "moderators"),
    ("moderators-domain", {"moderators": "localhost"}, "moderators"),
    ("max-talkers-0", {"max-talkers": "0"}, "max-talkers"),
    ("max-talkers-6", {"max-talkers": "6"}, "max-talkers"),
    ("bitrate-low", {"bitrate": "5999"}, "bitrate"),
    ("bitrate-high", {"bitrate": "128001"}, "bitrate"),
    ("unknown-key", {"max-talkers-typo": "3"}, "max-talkers-typo"),
    ("composite-size-one-number", {"composite-size": "640"}, "composite-size"),
    ("composite-size-odd", {"composite-size": "641x360"}, "composite-size"),
    ("composite-size-huge", {"composite-size": "3840x2160"}, "composite-size"),
    ("composite-size-tiny", {"composite-size": "32x32"}, "composite-size"),
    ("composite-size-words", {"composite-size": "wide"}, "composite-size"),
    ("composite-size-trailing", {"composite-size": "640x360p"}, "composite-size"),
    ("composite-size-negative", {"composite-size": "-640x360"}, "composite-size"),
    ("composite-fps-0", {"composite-fps": "0"}, "composite-fps"),
    ("composite-fps-31", {"composite-fps": "31"}, "composite-fps"),
    ("composite-bitrate-low", {"composite-bitrate": "49"}, "composite-bitrate"),
]


@pytest.mark.parametrize("case,group,key", BAD, ids=[b[0] for b in BAD])
def test_bad_conference_config_exits_2(tmp_path, listener, case, group, key):
    path = write_config(tmp_path / "belfry.conf", port=listener.port,
                        modules="echo;call;conference",
                        groups={"media": MEDIA, "conference": group})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert_config_error(path, r, "conference", re.escape(key), listener)


def test_good_conference_config_is_accepted(tmp_path, listener):
    path = write_config(tmp_path / "belfry.conf", port=listener.port,
                        modules="echo;call;conference",
                        groups={"media": MEDIA,
                                "conference": {"rooms": "*", "max-participants": "50",
                                               "max-talkers": "5", "bitrate": "24000",
                                               "allow-domains": "localhost;example.org",
                                               "moderators": "alice@localhost",
                                               "composite-size": "1280x720",
                                               "composite-fps": "30",
                                               "composite-bitrate": "1500"}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"
    assert SECRET not in r.stderr + r.stdout
