"""Call-relay benchmark (not a test): belfry's `call` module relaying N
two-leg calls (alice -> belfry -> bob, SRTP on both legs), against a minimal
SRTP forwarder and Debian's rtpengine, in the same run.

    /usr/bin/python3 tests/bench/bench_call.py          (after ninja -C build)
    --quick: N = 1, 10, one round of 2 s windows, capacity up to 100 calls,
        idle 100/10, a 3 s overload
    --only direct,forwarder,rtpengine,belfry,belfry-shared (the rows; belfry-shared:
        belfry with `[media] shared-port = 0`, beside the default; belfry-before:
        the belfry binary given by --before-bin, e.g. a build from before a
        change, in the same run), idle, capacity,
        overload; --sessions 500,2000 (audio rows); --idle 1000/10;
        --capacity-cpus shared|split; --overload-calls/-factor/-seconds
    --perf: also a perf profile of belfry's media worker

Everything runs inside a private network namespace (re-exec under
`unshare -n`, lo up; root needed); every address is 127.0.0.1.  The measured
process (belfry, the forwarder, rtpengine) is pinned to CPU 0; the loads,
this driver, Prosody and the XMPP clients to CPU 1.  All three relays are up
at once (each with its own load process): for each row, 3 rounds of one
window per relay back to back (order rotated), the median reported and the
ratios taken between windows of the same round.  A window during which
others took more than 10 % of CPU 0 is run again (once); this VM is shared.

The load is tests/bench/call-load.c: one process plays alice and bob, so one
CLOCK_MONOTONIC clock stamps each packet when it is sent (in the payload) and
when it arrived at the other end (the kernel's SO_TIMESTAMPNS, mapped onto
CLOCK_MONOTONIC): latency = relay + two loopback hops.  The load drains its
sockets every 1 ms instead of being woken per packet, so a relay never pays
for waking it (a relay's peers are across a NIC).  The "no relay" row (the
load sending straight to itself) is the floor.  Every packet arriving at a
leg is unprotected with that leg's key (libsrtp2 authentication), then
checked in full (SSRC unchanged, PT, call, direction, length, pattern,
counters); anything else counts as bad.  Loss counts the packets sent inside
the window (send timestamp) that never arrived (300 ms drain).

Rows, same pacing and sizes for the three relays (per call one stream each
way; audio 172 B plain RTP at 50 pps per direction; video 1200 B at 100 pps
per direction); a row with N calls has exactly N calls set up:
* belfry: a real Prosody, belfry `[modules] load = call`, `[media]
  workers = 1`; alice (slixmpp) calls bob\\40localhost\\2fload@relay.localhost
  (full JID: belfry rings bob@localhost/load with a session-initiate, no JMI);
  bob (slixmpp, resource "load") answers.  Offers: audio Opus 111 + video VP8
  96, BUNDLE, XEP-0339 sources; the load's ICE (own STUN, full MESSAGE-
  INTEGRITY/FINGERPRINT) and DTLS-SRTP (belfry's dtls.c) per leg.  Unit:
  packets relayed (received and verified by the load inside the window) per
  CPU-second of bf-media-0 (schedstat).
* forwarder: tests/bench/srtp-forwarder relay (2 sockets per call, epoll,
  recvmmsg/sendmmsg batch 64, libsrtp2 unprotect + protect with a different
  key per leg and direction, SSRCs unchanged), AEAD_AES_128_GCM as belfry
  negotiates; CPU of the process.
* rtpengine 10.5 (userspace, --table=-1, --num-threads=1; --timeout=3600 so
  that calls idle between rows are kept), driven over ng (offer/answer,
  ICE=remove), plain RTP/AVP (audio and video m-lines); CPU of every thread
  of the process (schedstat, listed anew per window: rtpengine starts threads
  as calls come), /proc/PID/stat utime+stime printed beside it.
* capacity: a second belfry with `[media] workers = 2`, audio calls stepped
  up until loss >= 0.1 %; VmRSS per call.  --capacity-cpus shared (default):
  belfry and the load both on CPUs 0 and 1 (two cores for belfry: the load
  shares them, its CPU is reported beside the workers'); split: belfry on
  CPU 0, the load on CPU 1.
* idle calls: a belfry (workers = 1) with ACTIVE calls sending, first with
  only them set up, then with SETUP set up (the same run): cost per relayed
  packet.
* overload: on the capacity belfry, its calls offered a multiple of their
  rate in one run of back-to-back windows (normal, overload, first second
  after, more after); drops per reason from belfry's /metrics and the
  kernel's per-socket counters; a disco#info and a new call timed during
  the overload; sessions before and after.
Rows of 500 and 2,000 calls: calls beyond the first 50 are set up 48 at a
time, and beyond 1,000 by further caller accounts (max-calls-per-jid is at
most 1,000); rtpengine runs rows up to RTPENGINE_MAX calls.  A row with
loss reports the loss; only a failed call setup or a dead load ends the
rows (the report shows the windows done).
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
LATENCY_LIMIT_US = 5000      # second capacity criterion (issue 12's goal): p99 below 5 ms
RTPENGINE_MAX = 500          # rows with more calls run without rtpengine (its port range)
SETUP_SAMPLE = 50            # calls set up SETUP_PARALLEL at a time: the setup-time figure
SETUP_PARALLEL = 16
BULK_PARALLEL = 48           # the rest (500-2,000 calls) set up this many at a time


def q(ns, tag):
    return "{%s}%s" % (ns, tag)


def enter_private_netns():
    """Re-executes this script once under `unshare -n` with lo up (root
    needed): every address the benchmarks use is 127.0.0.1 in there."""
    if os.environ.get("BENCH_CALL_NETNS") == "1":
        return
    if os.geteuid() != 0:
        sys.exit("needs root (unshare -n)")
    os.environ["BENCH_CALL_NETNS"] = "1"
    r = subprocess.run(["unshare", "-n", "sh", "-c",
                        'ip link set lo up && exec "$0" "$@"', sys.executable] + sys.argv)
    sys.exit(r.returncode)


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
    """A call-load process.  Its window lines ("window-*", "segment-*") go
    to their own queue (self.reports), so that a call set up while a window
    runs (the overload row) cannot consume them."""

    def __init__(self, exe, mode, cpus="1"):
        self.proc = subprocess.Popen(["taskset", "-c", cpus, str(exe), mode],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.events = queue.Queue()     # (monotonic, str line | other event | None)
        self.reports = queue.Queue()    # window lines
        self.pending = []
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        _, line = self.wait(lambda l: l.startswith("ports "), 10, "ports")
        m = re.search(r"max-calls (\d+)", line)
        self.max_calls = int(m.group(1)) if m else 0

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith(("window-", "segment-")):
                self.reports.put(line)
            else:
                self.events.put((time.monotonic(), line))
        self.events.put((time.monotonic(), None))
        self.reports.put(None)

    def report_line(self, prefix, timeout):
        """The next window line; it must start with prefix."""
        try:
            line = self.reports.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"load: no {prefix} within {timeout:.0f}s") from None
        if line is None:
            raise RuntimeError(f"load exited ({self.proc.poll()})")
        if not line.startswith(prefix):
            raise RuntimeError(f"load: {line!r} where {prefix} was due")
        return line

    def new_call(self, i, timeout=5):
        """srtp/plain/direct modes: call i; returns its legs' ports (a, b)."""
        self.send(f"call {i}")
        _, line = self.wait(lambda l, i=i: l.startswith(f"{i} ready "), timeout, f"call {i}")
        return tuple(int(x) for x in line.split()[2:4])

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
CONTENDED = 0.10      # a window is suspect when others used more of CPU 0 than this


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
    most twice in all, each after waiting for quiet) and the least
    contended attempt is kept."""
    best = None
    attempts = 2 if QUIET_WAIT > 0 else 1
    for attempt in range(attempts):
        r = one_window(load, watch, n, media, seconds, warmup)
        r["attempts"] = attempt + 1
        key = f"other{cpu}"
        r["contention"] = r[key]
        if best is None or r[key] < best[key]:
            best = r
        if r[key] <= CONTENDED:
            break
    return best


def run_segments(load, watch, n, media, warmup, segments, during=None):
    """One run of the load on the first n calls: after the warm-up, one
    window per (pps, seconds) segment, back to back (the load does not
    pause between them).  during(k) is called as segment k starts.  Returns
    the parsed window-report of every segment."""
    kind, size, _ = media
    load.send("watch " + " ".join(watch))
    load.send(f"run {segments[0][0]} {segments[0][1]} {warmup} {n} {size} {kind}"
              + "".join(f" {p} {s}" for p, s in segments[1:]))
    load.report_line("window-start", warmup + 10)
    if during:
        during(0)
    for k in range(1, len(segments)):
        load.report_line(f"segment-start {k}", segments[k - 1][1] + 10)
        if during:
            during(k)
    load.report_line("window-end", segments[-1][1] + 10)
    reps = [parse_kv(load.report_line("window-report", 10)) for _ in segments]
    spikes = load.report_line("window-spikes", 10).split()[1:]
    for kv in reps:
        kv["spikes"] = spikes
    return reps


def window_figures(kv, n, media):
    """Derived figures of one window (or segment) report."""
    kind, size, _ = media
    pps = kv["pps"]
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
    })
    return kv


def one_window(load, watch, n, media, seconds, warmup):
    quiet = wait_quiet(QUIET_WAIT) if QUIET_WAIT > 0 else 0.0
    kv = window_figures(run_segments(load, watch, n, media, warmup, [(media[2], seconds)])[0],
                        n, media)
    kv["quiet"] = quiet
    time.sleep(0.2)
    return kv


def row_plan(ns, video_n):
    """Rows in increasing N (audio before video at the same N): belfry and
    rtpengine have exactly N calls set up for a row with N calls."""
    return sorted([(n, AUDIO) for n in ns] + [(video_n, VIDEO)], key=lambda r: (r[0], r[1] == VIDEO))


# ---------------------------------------------------------------------------
# the relays under test, each with its own load process, all up at once so
# that a row's windows for the three of them run back to back
# ---------------------------------------------------------------------------

class Target:
    name = label = ""
    cpu_label = "of CPU"
    cpu = 0                # the CPU whose other users make a window suspect
    max_n = 1 << 30        # rows with more calls are not run for this relay
    load = None

    def setup(self, n):
        pass

    def watch(self):
        return []

    def after_window(self, r):
        pass

    def close(self):
        if self.load:
            self.load.close()


class DirectTarget(Target):
    """No relay: the load's latency floor."""
    name, label, cpu = "direct", "no relay (load to itself)", 1

    def __init__(self, nmax):
        self.load = Load(LOAD_EXE, "direct")
        for i in range(nmax):
            self.load.new_call(i)


class ForwarderTarget(Target):
    """srtp-forwarder relay: 2 sockets per call, all made at start (idle
    sockets cost an epoll loop nothing)."""
    name, label = "forwarder", "minimal forwarder, SRTP GCM both legs"

    def __init__(self, nmax):
        self.fwd = subprocess.Popen(["taskset", "-c", "0", str(FWD_EXE), "relay", str(nmax), "GCM"],
                                    stdout=subprocess.PIPE, text=True)
        ports = [int(x) for x in self.fwd.stdout.readline().split()[1:]]
        assert self.fwd.stdout.readline().strip() == "ready"
        self.load = Load(LOAD_EXE, "srtp")
        for i in range(nmax):
            self.load.new_call(i)
            self.load.send(f"{i} a dest {ports[2 * i]}")
            self.load.send(f"{i} b dest {ports[2 * i + 1]}")

    def watch(self):
        return schedstat_files(self.fwd.pid)

    def close(self):
        super().close()
        self.fwd.terminate()
        self.fwd.wait(10)


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


class RtpengineTarget(Target):
    name, label = "rtpengine", "rtpengine 10.5, plain RTP"
    # 8 ports per call (2 legs x audio, video x RTP, RTCP) from its default
    # range of 10,000: rows above this are not run for rtpengine
    max_n = RTPENGINE_MAX

    def __init__(self, tmp):
        import harness
        port = harness.free_port()
        self.logf = tmp / "rtpengine.log"
        args = ["taskset", "-c", "0", "/usr/bin/rtpengine", "--config-file=none", "--foreground",
                "--log-stderr", "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{port}",
                "--table=-1", "--num-threads=1", "--timeout=3600"]
        with open(self.logf, "wb") as lf:
            self.eng = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=lf,
                                        stderr=subprocess.STDOUT)
        self.ng = Ng(port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.ng({"command": "ping"}, 1.0).get("result") == "pong":
                    break
            except RuntimeError:
                pass
            if self.eng.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("rtpengine did not answer ping: "
                                   + self.logf.read_text()[-2000:])
        self.version = subprocess.run(["/usr/bin/rtpengine", "--version"], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True).stdout.strip() or "?"
        self.load = Load(LOAD_EXE, "plain")
        self.made = 0

    def setup(self, n):
        n = min(n, RTPENGINE_MAX)
        for i in range(self.made, n):
            pa, pb = self.load.new_call(i)
            cid = f"bench-{i}-{os.urandom(3).hex()}"
            r = self.ng({"command": "offer", "call-id": cid, "from-tag": f"alice{i}",
                         "sdp": sdp(pa, 1000 + i), "ICE": "remove"})
            if r.get("result") != "ok":
                raise RuntimeError(f"rtpengine offer: {r}")
            to_bob = sdp_ports(r["sdp"])         # where bob sends
            r = self.ng({"command": "answer", "call-id": cid, "from-tag": f"alice{i}",
                         "to-tag": f"bob{i}", "sdp": sdp(pb, 2000 + i), "ICE": "remove"})
            if r.get("result") != "ok":
                raise RuntimeError(f"rtpengine answer: {r}")
            to_alice = sdp_ports(r["sdp"])       # where alice sends
            self.load.send(f"{i} a dest {to_alice[0]} {to_alice[1]}")
            self.load.send(f"{i} b dest {to_bob[0]} {to_bob[1]}")
        self.made = max(self.made, n)

    def watch(self):
        # rtpengine starts threads as calls come: listed anew for each window
        self._watch = schedstat_files(self.eng.pid)
        self._t0 = {f: int(Path(f).read_text().split()[0]) for f in self._watch}
        self._s0 = stat_cpu_s(self.eng.pid)
        return self._watch

    def after_window(self, r):
        r["stat_cpu_s"] = stat_cpu_s(self.eng.pid) - self._s0
        per = {}
        for f in schedstat_files(self.eng.pid):
            try:
                used = int(Path(f).read_text().split()[0]) - self._t0.get(f, 0)
            except FileNotFoundError:
                continue
            name = thread_comm(self.eng.pid, f.split("/")[4])
            per[name] = per.get(name, 0) + used
        r["threads"] = sorted(per.items(), key=lambda x: -x[1])[:3]

    def stalls(self):
        return self.logf.read_text(errors="replace").count("Too many packets in UDP receive queue")

    def close(self):
        super().close()
        self.ng.close()
        self.eng.terminate()
        try:
            self.eng.wait(10)
        except subprocess.TimeoutExpired:
            self.eng.kill()
            self.eng.wait(5)


# ---------------------------------------------------------------------------
# belfry: Jingle through Prosody, media by the load
# ---------------------------------------------------------------------------

class Jingle:
    """An XMPP client that acknowledges every Jingle request at once and
    hands the request to the load's event queue as ("xmpp", who, element)."""

    def __init__(self, harness, prosody, user, resource, sink, who):
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        self.c = harness.Client(f"{user}@{harness.DOMAIN}/{resource}", bench_users(harness)[user],
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
        self.b_sid = self.b_from = self.b_offer = None
        self.t0 = None
        self.keyed = set()
        self.profiles = {}
        self.done = None
        # when each set-up step happened (CLOCK_MONOTONIC s): this driver's
        # sends and receipts, the load's lines (at reading) and, with
        # CALL_LOAD_TRACE=1, the load's own stamps (bench_call_setup.py)
        self.marks = {}

    def mark(self, step, t):
        self.marks.setdefault(step, t)


class Calls:
    """Sets up calls through belfry, several at a time."""

    def __init__(self, load, alice, bob, callers=()):
        self.load, self.alice, self.bob = load, alice, bob
        # [alice, further callers]: call i is placed by callers[i // CALLS_PER_CALLER]
        # (belfry's [call] max-calls-per-jid is at most 1000)
        self.callers = [alice] + list(callers)
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
        caller = self.callers[c.i // CALLS_PER_CALLER]
        j = (f"<jingle xmlns='{NS_JINGLE}' action='session-initiate' sid={quoteattr(c.a_sid)} "
             f"initiator={quoteattr(caller.full_jid)}>{body}</jingle>")
        c.t0 = time.monotonic()
        c.mark("alice: session-initiate sent", c.t0)
        self.callers[c.i // CALLS_PER_CALLER].send(iq_set(CALLEE, j))

    def _answer_b(self, c):
        b = c.info["b"]
        tr = transport_xml(b["creds"], b["fp"], "active", b["cands"])
        body = contents_xml(tr, 0x20000000 + c.i, 0x28000000 + c.i, f"bob{c.i}")
        j = (f"<jingle xmlns='{NS_JINGLE}' action='session-accept' sid={quoteattr(c.b_sid)} "
             f"initiator={quoteattr(c.b_from)} responder={quoteattr(self.bob.full_jid)}>"
             f"{body}</jingle>")
        c.mark("bob: session-accept sent", time.monotonic())
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

    def _on_xmpp(self, t, who, el):
        j = el.find(q(NS_JINGLE, "jingle"))
        action, sid = j.get("action"), j.get("sid")
        if who == "bob" and action == "session-initiate":
            src = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_RTP, 'description')}/{q(NS_SSMA, 'source')}")
            i = int(src.get("ssrc")) - 0x10000000 if src is not None else -1
            if not 0 <= i < len(self.calls):
                raise RuntimeError("bob: session-initiate for no known call: "
                                   + ET.tostring(j, encoding="unicode")[:2000])
            c = self.calls[i]
            c.mark("bob: session-initiate received", t)
            c.b_sid, c.b_from = sid, el.get("from")
            self.by_b_sid[sid] = c
            c.b_offer = j
            if self._info_complete(c, "b"):
                self._take_b_offer(c)
            return
        c = (self.by_b_sid if who == "bob" else self.by_a_sid).get(sid)
        if c is None:
            return
        if action == "session-accept" and who == "alice":
            c.mark("alice: session-accept received", t)
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

    def _take_b_offer(self, c):
        # belfry placed the call: it is the ICE controlling agent and offered
        # actpass; bob answers active
        self._remote(c, "b", c.b_offer, "controlling", "active")
        self._answer_b(c)
        c.b_offer = None

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
            c.mark("load: media verified both ways", int(parts[2]) / 1e6)
            return
        if parts[1] == "failed":
            raise RuntimeError(f"load: {line}")
        side, what = parts[1], parts[2] if len(parts) > 2 else ""
        info = c.info.get(side)
        if info is None:
            return
        if what == "trace" and len(parts) == 5:
            c.mark(f"load {side}: {parts[3]}", int(parts[4]) / 1e6)
            return
        if what in ("ice-connected", "dtls-connected"):
            c.mark(f"driver: load {side} {what} read", t)
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
            elif c.b_offer is not None:
                self._take_b_offer(c)   # bob's offer came before our lines
        elif what == "dtls-connected":
            c.keyed.add(side)
            c.profiles[side] = parts[3]
            if c.keyed == {"a", "b"}:
                c.mark("driver: probe sent", time.monotonic())
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
                    self._on_xmpp(t, ev[1], ev[2])
        return [c.done for c in self.calls[start:upto]]


CALLS_PER_CALLER = 1000        # belfry's [call] max-calls-per-jid allows up to 1000


def bench_users(harness):
    """The harness' accounts plus callers alice1, alice2, ... (1000 calls each)."""
    users = dict(harness.USERS)
    for k in range(1, 5):
        users[f"alice{k}"] = f"alice{k}-pw-bench"
    return users


def start_belfry(harness, prosody, tmp, workers, max_calls, cpus="0", metrics_port=None,
                 shared=False, binary=None):
    groups = {"media": {"addresses": "127.0.0.1", "workers": str(workers),
                        "max-sessions": str(max(1000, 2 * max_calls + 10))},
              # A few accounts place every call of the load: the fair-use
              # limits (per JID and per minute) are off for the benchmark.
              "limits": {"max-sessions-per-jid": "0"},
              "call": {"max-calls-per-jid": str(min(CALLS_PER_CALLER, max(4, max_calls))),
                       "max-calls-per-minute": "0"}}
    if metrics_port:
        groups["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    if shared:
        # One UDP port per worker, belfry's own ICE (relay/media/port-mux.h).
        groups["media"]["shared-port"] = "0"
    b = harness.Belfry(tmp / f"belfry-w{workers}-{os.urandom(2).hex()}",
                       port=prosody.component_port, modules="call", groups=groups,
                       binary=binary)
    b.start()
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(b.pid)], check=True,
                   capture_output=True)
    return b


class BelfryTarget(Target):
    """Prosody + belfry ([modules] load = call) + alice + bob + a load in ice
    mode; calls are set up as rows need them."""
    name = "belfry"
    cpu_label = "of bf-media-*"

    def __init__(self, harness, tmp, workers, max_calls, cpus="0", load_cpus="1",
                 metrics=False, shared=False, binary=None):
        self.workers = workers
        self.shared = shared
        # Only the default build's rows get the extras (setup, RSS, perf).
        self.extras = not shared and binary is None
        if shared:
            self.name = "belfry-shared"
        if binary:
            self.name = "belfry-before"
        self.label = (f"belfry call, SRTP both legs, workers = {workers}"
                      + (", shared-port = 0" if shared else "")
                      + (f", {binary}" if binary else ""))
        self.prosody = harness.Prosody(users=bench_users(harness))
        self.prosody.start()
        self.belfry = self.alice = self.bob = None
        self.extra_callers = []
        self.setups = []           # setup times of the calls set up SETUP_PARALLEL at a time
        self.bulk = []             # (calls, seconds, parallel) of the bulk setups
        self.metrics_port = harness.free_port() if metrics else None
        try:
            self.belfry = start_belfry(harness, self.prosody, tmp, workers, max_calls, cpus,
                                       self.metrics_port, shared, binary)
            self.rss0 = vm_rss_kb(self.belfry.pid)
            self.load = Load(LOAD_EXE, "ice", load_cpus)
            if self.load.max_calls and self.load.max_calls < max_calls:
                raise RuntimeError(f"the load can hold {self.load.max_calls} calls "
                                   f"(RLIMIT_NOFILE), {max_calls} wanted")
            self.alice = Jingle(harness, self.prosody, "alice", "bench", self.load.events, "alice")
            self.bob = Jingle(harness, self.prosody, "bob", "load", self.load.events, "bob")
            for k in range(1, max_calls // CALLS_PER_CALLER + 1):
                self.extra_callers.append(Jingle(harness, self.prosody, f"alice{k}", "bench",
                                                 self.load.events, "alice"))
            self.calls = Calls(self.load, self.alice, self.bob, self.extra_callers)
        except Exception:
            self.close()
            raise

    def setup(self, n):
        """Calls up to n: the first SETUP_SAMPLE SETUP_PARALLEL at a time (their
        setup times are the reported figure), the rest BULK_PARALLEL at a time."""
        have = len(self.calls.calls)
        if n <= have:
            return
        t = time.monotonic()
        sample = min(n, SETUP_SAMPLE)
        if sample > have:
            self.setups += self.calls.setup(sample, parallel=SETUP_PARALLEL)
        if n > max(have, sample):
            t1 = time.monotonic()
            self.calls.setup(n, parallel=BULK_PARALLEL)
            self.bulk.append((n - max(have, sample), time.monotonic() - t1, BULK_PARALLEL))
        log(f"belfry (workers = {self.workers}): {n} calls up ({time.monotonic() - t:.1f} s)")

    def metrics(self):
        """belfry's /metrics as {(name, labels): value}."""
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r"^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
            if m:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
        return out

    def socket_drops(self):
        """Datagrams the kernel dropped at belfry's UDP sockets (receive
        queue full): the drops column of /proc/net/udp for belfry's sockets
        (this network namespace holds only the benchmark's)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.belfry.pid}/fd"):
            try:
                t = os.readlink(f"/proc/{self.belfry.pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
        drops = 0
        for name in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                lines = Path(name).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                f = line.split()
                if len(f) >= 13 and f[9] in inodes:
                    drops += int(f[12])
        return drops

    def watch(self):
        return schedstat_files(self.belfry.pid, ["bf-media-"])

    def profiles(self):
        return sorted({p for c in self.calls.calls for p in c.profiles.values()})

    def close(self):
        if self.load:
            try:
                self.load.send("stats")
                _, st = self.load.wait(lambda l: l.startswith("stats"), 5, "stats")
                log(f"belfry load totals: {st}")
            except Exception:
                pass
        super().close()
        for c in [self.alice, self.bob] + self.extra_callers:
            if c:
                c.close()
        if self.belfry and self.belfry.running():
            self.belfry.terminate()
        self.prosody.close()


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


def run_rows(targets, plan, rounds, seconds, warmup, res):
    """For each row (increasing N): every target gets its calls, then
    `rounds` rounds of one window per target, back to back (order rotated
    each round).  The no-relay target runs one window per row."""
    res.update({t.name: {} for t in targets})
    failed = {}
    for n, media in plan:
        for t in targets:
            if t.name in failed:
                continue
            t0 = time.monotonic()
            try:
                t.setup(n)
            except RuntimeError as e:
                # this relay's rows end here; the others go on
                failed[t.name] = f"{t.name}: call setup towards N={n} failed: {e}"
                log(failed[t.name])
                res.setdefault("failed", []).append(failed[t.name])
                continue
            res.setdefault("setup_s", {})[(t.name, n)] = time.monotonic() - t0
        t_row = time.monotonic()
        for rd in range(rounds):
            order = targets[rd % len(targets):] + targets[:rd % len(targets)]
            for t in order:
                if (isinstance(t, DirectTarget) and rd > 0) or n > t.max_n or t.name in failed:
                    continue
                r = run_window(t.load, t.watch(), n, media, seconds, warmup, cpu=t.cpu)
                t.after_window(r)
                r["round"] = rd
                res[t.name].setdefault((n, media[0]), []).append(r)
                log(f"{t.name:9s} N={n} {media[0]} round {rd + 1}: {k(r['per_cpu_s'])} per CPU-s, "
                    f"{100 * r['util']:.1f}% CPU, p99 {r['lat_p99_us'] / 1e3:.2f} ms, "
                    f"loss {100 * r['loss']:.3f}%, other on CPU{t.cpu} {100 * r['contention']:.0f}%")
        res.setdefault("row_s", {})[(n, media[0])] = time.monotonic() - t_row
    return res


def belfry_extras(bt, plan, seconds, warmup, want_perf, tmp):
    """With all rows done (nmax calls up): RSS per call, the idle worker,
    and a perf profile (a few active calls among many idle ones: the idle
    row, run_idle)."""
    out = {}
    nmax = len(bt.calls.calls)
    out["rss_per_call_kb"] = (vm_rss_kb(bt.belfry.pid) - bt.rss0) / nmax
    watch = schedstat_files(bt.belfry.pid, ["bf-media-0"])
    c0 = sum(int(Path(f).read_text().split()[0]) for f in watch)
    time.sleep(2.0)
    out["idle"] = (sum(int(Path(f).read_text().split()[0]) for f in watch) - c0) / 2e9
    if want_perf:
        tid = watch[0].split("/")[4]
        bt.load.send(f"run {AUDIO[2]} {seconds + 4} 0.5 {nmax} {AUDIO[1]} audio")
        bt.load.report_line("window-start", 10)
        out["perf"] = perf_top(bt.belfry.pid, tid, min(4, seconds), tmp)
        for prefix in ("window-end", "window-report", "window-spikes"):
            bt.load.report_line(prefix, seconds + 20)
    return out


IDLE_SECONDS = 10.0
IDLE_METRICS = ("belfry_media_loop_wakeups_total", "belfry_media_context_iterations_total")


def run_idle(harness, tmp, total, active, rounds, seconds, warmup, want_perf=False, shared=False):
    """The idle-calls row on its own belfry (workers = 1, CPU 0; the load on
    CPU 1): `rounds` windows with `active` calls set up and sending, then
    the same with `total` set up of which the same `active` send.  Per
    relayed packet, the second must cost within 10 % of the first."""
    res = {"total": total, "active": active, "alone": [], "many": []}
    bt = BelfryTarget(harness, tmp, 1, total, metrics=True, shared=shared)
    try:
        bt.setup(active)
        for rd in range(rounds):
            r = run_window(bt.load, bt.watch(), active, AUDIO, seconds, warmup)
            r["round"] = rd
            res["alone"].append(r)
            log(f"idle row: {active} of {active}: {k(r['per_cpu_s'])} per CPU-s, "
                f"loss {100 * r['loss']:.3f}%")
        t = time.monotonic()
        bt.setup(total)
        res["setup_s"] = time.monotonic() - t
        # No media: what the idle calls cost the worker, and per STUN
        # message (their consent), wake-ups and context iterations: 10 s,
        # two RFC 7675 rounds of every leg (belfry's /metrics fold once a
        # second, so the counts are +-1 s of the window).
        watch = bt.watch()
        m0 = bt.metrics()
        c0 = sum(int(Path(f).read_text().split()[0]) for f in watch)
        t0 = time.monotonic()
        if want_perf:
            res["idle_perf"] = perf_top(bt.belfry.pid, watch[0].split("/")[4], IDLE_SECONDS, tmp)
        time.sleep(max(0.0, IDLE_SECONDS - (time.monotonic() - t0)))
        dt = time.monotonic() - t0
        res["idle_util"] = (sum(int(Path(f).read_text().split()[0]) for f in watch) - c0) / 1e9 / dt
        m1 = bt.metrics()
        rates = {name: (metric_sum(m1, name) - metric_sum(m0, name)) / dt
                 for name in IDLE_METRICS}
        p0, p1 = (metric_sum(m, "belfry_media_protocol_packets_total", "kind") for m in (m0, m1))
        rates.update({kind: (p1.get(kind, 0) - p0.get(kind, 0)) / dt
                      for kind in ("stun_in", "stun_out")})
        res["idle_rates"] = rates
        for rd in range(rounds):
            r = run_window(bt.load, bt.watch(), active, AUDIO, seconds, warmup)
            r["round"] = rd
            res["many"].append(r)
            log(f"idle row: {active} of {total}: {k(r['per_cpu_s'])} per CPU-s, "
                f"loss {100 * r['loss']:.3f}%")
        res["rss_per_call_kb"] = (vm_rss_kb(bt.belfry.pid) - bt.rss0) / total
        return res
    finally:
        bt.close()


CPU_PLANS = {
    # name: (belfry's CPUs, the load's CPUs, words for the report)
    "shared": ("0,1", "0,1", "belfry's two workers and the load share CPUs 0 and 1 "
               "(the driver, Prosody and the XMPP clients on CPU 1)"),
    "split": ("0", "1", "both belfry workers on CPU 0, the load (and the driver, Prosody, "
              "the XMPP clients) on CPU 1"),
}


def run_capacity(harness, tmp, steps, seconds, warmup, time_budget, cpu_plan, overload,
                 shared=False):
    """belfry with workers = 2: audio calls stepped up until loss >= 0.1 %;
    then (overload = dict) the overload row on the same belfry."""
    res = {"steps": [], "held": 0, "held_latency": 0, "stopped": None, "cpu_plan": cpu_plan}
    started = time.monotonic()
    bcpus, lcpus, _ = CPU_PLANS[cpu_plan]
    ncpus = len(bcpus.split(","))
    biggest = max(steps + [(overload["calls"] or 0) if overload else 0])
    bt = BelfryTarget(harness, tmp, 2, biggest + 1, cpus=bcpus, load_cpus=lcpus, metrics=True,
                      shared=shared)
    try:
        res["rss0_kb"] = bt.rss0
        for n in steps:
            if time.monotonic() - started > time_budget:
                res["stopped"] = f"time budget ({time_budget:.0f} s) used up before N={n}"
                break
            t = time.monotonic()
            try:
                bt.setup(n)
            except RuntimeError as e:
                res["stopped"] = f"call setup failed towards N={n}: {e}"
                break
            setup_s = time.monotonic() - t
            watch = bt.watch()
            try:
                r = run_window(bt.load, watch, n, AUDIO, seconds, warmup)
            except RuntimeError as e:
                res["stopped"] = f"calls failed during the N={n} window: {e}"
                break
            r["rss_kb"] = vm_rss_kb(bt.belfry.pid)
            r["rss_per_call_kb"] = (r["rss_kb"] - bt.rss0) / n
            r["setup_s"] = setup_s
            r["workers"] = len(watch)
            r["ncpus"] = ncpus
            res["steps"].append(r)
            log(f"capacity N={n}: loss {100 * r['loss']:.3f}%, workers {100 * r['util']:.0f}% "
                f"of a CPU, load {100 * r['load_util']:.0f}%, p99 "
                f"{r['lat_p99_us'] / 1e3:.1f} ms, RSS/call {r['rss_per_call_kb']:.0f} KiB, "
                f"setup {setup_s:.1f} s")
            if r["loss"] >= LOSS_LIMIT or r["bad"] > 0:
                res["stopped"] = f"loss {100 * r['loss']:.2f}% at N={n}"
                break
            load_cap = len(lcpus.split(","))
            if r["load_util"] > 0.95 * load_cap or r["offered_pps"] < 0.97 * 2 * n * AUDIO[2]:
                res["stopped"] = (f"the load was starved at N={n} ({100 * r['load_util']:.0f}% "
                                  f"of a CPU, {r['offered_pps']:.0f} of {2 * n * AUDIO[2]} pps "
                                  "offered): inconclusive from there on")
                break
            res["held"] = n
            # the latency criterion holds only while every step so far met it
            if all(x["lat_p99_us"] < LATENCY_LIMIT_US for x in res["steps"]):
                res["held_latency"] = n
        else:
            if steps:
                res["stopped"] = f"largest step ({steps[-1]}) held"
        if overload:
            n = overload["calls"] or res["held"]
            if not n:
                res["overload_error"] = "no capacity measured (no step held): overload not run"
            else:
                try:
                    bt.setup(n)
                    res["overload"] = run_overload(harness, bt, n, overload, warmup)
                except Exception as e:
                    log(f"overload row failed: {e!r}")
                    res["overload_error"] = repr(e)
        text = bt.belfry.log()
        res["consent_lost"] = text.count("consent expired")
        res["ended_lines"] = [l for l in text.splitlines() if "failed:" in l][:3]
        res["bulk"] = bt.bulk
        return res
    finally:
        bt.close()


def metric_sum(m, name, label=None):
    """{label value: sum over workers} of one family (label=None: the total)."""
    out = {}
    for (n, labels), v in m.items():
        if n != name:
            continue
        key = None
        if label:
            mm = re.search(label + r'="([^"]*)"', labels)
            key = mm.group(1) if mm else "?"
        out[key] = out.get(key, 0) + v
    return out if label else out.get(None, 0)


def run_overload(harness, bt, n, ov, warmup):
    """n calls (the capacity) offered ov["factor"] x their rate for
    ov["seconds"]: a window at the normal rate before, the overload, then
    the first second and the next seconds at the normal rate, back to back.
    During the overload, a disco#info to the component and a new call set
    up, each timed.  belfry's drop counters (/metrics) and the kernel's drops
    at its sockets are read before and after."""
    factor = ov["factor"]
    segs = [(AUDIO[2], ov["before"]), (AUDIO[2] * factor, ov["seconds"]),
            (AUDIO[2], 1.0), (AUDIO[2], ov["after"])]
    watch = bt.watch()
    m0, d0 = bt.metrics(), bt.socket_drops()
    log0 = len(bt.belfry.log())
    probes = {}

    def during(k):
        if k != 1:
            return
        time.sleep(min(1.0, ov["seconds"] / 4))
        t = time.monotonic()
        try:
            el = bt.alice.c.query(harness.COMPONENT, "http://jabber.org/protocol/disco#info",
                                  timeout=5)
            probes["disco"] = (el.get("type") == "result", time.monotonic() - t)
        except Exception as e:
            probes["disco"] = (False, time.monotonic() - t, repr(e)[:200])
        t = time.monotonic()
        m = len(bt.calls.calls)
        try:
            done = bt.calls.setup(m + 1, parallel=1, per_call_timeout=5)[0]
            probes["call"] = (done is not None, time.monotonic() - t, done)
        except Exception as e:
            probes["call"] = (False, time.monotonic() - t, repr(e)[:300])
        probes["probes_end"] = time.monotonic()

    t_start = time.monotonic()
    reps = run_segments(bt.load, watch, n, AUDIO, warmup, segs, during)
    m1, d1 = bt.metrics(), bt.socket_drops()
    rows = []
    for kv, (pps, secs) in zip(reps, segs):
        r = window_figures(kv, n, (AUDIO[0], AUDIO[1], pps))
        r["ncpus"] = len(watch)
        r["contention"] = r["other0"]
        rows.append(r)
    drops = {}
    a, b = metric_sum(m0, "belfry_media_dropped_packets_total", "reason"), \
        metric_sum(m1, "belfry_media_dropped_packets_total", "reason")
    for reason in sorted(set(a) | set(b)):
        if b.get(reason, 0) - a.get(reason, 0):
            drops[reason] = b.get(reason, 0) - a.get(reason, 0)
    drops["kernel: belfry's socket queues full"] = d1 - d0
    for name, label in (("belfry_media_send_errors_total", None),):
        v = metric_sum(m1, name) - metric_sum(m0, name)
        if v:
            drops["send errors"] = v
    text = bt.belfry.log()[log0:]
    out = {
        "calls": n, "factor": factor, "segments": rows, "drops": drops, "probes": probes,
        "capacity_pps": 2 * n * AUDIO[2],
        "sessions": (metric_sum(m0, "belfry_sessions"), metric_sum(m1, "belfry_sessions")),
        "ended": (metric_sum(m1, "belfry_sessions_ended_total")
                  - metric_sum(m0, "belfry_sessions_ended_total")),
        "consent_lost": text.count("consent expired"),
        "wall_s": time.monotonic() - t_start,
    }
    o = rows[1]
    log(f"overload {factor}x on {n} calls: relayed {o['relayed_pps']:.0f} pps of "
        f"{o['offered_pps']:.0f} offered ({100 * o['relayed_pps'] / out['capacity_pps']:.0f}% "
        f"of capacity), after: loss {100 * rows[2]['loss']:.3f}% / {100 * rows[3]['loss']:.3f}%, "
        f"drops {drops}, probes {probes}")
    return out


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


def ms(us):
    return "≥ 1000" if us >= 1e6 else f"{us / 1e3:.2f}"


def lat(r):
    return f"{ms(r['lat_p50_us'])} / {ms(r['lat_p99_us'])}"


def mark(r):
    m = " †" if r["contention"] > CONTENDED else ""
    if r["offered_pps"] < 0.97 * 2 * r["n"] * r["pps"]:
        m += " ‡"
    return m


def med(rs, key):
    return statistics.median(r[key] for r in rs)


def agg(rs):
    """Median over the rounds of a row (range of the per-CPU-s figure)."""
    best = sorted(rs, key=lambda r: r["per_cpu_s"])[len(rs) // 2]
    out = dict(best)
    for key in ("per_cpu_s", "util", "lat_p50_us", "lat_p99_us", "offered_pps", "relayed_pps"):
        out[key] = med(rs, key)
    out["loss"] = max(r["loss"] for r in rs)
    out["bad"] = sum(r["bad"] for r in rs)
    out["lo"] = min(r["per_cpu_s"] for r in rs)
    out["hi"] = max(r["per_cpu_s"] for r in rs)
    # suspect if most rounds were contended
    out["contention"] = sorted(r["contention"] for r in rs)[len(rs) // 2]
    out["rounds"] = len(rs)
    return out


def describe_row(label, rs, cpu_label):
    r = agg(rs)
    spread = f" ({k(r['lo'])}–{k(r['hi'])})" if r["rounds"] > 1 else ""
    return (f"| {label}{mark(r)} | {r['n']} | {r['kind']} {int(r['size'])} B, {int(r['pps'])} pps×2 | "
            f"{r['offered_pps']:.0f} | {k(r['per_cpu_s'])}{spread} | {100 * r['util']:.1f}% {cpu_label} | "
            f"{lat(r)} | {100 * r['loss']:.3f}% | {int(r['bad'])} |")


def ratio(a_rows, b_rows):
    """Median and range of the per-round ratios a/b (same round: adjacent windows)."""
    by_round = {r["round"]: r for r in b_rows}
    rs = [r["per_cpu_s"] / by_round[r["round"]]["per_cpu_s"] for r in a_rows if r["round"] in by_round]
    if not rs:
        return "–"
    m = statistics.median(rs)
    return (f"**{100 * m:.0f}%**" + (f" ({100 * min(rs):.0f}–{100 * max(rs):.0f})" if len(rs) > 1 else ""))


def main():
    global LOAD_EXE, FWD_EXE, QUIET_WAIT
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sessions", default=None, help="audio N list (default 1,10,50)")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--rounds", type=int, default=None, help="windows per row and relay "
                    "(default 3, --quick 1); the median is reported")
    ap.add_argument("--only", default="direct,forwarder,rtpengine,belfry,idle,capacity,overload",
                    help="what to run: the relays of the rows (direct, forwarder, rtpengine, "
                    "belfry), idle, capacity, overload")
    ap.add_argument("--capacity-steps", default=None)
    ap.add_argument("--capacity-cpus", choices=sorted(CPU_PLANS), default="shared",
                    help="capacity and overload: shared = belfry and the load both on CPUs 0+1 "
                    "(default), split = belfry on CPU 0, the load on CPU 1")
    ap.add_argument("--idle", default=None, help="idle row: SETUP/ACTIVE calls (default "
                    "1000/10, --quick 100/10)")
    ap.add_argument("--overload-calls", type=int, default=None,
                    help="calls of the overload row (default: the capacity just measured)")
    ap.add_argument("--overload-factor", type=float, default=2.0,
                    help="overload: the rate offered, times the normal 50 pps per direction")
    ap.add_argument("--overload-seconds", type=float, default=None,
                    help="length of the overload (default 10, --quick 3)")
    ap.add_argument("--perf", action="store_true", help="perf profile of bf-media-0")
    ap.add_argument("--before-bin", default=None,
                    help="the belfry binary of the belfry-before part (a build from before a "
                    "change), run beside the default one")
    ap.add_argument("--shared-port", action="store_true",
                    help="idle, capacity and overload on belfry with `[media] shared-port = 0`")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="seconds each window may wait for both CPUs to be idle (default 20, "
                    "--quick 0)")
    args = ap.parse_args()

    enter_private_netns()

    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 CPUs (relay on CPU 0, load on CPU 1)")
    os.sched_setaffinity(0, {1})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    LOAD_EXE, FWD_EXE = executables()
    import harness
    only = set(args.only.split(","))
    if args.quick:
        ns, video_n, rounds = [1, 10], 2, 1
        seconds, warmup = 2.0, 0.5
        steps = [20, 50, 100]
        budget = 120
        idle = (100, 10)
        ov_seconds = 3.0
    else:
        ns, video_n, rounds = [1, 10, 50, 500, 2000], 10, 3
        seconds, warmup = 5.0, 1.0
        steps = [100, 200, 300, 400, 500, 600, 800, 1000, 1250, 1500, 1750, 2000]
        budget = 1200
        idle = (1000, 10)
        ov_seconds = 10.0
    if args.idle:
        idle = tuple(int(x) for x in args.idle.split("/"))
        if len(idle) != 2 or not 0 < idle[1] < idle[0]:
            sys.exit("--idle SETUP/ACTIVE with 0 < ACTIVE < SETUP")
    if args.overload_seconds:
        ov_seconds = args.overload_seconds
    QUIET_WAIT = args.quiet_wait if args.quiet_wait is not None else (0 if args.quick else 20)
    if args.sessions:
        ns = [int(x) for x in args.sessions.split(",")]
    if args.seconds:
        seconds = args.seconds
    if args.rounds:
        rounds = args.rounds
    if args.capacity_steps:
        steps = [int(x) for x in args.capacity_steps.split(",")]
    row_names = {"direct", "forwarder", "rtpengine", "belfry", "belfry-shared", "belfry-before"}
    plan = row_plan(ns, video_n) if only & row_names else []
    nmax = max([n for n, _ in plan] + [1])
    tmp = Path(tempfile.mkdtemp(prefix="bench-call-"))
    res = {"rounds": rounds}
    t_start = time.monotonic()
    targets = []
    try:
        if "belfry" in only:
            targets.append(BelfryTarget(harness, tmp, 1, nmax))
        if "belfry-shared" in only:
            targets.append(BelfryTarget(harness, tmp, 1, nmax, shared=True))
        if "belfry-before" in only:
            if not args.before_bin:
                sys.exit("--only belfry-before needs --before-bin PATH")
            targets.append(BelfryTarget(harness, tmp, 1, nmax, binary=args.before_bin))
        if "forwarder" in only:
            targets.append(ForwarderTarget(nmax))
        if "rtpengine" in only:
            targets.append(RtpengineTarget(tmp))
        if "direct" in only:
            targets.append(DirectTarget(nmax))
        if targets:
            log("rows: " + ", ".join(t.name for t in targets))
            res["labels"] = {t.name: (t.label, t.cpu_label) for t in targets}
            res["rows"] = {}
            try:
                run_rows(targets, plan, rounds, seconds, warmup, res["rows"])
            except Exception as e:
                log(f"rows failed: {e!r} (the report shows the windows done)")
                res["rows_error"] = repr(e)
            for t in targets:
                if isinstance(t, BelfryTarget) and t.extras and not res.get("rows_error"):
                    res["belfry"] = belfry_extras(t, plan, seconds, warmup, args.perf, tmp)
                    res["belfry"]["setups"] = t.setups
                    res["belfry"]["bulk"] = t.bulk
                    res["belfry"]["profiles"] = t.profiles()
                    res["labels"]["belfry"] = (f"belfry call, SRTP both legs "
                                               f"({','.join(t.profiles())})", "of bf-media-0")
                if isinstance(t, RtpengineTarget):
                    res["rtpengine"] = (t.version, t.stalls())
        for t in targets:
            t.close()
        targets = []
        if "idle" in only:
            log(f"belfry idle calls: {idle[1]} active of {idle[0]} set up, workers = 1"
                + (", shared-port = 0" if args.shared_port else ""))
            t = time.monotonic()
            try:
                res["idle"] = run_idle(harness, tmp, idle[0], idle[1], rounds, seconds, warmup,
                                       want_perf=args.perf, shared=args.shared_port)
            except Exception as e:
                log(f"idle row failed: {e!r}")
                res["idle_error"] = repr(e)
            res.setdefault("phase_s", {})["idle"] = time.monotonic() - t
        if "capacity" in only or "overload" in only:
            log(f"belfry capacity/overload, workers = 2, CPUs: {args.capacity_cpus}"
                + (", shared-port = 0" if args.shared_port else ""))
            ov = None
            if "overload" in only:
                ov = {"calls": args.overload_calls, "factor": args.overload_factor,
                      "seconds": ov_seconds, "before": 2.0, "after": 4.0}
                if "capacity" not in only and not ov["calls"]:
                    ov["calls"] = steps[-1]
            t = time.monotonic()
            try:
                res["capacity"] = run_capacity(harness, tmp, steps if "capacity" in only else [],
                                               seconds, warmup, budget, args.capacity_cpus, ov,
                                               shared=args.shared_port)
            except Exception as e:
                log(f"capacity run failed: {e!r}")
                res["capacity_error"] = repr(e)
            res.setdefault("phase_s", {})["capacity"] = time.monotonic() - t
    finally:
        for t in targets:
            try:
                t.close()
            except Exception as e:
                log(f"closing {t.name}: {e}")
        if not os.environ.get("BELFRY_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
    report(res, plan, seconds, warmup, time.monotonic() - t_start)


def report(res, plan, seconds, warmup, elapsed):
    rows = res.get("rows", {})
    labels = res.get("labels", {})
    print()
    if res.get("rows_error"):
        print(f"ROWS INCOMPLETE: {res['rows_error']}")
    for line in rows.get("failed", []):
        print(f"ROWS INCOMPLETE: {line}")
    print(f"Conditions: {os.cpu_count()} vCPUs ({platform_cpu()}), shared VM, private netns, "
          f"loopback 127.0.0.1; relay pinned to CPU 0, load/driver/Prosody on CPU 1; rows: "
          f"{res['rounds']} round(s) of one {seconds:.0f} s window per relay, back to back "
          f"(after {warmup:.1f} s warm-up, 300 ms drain), median shown (range of the "
          f"per-CPU-s figure in brackets); run took {elapsed:.0f} s. 'pps offered' counts both "
          "directions; 'relayed per CPU-s': packets received and verified by the load per "
          "CPU-second of the relay (belfry: its bf-media-0 thread, schedstat; forwarder, "
          "rtpengine: every thread of the process); latency: load send -> kernel arrival at "
          "the other leg's socket.")
    print()
    print("| relay | calls | stream | pps offered | relayed per CPU-s | relay CPU | "
          "latency p50 / p99 (ms) | loss | bad |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, media in plan:
        key = (n, media[0])
        for name in ("belfry-before", "belfry", "belfry-shared", "forwarder", "rtpengine"):
            if name in rows and key in rows[name]:
                label, cpu_label = labels[name]
                print(describe_row(label, rows[name][key], cpu_label))
        if "direct" in rows and key in rows["direct"]:
            r = agg(rows["direct"][key])
            print(f"| no relay (load to itself){mark(r)} | {n} | {media[0]} {media[1]} B | "
                  f"{r['offered_pps']:.0f} | – | – | {lat(r)} | {100 * r['loss']:.3f}% | "
                  f"{int(r['bad'])} |")
    print()
    variants = [v for v in ("belfry-before", "belfry-shared") if v in rows]
    if "belfry" in rows and variants:
        print("| ratio, per CPU-s (median of same-round ratios) | "
              + " | ".join(f"{m[0]} N={n}" for n, m in plan) + " |")
        print("|---|" + "---|" * len(plan))
        for v, what in (("belfry-before", "belfry default / belfry before"),
                        ("belfry-shared", "belfry shared-port / belfry default")):
            if v not in rows:
                continue
            a, b = ("belfry", v) if v == "belfry-before" else (v, "belfry")
            print(f"| {what} | " + " | ".join(
                ratio(rows[a].get((n, m[0]), []), rows[b].get((n, m[0]), []))
                for n, m in plan) + " |")
        print()
    relays = [r for r in ("belfry-before", "belfry", "belfry-shared") if r in rows]
    if relays and ("forwarder" in rows or "rtpengine" in rows):
        print("| ratio, per CPU-s (median of same-round ratios) | "
              + " | ".join(f"{m[0]} N={n}" for n, m in plan) + " |")
        print("|---|" + "---|" * len(plan))
        for other, goal in (("forwarder", "goal ≥ 90 %"), ("rtpengine", "goal > 100 %")):
            if other not in rows:
                continue
            for r in relays:
                print(f"| {r} / {other} ({goal}) | " + " | ".join(
                    ratio(rows[r].get((n, m[0]), []), rows[other].get((n, m[0]), []))
                    for n, m in plan)
                    + " |")
        print()
    if res.get("capacity_error"):
        print(f"capacity run failed: {res['capacity_error']}")
    report_idle(res)
    cap = res.get("capacity")
    if cap and cap["steps"]:
        print(f"Capacity: belfry `[media] workers = 2`; {CPU_PLANS[cap['cpu_plan']][2]}. "
              "CPU columns: percent of one CPU (200 % = both).")
        print()
        print("| audio calls | pps offered | relayed | loss | workers' CPU | load CPU | "
              "latency p50 / p99 (ms) | VmRSS | per call | setup |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in cap["steps"]:
            print(f"| {r['n']}{mark(r)} | {r['offered_pps']:.0f} | {r['relayed_pps']:.0f} | "
                  f"{100 * r['loss']:.3f}% | {100 * r['util']:.0f}% | {100 * r['load_util']:.0f}% | "
                  f"{lat(r)} | {r['rss_kb'] / 1024:.1f} MiB | {r['rss_per_call_kb']:.0f} KiB | "
                  f"{r['setup_s']:.1f} s |")
        print(f"\nCapacity: **{cap['held']} calls** held with < {100 * LOSS_LIMIT:.1f}% loss; "
              f"**{cap['held_latency']}** with < {100 * LOSS_LIMIT:.1f}% loss and p99 latency "
              f"< {LATENCY_LIMIT_US / 1e3:.0f} ms; "
              f"stopped: {cap['stopped']}; VmRSS before calls {cap['rss0_kb'] / 1024:.1f} MiB; "
              f"legs lost to ICE consent expiry: {cap.get('consent_lost', '?')}.")
        for l in cap.get("ended_lines", []):
            print("  belfry: " + l)
    if cap and cap.get("bulk"):
        print("bulk call setup (capacity belfry): " + ", ".join(
            f"{n} calls in {s:.1f} s ({n / s:.0f}/s, {p} in parallel)" for n, s, p in cap["bulk"]))
    if cap:
        report_overload(cap)
    if rows.get("row_s"):
        setups = [f"{t} N={n} {v:.0f} s" for (t, n), v in rows.get("setup_s", {}).items()
                  if v >= 0.5]
        print("time per row (windows of every relay): " + ", ".join(
            f"{m} N={n} {v:.0f} s" for (n, m), v in rows["row_s"].items())
            + ("; call setup before a row: " + ", ".join(setups) if setups else ""))
    if res.get("phase_s"):
        print("time taken: " + ", ".join(f"{k} {v:.0f} s" for k, v in res["phase_s"].items()))
    b = res.get("belfry")
    if b:
        ms = [x * 1e3 for x in b["setups"] if x is not None]
        if ms:
            print(f"belfry call setup (alice's session-initiate sent -> media verified both ways), "
                  f"{len(ms)} calls, up to 16 in parallel: median {statistics.median(ms):.0f} ms, "
                  f"p95 {pct(ms, 95):.0f} ms")
        if b.get("bulk"):
            print("bulk call setup (rows' belfry): " + ", ".join(
                f"{n} calls in {s:.1f} s ({n / s:.0f}/s, {p} in parallel)" for n, s, p in b["bulk"]))
        print(f"belfry bf-media-0 with {len(b['setups'])} calls up and no media: "
              f"{100 * b['idle']:.1f}% of a core; VmRSS per call (workers = 1, "
              f"{len(b['setups'])} calls): {b['rss_per_call_kb']:.0f} KiB")
        if b.get("perf"):
            print("\nperf, bf-media-0 (all calls, audio, paced):\n" + b["perf"])
    if res.get("rtpengine"):
        version, stalls = res["rtpengine"]
        print(f"rtpengine: {version.splitlines()[0]}; 'Too many packets in UDP receive queue' "
              f"lines: {stalls}")
        for key, rs in rows.get("rtpengine", {}).items():
            r = agg(rs)
            print(f"  rtpengine {key}: window CPU by schedstat {r['cpu_s']:.3f} s; /proc/PID/stat "
                  f"utime+stime over window + warm-up + drain {r['stat_cpu_s']:.2f} s; busiest "
                  "threads " + ", ".join(f"{n} {v / 1e9:.2f} s" for n, v in r["threads"]))
    print("\n† in most rounds, even after a retry, more than 10 % of CPU 0 (no-relay rows: of "
          "CPU 1, beside the load) went to others than the measured relay -- other processes "
          "on this shared VM, the idle relays waiting their turn, interrupts: suspect figures.\n"
          "‡ the load sent less than 97 % of the nominal rate (it was starved of CPU 1).")
    print("\ndetails (every window):")
    for name in ("belfry", "forwarder", "rtpengine", "direct"):
        for key, rs in rows.get(name, {}).items():
            for r in rs:
                print(f"  {name:9s} N={r['n']:<3d} {r['kind']:5s} round {r['round'] + 1} "
                      f"(attempt {r['attempts']}): {k(r['per_cpu_s'])}/CPU-s, relayed "
                      f"{r['relayed_pps']:6.0f} pps, loss a->b {loss(r, 'ab')} b->a "
                      f"{loss(r, 'ba')}, bad {int(r['bad'])}, reordered {int(r['reordered'])}, "
                      f"lat p99.9 {r['lat_p999_us'] / 1e3:.2f} max {r['lat_max_us'] / 1e3:.2f} ms, "
                      f"load CPU {100 * r['load_util']:.0f}%, other CPU0/1 "
                      f"{100 * r['other0']:.0f}/{100 * r['other1']:.0f}%, >5 ms episodes "
                      f"{int(r['spike_episodes'])}")


def report_idle(res):
    if res.get("idle_error"):
        print(f"idle row failed: {res['idle_error']}\n")
    idle = res.get("idle")
    if not idle or not idle["alone"] or not idle["many"]:
        return
    a, m = agg(idle["alone"]), agg(idle["many"])
    ratios = [y["per_cpu_s"] / x["per_cpu_s"] for x, y in zip(idle["alone"], idle["many"])]
    cost = 100 * (1 / statistics.median(ratios) - 1)
    print(f"Idle calls: belfry `workers = 1` (CPU 0; the load on CPU 1), the same {idle['active']} "
          f"calls sending audio, first with only them set up, then with {idle['total']} set up "
          f"({idle['total'] - idle['active']} idle); {len(idle['alone'])} window(s) each, medians:")
    print()
    print("| set up | sending | relayed per CPU-s of bf-media-0 | worker CPU | "
          "latency p50 / p99 (ms) | loss | bad |")
    print("|---|---|---|---|---|---|---|")
    for n, r in ((idle["active"], a), (idle["total"], m)):
        print(f"| {n}{mark(r)} | {idle['active']} | {k(r['per_cpu_s'])} | {100 * r['util']:.1f}% | "
              f"{lat(r)} | {100 * r['loss']:.3f}% | {int(r['bad'])} |")
    print(f"\nCost per relayed packet with {idle['total'] - idle['active']} idle calls: "
          f"**{cost:+.0f} %** (goal within 10 %); the worker with {idle['total']} calls up and no "
          f"media: {100 * idle['idle_util']:.1f}% of a core; setting up the idle calls took "
          f"{idle['setup_s']:.0f} s; VmRSS per call {idle['rss_per_call_kb']:.0f} KiB.\n")
    r = idle.get("idle_rates")
    if r:
        wake, it = r["belfry_media_loop_wakeups_total"], r["belfry_media_context_iterations_total"]
        stun = r["stun_in"] + r["stun_out"]
        print(f"No media, {idle['total']} calls up ({IDLE_SECONDS:.0f} s): {stun:.0f} STUN messages "
              f"a second (in + out), {wake:.0f} loop wake-ups and {it:.0f} context iterations a "
              f"second; {1e6 * idle['idle_util'] / max(stun, 1):.1f} µs of worker CPU per STUN "
              f"message.\n")
    if idle.get("idle_perf"):
        print("perf of the idle worker (no media):\n```\n" + idle["idle_perf"] + "\n```\n")


def report_overload(cap):
    if cap.get("overload_error"):
        print(f"overload row failed: {cap['overload_error']}")
    ov = cap.get("overload")
    if not ov:
        return
    names = ["before (normal rate)", f"overload ({ov['factor']:g}x)", "after: first second",
             "after: next seconds"]
    if not cap.get("held") or ov["calls"] != cap["held"] or \
            (cap.get("stopped") or "").startswith("largest step"):
        print("\n(The overload's calls are not a capacity measured to its limit in this run: "
              "'of capacity' is relative to their nominal rate.)")
    print(f"\nOverload: {ov['calls']} calls (capacity {ov['capacity_pps']} pps) offered "
          f"{ov['factor']:g}x their rate, one run of back-to-back windows; "
          f"{CPU_PLANS[cap['cpu_plan']][2]}:")
    print()
    print("| window | seconds | pps offered | relayed | of capacity | loss | "
          "latency p50 / p99 (ms) | workers' CPU | load CPU | bad |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in zip(names, ov["segments"]):
        print(f"| {name}{mark(r)} | {r['seconds']:.0f} | {r['offered_pps']:.0f} | "
              f"{r['relayed_pps']:.0f} | {100 * r['relayed_pps'] / ov['capacity_pps']:.0f}% | "
              f"{100 * r['loss']:.3f}% | {lat(r)} | {100 * r['util']:.0f}% | "
              f"{100 * r['load_util']:.0f}% | {int(r['bad'])} |")
    o, after = ov["segments"][1], ov["segments"][2]
    drops = ", ".join(f"{k} {v:.0f}" for k, v in ov["drops"].items()) or "none"
    p = ov["probes"]

    def probe(x):
        if not x:
            return "not run"
        return (f"{'ok' if x[0] else 'FAILED'} in {1000 * x[1]:.0f} ms"
                + (f" ({x[2]})" if len(x) > 2 and isinstance(x[2], str) else ""))
    call = p.get("call")
    print(f"\nDuring the overload relayed **{100 * o['relayed_pps'] / ov['capacity_pps']:.0f} %** "
          f"of capacity (goal ≥ 90 %); dropped, by reason (belfry's /metrics and the kernel, "
          f"whole run): {drops}; first second after: loss **{100 * after['loss']:.3f} %** "
          f"(goal < 0.1 %); sessions before/after {ov['sessions'][0]:.0f}/{ov['sessions'][1]:.0f} "
          f"(the new call adds 2), sessions ended {ov['ended']:.0f}, consent expiries "
          f"{ov['consent_lost']}; disco#info to the component: {probe(p.get('disco'))}; a new call: "
          + (f"media verified both ways **{1000 * call[2]:.0f} ms** after its session-initiate"
             if call and call[0] and call[2] is not None else probe(call))
          + (f" ({1000 * call[1]:.0f} ms from asking the load for it, its own ICE/DTLS "
             "preparation included)" if call else "")
          + " (goal: both within 1 s).")


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


LOAD_EXE = FWD_EXE = None

if __name__ == "__main__":
    main()
