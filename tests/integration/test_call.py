"""belfry's call relay (module `call`, README "Call relay"): two-leg
calls between users through a real Prosody 0.12, driven by real slixmpp
clients that send raw Jingle / JMI stanzas. No media flows: every offer and
answer carries fake candidates and fingerprints, so the tests end each call
long before [media] ice-timeout.

Addressing (XEP-0106): alice@localhost calls bob@localhost at
bob\\40localhost@relay.localhost (every resource of bob is rung with a
XEP-0353 <propose/> from alice\\40localhost@relay.localhost/<random>), or
one resource directly at bob\\40localhost\\2f<resource>@relay.localhost.

The Prosody here keeps mod_offline (as real servers do), so a propose to a
registered but offline user is stored, not bounced; one to a user that does
not exist is bounced with <service-unavailable/>.

Each [call] configuration under test has a belfry of its own, attached in
turn to the one Prosody of this module (CONFIGS); the clients stay logged in
across the switches. After every test belfry must still be running, and at
each switch it must exit 0 on SIGTERM.
"""

import base64
import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import pytest

from harness import (COMPONENT, DOMAIN, NS_CLIENT, NS_STANZAS, SECRET, USERS, Belfry, Client,
                     FakeServer, run_belfry, write_config)
from relay_fixtures import prosody_fixture
from test_config import assert_config_error
from test_jingle import (IQ, JINGLE, MESSAGE, NS_DTLS, NS_GROUPING, NS_ICE, NS_JERR,
                         NS_JINGLE, NS_JMI, NS_RTP, NS_SSMA, belfry_fingerprint, dump,
                         jingle, jingle_client, local, new_sid)

NS_INFO = "urn:xmpp:jingle:apps:rtp:info:1"
NS_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_HINTS = "urn:xmpp:hints"

CAROL_PW = "carol-pw-5Tn"
ALL_USERS = dict(USERS, carol=CAROL_PW)

# Distinctive, so that any leak is unambiguous.
A_RES = "alicephone-Q7zr"
# Lower case: Prosody nodepreps (case-folds) the localpart of the address
# called, so an escaped resource with capitals names another resource.
B_RES = "bobdesk-k4wm"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"

# belfry's ports stay clear of the fake ones (41xxx, 42xxx) the clients announce.
MEDIA = {"addresses": "127.0.0.1", "port-range": "20000-40000", "ice-timeout": "60"}

# One belfry per [call] configuration (attached in turn to the module's Prosody).
CONFIGS = {
    "main": {"ring-timeout": "20"},        # allow-domains: the default (localhost)
    "ring2": {"ring-timeout": "2"},
    "foreign": {"allow-domains": "example.org"},
    "max1": {"max-calls-per-jid": "1", "ring-timeout": "20"},
}


def fp_of(start):
    return ":".join("%02X" % b for b in bytes(range(start, start + 32)))


class Side:
    """One endpoint's fake ICE/DTLS identity and its SSRCs."""

    def __init__(self, ufrag, pwd, fp, cands, trickle, ssrcs, cname):
        self.ufrag, self.pwd, self.fp = ufrag, pwd, fp
        self.cands = cands            # (ip, port) in the initiate / accept
        self.trickle = trickle        # (ip, port) sent later in transport-info
        self.ssrcs = ssrcs            # audio, video, rtx
        self.cname = cname

    @property
    def ips(self):
        return {ip for ip, _ in self.cands + self.trickle}

    @property
    def ports(self):
        return {port for _, port in self.cands + self.trickle}


A = Side("aLiCe7ufrag", "alicePassword0123456789+/", fp_of(0x10),
         [("127.11.22.33", 41111), ("127.11.22.35", 41115)], [("127.11.22.34", 41113)],
         (1111111111, 2222222222, 3333333333), "alice-cname-x1")
B = Side("bOb9ufrag", "bobPassword9876543210abcd", fp_of(0x60),
         [("127.44.55.66", 42222)], [("127.44.55.67", 42224)],
         (444444444, 555555555, 666666666), "bob-cname-y2")

AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
VIDEO_ORIENT = "urn:3gpp:video-orientation"


# ---------------------------------------------------------------------------
# addresses (XEP-0106)
# ---------------------------------------------------------------------------

_ESC = {" ": r"\20", '"': r"\22", "&": r"\26", "'": r"\27", "/": r"\2f", ":": r"\3a",
        "<": r"\3c", ">": r"\3e", "@": r"\40", "\\": r"\5c"}


def addr(jid):
    """The relay address that calls jid: its XEP-0106 escape as localpart."""
    return "".join(_ESC.get(ch, ch) for ch in jid) + "@" + COMPONENT


BOB_ADDR = addr(BOB)
ALICE_ADDR = addr(ALICE)
assert BOB_ADDR == r"bob\40localhost@relay.localhost"
assert ALICE_ADDR == r"alice\40localhost@relay.localhost"


def bare(jid):
    return jid.split("/", 1)[0] if jid else jid


def domain_of(jid):
    return bare(jid or "").rsplit("@", 1)[-1]


# ---------------------------------------------------------------------------
# stanzas
# ---------------------------------------------------------------------------

def candidate_xml(ip, port, n):
    return (f"<candidate component='1' foundation='{n + 1}' generation='0' id='c{n}-{port}' "
            f"ip='{ip}' network='0' port='{port}' priority='{2130706431 - n}' "
            "protocol='udp' type='host'/>")


def transport_xml(side, setup, cands=None, with_fp=True):
    cands = side.cands if cands is None else cands
    fp = (f"<fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='{setup}'>{side.fp}</fingerprint>"
          if with_fp else "")
    return (f"<transport xmlns='{NS_ICE}' ufrag='{side.ufrag}' pwd='{side.pwd}'>{fp}"
            + "".join(candidate_xml(ip, port, n) for n, (ip, port) in enumerate(cands))
            + "</transport>")


def pt_xml(pt_id, name, clock, channels=None, params=(), fbs=()):
    ch = f" channels='{channels}'" if channels else ""
    return (f"<payload-type id='{pt_id}' name='{name}' clockrate='{clock}'{ch}>"
            + "".join(f"<parameter name='{k}' value='{v}'/>" for k, v in params)
            + "".join(f"<rtcp-fb xmlns='{NS_FB}' type='{t}'" + (f" subtype='{s}'" if s else "")
                      + "/>" for t, s in fbs)
            + "</payload-type>")


def sources_xml(ssrcs, cname, fid=False):
    x = "".join(f"<source xmlns='{NS_SSMA}' ssrc='{s}'><parameter name='cname' value='{cname}'/>"
                "</source>" for s in ssrcs)
    if fid:
        x += (f"<ssrc-group xmlns='{NS_SSMA}' semantics='FID'>"
              + "".join(f"<source ssrc='{s}'/>" for s in ssrcs) + "</ssrc-group>")
    return x


def content_xml(name, description, transport):
    return (f"<content creator='initiator' name='{name}' senders='both'>"
            f"{description}{transport}</content>")


BUNDLE = (f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
          "<content name='a0'/><content name='v1'/></group>")

# What alice offers: a0 = Opus 111 + PCMU 0, v1 = VP8 96 + rtx 97.
OFFER_PTS = {"a0": [("111", "opus"), ("0", "PCMU")], "v1": [("96", "VP8"), ("97", "rtx")]}
OFFER_HDREXT = {"a0": [("1", AUDIO_LEVEL)], "v1": [("3", VIDEO_ORIENT)]}


def alice_offer(sid, initiator, video=True):
    tr = transport_xml(A, "actpass")
    audio = (f"<description xmlns='{NS_RTP}' media='audio'>"
             + pt_xml(111, "opus", 48000, 2, [("minptime", "10"), ("useinbandfec", "1")],
                      [("transport-cc", None)])
             + pt_xml(0, "PCMU", 8000)
             + f"<rtp-hdrext xmlns='{NS_HDREXT}' id='1' uri='{AUDIO_LEVEL}'/>"
             + sources_xml(A.ssrcs[:1], A.cname) + "<rtcp-mux/></description>")
    body = content_xml("a0", audio, tr)
    if video:
        vid = (f"<description xmlns='{NS_RTP}' media='video'>"
               + pt_xml(96, "VP8", 90000, None, (), [("nack", None), ("nack", "pli"),
                                                     ("ccm", "fir")])
               + pt_xml(97, "rtx", 90000, None, [("apt", "96")])
               + f"<rtp-hdrext xmlns='{NS_HDREXT}' id='3' uri='{VIDEO_ORIENT}'/>"
               + sources_xml(A.ssrcs[1:], A.cname, fid=True) + "<rtcp-mux/></description>")
        body += content_xml("v1", vid, tr) + BUNDLE
    return jingle("session-initiate", sid, body, f" initiator={quoteattr(initiator)}")


# What bob answers: Opus only (same id), VP8/rtx under other ids (100/101), the
# audio-level extension under id 5. Alice must see 111 / 96 / 97 / id 1.
ANSWER_PTS = {"a0": [("111", "opus")], "v1": [("96", "VP8"), ("97", "rtx")]}


def bob_answer(sid, responder, initiator, video=True, setup="active"):
    tr = transport_xml(B, setup)
    audio = (f"<description xmlns='{NS_RTP}' media='audio'>"
             + pt_xml(111, "opus", 48000, 2, [("minptime", "10"), ("useinbandfec", "1")])
             + f"<rtp-hdrext xmlns='{NS_HDREXT}' id='5' uri='{AUDIO_LEVEL}'/>"
             + sources_xml(B.ssrcs[:1], B.cname) + "<rtcp-mux/></description>")
    body = content_xml("a0", audio, tr)
    if video:
        vid = (f"<description xmlns='{NS_RTP}' media='video'>"
               + pt_xml(100, "VP8", 90000, None, (), [("nack", None), ("nack", "pli")])
               + pt_xml(101, "rtx", 90000, None, [("apt", "100")])
               + f"<rtp-hdrext xmlns='{NS_HDREXT}' id='3' uri='{VIDEO_ORIENT}'/>"
               + sources_xml(B.ssrcs[1:], B.cname, fid=True) + "<rtcp-mux/></description>")
        body += content_xml("v1", vid, tr) + BUNDLE
    return jingle("session-accept", sid, body,
                  f" initiator={quoteattr(initiator)} responder={quoteattr(responder)}")


def trickle_xml(sid, side):
    return jingle("transport-info", sid,
                  content_xml("a0", "", transport_xml(side, None, side.trickle, with_fp=False)))


def terminate_xml(sid, reason, text=None):
    t = f"<text>{text}</text>" if text else ""
    return jingle("session-terminate", sid, f"<reason><{reason}/>{t}</reason>")


def info_xml(sid, kind, name=None):
    attrs = f" creator='initiator' name='{name}'" if name else ""
    return jingle("session-info", sid, f"<{kind} xmlns='{NS_INFO}'{attrs}/>")


def jmi_xml(to, kind, jmi_id, body=""):
    return (f"<message xmlns='jabber:client' type='chat' to={quoteattr(to)} "
            f"id='jmi-{os.urandom(4).hex()}'><{kind} xmlns='{NS_JMI}' id={quoteattr(jmi_id)}>"
            f"{body}</{kind}><store xmlns='{NS_HINTS}'/></message>")


# ---------------------------------------------------------------------------
# reading what was received
# ---------------------------------------------------------------------------

def received(client, start=0):
    with client._cond:
        return list(client.received[start:])


def wait_new(client, start, pred, timeout=10.0, what="stanza"):
    """The first stanza at index >= start that matches pred."""
    deadline = time.monotonic() + timeout
    with client._cond:
        while True:
            for el in client.received[start:]:
                if pred(el):
                    return el
            left = deadline - time.monotonic()
            if left <= 0:
                got = "\n".join(dump(e) for e in client.received[start:][-12:])
                raise AssertionError(f"{client.full_jid}: no {what} within {timeout}s; "
                                     f"last received:\n{got}")
            client._cond.wait(left)


def jingle_of(el):
    return el.find(JINGLE) if el.tag == IQ else None


def is_jingle(el, frm=None, sid=None, action=None, frm_bare=None):
    j = jingle_of(el)
    if j is None or el.get("type") != "set":
        return False
    if frm is not None and el.get("from") != frm:
        return False
    if frm_bare is not None and bare(el.get("from")) != frm_bare:
        return False
    return (sid is None or j.get("sid") == sid) and (action is None or j.get("action") == action)


def jmi_child(el, kind=None):
    if el.tag != MESSAGE or el.get("type") == "error":
        return None
    for c in el:
        if c.tag.startswith("{%s}" % NS_JMI) and (kind is None or local(c.tag) == kind):
            return c
    return None


def from_relay(el):
    return domain_of(el.get("from")) == COMPONENT


def relay_stanzas(client, start=0):
    return [e for e in received(client, start) if from_relay(e)]


def reason_of(el):
    """(condition, text) of a session-terminate or a JMI element with <reason/>."""
    holder = jingle_of(el) if el.tag == IQ else el
    r = holder.find("{%s}reason" % NS_JINGLE)
    assert r is not None, f"no <reason/>: {dump(el)}"
    conds = [local(c.tag) for c in r if c.tag.startswith("{%s}" % NS_JINGLE)
             and local(c.tag) != "text"]
    assert len(conds) == 1, f"not exactly one reason condition: {dump(el)}"
    t = r.find("{%s}text" % NS_JINGLE)
    return conds[0], (t.text if t is not None else None)


def iq_error(reply):
    """(error type, stanza conditions, jingle conditions)."""
    assert reply.get("type") == "error", f"expected an iq error, got {dump(reply)}"
    err = reply.find("{%s}error" % NS_CLIENT)
    assert err is not None, dump(reply)
    conds = [local(c.tag) for c in err
             if c.tag.startswith("{%s}" % NS_STANZAS) and local(c.tag) != "text"]
    jconds = [local(c.tag) for c in err if c.tag.startswith("{%s}" % NS_JERR)]
    return err.get("type"), conds, jconds


def assert_unknown_session(reply):
    assert iq_error(reply) == ("cancel", ["item-not-found"], ["unknown-session"]), dump(reply)


def describe(j):
    """name -> what a <jingle/>'s content says (payload types, header
    extensions, sources, groups, transport)."""
    out = {}
    for c in j.findall("{%s}content" % NS_JINGLE):
        d = c.find("{%s}description" % NS_RTP)
        t = c.find("{%s}transport" % NS_ICE)
        info = {"creator": c.get("creator"), "media": None, "pts": [], "params": {},
                "fbs": {}, "hdrext": [], "ssrcs": [], "groups": [], "ufrag": None,
                "pwd": None, "fps": [], "cands": []}
        if d is not None:
            info["media"] = d.get("media")
            for p in d.findall("{%s}payload-type" % NS_RTP):
                info["pts"].append((p.get("id"), p.get("name")))
                info["params"][p.get("id")] = {q.get("name"): q.get("value")
                                               for q in p.findall("{%s}parameter" % NS_RTP)}
                info["fbs"][p.get("id")] = {(f.get("type"), f.get("subtype"))
                                            for f in p.findall("{%s}rtcp-fb" % NS_FB)}
            info["hdrext"] = [(h.get("id"), h.get("uri"))
                              for h in d.findall("{%s}rtp-hdrext" % NS_HDREXT)]
            info["ssrcs"] = [int(s.get("ssrc")) for s in d.findall("{%s}source" % NS_SSMA)]
            info["groups"] = [(g.get("semantics"), [int(s.get("ssrc")) for s in g])
                              for g in d.findall("{%s}ssrc-group" % NS_SSMA)]
        if t is not None:
            info["ufrag"], info["pwd"] = t.get("ufrag"), t.get("pwd")
            info["fps"] = [(f.get("hash"), f.get("setup"), (f.text or "").strip())
                           for f in t.findall("{%s}fingerprint" % NS_DTLS)]
            info["cands"] = [(x.get("ip"), int(x.get("port")))
                             for x in t.findall("{%s}candidate" % NS_ICE)]
        out[c.get("name")] = info
    return out


def bundle_of(j):
    g = j.find("{%s}group" % NS_GROUPING)
    return None if g is None else (g.get("semantics"), [c.get("name") for c in g])


def info_payload(el):
    j = jingle_of(el)
    kids = [c for c in j if c.tag.startswith("{%s}" % NS_INFO)]
    assert len(kids) == 1, f"session-info without exactly one rtp:info payload: {dump(el)}"
    return kids[0]


# ---------------------------------------------------------------------------
# one call, driven step by step
# ---------------------------------------------------------------------------

class Call:
    """alice -> address; leg A is alice <-> address, leg B is
    alice\\40localhost@relay.localhost/<res> <-> bob (b_from, b_sid)."""

    def __init__(self, relay, alice, bob, to=BOB_ADDR, tag="call"):
        self.relay, self.alice, self.bob, self.addr = relay, alice, bob, to
        self.a_sid = new_sid(tag)
        self.a_mark = len(received(alice))
        self.b_mark = len(received(bob)) if bob is not None else 0
        self.b_from = self.b_sid = None
        self.propose = None
        self.a_result = None

    # leg A (alice)
    def initiate(self, video=True):
        self.t0 = time.monotonic()
        reply = self.alice.iq(self.addr, "set", alice_offer(self.a_sid, self.alice.full_jid, video))
        assert reply.get("type") == "result", f"session-initiate not acked: {dump(reply)}"
        assert reply.get("from") == self.addr, dump(reply)
        self.a_result = reply
        return reply

    def a_send(self, payload):
        return self.alice.iq(self.addr, "set", payload)

    def wait_a(self, action, timeout=10.0):
        el = wait_new(self.alice, self.a_mark,
                      lambda e: is_jingle(e, self.addr, self.a_sid, action), timeout,
                      f"{action} sid={self.a_sid} from {self.addr}")
        assert el.get("to") == self.alice.full_jid, dump(el)
        return el

    def a_actions(self):
        return [jingle_of(e).get("action") for e in received(self.alice, self.a_mark)
                if is_jingle(e, self.addr, self.a_sid)]

    # leg B (bob)
    def wait_propose(self, timeout=10.0):
        def pred(e):
            return (jmi_child(e, "propose") is not None
                    and bare(e.get("from")) == ALICE_ADDR)
        msg = wait_new(self.bob, self.b_mark, pred, timeout, f"JMI propose from {ALICE_ADDR}/*")
        self.propose = msg
        self.b_from = msg.get("from")
        self.b_sid = jmi_child(msg, "propose").get("id")
        assert self.b_sid, dump(msg)
        return msg

    def b_jmi(self, kind, body=""):
        self.bob.send_raw(jmi_xml(self.b_from, kind, self.b_sid, body))

    def wait_b(self, action, timeout=10.0):
        el = wait_new(self.bob, self.b_mark,
                      lambda e: is_jingle(e, self.b_from, self.b_sid, action), timeout,
                      f"{action} sid={self.b_sid} from {self.b_from}")
        assert el.get("to") == self.bob.full_jid, dump(el)
        return el

    def wait_b_direct_initiate(self, timeout=10.0):
        el = wait_new(self.bob, self.b_mark,
                      lambda e: is_jingle(e, action="session-initiate", frm_bare=ALICE_ADDR),
                      timeout, f"session-initiate from {ALICE_ADDR}/*")
        self.b_from = el.get("from")
        self.b_sid = jingle_of(el).get("sid")
        return el

    def b_send(self, payload):
        return self.bob.iq(self.b_from, "set", payload)

    def b_accept(self, video=True):
        reply = self.b_send(bob_answer(self.b_sid, self.bob.full_jid, self.b_from, video))
        assert reply.get("type") == "result", f"bob's session-accept not acked: {dump(reply)}"
        assert reply.get("from") == self.b_from, dump(reply)
        return reply

    def b_actions(self):
        return [jingle_of(e).get("action") for e in received(self.bob, self.b_mark)
                if is_jingle(e, self.b_from, self.b_sid)]

    # whole call
    def establish(self, video=True):
        self.initiate(video)
        self.wait_propose()
        self.b_jmi("proceed")
        init = self.wait_b("session-initiate")
        self.b_accept(video)
        acc = self.wait_a("session-accept")
        return init, acc

    def cleanup(self):
        """Best effort: end both legs if the test left them up."""
        for client, to, sid in ((self.alice, self.addr, self.a_sid),
                                (self.bob, self.b_from, self.b_sid)):
            if client is not None and to and sid:
                try:
                    client.send_raw(f"<iq xmlns='jabber:client' type='set' to={quoteattr(to)} "
                                    f"id='cleanup-{sid}'>"
                                    + terminate_xml(sid, "success") + "</iq>")
                except Exception:
                    pass


def ended(peer_jid, sid, reason):
    return f"session {sid} with {peer_jid} ended: {reason}"


def assert_nothing_from_relay(client, start, seconds, what):
    time.sleep(seconds)
    got = relay_stanzas(client, start)
    assert not got, f"{client.full_jid} got {what}:\n" + "\n".join(map(dump, got))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

class Relays:
    """At most one belfry at a time on the module's Prosody, one per CONFIGS
    entry; switching stops the previous one (which must exit 0)."""

    def __init__(self, prosody, workdir):
        self.prosody, self.workdir = prosody, workdir
        self.name = None
        self.current = None

    def use(self, name):
        if self.name == name and self.current is not None and self.current.running():
            return self.current
        self.stop()
        b = Belfry(self.workdir / name, port=self.prosody.component_port, modules="call",
                   groups={"media": MEDIA, "call": CONFIGS[name]})
        try:
            b.start()
        except BaseException:
            b.kill_quietly()
            raise
        self.name, self.current = name, b
        return b

    def stop(self):
        b, self.current, self.name = self.current, None, None
        if b is not None:
            try:
                b.stop()
            finally:
                b.kill_quietly()


# mod_offline on: carol's messages are kept
call_prosody = prosody_fixture("call_prosody", ALL_USERS)


@pytest.fixture(scope="module")
def relays(call_prosody, tmp_path_factory):
    r = Relays(call_prosody, tmp_path_factory.mktemp("belfry-call"))
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def _belfry_survives(request):
    yield
    if "relays" in request.fixturenames:
        r = request.getfixturevalue("relays")
        if r.current is not None:
            assert r.current.running(), (
                f"belfry exited ({r.current.proc.returncode}) during the test; stderr:\n"
                f"{r.current.log()[-6000:]}")


def online(prosody, user, resource):
    c = jingle_client(prosody, user, resource)
    # Available presence: messages to the bare JID reach this resource.
    c.send_raw("<presence xmlns='jabber:client'/>")
    return c


def online_as(prosody, jid, password):
    """A plain client (it answers no Jingle request), available."""
    c = Client(jid, password, prosody.c2s_port)
    c.send_raw("<presence xmlns='jabber:client'/>")
    return c


@pytest.fixture(scope="module")
def alice(call_prosody):
    c = online(call_prosody, "alice", A_RES)
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(call_prosody):
    c = online(call_prosody, "bob", B_RES)
    yield c
    c.close()


@pytest.fixture
def calls():
    made = []
    yield made
    for c in made:
        c.cleanup()
    if made:
        time.sleep(0.3)


def new_call(calls, relay, alice, bob, **kw):
    c = Call(relay, alice, bob, **kw)
    calls.append(c)
    return c


@pytest.fixture
def main(relays):
    return relays.use("main")


# ---------------------------------------------------------------------------
# 1. the JMI path: propose, proceed, initiate, accept
# ---------------------------------------------------------------------------

def test_jmi_call_is_relayed_with_belfrys_transport(main, alice, bob, calls):
    hash_, value = belfry_fingerprint(main)
    c = new_call(calls, main, alice, bob)
    c.initiate()

    # bob is rung: a propose from alice's escaped BARE jid with a resource of belfry's.
    msg = c.wait_propose()
    frm = msg.get("from")
    assert "/" in frm and frm.split("/", 1)[0] == ALICE_ADDR, dump(msg)
    res = frm.split("/", 1)[1]
    assert res and A_RES not in res and res != A_RES, f"propose from alice's resource: {frm}"
    assert msg.get("type") == "chat", dump(msg)
    assert msg.get("to") == BOB, dump(msg)
    assert msg.find("{%s}store" % NS_HINTS) is not None, f"no <store/> hint: {dump(msg)}"
    prop = jmi_child(msg, "propose")
    assert [(d.tag, d.get("media")) for d in prop] == \
        [("{%s}description" % NS_RTP, "audio"), ("{%s}description" % NS_RTP, "video")], dump(msg)
    # Nothing for alice's session until bob answers.
    assert c.a_actions() == [], c.a_actions()

    c.b_jmi("proceed")
    init = c.wait_b("session-initiate")
    j = jingle_of(init)
    assert j.get("sid") == c.b_sid
    assert j.get("initiator") == c.b_from, dump(init)
    got = describe(j)
    assert list(got) == ["a0", "v1"], dump(init)
    assert [got[n]["media"] for n in got] == ["audio", "video"], dump(init)
    for n in ("a0", "v1"):
        g = got[n]
        assert g["pts"] == OFFER_PTS[n], f"{n}: payload types {g['pts']}: {dump(init)}"
        assert g["hdrext"] == OFFER_HDREXT[n], f"{n}: header extensions: {dump(init)}"
        assert g["creator"] == "initiator", dump(init)
    assert got["a0"]["params"]["111"] == {"minptime": "10", "useinbandfec": "1"}, dump(init)
    assert {("nack", None), ("nack", "pli"), ("ccm", "fir")} <= got["v1"]["fbs"]["96"], dump(init)
    assert got["v1"]["params"]["97"].get("apt") == "96", dump(init)
    # alice's SSRCs pass through unchanged, with the FID group.
    assert got["a0"]["ssrcs"] == [A.ssrcs[0]], dump(init)
    assert got["v1"]["ssrcs"] == list(A.ssrcs[1:]), dump(init)
    assert got["v1"]["groups"] == [("FID", list(A.ssrcs[1:]))], dump(init)
    assert bundle_of(j) == ("BUNDLE", ["a0", "v1"]), dump(init)
    # belfry's own ICE credentials and DTLS identity, offered as actpass.
    for n in ("a0", "v1"):
        g = got[n]
        assert g["ufrag"] and g["pwd"], dump(init)
        assert (g["ufrag"], g["pwd"]) != (A.ufrag, A.pwd), f"alice's ICE credentials: {dump(init)}"
        assert g["ufrag"] != A.ufrag and g["pwd"] != A.pwd, dump(init)
        assert g["fps"] == [(hash_, "actpass", value)], f"{n}: fingerprint: {dump(init)}"
        assert A.fp not in str(g["fps"]), dump(init)
    # RFC 8843 §7.2: an initial offer gives each content a transport of its
    # own (its own ports), BUNDLE group or not; bob's answer decides (a peer
    # that ignores the group, as Dino does, keeps one transport per
    # content).  One ufrag/pwd for the group: webrtcbin refuses a BUNDLE
    # offer whose m-lines differ in it.
    assert len({(g["ufrag"], g["pwd"]) for g in got.values()}) == 1, dump(init)
    assert got["a0"]["cands"] and got["v1"]["cands"], dump(init)
    assert not set(got["a0"]["cands"]) & set(got["v1"]["cands"]), \
        f"one transport per content in the offer: {dump(init)}"
    b_cands = leg_candidates(bob, c.b_mark, c.b_from, c.b_sid)
    assert b_cands, f"no candidate of belfry's for bob: {dump(init)}"
    for ip, port in b_cands:
        assert ip == "127.0.0.1", f"candidate {ip}:{port} is not belfry's"
        assert (ip, port) not in A.cands and ip not in A.ips and port not in A.ports, (ip, port)
    assert c.a_actions() == [], f"alice got {c.a_actions()} before bob accepted"

    # bob accepts a subset, under other ids for video.
    c.b_accept()
    acc = c.wait_a("session-accept")
    j = jingle_of(acc)
    assert j.get("responder") == BOB_ADDR, dump(acc)
    assert j.get("initiator") in (None, alice.full_jid), dump(acc)
    got = describe(j)
    assert list(got) == ["a0", "v1"], dump(acc)
    for n in ("a0", "v1"):
        assert got[n]["pts"] == ANSWER_PTS[n], f"{n}: payload types {got[n]['pts']}: {dump(acc)}"
    apt = got["v1"]["params"]["97"].get("apt")
    assert apt == "96", f"rtx apt={apt} is not alice's VP8 id 96: {dump(acc)}"
    assert got["a0"]["hdrext"] == [("1", AUDIO_LEVEL)], f"header extension ids: {dump(acc)}"
    assert got["a0"]["ssrcs"] == [B.ssrcs[0]], dump(acc)
    assert got["v1"]["ssrcs"] == list(B.ssrcs[1:]), dump(acc)
    assert got["v1"]["groups"] == [("FID", list(B.ssrcs[1:]))], dump(acc)
    for n in ("a0", "v1"):
        g = got[n]
        assert g["ufrag"] != B.ufrag and g["pwd"] != B.pwd, f"bob's ICE credentials: {dump(acc)}"
        assert len(g["fps"]) == 1, dump(acc)
        fh, fsetup, fval = g["fps"][0]
        assert (fh, fval) == (hash_, value), f"not belfry's fingerprint: {dump(acc)}"
        assert fsetup in ("active", "passive"), dump(acc)
    a_cands = leg_candidates(alice, c.a_mark, c.addr, c.a_sid)
    assert a_cands, f"no candidate of belfry's for alice: {dump(acc)}"
    for ip, port in a_cands:
        assert ip == "127.0.0.1", f"candidate {ip}:{port} is not belfry's"
        assert ip not in B.ips and port not in B.ports, (ip, port)
    main.wait_log(f"session {c.a_sid} with {alice.full_jid} accepted", 5)
    assert c.a_actions()[0] == "session-accept", c.a_actions()
    assert "session-terminate" not in c.a_actions() + c.b_actions()


def leg_candidates(client, start, frm, sid, timeout=3.0):
    """Candidates belfry gave on one leg: in its initiate/accept and any
    transport-info (waits up to timeout for at least one)."""
    deadline = time.monotonic() + timeout
    while True:
        cands = []
        for e in received(client, start):
            if is_jingle(e, frm, sid):
                for info in describe(jingle_of(e)).values():
                    cands += info["cands"]
        if cands or time.monotonic() > deadline:
            return cands
        time.sleep(0.1)


def test_caller_propose_gets_proceed_then_rings(main, alice, bob, calls):
    """alice may send her own JMI propose first: proceed at once from the
    address called; the session-initiate with that id then rings bob."""
    c = new_call(calls, main, alice, bob)
    pid = c.a_sid
    alice.send_raw(f"<message xmlns='jabber:client' type='chat' to={quoteattr(BOB_ADDR)} "
                   f"id='p-{pid}'><propose xmlns='{NS_JMI}' id='{pid}'>"
                   f"<description xmlns='{NS_RTP}' media='audio'/></propose>"
                   f"<store xmlns='{NS_HINTS}'/></message>")
    msg = wait_new(alice, c.a_mark,
                   lambda e: jmi_child(e, "proceed") is not None
                   and jmi_child(e, "proceed").get("id") == pid, 5,
                   f"<proceed id='{pid}'/>")
    assert msg.get("from") == BOB_ADDR and msg.get("to") == alice.full_jid, dump(msg)
    c.initiate(video=False)
    c.wait_propose()
    c.b_jmi("proceed")
    c.wait_b("session-initiate")
    c.b_accept(video=False)
    acc = c.wait_a("session-accept")
    assert list(describe(jingle_of(acc))) == ["a0"], dump(acc)


# ---------------------------------------------------------------------------
# 2. the direct path (a full JID): no propose
# ---------------------------------------------------------------------------

def test_direct_call_to_a_full_jid_has_no_propose(main, alice, bob, calls):
    to = addr(bob.full_jid)
    assert to == rf"bob\40localhost\2f{B_RES}@relay.localhost"
    c = new_call(calls, main, alice, bob, to=to)
    c.initiate()
    init = c.wait_b_direct_initiate()
    assert init.get("to") == bob.full_jid, dump(init)
    assert "/" in c.b_from and c.b_from.split("/", 1)[1], dump(init)
    assert A_RES not in c.b_from, dump(init)
    assert jingle_of(init).get("initiator") == c.b_from, dump(init)
    got = describe(jingle_of(init))
    assert [got[n]["pts"] for n in ("a0", "v1")] == [OFFER_PTS["a0"], OFFER_PTS["v1"]]
    assert got["a0"]["ssrcs"] == [A.ssrcs[0]], dump(init)
    props = [e for e in relay_stanzas(bob, c.b_mark) if jmi_child(e) is not None]
    assert not props, "JMI for a direct call:\n" + "\n".join(map(dump, props))
    c.b_accept()
    acc = c.wait_a("session-accept")
    assert jingle_of(acc).get("responder") == to, dump(acc)
    assert [describe(jingle_of(acc))[n]["pts"] for n in ("a0", "v1")] == \
        [ANSWER_PTS["a0"], ANSWER_PTS["v1"]], dump(acc)
    props = [e for e in relay_stanzas(bob, c.b_mark) if jmi_child(e) is not None]
    assert not props, "JMI for a direct call:\n" + "\n".join(map(dump, props))


def test_direct_call_to_a_capitalised_resource_falls_back_to_propose(main, call_prosody, alice,
                                                                     calls):
    """Servers lower-case the localpart that carries the resource
    (bob\\40localhost\\2fPhone-XY -> ...\\2fphone-xy): the session-initiate to
    the lower-cased resource bounces, belfry rings the bare JID instead and
    the real resource answers."""
    res = "Phone-XY"
    bob2 = online(call_prosody, "bob", res)
    try:
        to = addr(f"bob@localhost/{res}")
        # The server answers from the normalised address.
        c = new_call(calls, main, alice, bob2, to=to.lower())
        reply = alice.iq(to, "set", alice_offer(c.a_sid, alice.full_jid))
        assert reply.get("type") == "result", dump(reply)
        prop = c.wait_propose()
        assert prop.get("to") in ("bob@localhost", bob2.full_jid), dump(prop)
        main.wait_log("is not there; proposing to bob@localhost instead", 10)
        c.b_jmi("proceed")
        init = c.wait_b("session-initiate")
        assert init.get("to") == bob2.full_jid, dump(init)
        c.b_accept()
        acc = c.wait_a("session-accept")
        assert jingle_of(acc).get("responder") == c.addr, dump(acc)
    finally:
        bob2.close()


# ---------------------------------------------------------------------------
# content-add / content-remove (XEP-0166 §7.2.3, §7.2.5), e.g. video added
# ---------------------------------------------------------------------------

def video_desc(vp8, rtx, ssrcs, cname):
    return (f"<description xmlns='{NS_RTP}' media='video'>"
            + pt_xml(vp8, "VP8", 90000, None, (), [("nack", None), ("nack", "pli")])
            + pt_xml(rtx, "rtx", 90000, None, [("apt", str(vp8))])
            + sources_xml(ssrcs, cname, fid=True) + "<rtcp-mux/></description>")


def content_of(creator, name, description, transport):
    return (f"<content creator='{creator}' name='{name}' senders='both'>"
            f"{description}{transport}</content>")


def test_video_added_by_the_caller_is_relayed(main, alice, bob, calls):
    c = new_call(calls, main, alice, bob)
    _, acc = c.establish(video=False)
    relay_ufrag_a = describe(jingle_of(acc))["a0"]["ufrag"]
    reply = c.a_send(jingle("content-add", c.a_sid, content_of(
        "initiator", "v1", video_desc(96, 97, A.ssrcs[1:], A.cname), transport_xml(A, "actpass"))))
    assert reply.get("type") == "result", dump(reply)
    add = c.wait_b("content-add")
    got = describe(jingle_of(add))["v1"]
    # Bob is offered alice's video as she offered it, on belfry's transport.
    assert got["creator"] == "initiator" and got["media"] == "video", dump(add)
    assert got["pts"] == [("96", "VP8"), ("97", "rtx")], dump(add)
    assert got["ssrcs"] == list(A.ssrcs[1:]), dump(add)
    assert got["ufrag"] != A.ufrag and A.fp not in dump(add), dump(add)
    assert not set(got["cands"]) & set(A.cands), dump(add)
    # Bob accepts under numbers of his own; alice hears back her own.
    reply = c.b_send(jingle("content-accept", c.b_sid, content_of(
        "initiator", "v1", video_desc(100, 101, B.ssrcs[1:], B.cname), transport_xml(B, "active"))))
    assert reply.get("type") == "result", dump(reply)
    ok = c.wait_a("content-accept")
    got = describe(jingle_of(ok))["v1"]
    assert got["pts"] == [("96", "VP8"), ("97", "rtx")], dump(ok)
    assert got["params"]["97"] == {"apt": "96"}, dump(ok)
    assert got["ssrcs"] == list(B.ssrcs[1:]), dump(ok)
    assert got["ufrag"] == relay_ufrag_a and B.fp not in dump(ok), dump(ok)
    # Bob drops the video again: alice is told.
    reply = c.b_send(jingle("content-remove", c.b_sid,
                            "<content creator='initiator' name='v1'/>"))
    assert reply.get("type") == "result", dump(reply)
    rm = c.wait_a("content-remove")
    assert [x.get("name") for x in jingle_of(rm)] == ["v1"], dump(rm)
    # The audio call goes on: hang-up still crosses.
    c.a_send(terminate_xml(c.a_sid, "success"))
    assert reason_of(c.wait_b("session-terminate"))[0] == "success"


def test_video_added_by_the_callee_is_relayed_and_can_be_refused(main, alice, bob, calls):
    c = new_call(calls, main, alice, bob)
    c.establish(video=False)
    reply = c.b_send(jingle("content-add", c.b_sid, content_of(
        "responder", "bv", video_desc(100, 101, B.ssrcs[1:], B.cname), transport_xml(B, "active"))))
    assert reply.get("type") == "result", dump(reply)
    add = c.wait_a("content-add")
    got = describe(jingle_of(add))["bv"]
    assert got["creator"] == "responder", dump(add)   # belfry stands in for bob on leg A
    assert got["pts"] == [("100", "VP8"), ("101", "rtx")], dump(add)
    assert B.fp not in dump(add) and not set(got["cands"]) & set(B.cands), dump(add)
    # Alice does not want it: bob is refused.
    reply = c.a_send(jingle("content-reject", c.a_sid,
                            "<content creator='responder' name='bv'/>"
                            "<reason><decline/></reason>"))
    assert reply.get("type") == "result", dump(reply)
    rej = c.wait_b("content-reject")
    assert [x.get("name") for x in jingle_of(rej) if x.get("name")] == ["bv"], dump(rej)


# Video added by alice on a transport of its own (96/97), answered by bob
# on another (100/101: his own numbers, not the offer's).
OWN_A = Side(ufrag="othr", pwd="anotherPassword0123456789", fp=A.fp, cands=A.cands,
             trickle=[], ssrcs=A.ssrcs, cname=A.cname)
OWN_B = Side(ufrag="bsec", pwd="bobSecondPassword0123456", fp=B.fp, cands=B.cands,
             trickle=[], ssrcs=B.ssrcs, cname=B.cname)


def add_own_video(c):
    reply = c.a_send(jingle("content-add", c.a_sid, content_of(
        "initiator", "v1", video_desc(96, 97, A.ssrcs[1:], A.cname), transport_xml(OWN_A, "actpass"))))
    assert reply.get("type") == "result", dump(reply)


def accept_own_video(c):
    reply = c.b_send(jingle("content-accept", c.b_sid, content_of(
        "initiator", "v1", video_desc(100, 101, B.ssrcs[1:], B.cname),
        transport_xml(OWN_B, "active"))))
    assert reply.get("type") == "result", dump(reply)


def test_content_on_a_transport_of_its_own_is_relayed(main, alice, bob, calls):
    """A content added on a transport of its own (a peer without BUNDLE,
    such as Dino, adding video to an audio call) gets a transport of its own
    on both legs: belfry gathers a new one for bob's leg, offers it in the
    content-add, and answers alice with another new one."""
    c = new_call(calls, main, alice, bob)
    _, acc = c.establish(video=False)
    relay_a0 = describe(jingle_of(acc))["a0"]
    b_init = [e for e in received(bob, c.b_mark) if is_jingle(e, sid=c.b_sid,
                                                              action="session-initiate")][0]
    relay_b0 = describe(jingle_of(b_init))["a0"]
    add_own_video(c)
    add = c.wait_b("content-add")
    got = describe(jingle_of(add))["v1"]
    assert got["media"] == "video" and got["pts"] == [("96", "VP8"), ("97", "rtx")], dump(add)
    # belfry's own new transport for it on bob's leg.
    assert got["ufrag"] and got["ufrag"] not in (relay_b0["ufrag"], OWN_A.ufrag), dump(add)
    assert got["cands"] and not set(got["cands"]) & set(relay_b0["cands"]), dump(add)
    assert not set(got["cands"]) & set(A.cands), dump(add)
    assert [f[1] for f in got["fps"]] in (["active"], ["passive"]), dump(add)
    accept_own_video(c)
    ok = c.wait_a("content-accept")
    got = describe(jingle_of(ok))["v1"]
    assert got["pts"] == [("96", "VP8"), ("97", "rtx")], dump(ok)
    # ... and another new one on alice's leg, never bob's.
    assert got["ufrag"] and got["ufrag"] not in (relay_a0["ufrag"], OWN_B.ufrag), dump(ok)
    assert got["cands"] and not set(got["cands"]) & set(relay_a0["cands"]), dump(ok)
    assert B.fp not in dump(ok), dump(ok)
    main.wait_log(f"session {c.a_sid}", 1)


def test_an_added_content_is_renumbered_by_the_core(main, alice, bob, calls):
    """The core forwards between the legs (bf_session_forward) with maps it
    recomputes and posts to the worker when contents change: alice adds
    video as 96/97, bob answers it as 100/101 (its own numbers), so what
    alice sends on 96/97 must leave toward bob as 100/101, and nothing is
    renumbered before the content is answered.  The worker logs each map it
    installs that differs from the one before."""
    c = new_call(calls, main, alice, bob)
    c.establish(video=False)
    renumbered = f"session {c.a_sid}: packets forwarded to session {c.b_sid} renumbered"
    # The audio's header extension: bob's answer ids differ from alice's.
    main.wait_log(f"{renumbered}: extension ids 1→5", 5)
    before = main.count(renumbered)
    add_own_video(c)
    c.wait_b("content-add")
    assert main.count(renumbered) == before, main.log()[-3000:]
    accept_own_video(c)
    c.wait_a("content-accept")
    main.wait_log(f"{renumbered}: payload types 96→100 97→101; extension ids 1→5", 5)
    # Bob sends with the numbers belfry offered him, alice's own: nothing
    # to change that way.
    assert f"session {c.b_sid}: packets forwarded to session {c.a_sid} renumbered" \
        not in main.log(), main.log()[-3000:]
    # Bob removes it: the map is the audio's alone again.
    reply = c.b_send(jingle("content-remove", c.b_sid, "<content creator='initiator' name='v1'/>"))
    assert reply.get("type") == "result", dump(reply)
    c.wait_a("content-remove")
    main.wait_log(f"{renumbered}: extension ids 1→5", 5, count=2)


# ---------------------------------------------------------------------------
# 3. ringing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["jmi-ringing", "session-info-after-proceed",
                                 "session-info-direct"])
def test_ringing_reaches_the_caller(main, alice, bob, calls, how):
    to = addr(bob.full_jid) if how == "session-info-direct" else BOB_ADDR
    c = new_call(calls, main, alice, bob, to=to)
    c.initiate(video=False)
    if how == "session-info-direct":
        c.wait_b_direct_initiate()
    else:
        c.wait_propose()
    if how == "jmi-ringing":
        c.b_jmi("ringing")
    else:
        if how == "session-info-after-proceed":
            c.b_jmi("proceed")
            c.wait_b("session-initiate")
        reply = c.b_send(info_xml(c.b_sid, "ringing"))
        assert reply.get("type") == "result", dump(reply)
    el = c.wait_a("session-info", 5)
    p = info_payload(el)
    assert local(p.tag) == "ringing" and p.tag == "{%s}ringing" % NS_INFO, dump(el)
    # The call still goes on normally.
    if how == "jmi-ringing":
        c.b_jmi("proceed")
        c.wait_b("session-initiate")
    c.b_accept(video=False)
    c.wait_a("session-accept")
    assert c.a_actions() == ["session-info", "session-accept"], c.a_actions()


# ---------------------------------------------------------------------------
# 4. session-info both ways
# ---------------------------------------------------------------------------

INFOS = [("hold", None), ("unhold", None), ("mute", "a0"), ("unmute", "a0"), ("active", None)]


def test_session_info_is_relayed_both_ways(main, alice, bob, calls):
    c = new_call(calls, main, alice, bob)
    c.establish()
    for sender in ("alice", "bob"):
        for kind, name in INFOS:
            if sender == "alice":
                mark = len(received(bob))
                reply = c.a_send(info_xml(c.a_sid, kind, name))
                client, frm, sid = bob, c.b_from, c.b_sid
            else:
                mark = len(received(alice))
                reply = c.b_send(info_xml(c.b_sid, kind, name))
                client, frm, sid = alice, c.addr, c.a_sid
            assert reply.get("type") == "result", f"{sender} {kind}: {dump(reply)}"
            el = wait_new(client, mark, lambda e: is_jingle(e, frm, sid, "session-info"), 5,
                          f"session-info <{kind}/> from {sender}")
            p = info_payload(el)
            assert p.tag == "{%s}%s" % (NS_INFO, kind), f"{sender} sent {kind}: {dump(el)}"
            if name:
                assert p.get("name") == name, f"{kind} lost its name: {dump(el)}"
                assert p.get("creator", "initiator") == "initiator", dump(el)
    assert "session-terminate" not in c.a_actions() + c.b_actions()


# ---------------------------------------------------------------------------
# 5. hang-up, both directions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "bob"])
@pytest.mark.parametrize("reason", ["success", "busy", "decline"])
def test_hangup_is_propagated(main, alice, bob, calls, who, reason):
    c = new_call(calls, main, alice, bob)
    c.establish(video=False)
    text = "private-note-" + os.urandom(3).hex()
    if who == "alice":
        reply = c.a_send(terminate_xml(c.a_sid, reason, text))
        other = c.wait_b("session-terminate")
    else:
        reply = c.b_send(terminate_xml(c.b_sid, reason, text))
        other = c.wait_a("session-terminate")
    assert reply.get("type") == "result", dump(reply)
    got, got_text = reason_of(other)
    assert got == reason, f"{who} hung up with <{reason}/>, the other leg got: {dump(other)}"
    assert text not in dump(other), f"the reason text was forwarded: {dump(other)}"
    main.wait_log(ended(alice.full_jid, c.a_sid, reason), 5)
    main.wait_log(ended(bob.full_jid, c.b_sid, reason), 5)
    # Both legs are gone.
    assert_unknown_session(c.a_send(terminate_xml(c.a_sid, "success")))
    assert_unknown_session(c.b_send(terminate_xml(c.b_sid, "success")))
    assert c.a_actions().count("session-terminate") == (1 if who == "bob" else 0)
    assert c.b_actions().count("session-terminate") == (1 if who == "alice" else 0)


# ---------------------------------------------------------------------------
# 6. bob rejects
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("body,want", [("", "decline"),
                                       (f"<reason xmlns='{NS_JINGLE}'><busy/></reason>", "busy")],
                         ids=["plain", "busy"])
def test_reject_ends_the_call(main, alice, bob, calls, body, want):
    c = new_call(calls, main, alice, bob)
    c.initiate(video=False)
    c.wait_propose()
    c.b_jmi("reject", body)
    term = c.wait_a("session-terminate", 5)
    assert reason_of(term)[0] == want, dump(term)
    main.wait_log(ended(alice.full_jid, c.a_sid, want), 5)
    time.sleep(0.5)
    assert not [e for e in relay_stanzas(bob, c.b_mark) if jingle_of(e) is not None], \
        "bob got Jingle after rejecting"
    assert_unknown_session(c.a_send(terminate_xml(c.a_sid, "success")))


# ---------------------------------------------------------------------------
# 8. alice hangs up while bob's phone rings
# ---------------------------------------------------------------------------

def test_hangup_before_proceed_retracts(main, alice, bob, calls):
    c = new_call(calls, main, alice, bob)
    c.initiate(video=False)
    c.wait_propose()
    mark = len(received(bob))
    reply = c.a_send(terminate_xml(c.a_sid, "cancel"))
    assert reply.get("type") == "result", dump(reply)
    msg = wait_new(bob, mark, lambda e: jmi_child(e, "retract") is not None, 5, "JMI retract")
    assert msg.get("from") == c.b_from, dump(msg)
    assert jmi_child(msg, "retract").get("id") == c.b_sid, dump(msg)
    assert reason_of(jmi_child(msg, "retract"))[0] == "cancel", dump(msg)
    main.wait_log(ended(alice.full_jid, c.a_sid, "cancel"), 5)
    # A late proceed rings nothing.
    c.b_jmi("proceed")
    time.sleep(1.0)
    assert not [e for e in relay_stanzas(bob, c.b_mark) if jingle_of(e) is not None], \
        "bob got a session-initiate after the retract"


# ---------------------------------------------------------------------------
# 9. policy on the main configuration: addresses that are not callees
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("to", [f"nobody@{COMPONENT}", addr(f"bob@{COMPONENT}")],
                         ids=["not-an-escaped-jid", "callee-on-the-relay"])
def test_not_a_callee_is_declined(main, alice, bob, calls, to):
    c = new_call(calls, main, alice, bob, to=to)
    c.initiate(video=False)
    term = c.wait_a("session-terminate", 5)
    assert reason_of(term)[0] == "decline", dump(term)
    assert c.a_actions() == ["session-terminate"], c.a_actions()
    main.wait_log(ended(alice.full_jid, c.a_sid, "decline"), 5)
    assert_nothing_from_relay(bob, c.b_mark, 0.5, "stanzas for a call to " + to)


# ---------------------------------------------------------------------------
# 10. privacy over a whole call
# ---------------------------------------------------------------------------

def test_no_resource_or_address_crosses_over(main, alice, bob, calls):
    c = new_call(calls, main, alice, bob)
    c.initiate()
    c.wait_propose()
    c.b_jmi("ringing")
    c.wait_a("session-info")
    c.b_jmi("proceed")
    c.wait_b("session-initiate")
    assert c.a_send(trickle_xml(c.a_sid, A)).get("type") == "result"
    c.b_accept()
    c.wait_a("session-accept")
    assert c.b_send(trickle_xml(c.b_sid, B)).get("type") == "result"
    for kind, name in (("mute", "a0"), ("hold", None)):
        assert c.a_send(info_xml(c.a_sid, kind, name)).get("type") == "result"
        assert c.b_send(info_xml(c.b_sid, kind, name)).get("type") == "result"
    c.wait_b("session-info")
    c.wait_a("session-info")
    time.sleep(1.0)   # any trickled candidates of belfry's
    assert c.b_send(terminate_xml(c.b_sid, "success")).get("type") == "result"
    c.wait_a("session-terminate")

    def check(client, start, other_res, other, who):
        stanzas = relay_stanzas(client, start)
        assert stanzas, f"{who} got nothing from the relay"
        text = "\n".join(dump(e) for e in stanzas)
        for secret in (other_res, other.ufrag, other.pwd, other.fp):
            assert secret not in text, f"{secret!r} reached {who}:\n{text}"
        for ip in other.ips:
            assert ip not in text, f"the other side's address {ip} reached {who}:\n{text}"
        for e in stanzas:
            j = jingle_of(e)
            if j is None:
                continue
            for info in describe(j).values():
                for ip, port in info["cands"]:
                    assert ip == "127.0.0.1" and port not in other.ports, \
                        f"candidate {ip}:{port} reached {who}: {dump(e)}"
    check(bob, c.b_mark, A_RES, A, "bob")
    check(alice, c.a_mark, B_RES, B, "alice")
    # And bob never saw alice's full JID, alice never bob's.
    assert alice.full_jid not in "\n".join(dump(e) for e in relay_stanzas(bob, c.b_mark))
    assert bob.full_jid not in "\n".join(dump(e) for e in relay_stanzas(alice, c.a_mark))


# ---------------------------------------------------------------------------
# 7. the callee that does not exist (main: ring-timeout 20, so it is not the timeout)
# ---------------------------------------------------------------------------

def test_propose_bounced_for_unknown_user_ends_the_call(main, alice, calls):
    c = new_call(calls, main, alice, None, to=addr(f"nosuchuser@{DOMAIN}"))
    c.initiate(video=False)
    term = c.wait_a("session-terminate", 8)
    took = time.monotonic() - c.t0
    reason, _ = reason_of(term)
    assert reason == "gone", dump(term)
    assert took < 8, f"ended after {took:.1f}s"
    main.wait_log("the proposal to nosuchuser@localhost bounced", 5)
    main.wait_log(ended(alice.full_jid, c.a_sid, reason), 5)
    assert_unknown_session(c.a_send(terminate_xml(c.a_sid, "success")))


# ---------------------------------------------------------------------------
# 7. ring timeout (ring-timeout = 2)
# ---------------------------------------------------------------------------

@pytest.fixture
def ring2(relays):
    return relays.use("ring2")


def assert_timed_out(c, ring2):
    term = c.wait_a("session-terminate", 8)
    took = time.monotonic() - c.t0
    assert reason_of(term)[0] == "timeout", dump(term)
    assert 1.5 <= took <= 6, f"<timeout/> after {took:.1f}s, ring-timeout is 2 s"
    ring2.wait_log(ended(c.alice.full_jid, c.a_sid, "timeout"), 5)
    assert_unknown_session(c.a_send(terminate_xml(c.a_sid, "success")))


def test_ring_timeout_silent_callee(ring2, alice, bob, calls):
    c = new_call(calls, ring2, alice, bob)
    c.initiate(video=False)
    c.wait_propose()
    assert_timed_out(c, ring2)
    msg = wait_new(bob, c.b_mark, lambda e: jmi_child(e, "retract") is not None, 5,
                   "JMI retract")
    assert msg.get("from") == c.b_from, dump(msg)
    assert jmi_child(msg, "retract").get("id") == c.b_sid, dump(msg)
    assert reason_of(jmi_child(msg, "retract"))[0] == "timeout", dump(msg)


def test_ring_timeout_direct_call_not_accepted(ring2, alice, bob, calls):
    c = new_call(calls, ring2, alice, bob, to=addr(bob.full_jid))
    c.initiate(video=False)
    c.wait_b_direct_initiate()
    assert_timed_out(c, ring2)
    term = c.wait_b("session-terminate", 5)
    assert reason_of(term)[0] == "timeout", dump(term)


def test_ring_timeout_offline_callee(ring2, call_prosody, alice, bob, calls):
    """carol is registered but never logged in: her server stores the
    propose; nobody proceeds; the call times out and belfry goes on."""
    c = new_call(calls, ring2, alice, None, to=addr(CAROL))
    c.initiate(video=False)
    assert_timed_out(c, ring2)
    log = call_prosody.log_text()
    assert re.search(r"Saved to offline storage: <message[^>]*to=.carol@localhost", log), \
        "the propose never reached carol's server (no 'Saved to offline storage' in Prosody's log)"
    # belfry still places calls.
    c2 = new_call(calls, ring2, alice, bob)
    c2.initiate(video=False)
    c2.wait_propose()
    c2.a_send(terminate_xml(c2.a_sid, "cancel"))


# ---------------------------------------------------------------------------
# 9. policy: allow-domains, max-calls-per-jid
# ---------------------------------------------------------------------------

def test_caller_domain_not_allowed_is_declined(relays, alice, bob, calls):
    b = relays.use("foreign")
    c = new_call(calls, b, alice, bob)
    c.initiate(video=False)
    term = c.wait_a("session-terminate", 5)
    reason, text = reason_of(term)
    assert reason == "decline", dump(term)
    assert text, f"decline without a <text/>: {dump(term)}"
    assert c.a_actions() == ["session-terminate"], c.a_actions()
    b.wait_log(ended(alice.full_jid, c.a_sid, "decline"), 5)
    assert_nothing_from_relay(bob, c.b_mark, 1.0, "a call from a domain not allowed")


def test_max_calls_per_jid_busy(relays, alice, bob, calls):
    b = relays.use("max1")
    first = new_call(calls, b, alice, bob, tag="first")
    first.initiate(video=False)
    first.wait_propose()
    second = new_call(calls, b, alice, bob, tag="second")
    second.initiate(video=False)
    term = second.wait_a("session-terminate", 5)
    assert reason_of(term)[0] == "busy", dump(term)
    b.wait_log(ended(alice.full_jid, second.a_sid, "busy"), 5)
    time.sleep(0.5)
    props = [e for e in relay_stanzas(bob, first.b_mark) if jmi_child(e, "propose") is not None]
    assert len(props) == 1, "a second leg was placed:\n" + "\n".join(map(dump, props))
    assert first.a_actions() == [], first.a_actions()
    # Ending the first frees the slot.
    assert first.a_send(terminate_xml(first.a_sid, "cancel")).get("type") == "result"
    wait_new(bob, first.b_mark, lambda e: jmi_child(e, "retract") is not None, 5, "retract")
    b.wait_log(ended(alice.full_jid, first.a_sid, "cancel"), 5)
    third = new_call(calls, b, alice, bob, tag="third")
    third.initiate(video=False)
    third.wait_propose()
    assert third.b_sid != first.b_sid
    third.b_jmi("proceed")
    third.wait_b("session-initiate")
    third.b_accept(video=False)
    third.wait_a("session-accept")


# ---------------------------------------------------------------------------
# 11. configuration errors
# ---------------------------------------------------------------------------

@pytest.fixture
def listener():
    s = FakeServer()
    yield s
    s.close()


BAD_CALL = [
    ("ring-timeout-zero", {"ring-timeout": "0"}, "ring-timeout"),
    ("ring-timeout-too-long", {"ring-timeout": "601"}, "ring-timeout"),
    ("ring-timeout-not-a-number", {"ring-timeout": "soon"}, "ring-timeout"),
    ("max-calls-zero", {"max-calls-per-jid": "0"}, "max-calls-per-jid"),
    ("max-calls-too-many", {"max-calls-per-jid": "1001"}, "max-calls-per-jid"),
    ("unknown-key", {"ring-timeout": "30", "ring-tone": "bells"}, "ring-tone"),
]


@pytest.mark.parametrize("case,group,key", BAD_CALL, ids=[b[0] for b in BAD_CALL])
@pytest.mark.parametrize("check", [False, True], ids=["run", "check-config"])
def test_bad_call_config_exits_2(tmp_path, listener, case, group, key, check):
    path = write_config(tmp_path / "belfry.conf", port=listener.port, modules="call",
                        groups={"media": MEDIA, "call": group})
    r = run_belfry((["--check-config"] if check else []) + ["-c", str(path)])
    assert_config_error(path, r, "call", re.escape(key), listener)


def test_good_call_config_is_accepted(tmp_path, listener):
    path = write_config(tmp_path / "belfry.conf", port=listener.port, modules="call",
                        groups={"media": MEDIA,
                                "call": {"ring-timeout": "600", "allow-domains": "localhost",
                                         "max-calls-per-jid": "1000"}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"
    assert SECRET not in r.stderr + r.stdout


# ---------------------------------------------------------------------------
# presence of the relay addresses (XEP-0115 caps: what clients look for
# before they offer a call button)
# ---------------------------------------------------------------------------

NS_CAPS = "http://jabber.org/protocol/caps"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"


def caps_ver(query):
    """XEP-0115 §5.1 from a disco#info <query/> (no forms here)."""
    ids = sorted((i.get("category"), i.get("type"), i.get("{http://www.w3.org/XML/1998/namespace}lang") or "",
                  i.get("name") or "") for i in query.findall("{%s}identity" % NS_DISCO_INFO))
    feats = sorted(f.get("var") for f in query.findall("{%s}feature" % NS_DISCO_INFO))
    s = "".join("/".join(i) + "<" for i in ids) + "".join(f + "<" for f in feats)
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def test_relay_address_presence_advertises_jingle_caps(main, call_prosody):
    carl = online(call_prosody, "alice", "presence-res")   # a second resource of alice
    try:
        mark = len(received(carl))
        carl.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(BOB_ADDR)} type='subscribe'/>")
        pres = wait_new(carl, mark, lambda e: e.tag == "{jabber:client}presence"
                        and bare(e.get("from")) == BOB_ADDR and e.get("type") is None
                        and e.find("{%s}c" % NS_CAPS) is not None, 10,
                        f"available presence with caps from {BOB_ADDR}")
        c = pres.find("{%s}c" % NS_CAPS)
        assert c.get("hash") == "sha-1", dump(pres)
        # The ver verifies against what disco#info answers for node#ver.
        node = f"{c.get('node')}#{c.get('ver')}"
        reply = carl.iq(BOB_ADDR, "get", f"<query xmlns='{NS_DISCO_INFO}' node={quoteattr(node)}/>")
        assert reply.get("type") == "result", dump(reply)
        q = reply.find("{%s}query" % NS_DISCO_INFO)
        assert q.get("node") == node, dump(reply)
        assert caps_ver(q) == c.get("ver"), dump(reply)
        feats = {f.get("var") for f in q.findall("{%s}feature" % NS_DISCO_INFO)}
        assert {"urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:rtp:audio",
                "urn:xmpp:jingle:apps:rtp:video", "urn:xmpp:jingle-message:0",
                "urn:xmpp:jingle:apps:dtls:0", NS_CAPS} <= feats, dump(reply)
        # A node that is not ours: item-not-found.
        reply = carl.iq(BOB_ADDR, "get", f"<query xmlns='{NS_DISCO_INFO}' node='x#y'/>")
        assert iq_error(reply)[1] == ["item-not-found"], dump(reply)
        carl.send_raw(f"<presence xmlns='jabber:client' to={quoteattr(BOB_ADDR)} type='unsubscribe'/>")
    finally:
        carl.close()
