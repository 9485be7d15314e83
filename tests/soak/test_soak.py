"""Soak: calls start and end for SOAK_SECONDS (default 600) against one
belfry; afterwards its open file descriptors are back to their start
figure and its resident memory is within a stated tolerance of it, and it
exits 0 on SIGTERM (under ASan: no leak, exit code 23 otherwise).

    SOAK_SECONDS=600 BELFRY_BIN=build-asan/relay/belfry \\
        /usr/bin/python3 -m pytest tests/soak -q

(scripts/test.sh runs it so against the ASan+UBSan build, beside the fuzz
stage.)  The run re-executes itself in a private network namespace (root
needed); Prosody, belfry and the loads talk on 127.0.0.1 only.

What runs:
* a Prosody of its own (harness.Prosody, log level info) with callers
  alice0..aliceN-1 (SOAK_CALLERS, default 12) and bob; belfry with `echo`
  and `call`, [media] on 127.0.0.1, consent-timeout 5 s (so that calls whose
  peer vanished end within seconds);
* the media of every call comes from the load generators of the benchmarks,
  run from SOAK_LOAD_BUILD (default build/): tests/bench/echo-load (libnice
  ICE + DTLS-SRTP, belfry's media library) for echo calls, and
  tests/bench/call-load in `ice` mode (its own ICE, DTLS-SRTP) playing both
  alice and bob of relayed calls;
* each caller places one call at a time, so at most SOAK_CALLERS calls are
  up at once (a relayed call is two sessions); starts are paced at
  SOAK_RATE per second overall (default 3).  Half go to echo@relay.localhost,
  half through the relay (aliceK -> bob\\40localhost@relay.localhost -> bob,
  XEP-0353 propose/proceed, then Jingle).  A call that connects carries SRTP
  audio (50 packets/s each way, every packet authenticated and its payload
  checked by the load) for 1 to 2 s, then ends one of these ways:
    echo:  hang-up (close_notify, then session-terminate), terminate first,
           gone (close_notify, no terminate: belfry ends it after its grace),
           vanished (no packet at all: ICE consent ends it), cancelled right
           after the session-initiate, cancelled after the accept;
    relay: the caller hangs up, the callee hangs up, the callee's side
           vanishes (consent), the callee rejects the proposal, the caller
           cancels while it rings, the callee declines the session-initiate.
  Every call is checked: each iq we send is answered with a result, each
  end reaches the other side (the session-terminate, <retract/> or
  reason expected), and connected calls had media both ways (at least 10
  packets received on every side, none bad).  More than 1 % of calls
  failing fails the test, listing them.
* A warm-up (SOAK_WARMUP seconds of the same churn, default 30) comes
  first, so that one-time allocations (certificate, worker threads, the
  allocator's arenas at this concurrency, libnice/OpenSSL caches) are made;
  then, with no session left, belfry's VmRSS and /proc/PID/fd are recorded.
  After the last call, once belfry's log shows every session ended and a
  short settle, they are compared: fds equal (the extra ones are listed
  with their readlink), VmRSS at most max(RSS_SLACK_FRACTION of the start,
  RSS_SLACK_MIB) above it.

The summary line (calls made, failures, RSS and fds at start and end,
belfry's CPU time) is printed at the end of the pytest run.
"""

import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import harness  # noqa: E402
import e2e  # noqa: E402

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP_SECONDS = float(os.environ.get("SOAK_WARMUP", "30"))
RATE = float(os.environ.get("SOAK_RATE", "3"))
CALLERS = int(os.environ.get("SOAK_CALLERS", "12"))
SEED = int(os.environ.get("SOAK_SEED", str(int(time.time()) % 100000)))
LOAD_BUILD = Path(os.environ.get("SOAK_LOAD_BUILD", str(REPO / "build")))
FAIL_FRACTION = 0.01
# Resident memory may end above its start figure by this much.  glibc (and
# ASan's allocator) keep freed memory for reuse rather than returning it,
# and the peak concurrency of the run may exceed the warm-up's.  Measured
# (tests/soak/README): see the figures there.
RSS_SLACK_FRACTION = 0.10
RSS_SLACK_MIB = 8
ASAN_QUARANTINE_MIB = 16
CONSENT_TIMEOUT = 5
HANGUP_GRACE = 2            # relay/sessions.c HANGUP_GRACE_MS
MIN_PACKETS = 10            # media checked: at least this many each way
MAX_CALLS = 16000           # the loads' index space (MAX_SESSIONS / MAX_CALLS)

SUMMARY = []                # printed by conftest.py at the end of the run

NS_CLIENT = "jabber:client"
NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_GROUPING = "urn:xmpp:jingle:apps:grouping:0"
NS_JMI = "urn:xmpp:jingle-message:0"
NS_HINTS = "urn:xmpp:hints"
IQ = "{%s}iq" % NS_CLIENT
MESSAGE = "{%s}message" % NS_CLIENT
JINGLE = "{%s}jingle" % NS_JINGLE

BOB_ADDR = r"bob\40localhost@relay.localhost"
CALLER_RE = re.compile(r"^alice(\d+)\\40localhost@relay\.localhost/", re.I)

ECHO_ENDINGS = [("hangup", 45), ("terminate-first", 25), ("gone", 8), ("vanish", 5),
                ("cancel-early", 8), ("cancel-after-accept", 9)]
RELAY_ENDINGS = [("caller-hangup", 40), ("callee-hangup", 30), ("vanish", 5),
                 ("reject", 10), ("cancel-ringing", 8), ("decline", 7)]


class CallFailed(Exception):
    pass


def q(ns, tag):
    return "{%s}%s" % (ns, tag)


def dump(el):
    return ET.tostring(el, encoding="unicode")[:1500]


# ---------------------------------------------------------------------------
# belfry's process figures
# ---------------------------------------------------------------------------

def vm_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def cpu_seconds(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    f = stat[stat.rfind(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def malloc_in_use(belfry):
    """glibc's bytes in use (all arenas), by gdb calling malloc_stats() in
    belfry (it prints to belfry's stderr); only with SOAK_MALLOC_STATS=1 and
    a build without ASan (ASan replaces malloc).  Tells the allocator's
    keeping apart from memory belfry still holds."""
    if os.environ.get("SOAK_MALLOC_STATS") != "1":
        return None
    subprocess.run(["gdb", "-p", str(belfry.pid), "-batch", "-ex", "call (void) malloc_stats()"],
                   capture_output=True, timeout=120)
    time.sleep(0.5)
    found = re.findall(r"Total \(incl\. mmap\):\s*\nsystem bytes\s*=\s*(\d+)\s*\n"
                       r"in use bytes\s*=\s*(\d+)", belfry.log())
    return (int(found[-1][0]), int(found[-1][1])) if found else None


def fd_kinds(fds):
    kinds = {}
    for target in fds.values():
        k = target.split(":", 1)[0] if ":" in target else "file"
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


CREATED_RES = (re.compile(r"session (\S+) from \S+ to \S+: \d+ contents"),
               re.compile(r"session (\S+): proposed to "),
               re.compile(r"session (\S+): calling "))
ENDED_RE = re.compile(r"session (\S+) with \S+ ended: ")


def live_sessions(log):
    created = set()
    for r in CREATED_RES:
        created.update(r.findall(log))
    return created - set(ENDED_RE.findall(log)), len(created)


# ---------------------------------------------------------------------------
# the load processes (line protocols: tests/bench/echo-load.c, call-load.c)
# ---------------------------------------------------------------------------

class Load:
    """One load process; each output line that starts with a call index goes
    to the queue registered for that index."""

    def __init__(self, exe, args, name):
        assert exe.is_file() and os.access(exe, os.X_OK), (
            f"{exe} not built (ninja -C {LOAD_BUILD}, or set SOAK_LOAD_BUILD)")
        self.name = name
        self.proc = subprocess.Popen([str(exe)] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        e2e.adopt(self.proc.pid)
        self.lock = threading.Lock()
        self.routes = {}
        self.next = 0
        self.other = queue.Queue()
        self.errors = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            head = line.split(" ", 1)[0]
            dest = self.routes.get(int(head)) if head.isdigit() else None
            if dest is not None:
                dest.put((self.name, line))
            else:
                if line.startswith("error"):
                    self.errors.append(line)
                self.other.put(line)
        self.other.put(None)

    def send(self, line):
        with self.lock:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()

    def new(self, dest, command):
        """A new call index routed to dest; `command I` starts it."""
        with self.lock:
            i = self.next
            if i >= MAX_CALLS:
                raise CallFailed(f"{self.name}: index space used up")
            self.next += 1
            self.routes[i] = dest
            self.proc.stdin.write(f"{command} {i}\n")
            self.proc.stdin.flush()
        return i

    def forget(self, i):
        self.routes.pop(i, None)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)


def kv(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


# ---------------------------------------------------------------------------
# XMPP clients: everything received goes to a queue; Jingle requests acked
# ---------------------------------------------------------------------------

def client(prosody, user, password, route):
    """A logged-in client that acknowledges every Jingle request at once (as
    any Jingle endpoint does) and hands every iq and message it receives to
    route(element)."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    c = harness.Client(f"{user}@{harness.DOMAIN}/soak", password, prosody.c2s_port)
    c.xmpp.del_filter("in", c._record)      # no unbounded record of everything

    def on_in(stanza):
        el = stanza.xml
        if el.tag in (IQ, MESSAGE):
            route(ET.fromstring(ET.tostring(el)))
        return stanza

    def ack(iq):
        if iq["type"] == "set":
            iq.reply(clear=True).send()

    async def setup():
        c.xmpp.add_filter("in", on_in)
        c.xmpp.register_handler(Callback(
            "soak jingle ack", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), ack))

    c._call(setup(), 5)
    return c


def jingle_of(el):
    return el.find(JINGLE) if el.tag == IQ and el.get("type") == "set" else None


def jmi_of(el, kind):
    if el.tag != MESSAGE or el.get("type") == "error":
        return None
    return el.find(q(NS_JMI, kind))


def reason_of(j):
    r = j.find(q(NS_JINGLE, "reason"))
    if r is None:
        return None
    for c in r:
        if c.tag.startswith("{%s}" % NS_JINGLE) and not c.tag.endswith("}text"):
            return c.tag.split("}", 1)[1]
    return None


# ---------------------------------------------------------------------------
# Jingle payloads
# ---------------------------------------------------------------------------

def candidates_xml(cands):
    return "".join(
        f"<candidate component={quoteattr(c[1])} foundation={quoteattr(c[0])} generation='0' "
        f"id='c{k}' ip={quoteattr(c[3])} network='0' port={quoteattr(c[4])} "
        f"priority={quoteattr(c[5])} protocol='udp' type={quoteattr(c[2])}/>"
        for k, c in enumerate(cands))


def transport_xml(creds, fp, setup, cands):
    return (f"<transport xmlns='{NS_ICE}' ufrag={quoteattr(creds[0])} pwd={quoteattr(creds[1])}>"
            f"<fingerprint xmlns='{NS_DTLS}' hash={quoteattr(fp[0])} setup='{setup}'>{fp[1]}"
            f"</fingerprint>{candidates_xml(cands)}</transport>")


def contents_xml(tr, ssrc_audio, ssrc_video, cname, video):
    audio = (f"<description xmlns='{NS_RTP}' media='audio'>"
             "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
             f"<source xmlns='{NS_SSMA}' ssrc='{ssrc_audio}'>"
             f"<parameter name='cname' value='{cname}'/></source><rtcp-mux/></description>")
    out = f"<content creator='initiator' name='a0' senders='both'>{audio}{tr}</content>"
    if video:
        vid = (f"<description xmlns='{NS_RTP}' media='video'>"
               "<payload-type id='96' name='VP8' clockrate='90000'/>"
               f"<source xmlns='{NS_SSMA}' ssrc='{ssrc_video}'>"
               f"<parameter name='cname' value='{cname}'/></source><rtcp-mux/></description>")
        out += (f"<content creator='initiator' name='v1' senders='both'>{vid}{tr}</content>"
                f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
                "<content name='a0'/><content name='v1'/></group>")
    return out


def jingle_xml(action, sid, body="", attrs=""):
    return (f"<jingle xmlns='{NS_JINGLE}' action='{action}' sid={quoteattr(sid)}{attrs}>"
            f"{body}</jingle>")


def terminate_xml(sid, reason):
    return jingle_xml("session-terminate", sid, f"<reason><{reason}/></reason>")


def parse_transport(j):
    """(ufrag, pwd, (hash, fp, setup), [candidate fields]) of the first content."""
    tr = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_ICE, 'transport')}")
    if tr is None:
        raise CallFailed("no ICE transport in " + dump(j))
    fpe = tr.find(q(NS_DTLS, "fingerprint"))
    if fpe is None:
        raise CallFailed("no fingerprint in " + dump(j))
    cands = [f"{c.get('foundation')} {c.get('component')} {c.get('type')} {c.get('ip')} "
             f"{c.get('port')} {c.get('priority')}"
             for c in tr.findall(q(NS_ICE, "candidate"))
             if (c.get("protocol") or "udp").lower() == "udp"]
    return tr.get("ufrag"), tr.get("pwd"), (fpe.get("hash"), fpe.text.strip(),
                                            fpe.get("setup")), cands


# ---------------------------------------------------------------------------
# one caller: places one call after another
# ---------------------------------------------------------------------------

class Caller:
    def __init__(self, soak, k):
        self.soak, self.k = soak, k
        self.jid = None
        self.q = queue.Queue()
        self.pending = []
        self.client = None
        self.rng = random.Random(SEED * 1000 + k)
        self.seq = 0

    # events: ("echo"|"relay", line) from the loads, ("alice", el), ("bob", el)
    def wait(self, pred, timeout, what):
        for n, ev in enumerate(self.pending):
            if pred(ev):
                del self.pending[n]
                return ev
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CallFailed(f"no {what} within {timeout:.0f} s")
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):
                return ev
            self.pending.append(ev)
            if len(self.pending) > 400:
                del self.pending[:200]

    def line(self, load, i, what, timeout=20):
        prefix = f"{i} {what}"
        failed = (f"{i} failed", f"{i} error", f"{i} a failed", f"{i} b failed")

        def pred(ev):
            if ev[0] != load:
                return False
            if ev[1].startswith(failed):
                if ev[1].endswith("(close_notify)"):
                    return False   # belfry hung up first: its close_notify came
                raise CallFailed(f"{load} load: {ev[1]}")
            return ev[1].startswith(prefix)
        return self.wait(pred, timeout, f"'{prefix}' from the {load} load")[1]

    def iq_set(self, who, to, jingle, what):
        cl = self.client if who == "alice" else self.soak.bob
        iq_id = f"s{self.k}-{self.seq}-{os.urandom(3).hex()}"
        self.seq += 1
        cl.send_raw(f"<iq xmlns='{NS_CLIENT}' type='set' to={quoteattr(to)} "
                    f"id={quoteattr(iq_id)}>{jingle}</iq>")
        return (who, iq_id, what)

    def answered(self, token, timeout=20):
        who, iq_id, what = token
        ev = self.wait(lambda e: e[0] == who and e[1].tag == IQ and e[1].get("id") == iq_id
                       and e[1].get("type") in ("result", "error"), timeout,
                       f"answer to {who}'s {what}")
        if ev[1].get("type") != "result":
            raise CallFailed(f"{who}'s {what} refused: {dump(ev[1])}")

    def jingle_from(self, who, frm, sid, actions, timeout, what):
        """The next Jingle request from frm for sid whose action is one of
        `actions`; a session-terminate that is not asked for fails the call."""
        def pred(e):
            if e[0] != who:
                return False
            j = jingle_of(e[1])
            if j is None or j.get("sid") != sid or e[1].get("from") != frm:
                return False
            if j.get("action") in actions:
                return True
            if j.get("action") == "session-terminate":
                raise CallFailed(f"{who}'s session ended by belfry while waiting for {what}: "
                                 + dump(e[1]))
            return False
        return self.wait(pred, timeout, what)[1].find(JINGLE)

    def expect_terminate(self, who, frm, sid, reasons, timeout, what):
        j = self.jingle_from(who, frm, sid, ("session-terminate",), timeout, what)
        r = reason_of(j)
        if reasons and r not in reasons:
            raise CallFailed(f"{what}: reason {r}, expected {'/'.join(reasons)}: {dump(j)}")

    def jmi_from_belfry(self, kind, b_sid, timeout, what):
        def pred(e):
            if e[0] != "bob":
                return False
            m = jmi_of(e[1], kind)
            return m is not None and (b_sid is None or m.get("id") == b_sid) \
                and CALLER_RE.match(e[1].get("from") or "") \
                and int(CALLER_RE.match(e[1].get("from")).group(1)) == self.k
        return self.wait(pred, timeout, what)[1]

    def bob_jmi(self, to, kind, b_sid):
        self.soak.bob.send_raw(
            f"<message xmlns='{NS_CLIENT}' type='chat' to={quoteattr(to)} "
            f"id='jmi-{os.urandom(4).hex()}'><{kind} xmlns='{NS_JMI}' id={quoteattr(b_sid)}/>"
            f"<store xmlns='{NS_HINTS}'/></message>")

    def check_media(self, counts, keys):
        for rk, bk in keys:
            if counts.get(bk, 0) != 0 or counts.get(rk, 0) < MIN_PACKETS:
                raise CallFailed(f"media: {counts} (want >= {MIN_PACKETS} received and no bad "
                                 f"packet on every side)")

    # --- echo ---

    def echo_call(self, ending):
        soak = self.soak
        i = soak.echo.new(self.q, "new")
        cleanup = {"drop": True, "terminate": False}
        sid = f"soak{self.k}e{i}-{os.urandom(3).hex()}"
        try:
            creds = self.line("echo", i, "credentials").split()[2:4]
            fp = self.line("echo", i, "fingerprint").split()[2:4]
            cands = []
            while True:
                ln = self.line("echo", i, "")
                parts = ln.split()
                if parts[1] == "candidate":
                    cands.append(parts[2:])
                elif parts[1] == "gathering-done":
                    break
            ssrc = 0x10000000 + i
            body = contents_xml(transport_xml(creds, fp, "actpass", cands), ssrc, 0,
                                f"soak{i}", False)
            init = self.iq_set("alice", harness.ECHO, jingle_xml(
                "session-initiate", sid, body, f" initiator={quoteattr(self.jid)}"),
                "session-initiate")
            cleanup["terminate"] = True
            if ending == "cancel-early":
                bye = self.iq_set("alice", harness.ECHO, terminate_xml(sid, "cancel"),
                                  "session-terminate")
                self.answered(init)
                self.answered(bye)
                cleanup["terminate"] = False
                return
            self.answered(init)
            acc = self.jingle_from("alice", harness.ECHO, sid, ("session-accept",), 20,
                                   "echo's session-accept")
            ufrag, pwd, efp, ecands = parse_transport(acc)
            src = acc.find(f"{q(NS_JINGLE, 'content')}/{q(NS_RTP, 'description')}/"
                           f"{q(NS_SSMA, 'source')}")
            echo_ssrc = int(src.get("ssrc")) if src is not None else 0
            if ending == "cancel-after-accept":
                bye = self.iq_set("alice", harness.ECHO, terminate_xml(sid, "cancel"),
                                  "session-terminate")
                self.answered(bye)
                cleanup["terminate"] = False
                return
            ours = "passive" if efp[2] == "active" else "active"
            soak.echo.send(f"{i} remote-credentials {ufrag} {pwd}")
            soak.echo.send(f"{i} remote-dtls {ours} {efp[0]} {efp[1]}")
            for c in ecands:
                soak.echo.send(f"{i} candidate {c}")
            soak.echo.send(f"{i} end-of-candidates")
            soak.echo.send(f"{i} stream {ssrc} {echo_ssrc}")
            self.line("echo", i, "dtls-connected")
            self.line("echo", i, "first-echo")
            time.sleep(self.rng.uniform(1.0, 2.0))
            if ending == "terminate-first":
                bye = self.iq_set("alice", harness.ECHO, terminate_xml(sid, "success"),
                                  "session-terminate")
                self.answered(bye)
                cleanup["terminate"] = False
            cleanup["drop"] = False
            soak.echo.send(f"{i} end {'drop' if ending == 'vanish' else 'close'}")
            counts = kv(self.line("echo", i, "ended"))
            self.check_media(counts, [("received", "bad")])
            if ending == "hangup":
                bye = self.iq_set("alice", harness.ECHO, terminate_xml(sid, "success"),
                                  "session-terminate")
                self.answered(bye)
                cleanup["terminate"] = False
            elif ending == "gone":
                self.expect_terminate("alice", harness.ECHO, sid, ("gone",), HANGUP_GRACE + 15,
                                      "belfry's session-terminate after close_notify")
                cleanup["terminate"] = False
            elif ending == "vanish":
                self.expect_terminate("alice", harness.ECHO, sid, None, CONSENT_TIMEOUT + 20,
                                      "belfry's session-terminate after consent expired")
                cleanup["terminate"] = False
        finally:
            if cleanup["drop"]:
                soak.echo.send(f"{i} end drop")
            if cleanup["terminate"]:
                self.client.send_raw(f"<iq xmlns='{NS_CLIENT}' type='set' "
                                     f"to={quoteattr(harness.ECHO)} id='cleanup-{sid}'>"
                                     + terminate_xml(sid, "failed-application") + "</iq>")
            soak.echo.forget(i)

    # --- relay ---

    def relay_call(self, ending):
        soak = self.soak
        load = soak.relay
        i = load.new(self.q, "call")
        a_sid = f"soak{self.k}r{i}-{os.urandom(3).hex()}"
        st = {"b_from": None, "b_sid": None, "a_live": False, "b_live": False, "media": True}
        video = self.rng.random() < 0.5
        try:
            info = {"a": {"cands": []}, "b": {"cands": []}}
            done = set()
            while done != {"a", "b"}:
                parts = self.line("relay", i, "").split()
                side, what = parts[1], parts[2]
                if what == "credentials":
                    info[side]["creds"] = parts[3:5]
                elif what == "fingerprint":
                    info[side]["fp"] = parts[3:5]
                elif what == "candidate":
                    info[side]["cands"].append(parts[3:9])
                elif what == "gathering-done":
                    done.add(side)
            a = info["a"]
            body = contents_xml(transport_xml(a["creds"], a["fp"], "actpass", a["cands"]),
                                0x10000000 + i, 0x18000000 + i, f"alice{i}", video)
            init = self.iq_set("alice", BOB_ADDR, jingle_xml(
                "session-initiate", a_sid, body, f" initiator={quoteattr(self.jid)}"),
                "session-initiate")
            st["a_live"] = True
            self.answered(init)
            prop = self.jmi_from_belfry("propose", None, 20, "JMI propose to bob")
            b_from, b_sid = prop.get("from"), prop.find(q(NS_JMI, "propose")).get("id")
            st["b_from"], st["b_sid"] = b_from, b_sid
            if ending == "reject":
                self.bob_jmi(b_from, "reject", b_sid)
                self.expect_terminate("alice", BOB_ADDR, a_sid, ("decline",), 20,
                                      "session-terminate to alice after bob's reject")
                st["a_live"] = False
                return
            if ending == "cancel-ringing":
                bye = self.iq_set("alice", BOB_ADDR, terminate_xml(a_sid, "cancel"),
                                  "session-terminate")
                self.answered(bye)
                st["a_live"] = False
                self.jmi_from_belfry("retract", b_sid, 20, "JMI retract to bob")
                return
            self.bob_jmi(b_from, "proceed", b_sid)
            bj = self.jingle_from("bob", b_from, b_sid, ("session-initiate",), 20,
                                  "session-initiate to bob")
            st["b_live"] = True
            if ending == "decline":
                bye = self.iq_set("bob", b_from, terminate_xml(b_sid, "decline"),
                                  "session-terminate")
                self.answered(bye)
                st["b_live"] = False
                self.expect_terminate("alice", BOB_ADDR, a_sid, ("decline",), 20,
                                      "session-terminate to alice after bob declined")
                st["a_live"] = False
                return
            ufrag, pwd, bfp, bcands = parse_transport(bj)
            load.send(f"{i} b remote-ice {ufrag} {pwd} controlling")
            load.send(f"{i} b remote-dtls active {bfp[0]} {bfp[1]}")
            for c in bcands:
                load.send(f"{i} b candidate {c}")
            b = info["b"]
            body = contents_xml(transport_xml(b["creds"], b["fp"], "active", b["cands"]),
                                0x20000000 + i, 0x28000000 + i, f"bob{i}", video)
            acc = self.iq_set("bob", b_from, jingle_xml(
                "session-accept", b_sid, body,
                f" initiator={quoteattr(b_from)} responder={quoteattr(soak.bob.full_jid)}"),
                "session-accept")
            self.answered(acc)
            aj = self.jingle_from("alice", BOB_ADDR, a_sid, ("session-accept",), 20,
                                  "session-accept to alice")
            ufrag, pwd, afp, acands = parse_transport(aj)
            ours = "passive" if afp[2] == "active" else "active"
            load.send(f"{i} a remote-ice {ufrag} {pwd} controlled")
            load.send(f"{i} a remote-dtls {ours} {afp[0]} {afp[1]}")
            for c in acands:
                load.send(f"{i} a candidate {c}")
            keyed = set()
            while keyed != {"a", "b"}:
                ln = self.line("relay", i, "", 30)
                parts = ln.split()
                if len(parts) >= 3 and parts[2] == "dtls-connected":
                    keyed.add(parts[1])
            load.send(f"stream {i}")
            self.line("relay", i, "media-ok")
            time.sleep(self.rng.uniform(1.0, 2.0))
            if ending == "vanish":
                load.send(f"end {i} drop b")
                counts = kv(self.line("relay", i, "ended"))
                self.check_media(counts, [("a_received", "a_bad"), ("b_received", "b_bad")])
                st["media"] = False
                self.expect_terminate("bob", b_from, b_sid, None, CONSENT_TIMEOUT + 20,
                                      "session-terminate to bob after his media vanished")
                st["b_live"] = False
                self.expect_terminate("alice", BOB_ADDR, a_sid, None, 20,
                                      "session-terminate to alice after bob's media vanished")
                st["a_live"] = False
                load.send(f"end {i} close a")
                self.line("relay", i, "ended")
                return
            load.send(f"end {i} close")
            st["media"] = False
            counts = kv(self.line("relay", i, "ended"))
            self.check_media(counts, [("a_received", "a_bad"), ("b_received", "b_bad")])
            if ending == "caller-hangup":
                bye = self.iq_set("alice", BOB_ADDR, terminate_xml(a_sid, "success"),
                                  "session-terminate")
                self.answered(bye)
                st["a_live"] = False
                self.expect_terminate("bob", b_from, b_sid, ("success",), 20,
                                      "session-terminate to bob after alice hung up")
                st["b_live"] = False
            else:   # callee-hangup
                bye = self.iq_set("bob", b_from, terminate_xml(b_sid, "success"),
                                  "session-terminate")
                self.answered(bye)
                st["b_live"] = False
                self.expect_terminate("alice", BOB_ADDR, a_sid, ("success",), 20,
                                      "session-terminate to alice after bob hung up")
                st["a_live"] = False
        finally:
            if st["media"]:
                load.send(f"end {i} drop")
            if st["a_live"]:
                self.client.send_raw(f"<iq xmlns='{NS_CLIENT}' type='set' to={quoteattr(BOB_ADDR)}"
                                     f" id='cleanup-{a_sid}'>"
                                     + terminate_xml(a_sid, "failed-application") + "</iq>")
            if st["b_live"] and st["b_from"]:
                soak.bob.send_raw(f"<iq xmlns='{NS_CLIENT}' type='set' to={quoteattr(st['b_from'])}"
                                  f" id='cleanup-{st['b_sid']}'>"
                                  + terminate_xml(st["b_sid"], "failed-application") + "</iq>")
            load.forget(i)

    def pick(self):
        kind = "echo" if self.rng.random() < 0.5 else "relay"
        table = ECHO_ENDINGS if kind == "echo" else RELAY_ENDINGS
        ending = self.rng.choices([e for e, _ in table], [w for _, w in table])[0]
        return kind, ending

    def run(self, phase):
        while True:
            slot = self.soak.next_slot(phase)
            if slot is None:
                return
            kind, ending = self.pick()
            t0 = time.monotonic()
            try:
                (self.echo_call if kind == "echo" else self.relay_call)(ending)
                self.soak.record(phase, kind, ending, None, time.monotonic() - t0)
            except Exception as e:   # noqa: BLE001 -- every failure is counted and listed
                self.soak.record(phase, kind, ending, f"{type(e).__name__}: {e}",
                                 time.monotonic() - t0)
                time.sleep(1.0)
            self.pending.clear()


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------

class Soak:
    def __init__(self, prosody, echo, relay, bob):
        self.prosody, self.echo, self.relay, self.bob = prosody, echo, relay, bob
        self.callers = []
        self.lock = threading.Lock()
        self.results = {"warmup": [], "soak": []}
        self.phase_end = {}
        self.next_start = {}

    def route_bob(self, el):
        m = CALLER_RE.match(el.get("from") or "")
        if m and int(m.group(1)) < len(self.callers):
            self.callers[int(m.group(1))].q.put(("bob", el))

    def next_slot(self, phase):
        """Paces call starts at RATE per second overall; None when the
        phase is over."""
        with self.lock:
            t = max(self.next_start[phase], time.monotonic())
            if t >= self.phase_end[phase]:
                return None
            self.next_start[phase] = t + 1.0 / RATE
        time.sleep(max(0.0, t - time.monotonic()))
        return t

    def record(self, phase, kind, ending, error, seconds):
        with self.lock:
            self.results[phase].append((kind, ending, error, seconds))

    def churn(self, phase, seconds):
        now = time.monotonic()
        self.phase_end[phase] = now + seconds
        self.next_start[phase] = now
        threads = [threading.Thread(target=c.run, args=(phase,), daemon=True)
                   for c in self.callers]
        for t in threads:
            t.start()
        # A call takes at most ~60 s (consent, timeouts): bounded join.
        for t in threads:
            t.join(seconds + 180)
        stuck = [t for t in threads if t.is_alive()]
        assert not stuck, f"{len(stuck)} callers still busy {seconds + 180:.0f} s into {phase}"


def settle(belfry, timeout=90):
    """Until belfry's log shows every session it started ended."""
    deadline = time.monotonic() + timeout
    while True:
        live, total = live_sessions(belfry.log())
        if not live:
            return total
        assert belfry.running(), f"belfry exited ({belfry.proc.returncode})"
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(live)} sessions still live {timeout} s after the last "
                                 f"call: {sorted(live)[:10]}")
        time.sleep(0.5)


def quiet_figures(belfry, want_fds=None, timeout=30):
    """(VmRSS KiB, fds) once the sessions' teardown on the workers is over:
    the fd table stops changing (or matches want_fds)."""
    deadline = time.monotonic() + timeout
    time.sleep(3)
    prev = open_fds(belfry.pid)
    while True:
        time.sleep(1)
        fds = open_fds(belfry.pid)
        if (want_fds is not None and set(fds) == set(want_fds)) or \
                (want_fds is None and fds == prev) or time.monotonic() > deadline:
            return vm_rss_kib(belfry.pid), fds
        prev = fds


def sample(pid, t0, out, stop):
    """(seconds, VmRSS KiB, open fds) every 10 s until stop is set."""
    while not stop.wait(10):
        try:
            out.append((time.monotonic() - t0, vm_rss_kib(pid), len(os.listdir(f"/proc/{pid}/fd"))))
        except (OSError, AssertionError):
            return


def describe(results):
    by = {}
    for kind, ending, err, _ in results:
        k = f"{kind}/{ending}"
        ok, bad = by.get(k, (0, 0))
        by[k] = (ok + (err is None), bad + (err is not None))
    return ", ".join(f"{k} {ok}" + (f" ({bad} failed)" if bad else "")
                     for k, (ok, bad) in sorted(by.items()))


def test_soak(tmp_path):
    harness.require_belfry()
    assert SOAK_SECONDS > 0 and RATE > 0 and 1 <= CALLERS <= 99
    users = {f"alice{k}": f"alice{k}-pw-soak" for k in range(CALLERS)}
    users["bob"] = harness.USERS["bob"]
    prosody = harness.Prosody(users=users, prefix="belfry-soak-prosody-")
    # info, not debug: ten minutes of calls at debug is a large log to write
    prosody.config.write_text(prosody.config.read_text().replace('min = "debug"', 'min = "info"'))
    belfry = echo = relay = bob = None
    clients = []
    try:
        prosody.start()
        e2e.adopt(prosody.proc.pid)
        belfry = harness.Belfry(
            tmp_path / "belfry", port=prosody.component_port, modules="echo;call",
            groups={"media": {"addresses": "127.0.0.1", "consent-timeout": str(CONSENT_TIMEOUT),
                              "ice-timeout": "20", "max-sessions": "200"},
                    "call": {"ring-timeout": "30"}})
        # ASan keeps freed memory in quarantine, 256 MiB by default: the
        # resident figure would grow by that much whatever belfry does.
        # Bounded here (unless the caller set it), and filled by the warm-up.
        asan = os.environ.get("ASAN_OPTIONS")
        if asan is not None and "quarantine_size_mb" not in asan:
            os.environ["ASAN_OPTIONS"] = f"{asan}:quarantine_size_mb={ASAN_QUARANTINE_MIB}"
        try:
            belfry.start()
        finally:
            if asan is not None:
                os.environ["ASAN_OPTIONS"] = asan
        e2e.adopt(belfry.pid)
        echo = Load(LOAD_BUILD / "tests" / "bench" / "echo-load", ["belfry"], "echo")
        relay = Load(LOAD_BUILD / "tests" / "bench" / "call-load", ["ice"], "relay")
        first = relay.other.get(timeout=10)
        assert first and first.startswith("ports "), f"call-load: {first!r}"
        soak = Soak(prosody, echo, relay, None)
        bob = client(prosody, "bob", users["bob"], soak.route_bob)
        bob.send_raw("<presence xmlns='jabber:client'/>")   # proposals to bob@ reach it
        soak.bob = bob
        clients.append(bob)
        for k in range(CALLERS):
            c = Caller(soak, k)
            c.client = client(prosody, f"alice{k}", users[f"alice{k}"],
                              lambda el, c=c: c.q.put(("alice", el)))
            c.jid = c.client.full_jid
            clients.append(c.client)
            soak.callers.append(c)

        soak.churn("warmup", WARMUP_SECONDS)
        settle(belfry)
        rss0, fds0 = quiet_figures(belfry)
        heap0 = malloc_in_use(belfry)
        cpu0 = cpu_seconds(belfry.pid)
        t0 = time.monotonic()
        samples, stop = [], threading.Event()
        sampler = threading.Thread(target=sample, args=(belfry.pid, t0, samples, stop),
                                   daemon=True)
        sampler.start()
        soak.churn("soak", SOAK_SECONDS)
        elapsed = time.monotonic() - t0
        stop.set()
        sampler.join(30)
        sessions = settle(belfry)
        rss1, fds1 = quiet_figures(belfry, fds0)
        heap1 = malloc_in_use(belfry)
        cpu1 = cpu_seconds(belfry.pid)

        res = soak.results["soak"]
        failures = [r for r in res if r[2] is not None]
        wfail = [r for r in soak.results["warmup"] if r[2] is not None]
        SUMMARY.append(
            f"soak: {len(res)} calls in {elapsed:.0f} s ({len(res) / max(elapsed, 1):.2f}/s, "
            f"at most {CALLERS} at once, seed {SEED}), {len(failures)} failed; "
            f"warm-up {len(soak.results['warmup'])} calls, {len(wfail)} failed; "
            f"belfry {Path(harness.BELFRY_BIN).parent.parent.name}: {sessions} sessions, "
            f"VmRSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB "
            f"({(rss1 - rss0) / 1024:+.1f}), fds {len(fds0)} -> {len(fds1)} "
            f"{fd_kinds(fds1)}, CPU {cpu1 - cpu0:.1f} s ({100 * (cpu1 - cpu0) / elapsed:.0f} % "
            f"of a core)")
        SUMMARY.append("soak calls: " + describe(res))
        if heap0 and heap1:
            SUMMARY.append(f"soak: glibc malloc (system / in use, bytes): {heap0[0]} / {heap0[1]} "
                           f"-> {heap1[0]} / {heap1[1]} ({heap1[1] - heap0[1]:+d} in use)")
        step = max(1, len(samples) // 10)
        SUMMARY.append("soak: belfry's VmRSS (MiB) / open fds while calls came and went: " + ", ".join(
            f"{t:.0f} s {r / 1024:.1f}/{n}" for t, r, n in samples[::step]))
        for kind, ending, err, secs in (failures + wfail)[:30]:
            SUMMARY.append(f"soak failure: {kind}/{ending} after {secs:.1f} s: {err[:400]}")
        assert res, "no call was made"
        # Every call makes at least one session: fewer found means the log
        # lines settle() reads have changed, and it waited for nothing.
        assert sessions >= len(res), (
            f"belfry's log shows {sessions} sessions for {len(res)} calls: "
            "live_sessions() no longer matches its lines")
        assert len(failures) <= FAIL_FRACTION * len(res) and \
            len(wfail) <= max(1, FAIL_FRACTION * len(soak.results["warmup"])), (
            f"{len(failures)} of {len(res)} calls failed (and {len(wfail)} in the warm-up):\n"
            + "\n".join(f"{k}/{e}: {err}" for k, e, err, _ in (failures + wfail)[:30]))
        extra = {fd: t for fd, t in fds1.items() if fds0.get(fd) != t}
        gone = {fd: t for fd, t in fds0.items() if fds1.get(fd) != t}
        assert not extra and not gone, (
            f"belfry's open fds: {len(fds0)} at the start, {len(fds1)} at the end; new: {extra}; "
            f"closed or changed: {gone}")
        slack = max(RSS_SLACK_FRACTION * rss0, RSS_SLACK_MIB * 1024)
        assert rss1 <= rss0 + slack, (
            f"belfry's VmRSS grew from {rss0} KiB to {rss1} KiB (+{rss1 - rss0} KiB; allowed "
            f"+{slack:.0f} KiB)")
    finally:
        for c in clients:
            c.close()
        for ld in (echo, relay):
            if ld:
                ld.close()
        if belfry is not None:
            rc = None
            if belfry.running():
                rc, _ = belfry.terminate(signal.SIGTERM, timeout=120)
            prosody.close()
            # ASan's leak check at exit: exit code 23 (scripts/test.sh) is a leak.
            assert rc == 0, (f"belfry exited with {rc if rc is not None else belfry.proc.returncode}"
                             f" on SIGTERM (23: ASan found a leak); stderr:\n{belfry.log()[-8000:]}")
        else:
            prosody.close()
