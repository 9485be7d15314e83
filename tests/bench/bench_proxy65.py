"""SOCKS5 file-proxy (XEP-0065) benchmark: belfry's proxy65 module against
direct TCP and Prosody 0.12's own mod_proxy65, in the same run on the same
machine. A benchmark, not a test: it prints figures (a Markdown table for the
README, ratios, and details that show whether the numbers can be trusted).

    /usr/bin/python3 tests/bench/bench_proxy65.py            # 3 runs x 1 GiB
    /usr/bin/python3 tests/bench/bench_proxy65.py --quick    # 1 run x 256 MiB
    BELFRY_BIN=... overrides build/relay/belfry; --parts direct,prosody runs
    without belfry.

What is measured, per run (runs are interleaved: direct, belfry, Prosody, so
drift on the machine hits all three alike):

* direct TCP: N bytes from one loopback socket to another, no relay;
* belfry: one throwaway Prosody (harness.Prosody) with belfry attached as
  relay.localhost, `[modules] load = echo;proxy65`, `[proxy65] listen =
  127.0.0.1:PORT` (and max-streams-per-jid raised to the concurrency: every
  stream here is alice's, the default allows 16); real XMPP clients alice and bob (harness.Client, slixmpp);
  alice discovers the streamhost (bytestreams query to relay.localhost), bob
  (target) then alice (requester) open SOCKS5 (greeting 05 01 00, CONNECT
  ATYP 3 with sha1_hex(sid + alice full JID + bob full JID), port 0), alice
  sends the activation iq, then raw blocking sockets move the data
  alice -> bob;
* Prosody: the same against Prosody's own mod_proxy65 (proxy.localhost) on
  the same Prosody, default network settings (perf-anchors: do not turn on
  opportunistic_writes), log level info like the reference setup;
* the same three with 50 concurrent transfers of 20 MB each (aggregate).

The XEP-0065 initiation iq alice -> bob (the one that tells the target the
sid and the streamhost) is not sent: both ends live in this process and
already know the sid; the proxy never sees that iq, so it cannot change what
is measured. Everything the proxy does see (discovery, both SOCKS5
connections in the target-first order, activation from the requester's full
JID) is real.

Timing: the data phase only, from releasing the sender threads (after the
activation result) until the receiver has the last byte. MB = 10^6 bytes.
Relay CPU: utime+stime of the relay process (all its threads, /proc/PID/stat)
over the same window, per 10^9 payload bytes. Each relayed byte is read once
and written once by the relay; on loopback the receive-side TCP processing of
the relay's outgoing leg mostly runs inline (softirq) in the relay and is
charged to it, the rest runs in ksoftirqd. The details add the relay core's
total busy time from /proc/stat (including softirq, when pinned).

Client side (it must not be the bottleneck, perf-anchors): Python threads,
blocking sockets, 1 MiB buffers: sendmsg() (a blocking sendall of
[8-byte stamp, rest of the block]) and recv_into(MSG_WAITALL), which release
the GIL for the whole syscall, so the interpreter does one loop turn per MiB.
Verification is cheap on purpose: each run sends a seeded random 1 MiB block
over and over (one read-only block shared by all senders, so it stays in
cache), the first 8 bytes of each repetition replaced by (transfer tag,
block index). The receiver checks, for each chunk it gets, the stamp bytes
inside it and 4 sampled bytes against the expected pattern at that stream
offset, then the exact total length and the EOF after it. Lost, duplicated
or reordered data, another transfer's data and truncation are caught (a
shift of k bytes fails each sample with p = 255/256; 1 MiB-aligned moves and
cross-stream mixing fail the stamp), at a few microseconds per MiB. Hashing
every byte would not be cheap here: SHA-256 costs 0.63 s and CRC32 0.19 s of
client CPU per GiB on this machine, against ~0.5 core-s per GB for the whole
client side of a direct transfer. The details print the client process's and
both cores' utilisation and context switches, so a saturated client shows.

Pinning (--pin split, the default with >= 2 CPUs): the relay (belfry or
Prosody, all threads) runs on CPU 0, this process (all client threads) on
CPU 1. The relay then has a core of its own and its CPU figures are not
disturbed by the load generator; the direct-TCP baseline runs under the same
pinning, so it is exactly the ceiling the clients can drive, and
belfry/direct says how close the relay comes to not being the bottleneck.
`--pin none` lets the scheduler place everything (the direct row is then the
machine's unshared loopback limit, which a relay, doing the same copies
again, cannot reach on 2 cores).

The concurrent rows (--concurrent-pin, default none) run unpinned: belfry
relays streams on `[proxy65] threads` threads (default one per CPU), which
only show on more than one core; --relay-threads sets that key (1: the
old single-loop placement, for a before/after in one run). Whether the
client side is the limit there: each row prints the client process's CPU
(its user-space part, the only part that holds the GIL, apart: the
blocking sendmsg/recv_into calls run without it), the relay's CPU per
thread (main, bf-proxy65-N), and the machine's busy and softirq time. The
direct row drives the same client code through the same sockets without a
relay, so it is the ceiling of the clients; a client far below a core of
user time and a machine at 200 % busy say the limit is the machine (the
second TCP hop's kernel work, much of it softirq charged to no process),
not the load generator.

Shared machine: before each measurement the script waits until the machine
is idle; a measurement during which other processes used more than
--max-other-load of a core (from /proc/stat minus this process, the relay
and ksoftirqd) is repeated (--retries); the details say how many were.

Also run once per relay: a "quiet sender" check (5 MB sent, the sender stays
open and silent; all of it must reach the receiver within 3 s; perf-anchors
saw Prosody hold data back in this case).

All processes are children of this one, pinned and stopped by PID, and
cleaned up in `finally` (also on SIGTERM/SIGINT/SIGHUP).
"""

import argparse
import os
import platform
import random
import resource
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
os.environ.setdefault("BELFRY_BIN", str(REPO / "build" / "relay" / "belfry"))

import harness  # noqa: E402

NS_BS = "http://jabber.org/protocol/bytestreams"
NS_CLIENT = harness.NS_CLIENT
PROSODY_PROXY = "proxy.localhost"
BLOCK = 1 << 20            # client buffer and pattern period: 1 MiB
STAMP = 8                  # bytes at the start of each block: (transfer id, index)
SAMPLES = 4                # sampled bytes checked per received chunk
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Processes: Prosody with its own proxy65, CPU accounting, pinning
# ---------------------------------------------------------------------------

class ProsodyWithProxy65(harness.Prosody):
    """harness.Prosody (same launcher: prosody user via setpriv, foreground,
    child process, stopped by PID and waited for) plus Prosody's own
    mod_proxy65 as proxy.localhost, and log level info (the harness logs at
    debug, which a baseline should not pay for)."""

    def __init__(self):
        self.proxy65_port = harness.free_port()
        # Global options go before the first VirtualHost (harness's `extra`).
        super().__init__(extra=(f"proxy65_ports = {{ {self.proxy65_port} }}\n"
                                'proxy65_interfaces = { "127.0.0.1" }\n'))
        text = self.config.read_text()
        first = self.proxy65_port
        while self.proxy65_port in (self.c2s_port, self.component_port, self.http_port):
            self.proxy65_port = harness.free_port()
        text = text.replace(f"proxy65_ports = {{ {first} }}",
                            f"proxy65_ports = {{ {self.proxy65_port} }}")
        debug = 'levels = { min = "debug" }'
        if debug not in text:
            raise BenchError("harness.Prosody's config changed; update ProsodyWithProxy65")
        text = text.replace(debug, 'levels = { min = "info" }')
        text += (f'Component "{PROSODY_PROXY}" "proxy65"\n'
                 '  proxy65_address = "127.0.0.1"\n'
                 '  proxy65_acl = { "localhost" }\n')
        self.config.write_text(text)   # same file: keeps the prosody owner

    def start(self):
        super().start()
        try:
            harness.wait_ports([self.proxy65_port], 20, self.proc, "prosody proxy65", self.log)
        except Exception:
            self.stop()
            raise


def cpu_seconds(pid):
    """utime+stime of the whole process (all threads), seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def threads_of(pid):
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def pin(pid, cpus):
    """Pin every current thread of pid (new threads inherit from their creator)."""
    if cpus is None:
        return
    for tid in threads_of(pid):
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:
            pass


def cpu_ticks():
    """Per-CPU (busy, softirq) ticks from /proc/stat. busy = user + nice +
    system + irq + softirq. Loopback TCP receive processing runs in softirq,
    mostly inline in the sending task (with tick accounting, as here, that
    time is in the task's stime too), sometimes in ksoftirqd."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3].isdigit():
            f = line.split()
            user, nice, system, _idle, _iow, irq, softirq = map(int, f[1:8])
            out[int(f[0][3:])] = (user + nice + system + irq + softirq, softirq)
    return out


def wait_idle(max_wait, threshold=0.10, interval=0.5):
    """Wait until the whole machine uses < threshold of a core (everything of
    ours is idle between measurements) for two intervals in a row. Returns
    the seconds waited, or None if it never got quiet within max_wait."""
    t0 = time.monotonic()
    quiet = 0
    while True:
        a = cpu_ticks()
        time.sleep(interval)
        b = cpu_ticks()
        busy = sum(b[c][0] - a[c][0] for c in b if c in a) / CLK_TCK / interval
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= 2:
            return time.monotonic() - t0
        if time.monotonic() - t0 > max_wait:
            return None


def ksoftirqd_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (harness._proc_comm(int(entry)) or "").startswith("ksoftirqd/"):
            pids.append(int(entry))
    return pids


def pids_cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def ctx_switches(pid):
    """voluntary + involuntary context switches of all threads of pid."""
    total = 0
    for tid in threads_of(pid):
        try:
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def self_cpu():
    t = os.times()
    return t.user + t.system


def self_user_cpu():
    """User-space CPU of this process: the Python code, which holds the GIL
    (the blocking socket calls release it; their kernel time is system)."""
    return os.times().user


def thread_cpu(pid):
    """{thread name: utime+stime seconds}, threads of one name summed (the
    relay's main thread, bf-proxy65-N relay threads, bf-media-N, ...)."""
    out = {}
    for tid in threads_of(pid):
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if tid == pid:
            comm = "main"
        out[comm] = out.get(comm, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


# ---------------------------------------------------------------------------
# Data plane: pattern, sender, receiver
# ---------------------------------------------------------------------------

class Pattern:
    """The stream of one transfer: a shared random 1 MiB block repeated, the
    first STAMP bytes of each repetition replaced by (transfer tag, index)."""

    def __init__(self, block, tag):
        self.block = block
        self.tag = tag

    def stamp(self, index):
        return struct.pack(">II", self.tag & 0xFFFFFFFF, index & 0xFFFFFFFF)

    def expected(self, pos):
        q = pos % BLOCK
        if q < STAMP:
            return self.stamp(pos // BLOCK)[q]
        return self.block[q]


def set_kernel_timeouts(sock, seconds):
    """Blocking socket with SO_RCVTIMEO/SO_SNDTIMEO (Python's settimeout()
    would make the fd non-blocking and defeat MSG_WAITALL)."""
    sock.settimeout(None)
    tv = struct.pack("ll", int(seconds), 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def send_stream(sock, pat, total, close=True):
    """sendmsg() of [stamp, rest of the block]: one syscall per MiB, and every
    sender reads the same (cache-warm, read-only) block."""
    mv = memoryview(pat.block)
    sent = 0
    index = 0
    while sent < total:
        n = min(BLOCK, total - sent)
        k = min(STAMP, n)
        st = pat.stamp(index)
        off = 0
        while off < n:
            off += sock.sendmsg([st[off:k], mv[k:n]] if off < k else [mv[off:n]])
        sent += n
        index += 1
    if close:
        sock.shutdown(socket.SHUT_WR)


def recv_stream(sock, pat, total, progress, slot):
    """Receive exactly total bytes, checking stamps and samples; updates
    progress[slot]. Raises BenchError on corruption or a short stream."""
    buf = bytearray(BLOCK)
    mv = memoryview(buf)
    got = 0
    waitall = socket.MSG_WAITALL
    while got < total:
        n = sock.recv_into(mv, min(BLOCK, total - got), waitall)
        if n == 0:
            raise BenchError(f"stream ended after {got} of {total} bytes")
        # stamps of the blocks whose first STAMP bytes fall into this chunk
        first = got // BLOCK
        last = (got + n - 1) // BLOCK
        for b in range(first, last + 1):
            start = b * BLOCK
            lo = max(start, got)
            hi = min(start + STAMP, got + n)
            if lo < hi and buf[lo - got:hi - got] != pat.stamp(b)[lo - start:hi - start]:
                raise BenchError(
                    f"block stamp mismatch at offset {lo}: got "
                    f"{bytes(buf[lo - got:hi - got]).hex()} want "
                    f"{pat.stamp(b)[lo - start:hi - start].hex()} (lost/duplicated/"
                    "reordered data or another transfer's data)")
        for i in (0, n // 3, (2 * n) // 3, n - 1):
            if buf[i] != pat.expected(got + i):
                raise BenchError(f"data mismatch at stream offset {got + i}")
        got += n
        progress[slot] = got
    return got


# ---------------------------------------------------------------------------
# XEP-0065 negotiation
# ---------------------------------------------------------------------------

def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise BenchError(f"SOCKS5: connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def socks5_connect(host, port, dst, notes):
    """SOCKS5 without authentication, CONNECT to domain dst (the hash), port 0."""
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(b"\x05\x01\x00")
        r = recv_exact(s, 2)
        if r != b"\x05\x00":
            raise BenchError(f"SOCKS5 greeting refused: {r.hex()}")
        d = dst.encode()
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(d)]) + d + b"\x00\x00")
        ver, rep, _rsv, atyp = recv_exact(s, 4)
        if ver != 5 or rep != 0:
            raise BenchError(f"SOCKS5 CONNECT failed: VER {ver} REP {rep}")
        if atyp == 3:
            addr = recv_exact(s, recv_exact(s, 1)[0])
        elif atyp == 1:
            addr = recv_exact(s, 4)
        elif atyp == 4:
            addr = recv_exact(s, 16)
        else:
            raise BenchError(f"SOCKS5 reply with ATYP {atyp}")
        bport = recv_exact(s, 2)
        if atyp != 3 or addr != d or bport != b"\x00\x00":
            notes.add("SOCKS5 reply's BND.ADDR/BND.PORT differ from DST.ADDR/DST.PORT "
                      "(XEP-0065 6.3.2 says MUST be equal)")
        set_kernel_timeouts(s, 60)
        return s
    except BaseException:
        s.close()
        raise


class Proxy:
    """One XEP-0065 proxy reached through alice and bob."""

    def __init__(self, name, jid, alice, bob, pid_fn, notes):
        self.name = name
        self.jid = jid
        self.alice = alice
        self.bob = bob
        self.pid_fn = pid_fn
        self.notes = notes
        self.host, self.port = self.discover()

    def discover(self):
        reply = self.alice.iq(self.jid, "get", f"<query xmlns='{NS_BS}'/>", timeout=10)
        if reply.get("type") != "result":
            raise BenchError(f"{self.name}: streamhost query failed: "
                             f"{ET.tostring(reply, encoding='unicode')}")
        sh = reply.find(f"{{{NS_BS}}}query/{{{NS_BS}}}streamhost")
        if sh is None:
            raise BenchError(f"{self.name}: no <streamhost/> in "
                             f"{ET.tostring(reply, encoding='unicode')}")
        host, port = sh.get("host"), int(sh.get("port"))
        if sh.get("jid") != self.jid:
            self.notes.add(f"{self.name}: streamhost jid {sh.get('jid')!r} != {self.jid!r}")
        if host not in ("127.0.0.1", "localhost"):
            raise BenchError(f"{self.name}: streamhost {host}:{port} is not on loopback")
        return host, port

    def open_pairs(self, count):
        """count activated bytestreams: list of (sender=alice's socket,
        receiver=bob's socket). Target (bob) connects first, then the
        requester (alice); alice activates each."""
        pairs = []
        try:
            for _ in range(count):
                sid = "bench" + os.urandom(8).hex()
                dst = hashlib.sha1((sid + self.alice.full_jid + self.bob.full_jid)
                                   .encode()).hexdigest()
                # (No initiation iq alice -> bob: both know sid; see docstring.)
                target = socks5_connect(self.host, self.port, dst, self.notes)
                pairs.append([None, target])
                pairs[-1][0] = socks5_connect(self.host, self.port, dst, self.notes)
                reply = self.alice.iq(
                    self.jid, "set",
                    f"<query xmlns='{NS_BS}' sid={quoteattr(sid)}>"
                    f"<activate>{self.bob.full_jid}</activate></query>", timeout=10)
                if reply.get("type") != "result":
                    raise BenchError(f"{self.name}: activation failed: "
                                     f"{ET.tostring(reply, encoding='unicode')}")
            return [tuple(p) for p in pairs]
        except BaseException:
            close_pairs(pairs)
            raise


def direct_pairs(count):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(count)
    pairs = []
    try:
        for _ in range(count):
            c = socket.create_connection(lst.getsockname(), timeout=10)
            a, _ = lst.accept()
            set_kernel_timeouts(c, 60)
            set_kernel_timeouts(a, 60)
            pairs.append((c, a))
        return pairs
    except BaseException:
        close_pairs(pairs)
        raise
    finally:
        lst.close()


def close_pairs(pairs):
    for p in pairs:
        for s in p:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


# ---------------------------------------------------------------------------
# One measurement
# ---------------------------------------------------------------------------

class Result:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_transfers(pairs, nbytes, seed, relay_pid, timeout, eof_timeout=5.0, cores=None):
    """Move nbytes over every (sender, receiver) pair at once. Returns a
    Result; raises BenchError on corruption, short data or a stall past
    timeout."""
    n = len(pairs)
    block = random.Random(seed).randbytes(BLOCK)
    pats = [Pattern(block, (seed << 16) + i) for i in range(n)]
    progress = [0] * n
    done_at = [None] * n
    eof_ok = [None] * n
    errors = []
    barrier = threading.Barrier(2 * n + 1)

    def sender(i):
        try:
            barrier.wait()
            send_stream(pairs[i][0], pats[i], nbytes)
        except BaseException as e:  # noqa: BLE001
            errors.append(f"sender {i}: {e!r}")

    def receiver(i):
        s = pairs[i][1]
        try:
            barrier.wait()
            recv_stream(s, pats[i], nbytes, progress, i)
            done_at[i] = time.perf_counter()
            set_kernel_timeouts(s, eof_timeout)
            try:
                extra = s.recv(1)
                if extra:
                    errors.append(f"receiver {i}: bytes after the expected {nbytes}")
                eof_ok[i] = not extra
            except OSError:
                eof_ok[i] = False          # no EOF within eof_timeout
        except BaseException as e:  # noqa: BLE001
            errors.append(f"receiver {i}: {e!r}")

    threads = ([threading.Thread(target=sender, args=(i,), daemon=True) for i in range(n)]
               + [threading.Thread(target=receiver, args=(i,), daemon=True) for i in range(n)])
    for t in threads:
        t.start()
    last_seen = [0] * n
    last_change = [0.0] * n
    max_gap = [0.0] * n
    relay_cpu0 = cpu_seconds(relay_pid) if relay_pid else None
    relay_threads0 = thread_cpu(relay_pid) if relay_pid else {}
    client_cpu0 = self_cpu()
    client_user0 = self_user_cpu()
    relay_cs0 = ctx_switches(relay_pid) if relay_pid else 0
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    ksoft = ksoftirqd_pids()
    ksoft0 = pids_cpu(ksoft)
    ticks0 = cpu_ticks()
    t0 = time.perf_counter()
    barrier.wait()
    last_change = [t0] * n
    relay_cpu1 = client_cpu1 = t_all = None
    deadline = t0 + timeout
    while True:
        time.sleep(0.01)
        now = time.perf_counter()
        for i in range(n):
            if done_at[i] is None:
                if progress[i] != last_seen[i]:
                    last_seen[i] = progress[i]
                    last_change[i] = now
                else:
                    max_gap[i] = max(max_gap[i], now - last_change[i])
        if t_all is None and all(d is not None for d in done_at):
            relay_cpu1 = cpu_seconds(relay_pid) if relay_pid else None
            relay_threads1 = thread_cpu(relay_pid) if relay_pid else {}
            client_cpu1 = self_cpu()
            client_user1 = self_user_cpu()
            ticks1 = cpu_ticks()
            ksoft1 = pids_cpu(ksoft)
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            relay_cs1 = ctx_switches(relay_pid) if relay_pid else 0
            t_all = time.perf_counter()
        if errors or not any(t.is_alive() for t in threads[n:]):
            break
        if now > deadline:
            errors.append(f"stalled: no completion within {timeout:.0f}s; received "
                          f"{sum(progress)} of {n * nbytes} bytes")
            break
    if errors:
        for p in pairs:   # unblock every thread
            for s in p:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    for t in threads:
        t.join(10)
    if errors:
        raise BenchError("; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)"
                                                  if len(errors) > 3 else ""))
    # t_all (when the monitor saw the last receiver finish, <= 10 ms late) is
    # the end of the CPU window; the throughput uses the receivers' own times.
    cpu_window = t_all - t0
    t_all = max(done_at)
    wall = t_all - t0
    core = {}
    for name, c in (cores or {}).items():
        busy = (ticks1[c][0] - ticks0[c][0]) / CLK_TCK
        soft = (ticks1[c][1] - ticks0[c][1]) / CLK_TCK
        core[name] = (busy / cpu_window, soft / cpu_window, busy / (n * nbytes / 1e9))
    # CPU used by anything but us, the relay and ksoftirqd (our packets):
    # another job on the machine makes the figures of this run suspect.
    ours = ((client_cpu1 - client_cpu0) + ((relay_cpu1 - relay_cpu0) if relay_pid else 0)
            + (ksoft1 - ksoft0))
    busy_all = sum(ticks1[c][0] - ticks0[c][0] for c in ticks1 if c in ticks0) / CLK_TCK
    other = max(0.0, busy_all - ours) / cpu_window
    total = n * nbytes
    per = sorted(d - t0 for d in done_at)
    return Result(
        bytes=total, wall=wall, mbps=total / wall / 1e6,
        relay_cpu=(relay_cpu1 - relay_cpu0) if relay_pid else None,
        cpu_per_gb=((relay_cpu1 - relay_cpu0) / (total / 1e9)) if relay_pid else None,
        client_util=(client_cpu1 - client_cpu0) / cpu_window, core=core,
        client_user=(client_user1 - client_user0) / cpu_window,
        machine_busy=busy_all / cpu_window,
        # softirq time on every CPU: with IRQ time accounting it is charged
        # to no process, so loopback TCP work of ours can show as "other"
        machine_softirq=sum(ticks1[c][1] - ticks0[c][1] for c in ticks1 if c in ticks0)
        / CLK_TCK / cpu_window,
        relay_threads={k: (v - relay_threads0.get(k, 0.0)) / cpu_window
                       for k, v in relay_threads1.items()},
        max_gap=max(max_gap), other=other,
        client_cs_per_mb=((ru1.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nvcsw - ru0.ru_nivcsw)
                          / (n * nbytes / 1e6)),
        relay_cs_per_mb=(relay_cs1 - relay_cs0) / (n * nbytes / 1e6), first_done=per[0], last_done=per[-1],
        eof_missing=sum(1 for e in eof_ok if not e))


def quiet_sender_check(proxy, nbytes=5_000_000, wait=3.0):
    """Send nbytes, keep the sender open and silent: how much arrives within
    wait seconds?"""
    pairs = proxy.open_pairs(1)
    try:
        snd, rcv = pairs[0]
        pat = Pattern(random.Random(7).randbytes(BLOCK), 7)
        send_stream(snd, pat, nbytes, close=False)
        t0 = time.perf_counter()
        set_kernel_timeouts(rcv, wait)
        got = [0]
        try:
            recv_stream(rcv, pat, nbytes, got, 0)
        except OSError:
            pass
        return got[0], time.perf_counter() - t0
    finally:
        close_pairs(pairs)


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------

def fmt_range(vals, fmt="{:.0f}"):
    if not vals:
        return "n/a"
    return " / ".join(fmt.format(v) for v in (min(vals), statistics.median(vals), max(vals)))


def med(vals):
    return statistics.median(vals) if vals else None


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=None, help="runs per case (default 3)")
    ap.add_argument("--size-mib", type=int, default=None,
                    help="single-transfer size in MiB (default 1024)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke: 256 MiB, 1 run, 50 x 5 MB")
    ap.add_argument("--concurrent", type=int, default=50, help="concurrent transfers")
    ap.add_argument("--concurrent-mb", type=float, default=None,
                    help="MB (10^6) per concurrent transfer (default 20)")
    ap.add_argument("--parts", default="direct,belfry,prosody",
                    help="comma list of direct,belfry,prosody")
    ap.add_argument("--pin", choices=("split", "none"), default=None,
                    help="split: relay on CPU 0, clients on CPU 1 (default with >= 2 CPUs)")
    ap.add_argument("--concurrent-pin", choices=("split", "none"), default="none",
                    help="placement for the concurrent rows (default none: belfry's relay "
                         "threads and the clients share every CPU, as in production; "
                         "split: as --pin split)")
    ap.add_argument("--relay-threads", type=int, default=None,
                    help="[proxy65] threads for belfry (default: belfry's, the CPU count)")
    ap.add_argument("--skip-single", action="store_true",
                    help="only the concurrent rows")
    ap.add_argument("--seed", type=int, default=65)
    ap.add_argument("--max-other-load", type=float, default=0.15,
                    help="a measurement during which other processes used more than this "
                         "fraction of a core is repeated (default 0.15)")
    ap.add_argument("--retries", type=int, default=3,
                    help="repeats of a disturbed measurement (default 3)")
    ap.add_argument("--idle-wait", type=float, default=120,
                    help="seconds to wait for a quiet machine before each measurement")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds before a transfer counts as stalled "
                         "(default 30 + size / 5 MB/s)")
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    size = (args.size_mib or (256 if args.quick else 1024)) * (1 << 20)
    cmb = args.concurrent_mb or (5 if args.quick else 20)
    cbytes = int(cmb * 1e6)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for p in parts:
        if p not in ("direct", "belfry", "prosody"):
            ap.error(f"unknown part {p!r}")
    ncpu = len(os.sched_getaffinity(0))
    pin_mode = args.pin or ("split" if ncpu >= 2 else "none")
    if pin_mode == "split" and ncpu < 2:
        ap.error("--pin split needs 2 CPUs")
    avail = sorted(os.sched_getaffinity(0))
    relay_cpus = {avail[0]} if pin_mode == "split" else None
    client_cpus = {avail[1]} if pin_mode == "split" else None

    cores = ({"relay": min(relay_cpus), "client": min(client_cpus)}
             if pin_mode == "split" else None)

    def timeout_for(nbytes):
        return args.timeout or 30 + nbytes / 5e6

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    if client_cpus:
        # Before any thread or child exists: everything inherits CPU 1;
        # the relays are moved to CPU 0 explicitly.
        os.sched_setaffinity(0, client_cpus)

    notes = set()
    disturbed = {"repeated": 0, "kept": 0, "no_quiet": 0}
    results = {}     # case -> list of Result
    failures = {}    # case -> list of str
    extra = []       # detail lines
    prosody = belfry = alice = bob = None
    workdir = Path(tempfile.mkdtemp(prefix="belfry-bench-proxy65-"))
    cases_single = [p for p in ("direct", "belfry", "prosody") if p in parts]

    print(f"# proxy65 benchmark: {runs} run(s) x {size / (1 << 20):.0f} MiB single, "
          f"{args.concurrent} x {cmb:g} MB concurrent; pin={pin_mode}"
          + (f" (relay CPU {min(relay_cpus)}, clients CPU {min(client_cpus)})"
             if relay_cpus else "") + f"; seed {args.seed}")
    print(f"# {cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
          f"belfry {git_rev()}, {harness.BELFRY_BIN}")
    sys.stdout.flush()
    try:
        proxies = {}
        if "belfry" in parts or "prosody" in parts:
            prosody = ProsodyWithProxy65()
            prosody.start()
            pin(prosody.proc.pid, relay_cpus)
            if "belfry" in parts:
                harness.require_belfry()
                p65 = harness.free_port()
                belfry = harness.Belfry(workdir, port=prosody.component_port,
                                        modules="echo;proxy65",
                                        groups={"proxy65": {
                                            "listen": f"127.0.0.1:{p65}",
                                            # all concurrent streams come from
                                            # alice; the default allows 16
                                            "max-streams-per-jid": max(16, args.concurrent),
                                            **({"threads": args.relay_threads}
                                               if args.relay_threads else {})}})
                chk = harness.run_belfry(["--config", str(belfry.config), "--check-config"])
                if chk.returncode != 0:
                    raise BenchError(f"belfry --check-config with proxy65 failed "
                                     f"({chk.returncode}): {chk.stderr.strip()[-2000:]}")
                belfry.start()
                pin(belfry.pid, relay_cpus)
                harness.wait_ports([p65], 10, belfry.proc, "belfry proxy65")
            alice = harness.Client(f"alice@{harness.DOMAIN}", harness.USERS["alice"],
                                   prosody.c2s_port)
            bob = harness.Client(f"bob@{harness.DOMAIN}", harness.USERS["bob"],
                                 prosody.c2s_port)
            if "belfry" in parts:
                proxies["belfry"] = Proxy("belfry", harness.COMPONENT, alice, bob,
                                          lambda: belfry.pid, notes)
            if "prosody" in parts:
                proxies["prosody"] = Proxy("Prosody", PROSODY_PROXY, alice, bob,
                                           lambda: prosody.proc.pid, notes)

        def place(count):
            """The relay's and the client threads' CPUs for this row; the
            cores to report busy time for (None when unpinned)."""
            split = relay_cpus is not None and (count == 1 or args.concurrent_pin == "split")
            rc, cc = (relay_cpus, client_cpus) if split else (set(avail), set(avail))
            os.sched_setaffinity(0, cc)   # this thread: the transfer threads inherit it
            for pid in ([belfry.pid] if belfry is not None and belfry.running() else []):
                pin(pid, rc)
            return cores if split else None

        def one(case, count, nbytes, seed):
            key = (case, count)
            row_cores = place(count)
            for attempt in range(args.retries + 1):
                if wait_idle(args.idle_wait) is None:
                    disturbed["no_quiet"] += 1
                try:
                    if case == "direct":
                        pairs, pid = direct_pairs(count), None
                    else:
                        pairs, pid = proxies[case].open_pairs(count), proxies[case].pid_fn()
                        pin(pid, relay_cpus if row_cores else set(avail))   # new threads
                    try:
                        r = run_transfers(pairs, nbytes, seed, pid,
                                          timeout_for(count * nbytes), cores=row_cores)
                    finally:
                        close_pairs(pairs)
                except (BenchError, OSError, AssertionError) as e:
                    failures.setdefault(key, []).append(str(e))
                    print(f"  {case:8s} {count:3d} x {nbytes / 1e6:7.1f} MB: FAILED: {e}")
                    sys.stdout.flush()
                    return
                cpu = (f", relay {r.cpu_per_gb:.2f} CPU-s/GB"
                       if r.cpu_per_gb is not None else "")
                print(f"  {case:8s} {count:3d} x {nbytes / 1e6:7.1f} MB: {r.mbps:8.0f} MB/s"
                      f"{cpu}, client CPU {r.client_util * 100:.0f}%"
                      f" (user {r.client_user * 100:.0f}%)"
                      + (f", relay CPU {r.relay_cpu / r.wall * 100:.0f}% ("
                         + ", ".join(f"{k} {v * 100:.0f}%" for k, v in
                                     sorted(r.relay_threads.items()) if v >= 0.005) + ")"
                         if r.relay_cpu is not None else "")
                      + f", machine busy {r.machine_busy * 100:.0f}% of {ncpu} cores"
                      f" (softirq {r.machine_softirq * 100:.0f}%)"
                      + "".join(f", {k} core busy {v[0] * 100:.0f}%" for k, v in r.core.items())
                      + (f", OTHER LOAD {r.other * 100:.0f}% of a core" if r.other > 0.05 else "")
                      + f", longest no-progress {r.max_gap * 1000:.0f} ms"
                      + (f", done {r.first_done:.2f}-{r.last_done:.2f} s" if count > 1 else "")
                      + (f", {r.eof_missing} without EOF after data" if r.eof_missing else ""))
                sys.stdout.flush()
                if r.other <= args.max_other_load:
                    break
                if attempt < args.retries:
                    disturbed["repeated"] += 1
                    print("    (disturbed by other processes: repeating)")
                else:
                    disturbed["kept"] += 1
            results.setdefault(key, []).append(r)

        for run in range(runs):
            print(f"run {run + 1}/{runs}")
            for case in ([] if args.skip_single else cases_single):
                one(case, 1, size, args.seed + run)
            for case in cases_single:
                one(case, args.concurrent, cbytes, args.seed + 100 + run)
            if belfry is not None and not belfry.running():
                print("  belfry is no longer running: stopping the belfry cases")
                notes.add(f"belfry exited with {belfry.proc.returncode} during the benchmark")
                cases_single = [c for c in cases_single if c != "belfry"]

        for case in [c for c in ("belfry", "prosody") if c in proxies]:
            if case == "belfry" and not belfry.running():
                continue
            try:
                got, secs = quiet_sender_check(proxies[case])
                extra.append(f"quiet sender ({proxies[case].name}): {got / 1e6:.1f} of 5.0 MB "
                             f"delivered while the sender stayed open"
                             + (f" (waited {secs:.1f} s)" if got < 5_000_000 else ""))
            except (BenchError, OSError, AssertionError) as e:
                extra.append(f"quiet sender ({proxies[case].name}): FAILED: {e}")

        if belfry is not None and belfry.running():
            nthreads = len(threads_of(belfry.pid))
            hwm = belfry.vm_hwm_kb()
            extra.append(f"belfry after the runs: {nthreads} thread(s), VmHWM {hwm / 1024:.1f} MiB")
    finally:
        for c in (alice, bob):
            if c is not None:
                c.close()
        if belfry is not None:
            try:
                belfry.stop()
            except AssertionError as e:
                notes.add(f"belfry stop: {str(e)[:500]}")
            finally:
                belfry.kill_quietly()
        if prosody is not None:
            prosody.close()
        if not os.environ.get("BELFRY_KEEP_TMP"):
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)

    # ---- report ----
    label = {"direct": "direct TCP, no relay", "belfry": "belfry proxy65",
             "prosody": "Prosody 0.12 mod_proxy65"}
    print()
    print("| what | MB/s (min / median / max) | relay CPU-s per GB |")
    print("|---|---|---|")
    for count, nbytes in ((1, size), (args.concurrent, cbytes)):
        for case in ("direct", "belfry", "prosody"):
            if case not in parts or (count == 1 and args.skip_single):
                continue
            size_txt = (f"{nbytes / (1 << 30):g} GiB" if nbytes % (1 << 30) == 0
                        else f"{nbytes / (1 << 20):g} MiB")
            what = (f"{label[case]}, {size_txt}" if count == 1 else
                    f"{label[case]}, {count} concurrent x {nbytes / 1e6:g} MB (aggregate)")
            rs = results.get((case, count), [])
            fails = failures.get((case, count), [])
            mbps = fmt_range([r.mbps for r in rs]) if rs else "FAILED"
            if rs and fails:
                mbps += f" ({len(fails)} of {len(rs) + len(fails)} runs FAILED)"
            cpu = "–" if case == "direct" else (
                f"{med([r.cpu_per_gb for r in rs]):.2f}" if rs else "–")
            print(f"| {what} | {mbps} | {cpu} |")
    print()
    for count, name in ((1, "single transfer"), (args.concurrent, f"{args.concurrent} concurrent")):
        def m(case):
            return med([r.mbps for r in results.get((case, count), [])])
        b, d, p = m("belfry"), m("direct"), m("prosody")
        bits = []
        if b and d:
            bits.append(f"belfry / direct = {b / d * 100:.0f}% (goal >= 90%)")
        if b and p:
            bits.append(f"belfry / Prosody = {b / p:.1f}x")
        if bits:
            print(f"- {name}: " + "; ".join(bits))
    print()
    print("Details (medians):")
    for (case, count), rs in sorted(results.items()):
        print(f"- {case}, {count} transfer(s): client process CPU "
              f"{med([r.client_util for r in rs]) * 100:.0f}% of one core (of which user "
              f"space, holding the GIL, {med([r.client_user for r in rs]) * 100:.0f}%)"
              + (f", relay CPU {med([r.relay_cpu / r.wall for r in rs]) * 100:.0f}% of one core"
                 + " (" + ", ".join(
                     f"{k} {med([r.relay_threads.get(k, 0.0) for r in rs]) * 100:.0f}%"
                     for k in sorted(rs[0].relay_threads)
                     if med([r.relay_threads.get(k, 0.0) for r in rs]) >= 0.005) + ")"
                 if rs[0].relay_cpu is not None else "")
              + f", machine busy {med([r.machine_busy for r in rs]) * 100:.0f}% "
                f"of {ncpu} cores (softirq {med([r.machine_softirq for r in rs]) * 100:.0f}%)"
              + "".join(
                  f"; {k} core (CPU {cores[k]}) busy {med([r.core[k][0] for r in rs]) * 100:.0f}%"
                  f" (softirq {med([r.core[k][1] for r in rs]) * 100:.0f}%)"
                  + (f" = {med([r.core[k][2] for r in rs]):.2f} core-s per GB"
                     if k == "relay" and case != "direct" else "")
                  for k in rs[0].core)
              + f"; context switches per MB: client {med([r.client_cs_per_mb for r in rs]):.1f}"
              + (f", relay {med([r.relay_cs_per_mb for r in rs]):.1f}" if case != "direct" else "")
              + f"; longest no-progress gap {max(r.max_gap for r in rs) * 1000:.0f} ms"
              + (f"; OTHER LOAD on the machine up to {max(r.other for r in rs) * 100:.0f}% "
                 "of a core" if max(r.other for r in rs) > 0.05 else "")
              + (f", transfers finished {med([r.first_done for r in rs]):.2f}-"
                 f"{med([r.last_done for r in rs]):.2f} s" if count > 1 else ""))
    for line in extra:
        print(f"- {line}")
    if disturbed["repeated"] or disturbed["kept"] or disturbed["no_quiet"]:
        print(f"- other processes on the machine: {disturbed['repeated']} measurement(s) "
              f"discarded and repeated, {disturbed['kept']} kept although disturbed, "
              f"{disturbed['no_quiet']} started without a quiet machine")
    for (case, count), fs in sorted(failures.items()):
        for f in fs:
            print(f"- FAILED {case} x{count}: {f}")
    for n in sorted(notes):
        print(f"- note: {n}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
