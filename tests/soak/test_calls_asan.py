"""Many relayed calls at once under ASan, then all hung up: nothing of them
stays behind (issue 12).

    BELFRY_BIN=build-asan/relay/belfry /usr/bin/python3 -m pytest \\
        tests/soak/test_calls_asan.py -q

(scripts/test.sh runs it so in its ASan+UBSan stage, on its own: see
tests/soak/README.md for why not beside the fuzz stage.)  The run re-executes
itself in a private network namespace (root needed, tests/e2e/netns_plugin.py);
Prosody, belfry and the load talk on 127.0.0.1 only.

What runs:
* a Prosody of its own (harness.Prosody, log level info) with alice and
  bob; belfry (the ASan+UBSan build: the test checks the binary is one)
  with `[modules] load = call`, `[media] workers = 2` on 127.0.0.1 and
  `[metrics] listen` on a free loopback port;
* the media comes from tests/bench/call-load (`ice` mode, taken from
  CALLS_ASAN_LOAD_BUILD, default build/: the load need not run under ASan),
  driven as it is, as tests/bench/bench_call.py drives it: it plays both
  parties of every call with its own ICE and DTLS-SRTP (belfry's dtls.c and
  srtp-session.c), and authenticates and checks in full every packet it
  receives (SSRC, payload type, call, direction, length, pattern);
* alice (slixmpp) calls bob\\40localhost\\2fsoak@relay.localhost (a full JID:
  belfry places the call to bob@localhost/soak with a session-initiate, no
  XEP-0353); bob answers.  16 set-ups at a time, each until media is
  verified both ways (the load's `probe`);
* first a warm-up of WARMUP_CALLS calls, set up and hung up, so that
  one-time allocations and descriptors (certificate, both workers' first
  session, OpenSSL and libnice caches) exist before the start figures:
  belfry's open fds (/proc/PID/fd, readlink of each) and VmRSS, once the fd
  table is quiet;
* then CALLS (200) calls up at once, checked in belfry's metrics (2 sessions
  per call, established), carrying audio both ways for MEDIA_SECONDS (60):
  172-byte SRTP at PPS (50) per direction and call, one `run` of the load;
  every packet that arrives must verify (bad = 0), at most LOSS_LIMIT may
  be lost (from the load's totals before and after the run, once nothing
  more arrives: late is not lost), and every leg of every call must have
  received media;
* then alice hangs up every call at once (session-terminate `success`, and
  her side's DTLS close_notify, as a WebRTC client closing its peer
  connection); each must be answered with a result, and bob must get
  belfry's session-terminate `success` (then his side sends its
  close_notify);
* afterwards: belfry_sessions is 0 in every state and every worker's
  session gauge is 0, every started session counted as ended; the fd table
  is back to exactly its start figure (same numbers, same targets; waited
  for at most FD_SETTLE seconds);
* the same again (a second round of CALLS calls, AGAIN_SECONDS of audio):
  the same checks, and belfry's VmRSS after it at most RSS_AGAIN_SLACK_MIB
  above its figure after the first round.  Neither ASan's allocator nor
  glibc's gives the first round's memory back (ASan also keeps freed memory
  in its quarantine, bounded to 16 MiB here unless ASAN_OPTIONS sets
  quarantine_size_mb), so the resident figure after the first round is
  near its peak (measured ~400 KiB per call under ASan; bounded by
  RSS_PER_CALL_KIB); the second round reuses that memory, and what belfry
  kept per call would show as growth (figures: tests/soak/README.md);
* SIGTERM: exit 0 with no AddressSanitizer, LeakSanitizer or UBSan report
  on stderr (a true leak fails this whatever its size).

Figures (set-up times, packets, loss, latency, fds and RSS at each point,
belfry's CPU) are printed at the end of the run (conftest.py).
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import harness  # noqa: E402
import e2e  # noqa: E402
from test_metrics import scrape, total, value  # noqa: E402
from test_soak import (JINGLE, IQ, NS_CLIENT, NS_JINGLE, NS_RTP, NS_SSMA, client,  # noqa: E402
                       contents_xml, cpu_seconds, dump, fd_kinds, jingle_xml, kv, open_fds,
                       parse_transport, q, quiet_figures, reason_of, terminate_xml,
                       transport_xml, vm_rss_kib)

CALLS = int(os.environ.get("CALLS_ASAN_N", "200"))
MEDIA_SECONDS = float(os.environ.get("CALLS_ASAN_SECONDS", "60"))
PPS = float(os.environ.get("CALLS_ASAN_PPS", "25"))
LOAD_BUILD = Path(os.environ.get("CALLS_ASAN_LOAD_BUILD", str(REPO / "build")))
WARMUP_CALLS = 8
WARMUP_PPS = 250            # the warm-up's media: 20,000 packets through belfry,
WARMUP_SECONDS = 5          # enough to fill ASan's quarantine with what they free
PARALLEL = 16               # set-ups in flight at once
SETUP_TIMEOUT = 30          # seconds per call set-up (16 at a time)
HANGUP_TIMEOUT = 60         # every call's terminate answered and passed on
FD_SETTLE = 30              # seconds for the fd table to come back
SESSIONS_SETTLE = 30
LOSS_LIMIT = 0.01
MIN_LEG_FRACTION = 0.5      # every leg received at least this share of its due
AGAIN_SECONDS = 5           # the second round's audio
RSS_PER_CALL_KIB = 1024     # first round: what the allocators may keep (measured ~400)
RSS_AGAIN_SLACK_MIB = 8     # second round over the first: measured, tests/soak/README.md
ASAN_QUARANTINE_MIB = 16
RUN_WARMUP = 2              # seconds of the load's run before its window
PACKET = 172                # audio: plain RTP bytes
CALLEE = r"bob\40localhost\2fsoak@relay.localhost"
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")

SUMMARY = []                # printed by conftest.py at the end of the run


class Failed(AssertionError):
    pass


# ---------------------------------------------------------------------------
# the run's events: the load's lines and the XMPP requests, one queue
# ---------------------------------------------------------------------------

class LoadProc:
    """tests/bench/call-load in ice mode; each stdout line goes to the queue
    as ("load", line)."""

    def __init__(self, events):
        exe = LOAD_BUILD / "tests" / "bench" / "call-load"
        assert exe.is_file() and os.access(exe, os.X_OK), (
            f"{exe} not built (ninja -C {LOAD_BUILD}, or set CALLS_ASAN_LOAD_BUILD)")
        self.proc = subprocess.Popen([str(exe), "ice"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        e2e.adopt(self.proc.pid)
        self.events = events
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.events.put(("load", line.rstrip("\n")))
        self.events.put(("load", None))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)


class Call:
    def __init__(self, i):
        self.i = i
        self.a_sid = f"asan{i}-{os.urandom(4).hex()}"
        self.info = {"a": {"cands": []}, "b": {"cands": []}}
        self.b_sid = self.b_from = self.b_offer = None
        self.t0 = self.setup_s = None
        self.keyed = set()
        self.up = False
        self.hung_up = False        # bob got belfry's session-terminate
        self.ended = []             # the load's "ended" lines (counts of both legs)


class Driver:
    """Sets up and hangs up calls through Prosody and belfry, one thread:
    every event (load line, Jingle request, iq answer) is taken from one
    queue, as tests/bench/bench_call.py's Calls does."""

    def __init__(self, load, alice, bob, events, callee=CALLEE):
        """@callee: the relay address alice calls (bob's full JID, escaped)."""
        self.load, self.alice, self.bob, self.events = load, alice, bob, events
        self.callee = callee
        self.calls = {}
        self.by_sid = {}            # (who, sid) -> Call
        self.iqs = {}               # iq id -> (who, Call, what) awaiting an answer
        self.lines = []             # load lines that belong to no call
        self.phase = "setup"
        self.seq = 0

    def iq_set(self, who, to, jingle, c, what):
        iq_id = f"a{self.seq}-{os.urandom(3).hex()}"
        self.seq += 1
        self.iqs[iq_id] = (who, c, what)
        self.party(c, who).send_raw(
            f"<iq xmlns='{NS_CLIENT}' type='set' to={quoteattr(to)} id={quoteattr(iq_id)}>"
            f"{jingle}</iq>")

    def party(self, c, who):
        """The client that plays @who ("alice" or "bob") in call @c: one
        pair for every call here; tests/cluster/media.py gives each call
        its own."""
        return self.alice if who == "alice" else self.bob

    def callee_of(self, c):
        """The relay address alice calls for call @c."""
        return self.callee

    # --- events ---

    def pump(self, timeout):
        try:
            ev = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        if ev[0] == "load":
            if ev[1] is None:
                raise Failed(f"call-load exited ({self.load.proc.poll()})")
            self.on_line(ev[1])
        else:
            self.on_xmpp(ev[0], ev[1])

    def wait_line(self, prefix, timeout):
        """The next load line (belonging to no call) that starts with prefix."""
        deadline = time.monotonic() + timeout
        while True:
            for k, ln in enumerate(self.lines):
                if ln.startswith(prefix):
                    del self.lines[k]
                    return ln
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed(f"no '{prefix}' from call-load within {timeout:.0f} s")
            self.pump(min(left, 1.0))

    def on_line(self, line):
        parts = line.split()
        if line.startswith("error"):
            raise Failed(f"call-load: {line}")
        if not parts or not parts[0].isdigit() or int(parts[0]) not in self.calls:
            self.lines.append(line)
            return
        c = self.calls[int(parts[0])]
        if len(parts) < 2:
            return
        if parts[1] == "media-ok":
            c.up = True
            c.setup_s = time.monotonic() - c.t0
            return
        if parts[1] == "ended":
            c.ended.append(kv(line))
            return
        if parts[1] == "failed" or (len(parts) > 2 and parts[2] == "failed"):
            if self.phase == "hangup" and line.endswith("(close_notify)"):
                return      # belfry closed the leg it ended: its close_notify
            raise Failed(f"call-load, call {c.i}: {line}")
        side, what = parts[1], parts[2] if len(parts) > 2 else ""
        info = c.info.get(side)
        if info is None:
            return
        if what == "credentials":
            info["creds"] = parts[3:5]
        elif what == "fingerprint":
            info["fp"] = parts[3:5]
        elif what == "candidate":
            info["cands"].append(parts[3:9])
        elif what == "gathering-done":
            info["gathered"] = True
            if side == "a":
                self.initiate(c)
            elif c.b_offer is not None:
                self.answer(c)
        elif what == "dtls-connected":
            c.keyed.add(side)
            if c.keyed == {"a", "b"}:
                self.load.send(f"probe {c.i}")

    def on_xmpp(self, who, el):
        if el.tag != IQ:
            return
        if el.get("type") in ("result", "error"):
            pending = self.iqs.pop(el.get("id"), None)
            if pending and el.get("type") == "error":
                raise Failed(f"{who}'s {pending[2]} (call {pending[1].i}) refused: {dump(el)}")
            return
        j = el.find(JINGLE)
        if j is None:
            return
        action, sid = j.get("action"), j.get("sid")
        if who == "bob" and action == "session-initiate":
            src = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_RTP, 'description')}/"
                         f"{q(NS_SSMA, 'source')}")
            i = int(src.get("ssrc")) - 0x10000000 if src is not None else -1
            if i not in self.calls:
                raise Failed("bob: a session-initiate for no call of ours: " + dump(el))
            c = self.calls[i]
            c.b_sid, c.b_from, c.b_offer = sid, el.get("from"), j
            self.by_sid[("bob", sid)] = c
            if c.info["b"].get("gathered"):
                self.answer(c)
            return
        c = self.by_sid.get((who, sid))
        if c is None:
            raise Failed(f"{who}: {action} for no call of ours: " + dump(el))
        if action == "session-accept" and who == "alice":
            ufrag, pwd, fp, cands = parse_transport(j)
            ours = "passive" if fp[2] == "active" else "active"
            self.load.send(f"{c.i} a remote-ice {ufrag} {pwd} controlled")
            self.load.send(f"{c.i} a remote-dtls {ours} {fp[0]} {fp[1]}")
            for cand in cands:
                self.load.send(f"{c.i} a candidate {cand}")
        elif action == "transport-info":
            _, _, _, cands = parse_transport(j)
            for cand in cands:
                self.load.send(f"{c.i} {'a' if who == 'alice' else 'b'} candidate {cand}")
        elif action == "session-terminate":
            if who == "bob" and self.phase == "hangup" and c.hung_up is False:
                r = reason_of(j)
                if r != "success":
                    raise Failed(f"call {c.i}: bob's leg ended with {r}, not success: {dump(el)}")
                c.hung_up = True
                self.load.send(f"end {c.i} close b")
                return
            raise Failed(f"call {c.i}: belfry ended {who}'s leg during {self.phase}: {dump(el)}")

    def stats(self):
        self.load.send("stats")
        return kv(self.wait_line("stats ", 10))

    def stats_settled(self, timeout=15):
        """The load's totals once nothing more arrives (the relay's queues
        drained after a run)."""
        deadline = time.monotonic() + timeout
        prev = self.stats()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.stats()
            if now["received"] == prev["received"]:
                return now
            prev = now
        return prev

    # --- set-up ---

    def initiate(self, c):
        a = c.info["a"]
        body = contents_xml(transport_xml(a["creds"], a["fp"], "actpass",
                                          a["cands"]),
                            0x10000000 + c.i, 0x18000000 + c.i, f"alice{c.i}", True)
        self.by_sid[("alice", c.a_sid)] = c
        c.t0 = time.monotonic()
        self.iq_set("alice", self.callee_of(c), jingle_xml(
            "session-initiate", c.a_sid, body,
            f" initiator={quoteattr(self.party(c, 'alice').full_jid)}"),
            c, "session-initiate")

    def answer(self, c):
        # belfry placed bob's leg: it is ICE controlling and offered actpass
        ufrag, pwd, fp, cands = parse_transport(c.b_offer)
        self.load.send(f"{c.i} b remote-ice {ufrag} {pwd} controlling")
        self.load.send(f"{c.i} b remote-dtls active {fp[0]} {fp[1]}")
        for cand in cands:
            self.load.send(f"{c.i} b candidate {cand}")
        b = c.info["b"]
        body = contents_xml(transport_xml(b["creds"], b["fp"], "active", b["cands"]),
                            0x20000000 + c.i, 0x28000000 + c.i, f"bob{c.i}", True)
        self.iq_set("bob", c.b_from, jingle_xml(
            "session-accept", c.b_sid, body,
            f" initiator={quoteattr(c.b_from)} "
            f"responder={quoteattr(self.party(c, 'bob').full_jid)}"),
            c, "session-accept")
        c.b_offer = None

    def setup(self, indices):
        """Calls `indices` up, PARALLEL at a time, each with media verified
        both ways; returns their set-up times (s)."""
        self.phase = "setup"
        todo = list(indices)
        busy = []
        deadline = time.monotonic() + SETUP_TIMEOUT * max(1, len(todo) / PARALLEL) + 30
        while todo or busy:
            busy = [c for c in busy if not c.up]
            while todo and len(busy) < PARALLEL:
                c = Call(todo.pop(0))
                self.calls[c.i] = c
                self.load.send(f"call {c.i}")
                busy.append(c)
            if time.monotonic() > deadline:
                raise Failed(f"call set-up: {len(busy)} calls not up in time (first {busy[0].i}: "
                             f"keyed {sorted(busy[0].keyed)}, b_sid {busy[0].b_sid})")
            if busy:
                self.pump(1.0)
        return [self.calls[i].setup_s for i in indices]

    def hangup(self, indices):
        """alice hangs up every call at once; waits until each terminate is
        answered and bob got belfry's, and both sides' media ended."""
        self.phase = "hangup"
        for i in indices:
            c = self.calls[i]
            self.iq_set("alice", self.callee_of(c), terminate_xml(c.a_sid, "success"), c,
                        "session-terminate")
            self.load.send(f"end {i} close a")
        deadline = time.monotonic() + HANGUP_TIMEOUT
        while True:
            waiting = [i for i in indices
                       if not self.calls[i].hung_up or len(self.calls[i].ended) < 2]
            if not waiting and not self.iqs:
                return
            if time.monotonic() > deadline:
                raise Failed(f"hang-up: {len(waiting)} calls not ended within {HANGUP_TIMEOUT} s "
                             f"(e.g. {waiting[:5]}), {len(self.iqs)} iqs unanswered")
            self.pump(1.0)


# ---------------------------------------------------------------------------
# belfry's figures
# ---------------------------------------------------------------------------

def sessions_now(mport):
    _, s = scrape(mport)
    return (total(s, "belfry_sessions"), total(s, "belfry_worker_sessions"),
            total(s, "belfry_sessions_started_total"), total(s, "belfry_sessions_ended_total"), s)


def wait_sessions(mport, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        now, workers, started, ended, s = sessions_now(mport)
        if now == want and workers == want:
            return started, ended, s
        if time.monotonic() > deadline:
            raise Failed(f"belfry_sessions {now}, belfry_worker_sessions {workers} "
                         f"(want {want}) after {timeout} s; started {started}, ended {ended}")
        time.sleep(0.5)


def wait_fds(pid, want, timeout):
    """belfry's fd table once it equals `want` (or after timeout: as it is)."""
    deadline = time.monotonic() + timeout
    while True:
        fds = open_fds(pid)
        if fds == want or time.monotonic() > deadline:
            return fds, timeout - max(0.0, deadline - time.monotonic())
        time.sleep(0.5)


def is_asan_build(path):
    """The binary is instrumented by ASan (gcc: links libasan; clang: the
    runtime inside): its bytes name __asan_init."""
    return b"__asan_init" in Path(path).read_bytes()


class Sampler:
    """belfry's VmRSS and fd count every 5 s while calls are up."""

    def __init__(self, pid):
        self.pid, self.samples, self.stop = pid, [], threading.Event()
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(5):
            try:
                self.samples.append((time.monotonic() - self.t0, vm_rss_kib(self.pid),
                                     len(os.listdir(f"/proc/{self.pid}/fd"))))
            except (OSError, AssertionError):
                return

    def close(self):
        self.stop.set()
        self.thread.join(10)


def sanitizer_env():
    """ASan/LSan/UBSan options for belfry as scripts/test.sh sets them (kept
    when set), the quarantine bounded for a meaningful resident figure."""
    env = {}
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=23")
    if "quarantine_size_mb" not in asan:
        asan += f":quarantine_size_mb={ASAN_QUARANTINE_MIB}"
    env["ASAN_OPTIONS"] = asan
    env["UBSAN_OPTIONS"] = os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["LSAN_OPTIONS"] = os.environ.get(
        "LSAN_OPTIONS", f"suppressions={REPO / 'tests' / 'lsan.supp'}:print_suppressions=0")
    return env


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------

def media_and_hangup_cycle(drv, load, belfry, mport, first, seconds, base, label):
    """CALLS calls (indices first..) up, `seconds` of audio both ways over a
    load `run` window, all hung up by alice; checks the media, that every
    session is gone and the fd table is back to base[1].  Returns the
    figures (and adds its lines to SUMMARY)."""
    rss0, fds0 = base
    f = {}
    idx = list(range(first, first + CALLS))
    cpu0 = cpu_seconds(belfry.pid)
    t = time.monotonic()
    setups = drv.setup(idx)
    f["setup_s"] = time.monotonic() - t
    _, _, s = wait_sessions(mport, 2 * CALLS, 10)
    established = value(s, "belfry_sessions", module="call", state="established")
    per_worker = sorted(int(v) for n, _, v in s if n == "belfry_worker_sessions")
    assert established == 2 * CALLS, f"{established} sessions established, want {2 * CALLS}"
    f["rss_up"], f["fds_up"] = vm_rss_kib(belfry.pid), len(open_fds(belfry.pid))

    sampler = Sampler(belfry.pid)
    drv.phase = "media"
    before = drv.stats()
    cpu_m0 = cpu_seconds(belfry.pid)
    load.send(f"run {PPS:g} {seconds:g} {RUN_WARMUP} {first + CALLS} {PACKET} audio")
    drv.wait_line("window-start", 20)
    drv.wait_line("window-end", seconds + 20)
    rep = kv(drv.wait_line("window-report", 10))
    cpu_m1 = cpu_seconds(belfry.pid)
    sampler.close()
    after = drv.stats_settled()
    s = sessions_now(mport)[-1]
    dropped = {lb.get("reason"): int(v) for n, lb, v in s
               if n == "belfry_media_dropped_packets_total" and v}
    f["rss_peak"] = max([f["rss_up"]] + [r for _, r, _ in sampler.samples])

    t = time.monotonic()
    drv.hangup(idx)
    hang_s = time.monotonic() - t
    started, ended, _ = wait_sessions(mport, 0, SESSIONS_SETTLE)
    stats = drv.stats()
    fds1, fd_wait = wait_fds(belfry.pid, fds0, FD_SETTLE)
    f["rss"] = vm_rss_kib(belfry.pid)
    cpu1 = cpu_seconds(belfry.pid)

    # Loss from the load's totals around the run (every packet it sent and
    # every one that arrived and verified, however late): the window
    # report's own count misses packets later than its 300 ms drain, which
    # on a busy machine are many and not lost.
    sent = after["sent"] - before["sent"]
    recv = after["received"] - before["received"]
    f["sent"], f["received"] = sent, recv
    loss = 1.0 - recv / max(1, sent)
    due = PPS * seconds
    # each "ended" line carries both legs' counts: the last one per call
    legs = {(i, side): (drv.calls[i].ended[-1].get(f"{side}_received", 0),
                        drv.calls[i].ended[-1].get(f"{side}_bad", 0))
            for i in idx for side in "ab"}
    short = {k: v for k, v in legs.items() if v[0] < MIN_LEG_FRACTION * due}
    bad_legs = {k: v for k, v in legs.items() if v[1]}
    med = sorted(setups)[len(setups) // 2]
    SUMMARY.append(
        f"calls under ASan, {label}: {CALLS} relayed calls ({2 * CALLS} sessions, per worker "
        f"{per_worker}) set up in {f['setup_s']:.1f} s (median {med * 1000:.0f} ms, max "
        f"{max(setups) * 1000:.0f} ms, {PARALLEL} at a time); audio {seconds:g} s at {PPS:g} pps "
        f"per direction: sent {sent}, received and verified {recv} (bad "
        f"{after['bad'] - before['bad']}, loss {100 * loss:.3f} %; in the window {rep.get('sent')}"
        f" / {rep.get('received')}, reordered {rep.get('reordered')}), latency p50/p99/max "
        f"{rep.get('lat_p50_us')}/{rep.get('lat_p99_us')}/{rep.get('lat_max_us')} us; belfry "
        f"CPU {cpu_m1 - cpu_m0:.1f} s in the window ({100 * (cpu_m1 - cpu_m0) / (seconds + 2):.0f}"
        f" % of a core), {cpu1 - cpu0:.1f} s in all; dropped by belfry {dropped or 'none'}")
    SUMMARY.append(
        f"calls under ASan, {label}: all hung up in {hang_s:.1f} s; sessions started "
        f"{started:.0f}, ended {ended:.0f} (all along); fds {len(fds0)} before, {f['fds_up']} "
        f"with the calls up, {len(fds1)} after ({fd_wait:.1f} s) {fd_kinds(fds1)}; VmRSS MiB "
        f"{rss0 / 1024:.1f} before, {f['rss_up'] / 1024:.1f} up, peak {f['rss_peak'] / 1024:.1f}, "
        f"{f['rss'] / 1024:.1f} after; load totals {stats}")

    assert rep.get("bad", 1) == 0 and stats.get("bad", 1) == 0 and not bad_legs, (
        f"packets that failed SRTP authentication or the content check: window {rep}, "
        f"totals {stats}, legs {sorted(bad_legs.items())[:10]}")
    assert sent >= 0.9 * PPS * (seconds + RUN_WARMUP) * 2 * CALLS, (
        f"the load sent {sent} packets, {PPS * (seconds + RUN_WARMUP) * 2 * CALLS:.0f} due: "
        "media did not flow")
    assert loss <= LOSS_LIMIT, f"loss {100 * loss:.2f} % (limit {100 * LOSS_LIMIT} %): {rep}"
    assert len(legs) == 2 * CALLS and not short, (
        f"legs that received too little media (want >= {MIN_LEG_FRACTION * due:.0f}): "
        f"{sorted(short.items())[:10]} ({len(legs)} legs reported)")
    assert started == ended, f"sessions started {started}, ended {ended}"
    extra = {fd: t for fd, t in fds1.items() if fds0.get(fd) != t}
    gone = {fd: t for fd, t in fds0.items() if fds1.get(fd) != t}
    assert not extra and not gone, (
        f"belfry's open fds: {len(fds0)} before the calls, {len(fds1)} {FD_SETTLE} s after "
        f"the hang-up; new: {dict(list(extra.items())[:20])} ({fd_kinds(extra)}); "
        f"closed or changed: {gone}")
    return f


# Both packet paths: a libnice agent and socket per leg (the default), and
# the worker's shared port with belfry's own ICE ([media] shared-port).
@pytest.mark.parametrize("shared_port", [False, True], ids=["libnice", "shared-port"])
def test_relayed_calls_under_asan_leave_nothing_behind(tmp_path, shared_port):
    binary = harness.require_belfry()
    assert is_asan_build(binary), (
        f"{binary} is not an ASan build (meson setup build-asan -Db_sanitize=address,undefined)")
    assert CALLS >= 1 and MEDIA_SECONDS > 0 and PPS > 0
    t_start = time.monotonic()
    events = queue.Queue()
    prosody = harness.Prosody(prefix="belfry-calls-asan-prosody-")
    # info, not debug: 800 sessions' stanzas at debug are a large log
    prosody.config.write_text(prosody.config.read_text().replace('min = "debug"', 'min = "info"'))
    belfry = load = None
    clients = []
    mport = harness.free_port()
    try:
        prosody.start()
        e2e.adopt(prosody.proc.pid)
        total_calls = WARMUP_CALLS + 2 * CALLS
        media = {"addresses": "127.0.0.1", "workers": "2", "max-sessions": str(2 * CALLS + 10)}
        if shared_port:
            media["shared-port"] = "0"
        belfry = harness.Belfry(
            tmp_path / "belfry", port=prosody.component_port, modules="call",
            groups={"media": media,
                    # one account places every call: the fair-use limits off
                    "limits": {"max-sessions-per-jid": "0"},
                    "call": {"max-calls-per-jid": str(min(1000, CALLS + 10)),
                             "max-calls-per-minute": "0"},
                    "metrics": {"listen": f"127.0.0.1:{mport}"}})
        saved = {k: os.environ.get(k) for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")}
        os.environ.update(sanitizer_env())
        try:
            belfry.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        e2e.adopt(belfry.pid)
        belfry.wait_log("metrics: serving", 10)
        fds_boot, rss_boot = open_fds(belfry.pid), vm_rss_kib(belfry.pid)

        load = LoadProc(events)
        alice = client(prosody, "alice", harness.USERS["alice"],
                       lambda el: events.put(("alice", el)))
        clients.append(alice)
        bob = client(prosody, "bob", harness.USERS["bob"], lambda el: events.put(("bob", el)))
        clients.append(bob)
        drv = Driver(load, alice, bob, events)
        drv.wait_line("ports ", 10)

        # warm-up: one-time allocations and descriptors before the start
        # figures, and ASan's quarantine filled by the packet path
        drv.setup(range(WARMUP_CALLS))
        load.send(f"run {WARMUP_PPS} {WARMUP_SECONDS} 0 {WARMUP_CALLS} {PACKET} audio")
        drv.wait_line("window-end", WARMUP_SECONDS + 20)
        drv.wait_line("window-report", 10)
        drv.hangup(range(WARMUP_CALLS))
        wait_sessions(mport, 0, SESSIONS_SETTLE)
        rss0, fds0 = quiet_figures(belfry)
        SUMMARY.append(f"calls under ASan: belfry at start {len(fds_boot)} fds, VmRSS "
                       f"{rss_boot / 1024:.1f} MiB; after the warm-up ({WARMUP_CALLS} calls) "
                       f"{len(fds0)} fds {fd_kinds(fds0)}, {rss0 / 1024:.1f} MiB")

        one = media_and_hangup_cycle(drv, load, belfry, mport, WARMUP_CALLS, MEDIA_SECONDS,
                                     (rss0, fds0), "first round")
        two = media_and_hangup_cycle(drv, load, belfry, mport, WARMUP_CALLS + CALLS,
                                     AGAIN_SECONDS, (rss0, fds0), "second round")
        rss1, rss2 = one["rss"], two["rss"]
        SUMMARY.append(
            f"calls under ASan: VmRSS {rss0 / 1024:.1f} MiB before, {rss1 / 1024:.1f} after the "
            f"first {CALLS} calls ({(rss1 - rss0) / CALLS:.0f} KiB per call kept by the "
            f"allocators), {rss2 / 1024:.1f} after the second ({(rss2 - rss1) / 1024:+.1f} MiB)")
        assert rss1 <= rss0 + CALLS * RSS_PER_CALL_KIB, (
            f"belfry's VmRSS grew from {rss0} KiB to {rss1} KiB over {CALLS} calls (allowed "
            f"{RSS_PER_CALL_KIB} KiB per call; peak {one['rss_peak']} KiB)")
        assert rss2 <= rss1 + RSS_AGAIN_SLACK_MIB * 1024, (
            f"belfry's VmRSS grew from {rss1} KiB after the first {CALLS} calls to {rss2} KiB "
            f"after the same again (+{rss2 - rss1} KiB, allowed +{RSS_AGAIN_SLACK_MIB} MiB): "
            f"memory kept per call")
    finally:
        for c in clients:
            c.close()
        if load:
            load.close()
        rc = None
        if belfry is not None and belfry.proc is not None:
            if belfry.running():
                rc, secs = belfry.terminate(signal.SIGTERM, timeout=120)
                SUMMARY.append(f"calls under ASan: belfry exited {rc} {secs:.1f} s after SIGTERM; "
                               f"the whole test took {time.monotonic() - t_start:.0f} s")
            else:
                rc = belfry.proc.returncode
        prosody.close()
    log = belfry.log()
    reports = [r for r in SANITIZER_REPORTS if r in log]
    assert rc == 0 and not reports, (
        f"belfry exited with {rc} on SIGTERM (23: LeakSanitizer found a leak); sanitizer "
        f"reports {reports}; stderr:\n{log[-8000:]}")
