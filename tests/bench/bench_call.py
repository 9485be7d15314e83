"""Call-relay benchmark (not a test): belfry's `call` module relaying N
two-leg calls (alice -> belfry -> bob, SRTP on both legs), against a minimal
SRTP forwarder and Debian's rtpengine, in the same run.

    /usr/bin/python3 tests/bench/bench_call.py          (after ninja -C build)
    --quick: fewer calls, shorter windows, smaller capacity steps

Everything runs inside a private network namespace (re-exec under
`unshare -n`, lo up; root needed); every address is 127.0.0.1.  The measured
process (belfry, the forwarder, rtpengine) is pinned to CPU 0; the load, this
driver, Prosody and the XMPP clients to CPU 1.

The load is tests/bench/call-load.c: one process plays alice and bob, so one
CLOCK_MONOTONIC clock stamps each packet when it is sent (in the payload) and
when it arrives at the other end (after recvmmsg): latency = relay + two
loopback hops + the load's own batching.  The "no relay" row (the load
sending straight to itself) is that floor.  Every packet arriving at a leg is
unprotected with that leg's key (libsrtp2 authentication), then checked in
full (SSRC unchanged, PT, call, direction, length, pattern, counters);
anything else is counted as bad.  Loss counts the packets sent inside the
window (send timestamp) that never arrived (300 ms drain after the window).

Rows, same pacing and sizes for the three relays (per call: one stream each
way; audio 172 B plain RTP at 50 pps per direction; video 1200 B at 100 pps
per direction):
* belfry: a real Prosody, belfry `[modules] load = call`, `[media]
  workers = 1`; alice (slixmpp) calls bob\\40localhost\\2fload@relay.localhost
  (full JID: belfry rings bob@localhost/load with a session-initiate, no JMI);
  bob (slixmpp, resource "load") answers.  Offers: audio Opus 111 + video VP8
  96, BUNDLE, XEP-0339 sources; the load's ICE (own STUN) and DTLS-SRTP
  (belfry's dtls.c) per leg.  Unit: packets relayed (received and verified
  by the load inside the window) per CPU-second of bf-media-0 (schedstat).
* forwarder: tests/bench/srtp-forwarder relay (2 sockets per call, epoll,
  recvmmsg/sendmmsg batch 64, libsrtp2 unprotect + protect with a different
  key per leg, SSRCs unchanged), AEAD_AES_128_GCM as belfry negotiates;
  CPU of the process.
* rtpengine 10.5 (userspace, --table=-1, one thread), driven over ng
  (offer/answer, ICE=remove), plain RTP/AVP; CPU of the process (all
  threads, schedstat).
* capacity: belfry with `[media] workers = 2` (both workers on CPU 0), audio
  calls stepped up until loss >= 0.1 %; VmRSS per call.
"""

import argparse
import os
import queue
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
sys.path.insert(0, str(REPO / "tests" / "integration"))

NS_CLIENT = "jabber:client"
NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_GROUPING = "urn:xmpp:jingle:apps:grouping:0"

AUDIO = ("audio", 172, 50)        # kind, plain RTP bytes, pps per direction
VIDEO = ("video", 1200, 100)
CALLEE = r"bob\40localhost\2fload@relay.localhost"
LOSS_LIMIT = 0.001


def q(ns, tag):
    return "{%s}%s" % (ns, tag)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# executables
# ---------------------------------------------------------------------------

def executables():
    dirs = []
    if os.environ.get("BENCH_BUILD"):
        dirs.append(Path(os.environ["BENCH_BUILD"]))
    dirs += [BUILD, REPO / "build-bench"]
    for d in dirs:
        load, fwd = d / "tests/bench/call-load", d / "tests/bench/srtp-forwarder"
        if load.exists() and fwd.exists():
            return load, fwd
    sys.exit("call-load / srtp-forwarder not built: `ninja -C build` (or set BENCH_BUILD)")


# ---------------------------------------------------------------------------
# CPU accounting
# ---------------------------------------------------------------------------

def tasks(pid):
    return sorted(os.listdir(f"/proc/{pid}/task"), key=int)


def thread_comm(pid, tid):
    try:
        return Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def schedstat_files(pid, names=None):
    """schedstat of the threads whose comm starts with one of names (all if None)."""
    out = [f"/proc/{pid}/task/{t}/schedstat" for t in tasks(pid)
           if names is None or any(thread_comm(pid, t).startswith(n) for n in names)]
    if not out:
        raise RuntimeError(f"no thread {names} in {pid}")
    return out


def vm_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stat_cpu_s(pid):
    """utime + stime of the whole process (/proc/PID/stat), seconds."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def parse_kv(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


# ---------------------------------------------------------------------------
# the load process (line protocol: see call-load.c)
# ---------------------------------------------------------------------------

class Load:
    def __init__(self, exe, mode):
        self.proc = subprocess.Popen(["taskset", "-c", "1", str(exe), mode],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.events = queue.Queue()     # (monotonic, str line | other event | None)
        self.pending = []
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        _, line = self.wait(lambda l: l.startswith("ports "), 10, "ports")
        self.ports = [int(x) for x in line.split()[1:3]]

    def _read(self):
        for line in self.proc.stdout:
            self.events.put((time.monotonic(), line.rstrip("\n")))
        self.events.put((time.monotonic(), None))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def next_event(self, timeout):
        """The next line or other event (None on timeout)."""
        try:
            t, ev = self.events.get(timeout=max(0.001, timeout))
        except queue.Empty:
            return None
        if ev is None:
            raise RuntimeError(f"load exited ({self.proc.poll()})")
        return t, ev

    def wait(self, pred, timeout, what):
        """First line matching pred; other items are kept for later."""
        for i, (t, ev) in enumerate(self.pending):
            if isinstance(ev, str) and pred(ev):
                del self.pending[i]
                return t, ev
        deadline = time.monotonic() + timeout
        while True:
            item = self.next_event(deadline - time.monotonic())
            if item is None:
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"load: no {what} within {timeout}s")
                continue
            t, ev = item
            if isinstance(ev, str):
                if ev.startswith("error") or " failed " in ev:
                    raise RuntimeError(f"load: {ev}")
                if pred(ev):
                    return t, ev
            self.pending.append(item)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)


def cpu_busy():
    """(busy, total) jiffies of CPUs 0 and 1 from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        m = re.match(r"cpu([01]) (.*)", line)
        if m:
            v = [int(x) for x in m.group(2).split()]
            out[int(m.group(1))] = (sum(v[:8]) - v[3] - v[4], sum(v[:8]))
    return out


QUIET_WAIT = 0.0      # seconds a window may wait for the machine to be quiet


def wait_quiet(max_wait, busy_limit=0.15):
    """Waits (bounded) until neither CPU is more than busy_limit busy over
    0.5 s (other work on this shared VM -- builds, tests -- would compete with
    the relay on CPU 0 or the load on CPU 1).  Returns the seconds waited, or
    None if it never got quiet."""
    t0 = time.monotonic()
    while True:
        a = cpu_busy()
        time.sleep(0.5)
        b = cpu_busy()
        frac = [(b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]) for c in (0, 1)]
        if max(frac) < busy_limit:
            return time.monotonic() - t0
        if time.monotonic() - t0 > max_wait:
            return None


def run_window(load, watch, n, media, seconds, warmup, cpu=0):
    """A measured window on the first n calls.  On this shared VM other work
    may land on CPU 0 during the window: then the window is run again (at
    most 3 times in all, each after waiting for quiet) and the least
    contended attempt is kept."""
    best = None
    attempts = 3 if QUIET_WAIT > 0 else 1
    for attempt in range(attempts):
        r = one_window(load, watch, n, media, seconds, warmup)
        r["attempts"] = attempt + 1
        key = f"other{cpu}"
        r["contention"] = r[key]
        if best is None or r[key] < best[key]:
            best = r
        if r[key] <= 0.05:
            break
    return best


def one_window(load, watch, n, media, seconds, warmup):
    kind, size, pps = media
    quiet = wait_quiet(QUIET_WAIT) if QUIET_WAIT > 0 else 0.0
    load.send("watch " + " ".join(watch))
    load.send(f"run {pps} {seconds} {warmup} {n} {size} {kind}")
    load.wait(lambda l: l == "window-start", warmup + 10, "window-start")
    load.wait(lambda l: l == "window-end", seconds + 10, "window-end")
    _, rep = load.wait(lambda l: l.startswith("window-report"), 10, "window-report")
    _, spikes = load.wait(lambda l: l.startswith("window-spikes"), 10, "window-spikes")
    kv = parse_kv(rep)
    kv["spikes"] = spikes.split()[1:]
    cpu = kv["target_cpu_ns"] / 1e9
    sent = max(1.0, kv["sent"])
    kv.update({
        "n": n, "kind": kind, "size": size, "pps": pps,
        "cpu_s": cpu,
        "per_cpu_s": kv["relayed"] / cpu if cpu > 0 else float("nan"),
        "util": cpu / kv["seconds"],
        "load_util": kv["load_cpu_ns"] / 1e9 / kv["seconds"],
        "loss": 1.0 - kv["received"] / sent,
        "relayed_pps": kv["relayed"] / kv["seconds"],
        "offered_pps": kv["sent"] / kv["seconds"],
        # CPU 0 time not spent by the measured threads (other processes on
        # this shared VM, or the relay's other threads), fraction of the window
        "other0": max(0.0, kv["busy0_ms"] / 1e3 - cpu) / kv["seconds"],
        "other1": max(0.0, kv["busy1_ms"] / 1e3 - kv["load_cpu_ns"] / 1e9) / kv["seconds"],
        "quiet": quiet,
    })
    time.sleep(0.2)
    return kv


def row_plan(ns, video_n):
    """Rows in increasing N (audio before video at the same N): belfry and
    rtpengine have exactly N calls set up for a row with N calls."""
    return sorted([(n, AUDIO) for n in ns] + [(video_n, VIDEO)], key=lambda r: (r[0], r[1] == VIDEO))


# ---------------------------------------------------------------------------
# baseline 1: the minimal forwarder
# ---------------------------------------------------------------------------

def run_forwarder(load_exe, fwd_exe, plan, seconds, warmup):
    nmax = max(n for n, _ in plan)
    fwd = subprocess.Popen(["taskset", "-c", "0", str(fwd_exe), "relay", str(nmax), "GCM"],
                           stdout=subprocess.PIPE, text=True)
    load = None
    try:
        ports = [int(x) for x in fwd.stdout.readline().split()[1:]]
        assert fwd.stdout.readline().strip() == "ready"
        load = Load(load_exe, "srtp")
        for i in range(nmax):
            load.send(f"call {i}")
            load.wait(lambda l, i=i: l == f"{i} ready", 5, "call")
            load.send(f"{i} a dest {ports[2 * i]}")
            load.send(f"{i} b dest {ports[2 * i + 1]}")
        watch = schedstat_files(fwd.pid)
        rows = {}
        for n, media in plan:
            rows[(n, media[0])] = run_window(load, watch, n, media, seconds, warmup)
        return rows
    finally:
        if load:
            load.close()
        fwd.terminate()
        fwd.wait(10)


def run_direct(load_exe, plan, seconds, warmup):
    """No relay: the load's latency floor (and its own CPU)."""
    nmax = max(n for n, _ in plan)
    load = Load(load_exe, "direct")
    try:
        for i in range(nmax):
            load.send(f"call {i}")
            load.wait(lambda l, i=i: l == f"{i} ready", 5, "call")
        return {(n, media[0]): run_window(load, [], n, media, seconds, warmup, cpu=1)
                for n, media in plan}
    finally:
        load.close()


# ---------------------------------------------------------------------------
# baseline 2: rtpengine over its ng protocol
# ---------------------------------------------------------------------------

def bencode(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in x) + b"e"
    if isinstance(x, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in x.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(type(x))


def bdecode(data, i=0):
    """(value, next index); byte strings are decoded as UTF-8 when possible."""
    c = data[i:i + 1]
    if c == b"i":
        j = data.index(b"e", i)
        return int(data[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1
        items = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2])), i + 1
    j = data.index(b":", i)
    n = int(data[i:j])
    s = data[j + 1:j + 1 + n]
    try:
        s = s.decode()
    except UnicodeDecodeError:
        pass
    return s, j + 1 + n


class Ng:
    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.seq = 0

    def __call__(self, msg, timeout=5.0):
        self.seq += 1
        cookie = f"{os.getpid()}_{self.seq}".encode()
        data = cookie + b" " + bencode(msg)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.sendto(data, self.addr)
            self.sock.settimeout(0.5)
            try:
                reply, _ = self.sock.recvfrom(65536)
            except (socket.timeout, ConnectionRefusedError):
                continue
            ck, _, body = reply.partition(b" ")
            if ck == cookie:
                return bdecode(body)[0]
        raise RuntimeError(f"rtpengine: no ng reply to {msg.get('command')}")

    def close(self):
        self.sock.close()


def sdp(port, sess):
    return ("v=0\r\n"
            f"o=- {sess} 1 IN IP4 127.0.0.1\r\n"
            "s=bench\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            f"m=audio {port} RTP/AVP 111\r\n"
            "a=rtpmap:111 opus/48000/2\r\n"
            "a=sendrecv\r\n"
            f"m=video {port} RTP/AVP 96\r\n"
            "a=rtpmap:96 VP8/90000\r\n"
            "a=sendrecv\r\n")


def sdp_ports(text):
    audio = re.search(r"^m=audio (\d+) ", text, re.M)
    video = re.search(r"^m=video (\d+) ", text, re.M)
    conn = re.findall(r"^c=IN IP4 (\S+)", text, re.M)
    if not audio or not video or any(c != "127.0.0.1" for c in conn):
        raise RuntimeError(f"rtpengine SDP not understood:\n{text}")
    return int(audio.group(1)), int(video.group(1))


def run_rtpengine(load_exe, plan, seconds, warmup, tmp):
    import harness
    nmax = max(n for n, _ in plan)
    port = harness.free_port()
    logf = tmp / "rtpengine.log"
    args = ["taskset", "-c", "0", "/usr/bin/rtpengine", "--config-file=none", "--foreground",
            "--log-stderr", "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{port}",
            "--table=-1", "--num-threads=1", "--timeout=600"]
    with open(logf, "wb") as lf:
        eng = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)
    ng = Ng(port)
    load = None
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if ng({"command": "ping"}, 1.0).get("result") == "pong":
                    break
            except RuntimeError:
                pass
            if eng.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("rtpengine did not answer ping: " + logf.read_text()[-2000:])
        version = subprocess.run(["/usr/bin/rtpengine", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True).stdout.strip() or "?"
        load = Load(load_exe, "plain")
        pa, pb = load.ports
        made = 0

        def setup(upto):
            nonlocal made
            for i in range(made, upto):
                setup_one(i)
            made = max(made, upto)

        def setup_one(i):
            load.send(f"call {i}")
            load.wait(lambda l, i=i: l == f"{i} ready", 5, "call")
            cid = f"bench-{i}-{os.urandom(3).hex()}"
            r = ng({"command": "offer", "call-id": cid, "from-tag": f"alice{i}",
                    "sdp": sdp(pa, 1000 + i), "ICE": "remove"})
            if r.get("result") != "ok":
                raise RuntimeError(f"rtpengine offer: {r}")
            to_bob = sdp_ports(r["sdp"])         # where bob sends
            r = ng({"command": "answer", "call-id": cid, "from-tag": f"alice{i}",
                    "to-tag": f"bob{i}", "sdp": sdp(pb, 2000 + i), "ICE": "remove"})
            if r.get("result") != "ok":
                raise RuntimeError(f"rtpengine answer: {r}")
            to_alice = sdp_ports(r["sdp"])       # where alice sends
            load.send(f"{i} a dest {to_alice[0]} {to_alice[1]}")
            load.send(f"{i} b dest {to_bob[0]} {to_bob[1]}")
        watch = schedstat_files(eng.pid)
        rows = {}
        for n, media in plan:
            setup(n)
            s0 = stat_cpu_s(eng.pid)
            rows[(n, media[0])] = r = run_window(load, watch, n, media, seconds, warmup)
            r["stat_cpu_s"] = stat_cpu_s(eng.pid) - s0
        text = logf.read_text(errors="replace")
        stalls = text.count("Too many packets in UDP receive queue")
        return rows, version, stalls
    finally:
        if load:
            load.close()
        ng.close()
        eng.terminate()
        try:
            eng.wait(10)
        except subprocess.TimeoutExpired:
            eng.kill()
            eng.wait(5)


# ---------------------------------------------------------------------------
# belfry: Jingle through Prosody, media by the load
# ---------------------------------------------------------------------------

class Jingle:
    """An XMPP client that acknowledges every Jingle request at once and
    hands the request to the load's event queue as ("xmpp", who, element)."""

    def __init__(self, harness, prosody, user, resource, sink, who):
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        self.c = harness.Client(f"{user}@{harness.DOMAIN}/{resource}", harness.USERS[user],
                                prosody.c2s_port)
        self.full_jid = self.c.full_jid

        def on_jingle(iq):
            if iq["type"] != "set":
                return
            el = ET.fromstring(ET.tostring(iq.xml))
            iq.reply(clear=True).send()
            sink.put((time.monotonic(), ("xmpp", who, el)))

        async def register():
            self.c.xmpp.register_handler(Callback(
                f"bench {who}", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)),
                on_jingle))

        self.c._call(register(), 5)
        # keep the harness' record of everything received from growing without
        # bound (it is only used for diagnostics here)
        self.c.received = _Bounded()

    def send(self, xml):
        self.c.send_raw(xml)

    def close(self):
        self.c.close()


class _Bounded(list):
    def append(self, x):
        super().append(x)
        if len(self) > 200:
            del self[:100]


def candidates_xml(cands):
    return "".join(
        f"<candidate component='{c[1]}' foundation='{c[0]}' generation='0' id='c{k}' "
        f"ip='{c[3]}' network='0' port='{c[4]}' priority='{c[5]}' protocol='udp' type='{c[2]}'/>"
        for k, c in enumerate(cands))


def transport_xml(creds, fp, setup, cands):
    return (f"<transport xmlns='{NS_ICE}' ufrag={quoteattr(creds[0])} pwd={quoteattr(creds[1])}>"
            f"<fingerprint xmlns='{NS_DTLS}' hash={quoteattr(fp[0])} setup='{setup}'>{fp[1]}"
            f"</fingerprint>{candidates_xml(cands)}</transport>")


def contents_xml(tr, ssrc_audio, ssrc_video, cname):
    audio = (f"<description xmlns='{NS_RTP}' media='audio'>"
             "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
             f"<source xmlns='{NS_SSMA}' ssrc='{ssrc_audio}'>"
             f"<parameter name='cname' value='{cname}'/></source><rtcp-mux/></description>")
    video = (f"<description xmlns='{NS_RTP}' media='video'>"
             "<payload-type id='96' name='VP8' clockrate='90000'/>"
             f"<source xmlns='{NS_SSMA}' ssrc='{ssrc_video}'>"
             f"<parameter name='cname' value='{cname}'/></source><rtcp-mux/></description>")
    return (f"<content creator='initiator' name='a0' senders='both'>{audio}{tr}</content>"
            f"<content creator='initiator' name='v1' senders='both'>{video}{tr}</content>"
            f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
            "<content name='a0'/><content name='v1'/></group>")


def iq_set(to, jingle):
    return (f"<iq xmlns='{NS_CLIENT}' type='set' to={quoteattr(to)} "
            f"id='b{os.urandom(5).hex()}'>{jingle}</iq>")


def parse_transport(j):
    """(ufrag, pwd, (hash, fp, setup) or None, [candidate lines]) of the first
    content's ICE transport."""
    tr = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_ICE, 'transport')}")
    if tr is None:
        return None, None, None, []
    fpe = tr.find(q(NS_DTLS, "fingerprint"))
    fp = (fpe.get("hash"), fpe.text.strip(), fpe.get("setup")) if fpe is not None else None
    cands = [f"{c.get('foundation')} {c.get('component')} {c.get('type')} {c.get('ip')} "
             f"{c.get('port')} {c.get('priority')}"
             for c in tr.findall(q(NS_ICE, "candidate"))
             if (c.get("protocol") or "udp").lower() == "udp"]
    return tr.get("ufrag"), tr.get("pwd"), fp, cands


class CallState:
    def __init__(self, i):
        self.i = i
        self.info = {"a": {"cands": []}, "b": {"cands": []}}
        self.a_sid = f"bench{i}-{os.urandom(4).hex()}"
        self.b_sid = self.b_from = None
        self.t0 = None
        self.keyed = set()
        self.profiles = {}
        self.done = None


class Calls:
    """Sets up calls through belfry, several at a time."""

    def __init__(self, load, alice, bob):
        self.load, self.alice, self.bob = load, alice, bob
        self.calls = []
        self.by_b_sid = {}
        self.by_a_sid = {}

    def _info_complete(self, c, side):
        i = c.info[side]
        return "creds" in i and "fp" in i and i.get("gathered")

    def _initiate(self, c):
        a = c.info["a"]
        tr = transport_xml(a["creds"], a["fp"], "actpass", a["cands"])
        body = contents_xml(tr, 0x10000000 + c.i, 0x18000000 + c.i, f"alice{c.i}")
        j = (f"<jingle xmlns='{NS_JINGLE}' action='session-initiate' sid={quoteattr(c.a_sid)} "
             f"initiator={quoteattr(self.alice.full_jid)}>{body}</jingle>")
        c.t0 = time.monotonic()
        self.alice.send(iq_set(CALLEE, j))

    def _answer_b(self, c):
        b = c.info["b"]
        tr = transport_xml(b["creds"], b["fp"], "active", b["cands"])
        body = contents_xml(tr, 0x20000000 + c.i, 0x28000000 + c.i, f"bob{c.i}")
        j = (f"<jingle xmlns='{NS_JINGLE}' action='session-accept' sid={quoteattr(c.b_sid)} "
             f"initiator={quoteattr(c.b_from)} responder={quoteattr(self.bob.full_jid)}>"
             f"{body}</jingle>")
        self.bob.send(iq_set(c.b_from, j))

    def _remote(self, c, side, j, role, our_setup):
        ufrag, pwd, fp, cands = parse_transport(j)
        if ufrag is None or fp is None:
            raise RuntimeError(f"call {c.i}: no ICE transport/fingerprint in "
                               + ET.tostring(j, encoding="unicode")[:2000])
        self.load.send(f"{c.i} {side} remote-ice {ufrag} {pwd} {role}")
        self.load.send(f"{c.i} {side} remote-dtls {our_setup} {fp[0]} {fp[1]}")
        for cand in cands:
            self.load.send(f"{c.i} {side} candidate {cand}")

    def _on_xmpp(self, who, el):
        j = el.find(q(NS_JINGLE, "jingle"))
        action, sid = j.get("action"), j.get("sid")
        if who == "bob" and action == "session-initiate":
            src = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_RTP, 'description')}/{q(NS_SSMA, 'source')}")
            i = int(src.get("ssrc")) - 0x10000000 if src is not None else -1
            if not 0 <= i < len(self.calls):
                raise RuntimeError("bob: session-initiate for no known call: "
                                   + ET.tostring(j, encoding="unicode")[:2000])
            c = self.calls[i]
            c.b_sid, c.b_from = sid, el.get("from")
            self.by_b_sid[sid] = c
            # belfry placed the call: it is the ICE controlling agent and
            # offered actpass; bob answers active
            self._remote(c, "b", j, "controlling", "active")
            self._answer_b(c)
            return
        c = (self.by_b_sid if who == "bob" else self.by_a_sid).get(sid)
        if c is None:
            return
        if action == "session-accept" and who == "alice":
            _, _, fp, _ = parse_transport(j)
            ours = "passive" if fp and fp[2] == "active" else "active"
            self._remote(c, "a", j, "controlled", ours)
        elif action == "transport-info":
            _, _, _, cands = parse_transport(j)
            side = "a" if who == "alice" else "b"
            for cand in cands:
                self.load.send(f"{c.i} {side} candidate {cand}")
        elif action == "session-terminate":
            r = j.find(q(NS_JINGLE, "reason"))
            raise RuntimeError(f"call {c.i}: {who}'s leg terminated by belfry: "
                               + (ET.tostring(r, encoding="unicode") if r is not None else "?"))

    def _on_line(self, t, line):
        parts = line.split()
        if len(parts) < 2 or not parts[0].isdigit():
            return
        i = int(parts[0])
        if i >= len(self.calls):
            return
        c = self.calls[i]
        if parts[1] == "media-ok":
            c.done = int(parts[2]) / 1e6 - c.t0
            return
        if parts[1] == "failed":
            raise RuntimeError(f"load: {line}")
        side, what = parts[1], parts[2] if len(parts) > 2 else ""
        info = c.info.get(side)
        if info is None:
            return
        if what == "credentials":
            info["creds"] = (parts[3], parts[4])
        elif what == "fingerprint":
            info["fp"] = (parts[3], parts[4])
        elif what == "candidate":
            info["cands"].append(parts[3:9])
        elif what == "gathering-done":
            info["gathered"] = True
            if side == "a":
                self._initiate(c)
        elif what == "dtls-connected":
            c.keyed.add(side)
            c.profiles[side] = parts[3]
            if c.keyed == {"a", "b"}:
                self.load.send(f"probe {i}")

    def setup(self, upto, parallel=16, per_call_timeout=30.0):
        """Sets up calls len(self.calls)..upto-1; returns their setup times."""
        start = len(self.calls)
        nxt = start
        deadline = time.monotonic() + per_call_timeout * max(1, (upto - start) / parallel) + 30
        while True:
            active = [c for c in self.calls[start:] if c.done is None]
            while nxt < upto and len(active) < parallel:
                c = CallState(nxt)
                self.calls.append(c)
                self.by_a_sid[c.a_sid] = c
                self.load.send(f"call {nxt}")
                active.append(c)
                nxt += 1
            if not active and nxt >= upto:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"call setup: {len(active)} calls still not up "
                                   f"(first: {active[0].i}, keyed {active[0].keyed})")
            items = self.load.pending
            self.load.pending = []
            if not items:
                item = self.load.next_event(1.0)
                items = [item] if item else []
            for t, ev in items:
                if isinstance(ev, str):
                    if ev.startswith("error"):
                        raise RuntimeError(f"load: {ev}")
                    self._on_line(t, ev)
                else:
                    self._on_xmpp(ev[1], ev[2])
        return [c.done for c in self.calls[start:upto]]


def start_belfry(harness, prosody, tmp, workers, max_calls):
    groups = {"media": {"addresses": "127.0.0.1", "workers": str(workers),
                        "max-sessions": str(max(1000, 2 * max_calls + 10))},
              "call": {"max-calls-per-jid": str(min(1000, max(4, max_calls)))}}
    b = harness.Belfry(tmp / f"belfry-w{workers}", port=prosody.component_port,
                       modules="call", groups=groups)
    b.start()
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(b.pid)], check=True,
                   capture_output=True)
    return b


def belfry_session(harness, tmp, workers, max_calls, body):
    """Prosody + belfry + alice + bob + a load in ice mode; runs body(ctx)."""
    prosody = harness.Prosody()
    prosody.start()
    belfry = alice = bob = load = None
    try:
        belfry = start_belfry(harness, prosody, tmp, workers, max_calls)
        load = Load(LOAD_EXE, "ice")
        alice = Jingle(harness, prosody, "alice", "bench", load.events, "alice")
        bob = Jingle(harness, prosody, "bob", "load", load.events, "bob")
        calls = Calls(load, alice, bob)
        return body(belfry, load, calls)
    except Exception:
        if belfry is not None:
            log("belfry log tail:\n" + belfry.log()[-4000:])
        raise
    finally:
        if load:
            try:
                load.send("stats")
                _, st = load.wait(lambda l: l.startswith("stats"), 5, "stats")
                log(f"load totals: {st}")
            except Exception:
                pass
            load.close()
        for c in (alice, bob):
            if c:
                c.close()
        if belfry and belfry.running():
            belfry.terminate()
        prosody.close()


def perf_top(pid, tid, seconds, tmp):
    """perf record (call graphs) of one thread for a few seconds: the top
    symbols by self time, and the inclusive share of a few entry points."""
    if not shutil.which("perf"):
        return None
    data = tmp / f"perf-{tid}.data"
    r = subprocess.run(["perf", "record", "-q", "-g", "-t", str(tid), "-o", str(data), "--",
                        "sleep", str(seconds)], capture_output=True, text=True, timeout=seconds + 30)
    if r.returncode != 0:
        return f"perf record failed: {r.stderr.strip()[:300]}"

    def report(*extra):
        r = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none"]
                           + list(extra), capture_output=True, text=True, timeout=120)
        return [l for l in r.stdout.splitlines() if l.strip() and not l.startswith("#")]

    out = ["self time, top symbols:"]
    out += ["  " + " ".join(l.split()[:1] + l.split()[1:4]) for l in
            report("--no-children", "--percent-limit", "2", "--sort", "dso,symbol")[:14]]
    inclusive = {}
    for l in report("--children", "--percent-limit", "0.5", "--sort", "symbol"):
        f = l.split()
        if len(f) >= 4 and f[2] in ("[.]", "[k]"):
            inclusive[f[3]] = f[0]
    wanted = ["__poll", "g_main_context_check", "g_main_context_prepare", "g_source_ref",
              "g_source_unref", "__libc_recvmsg", "__libc_sendmsg", "srtp_protect",
              "srtp_unprotect"]
    out.append("inclusive: " + ", ".join(f"{w} {inclusive[w]}" for w in wanted if w in inclusive))
    return "\n".join(out)


def run_belfry_rows(harness, tmp, plan, seconds, warmup, want_perf):
    nmax = max(n for n, _ in plan)
    out = {}

    def body(belfry, load, calls):
        rss0 = vm_rss_kb(belfry.pid)
        watch = schedstat_files(belfry.pid, ["bf-media-0"])
        worker_tid = watch[0].split("/")[4]
        rows = {}
        setups = []
        for n, media in plan:
            if n > len(calls.calls):
                t = time.monotonic()
                setups += calls.setup(n)
                log(f"belfry: {n} calls up ({time.monotonic() - t:.1f} s)")
            rows[(n, media[0])] = run_window(load, watch, n, media, seconds, warmup)
        out["setups"] = setups
        out["profiles"] = sorted({p for c in calls.calls for p in c.profiles.values()})
        out["rss_per_call_kb"] = (vm_rss_kb(belfry.pid) - rss0) / nmax
        # the same few active calls with every other call set up but idle:
        # what idle sessions cost the worker per packet
        audio_ns = [n for n, m in plan if m == AUDIO and n > 1]
        small = min(audio_ns) if audio_ns else nmax
        if small < nmax:
            out["few_of_many"] = (small, nmax, run_window(load, watch, small, AUDIO, seconds,
                                                           warmup))
        c0 = sum(int(Path(f).read_text().split()[0]) for f in watch)
        time.sleep(2.0)
        out["idle"] = (sum(int(Path(f).read_text().split()[0]) for f in watch) - c0) / 2e9
        out["rows"] = rows
        if want_perf:
            # what the worker does with nmax audio calls, paced
            load.send(f"run {AUDIO[2]} {seconds + 4} 0.5 {nmax} {AUDIO[1]} audio")
            load.wait(lambda l: l == "window-start", 10, "window-start")
            out["perf"] = perf_top(belfry.pid, worker_tid, min(4, seconds), tmp)
            load.wait(lambda l: l.startswith("window-report"), seconds + 20, "window-report")
        out["log_tail"] = belfry.log()[-1500:]
        return out

    return belfry_session(harness, tmp, 1, nmax, body)


def run_capacity(harness, tmp, steps, seconds, warmup, time_budget):
    """belfry with workers = 2: audio calls stepped up until loss >= 0.1 %."""
    res = {"steps": [], "held": 0, "stopped": None}
    started = time.monotonic()

    def body(belfry, load, calls):
        rss0 = vm_rss_kb(belfry.pid)
        res["rss0_kb"] = rss0
        for n in steps:
            if time.monotonic() - started > time_budget:
                res["stopped"] = f"time budget ({time_budget:.0f} s) used up before N={n}"
                break
            t = time.monotonic()
            try:
                calls.setup(n)
            except RuntimeError as e:
                res["stopped"] = f"call setup failed towards N={n}: {e}"
                break
            setup_s = time.monotonic() - t
            watch = schedstat_files(belfry.pid, ["bf-media-"])
            r = run_window(load, watch, n, AUDIO, seconds, warmup)
            r["rss_kb"] = vm_rss_kb(belfry.pid)
            r["rss_per_call_kb"] = (r["rss_kb"] - rss0) / n
            r["setup_s"] = setup_s
            r["workers"] = len(watch)
            res["steps"].append(r)
            log(f"capacity N={n}: loss {100 * r['loss']:.3f}%, workers {100 * r['util']:.0f}% "
                f"of CPU 0, load {100 * r['load_util']:.0f}% of CPU 1, p99 "
                f"{r['lat_p99_us'] / 1e3:.1f} ms, RSS/call {r['rss_per_call_kb']:.0f} KiB, "
                f"steal CPU0 {int(r['steal0_ms'])} ms, other on CPU0 {100 * r['other0']:.0f}%, "
                f">5 ms episodes {int(r['spike_episodes'])}")
            if r["loss"] >= LOSS_LIMIT or r["bad"] > 0:
                res["stopped"] = f"loss {100 * r['loss']:.2f}% at N={n}"
                break
            res["held"] = n
            if r["load_util"] > 0.95:
                res["stopped"] = f"the load saturated CPU 1 at N={n} (inconclusive above)"
                break
        else:
            res["stopped"] = f"largest step ({steps[-1]}) held"
        return res

    return belfry_session(harness, tmp, 2, steps[-1], body)


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (k - lo)


def k(x):
    return f"{x / 1e3:.1f}k" if x == x else "–"


def lat(r):
    return f"{r['lat_p50_us'] / 1e3:.2f} / {r['lat_p99_us'] / 1e3:.2f}"


def mark(r):
    return " †" if r["contention"] > 0.05 else ""


def describe_row(label, r, cpu_label):
    return (f"| {label}{mark(r)} | {r['n']} | {r['kind']} {int(r['size'])} B, {int(r['pps'])} pps×2 | "
            f"{r['offered_pps']:.0f} | {k(r['per_cpu_s'])} | {100 * r['util']:.1f}% {cpu_label} | "
            f"{lat(r)} | {100 * r['loss']:.3f}% | {int(r['bad'])} |")


def main():
    global LOAD_EXE
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sessions", default=None, help="audio N list (default 1,10,50)")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--only", default="direct,forwarder,rtpengine,belfry,capacity")
    ap.add_argument("--capacity-steps", default=None)
    ap.add_argument("--perf", action="store_true", help="perf profile of bf-media-0")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="seconds each window may wait for both CPUs to be idle (default 30, "
                    "--quick 0)")
    args = ap.parse_args()

    if os.environ.get("BENCH_CALL_NETNS") != "1":
        if os.geteuid() != 0:
            sys.exit("needs root (unshare -n)")
        os.environ["BENCH_CALL_NETNS"] = "1"
        r = subprocess.run(["unshare", "-n", "sh", "-c",
                            'ip link set lo up && exec "$0" "$@"', sys.executable] + sys.argv)
        sys.exit(r.returncode)

    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 CPUs (relay on CPU 0, load on CPU 1)")
    os.sched_setaffinity(0, {1})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    LOAD_EXE, fwd_exe = executables()
    import harness
    only = set(args.only.split(","))
    if args.quick:
        ns = [1, 10]
        video_n = 2
        seconds, warmup = 2.0, 0.5
        steps = [20, 50, 100]
        budget = 120
    else:
        ns = [1, 10, 50]
        video_n = 10
        seconds, warmup = 5.0, 1.0
        steps = [50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000]
        budget = 1500
    global QUIET_WAIT
    QUIET_WAIT = args.quiet_wait if args.quiet_wait is not None else (0 if args.quick else 30)
    if args.sessions:
        ns = [int(x) for x in args.sessions.split(",")]
    if args.seconds:
        seconds = args.seconds
    if args.capacity_steps:
        steps = [int(x) for x in args.capacity_steps.split(",")]
    plan = row_plan(ns, video_n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-call-"))
    res = {}
    t_start = time.monotonic()
    try:
        if "direct" in only:
            log("no relay (load to itself)")
            res["direct"] = run_direct(LOAD_EXE, plan, seconds, warmup)
        if "forwarder" in only:
            log("minimal SRTP forwarder")
            res["forwarder"] = run_forwarder(LOAD_EXE, fwd_exe, plan, seconds, warmup)
        if "rtpengine" in only:
            log("rtpengine")
            res["rtpengine"] = run_rtpengine(LOAD_EXE, plan, seconds, warmup, tmp)
        if "belfry" in only:
            log("belfry call relay, workers = 1")
            res["belfry"] = run_belfry_rows(harness, tmp, plan, seconds, warmup, args.perf)
        if "capacity" in only:
            log("belfry capacity, workers = 2")
            res["capacity"] = run_capacity(harness, tmp, steps, seconds, warmup, budget)
    finally:
        if not os.environ.get("BELFRY_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
    report(res, plan, seconds, warmup, time.monotonic() - t_start)


def report(res, plan, seconds, warmup, elapsed):
    print()
    print(f"Conditions: {os.cpu_count()} vCPUs ({platform_cpu()}), private netns, loopback "
          f"127.0.0.1; relay pinned to CPU 0, load/driver/Prosody on CPU 1; {seconds:.0f} s "
          f"windows after {warmup:.1f} s warm-up, 300 ms drain; run took {elapsed:.0f} s. "
          "'pps offered' counts both directions; 'per CPU-s' is relayed packets per "
          "CPU-second of the relay (belfry: its bf-media-0 thread; others: the process).")
    print()
    print("| relay | calls | stream | pps offered | relayed per CPU-s | relay CPU | "
          "latency p50 / p99 (ms) | loss | bad |")
    print("|---|---|---|---|---|---|---|---|---|")
    b = res.get("belfry")
    f = res.get("forwarder")
    e = res.get("rtpengine")
    d = res.get("direct")
    for n, media in plan:
        key = (n, media[0])
        if b:
            print(describe_row(f"belfry call, SRTP both legs ({','.join(b['profiles'])})",
                               b["rows"][key], "of bf-media-0"))
        if f:
            print(describe_row("minimal forwarder, SRTP GCM both legs", f[key], "of CPU"))
        if e:
            print(describe_row("rtpengine 10.5, plain RTP", e[0][key], "of CPU"))
        if d:
            r = d[key]
            print(f"| no relay (load to itself){mark(r)} | {n} | {media[0]} {media[1]} B | "
                  f"{r['offered_pps']:.0f} | – | – | {lat(r)} | {100 * r['loss']:.3f}% | "
                  f"{int(r['bad'])} |")
    print()
    if b and (f or e):
        print("| ratio (same run) | " + " | ".join(f"{m[0]} N={n}" for n, m in plan) + " |")
        print("|---|" + "---|" * len(plan))
        if f:
            print("| belfry / forwarder, per CPU-s (goal ≥ 80 %) | " + " | ".join(
                f"{100 * b['rows'][(n, m[0])]['per_cpu_s'] / f[(n, m[0])]['per_cpu_s']:.0f}%"
                for n, m in plan) + " |")
        if e:
            print("| belfry / rtpengine, per CPU-s (goal > 100 %) | " + " | ".join(
                f"{100 * b['rows'][(n, m[0])]['per_cpu_s'] / e[0][(n, m[0])]['per_cpu_s']:.0f}%"
                for n, m in plan) + " |")
        print()
    cap = res.get("capacity")
    if cap:
        print("| belfry workers = 2 (both on CPU 0), audio calls | pps offered | relayed "
              "| loss | workers' CPU | load CPU | latency p50 / p99 (ms) | VmRSS | per call |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in cap["steps"]:
            print(f"| {r['n']}{mark(r)} | {r['offered_pps']:.0f} | {r['relayed_pps']:.0f} | "
                  f"{100 * r['loss']:.3f}% | {100 * r['util']:.0f}% | {100 * r['load_util']:.0f}% | "
                  f"{lat(r)} | {r['rss_kb'] / 1024:.1f} MiB | {r['rss_per_call_kb']:.0f} KiB |")
        print(f"\nCapacity (< {100 * LOSS_LIMIT:.1f}% loss): **{cap['held']} calls** held; "
              f"stopped: {cap['stopped']}; VmRSS before calls {cap['rss0_kb'] / 1024:.1f} MiB.")
    if b:
        ms = [s * 1e3 for s in b["setups"] if s is not None]
        if ms:
            print(f"belfry call setup (alice's session-initiate sent -> media verified both ways), "
                  f"{len(ms)} calls, 16 in parallel: median {statistics.median(ms):.0f} ms, "
                  f"p95 {pct(ms, 95):.0f} ms")
        if b.get("few_of_many"):
            small, many, r = b["few_of_many"]
            base = b["rows"][(small, "audio")]
            print(f"belfry, {small} active audio calls while {many} are set up ({many - small} "
                  f"idle): {k(r['per_cpu_s'])} relayed per CPU-s, {100 * r['util']:.1f}% of "
                  f"bf-media-0, latency p50/p99 {lat(r)} ms (with only {small} set up: "
                  f"{k(base['per_cpu_s'])}, {100 * base['util']:.1f}%)")
        print(f"belfry bf-media-0 with {len(b['setups'])} calls up and no media: "
              f"{100 * b['idle']:.1f}% of a core; VmRSS per call (workers = 1, "
              f"{len(b['setups'])} calls): {b['rss_per_call_kb']:.0f} KiB")
        if b.get("perf"):
            print("\nperf, bf-media-0 (all calls, audio, paced):\n" + b["perf"])
    if e:
        print(f"rtpengine: {e[1].splitlines()[0] if e[1] else '?'}; "
              f"'Too many packets in UDP receive queue' lines: {e[2]}")
        for key, r in e[0].items():
            print(f"  rtpengine {key}: CPU by schedstat {r['cpu_s']:.3f} s, by /proc/PID/stat "
                  f"utime+stime {r['stat_cpu_s']:.2f} s")
    print("\n† other processes (not the relay) used more than 5 % of CPU 0 (no-relay rows: of "
          "CPU 1, beside the load) during that "
          "window even in the best of 3 attempts (this VM is shared): its figures are suspect.")
    print("\ndetails:")
    for name in ("belfry", "forwarder", "rtpengine", "direct"):
        rows = res.get(name)
        if not rows:
            continue
        rows = rows["rows"] if name == "belfry" else rows[0] if name == "rtpengine" else rows
        for key, r in rows.items():
            print(f"  {name:9s} N={r['n']:<4d} {r['kind']:5s} (attempt {r['attempts']}) relayed {r['relayed_pps']:7.0f} pps, "
                  f"sent {r['offered_pps']:7.0f} pps, loss a->b {loss(r, 'ab')} b->a "
                  f"{loss(r, 'ba')}, bad {int(r['bad'])}, reordered {int(r['reordered'])}, "
                  f"lat p99.9 {r['lat_p999_us'] / 1e3:.2f} ms max {r['lat_max_us'] / 1e3:.2f} ms, "
                  f"load CPU {100 * r['load_util']:.0f}%, other on CPU0/1 {100 * r['other0']:.0f}%/"
                  f"{100 * r['other1']:.0f}%, steal CPU0/1 {int(r['steal0_ms'])}/"
                  f"{int(r['steal1_ms'])} ms, >5 ms episodes {int(r['spike_episodes'])}"
                  + (f" (send time:latency:call: {' '.join(r['spikes'][:8])})" if r['spikes'] else ""))


def loss(r, d):
    s = r[f"sent_{d}"]
    return f"{100 * (1 - r[f'received_{d}'] / s):.3f}%" if s else "–"


def platform_cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


LOAD_EXE = None

if __name__ == "__main__":
    main()
