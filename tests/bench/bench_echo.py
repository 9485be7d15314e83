"""Echo benchmark (not a test): belfry's echo module (echo@relay.localhost)
against a minimal SRTP forwarder, in the same run.

    /usr/bin/python3 tests/bench/bench_echo.py          (after ninja -C build)
    --quick: fewer calls, shorter windows

Everything runs inside a private network namespace (re-exec under
`unshare -n`, lo up; root needed); ICE only on 127.0.0.1.

* Setup time: a real Prosody (harness.Prosody), belfry with `[media]
  workers = 1`, a slixmpp client (alice) sending session-initiate (audio,
  ICE-UDP + DTLS, candidates included) to echo@relay.localhost; the media
  side is tests/bench/echo-load.c (BfMediaTransport, ICE controlling, DTLS
  actpass) driven by text lines.  Time from sending the session-initiate to
  the first echoed RTP packet received and verified by the load (50 pps probe
  once DTLS is up), CLOCK_MONOTONIC on both sides.
* Throughput: N sessions (first N of those set up), paced 50 pps/session
  or unpaced (the load sends whenever its worker has nothing to receive).
  Unit: echoed packets received and verified by the load during the window,
  divided by the CPU time (schedstat, ns) of belfry's one media worker
  thread (bf-media-0) over the same window.
* Baseline: tests/bench/srtp-forwarder.c (recvmmsg/sendmmsg batch 64, one
  thread, belfry's srtp-session.c unprotect + SSRC rewrite + protect with a
  different key), driven by `echo-load raw` (plain UDP sockets, same packet
  format, pacing and verification; fixed keys), CPU of the forwarder process.
belfry and the forwarder are pinned to CPU 0, everything else to CPU 1.
"""

import argparse
import os
import queue
import re
import shutil
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

NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_CLIENT = "jabber:client"


def q(ns, tag):
    return "{%s}%s" % (ns, tag)


# ---------------------------------------------------------------------------
# build helpers (meson snippet in echo.meson.txt; compiled here if missing)
# ---------------------------------------------------------------------------

def executables():
    built = BUILD / "tests" / "bench"
    if (built / "echo-load").exists() and (built / "srtp-forwarder").exists():
        return built / "echo-load", built / "srtp-forwarder"
    out = BUILD / "bench-echo"
    out.mkdir(exist_ok=True)
    libs = [str(BUILD / "relay" / "media" / "libbelfry-media.a"),
            str(BUILD / "relay" / "libbelfry-core.a")]
    for lib in libs:
        if not Path(lib).exists():
            sys.exit(f"{lib} missing: run `ninja -C build` first")
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0", "gio-2.0",
                         "gio-unix-2.0", "nice", "openssl", "libsrtp2"],
                        capture_output=True, text=True, check=True).stdout.split()
    inc = [f"-I{REPO / 'relay' / 'media'}", f"-I{REPO / 'include'}", f"-I{BUILD}",
           f"-I{BUILD / 'include'}"]
    for name in ("echo-load", "srtp-forwarder"):
        src = REPO / "tests" / "bench" / f"{name}.c"
        exe = out / name
        if exe.exists() and exe.stat().st_mtime > max(src.stat().st_mtime,
                                                       *(Path(x).stat().st_mtime for x in libs)):
            continue
        subprocess.run(["cc", "-O2", "-Wall", "-o", str(exe), str(src)] + inc + libs + pc,
                       check=True)
    return out / "echo-load", out / "srtp-forwarder"


# ---------------------------------------------------------------------------
# CPU accounting
# ---------------------------------------------------------------------------

def thread_ns(pid, tid):
    return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])


def find_thread(pid, name):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == name:
                return tid
        except FileNotFoundError:
            pass
    raise RuntimeError(f"no thread {name!r} in {pid}")


def process_ns(pid):
    return sum(thread_ns(pid, t) for t in os.listdir(f"/proc/{pid}/task"))


def parse_kv(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


# ---------------------------------------------------------------------------
# the load process (line protocol, see echo-load.c)
# ---------------------------------------------------------------------------

class Load:
    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(["taskset", "-c", "1"] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1,
                                     env=dict(os.environ, **(env or {})))
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pending = []

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))
        self.lines.put((time.monotonic(), None))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout, what, on_read=None):
        """First line matching pred (earlier non-matching lines are kept)."""
        for i, (t, line) in enumerate(self.pending):
            if pred(line):
                del self.pending[i]
                return t, line
        deadline = time.monotonic() + timeout
        while True:
            try:
                t, line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"load: no {what} within {timeout}s") from None
            if on_read:
                on_read()
            if line is None:
                raise RuntimeError(f"load exited while waiting for {what}")
            if " failed " in line or line.startswith("error") or " error " in line:
                raise RuntimeError(f"load: {line}")
            if pred(line):
                return t, line
            self.pending.append((t, line))
            if time.monotonic() > deadline:
                raise RuntimeError(f"load: no {what} within {timeout}s")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)


# ---------------------------------------------------------------------------
# one call: Jingle through Prosody, media by the load process
# ---------------------------------------------------------------------------

def offer_xml(sid, initiator, ssrc, ufrag, pwd, fp_hash, fp, cands):
    cxml = "".join(
        f"<candidate component={quoteattr(c[1])} foundation={quoteattr(c[0])} generation='0' "
        f"id='c{k}' ip={quoteattr(c[3])} network='0' port={quoteattr(c[4])} "
        f"priority={quoteattr(c[5])} protocol='udp' type={quoteattr(c[2])}/>"
        for k, c in enumerate(cands))
    return (f"<jingle xmlns='{NS_JINGLE}' action='session-initiate' sid={quoteattr(sid)} "
            f"initiator={quoteattr(initiator)}>"
            "<content creator='initiator' name='a0' senders='both'>"
            f"<description xmlns='{NS_RTP}' media='audio'>"
            "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"
            f"<source xmlns='{NS_SSMA}' ssrc='{ssrc}'><parameter name='cname' value='bench'/></source>"
            "<rtcp-mux/></description>"
            f"<transport xmlns='{NS_ICE}' ufrag={quoteattr(ufrag)} pwd={quoteattr(pwd)}>"
            f"<fingerprint xmlns='{NS_DTLS}' hash={quoteattr(fp_hash)} setup='actpass'>{fp}</fingerprint>"
            f"{cxml}</transport></content></jingle>")


def jingle_client(harness, prosody):
    """alice, acknowledging every Jingle request (slixmpp alone answers
    feature-not-implemented, and belfry ends a session whose request is
    refused) -- as tests/integration/test_jingle.py does."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    c = harness.Client(f"alice@{harness.DOMAIN}/bench", harness.USERS["alice"], prosody.c2s_port)

    def ack(iq):
        if iq["type"] == "set":
            iq.reply(clear=True).send()

    async def register():
        c.xmpp.register_handler(Callback(
            "bench jingle ack", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), ack))

    c._call(register(), 5)
    return c


def call(client, load, i, echo_jid):
    load.send(f"new {i}")
    _, cred = load.wait(lambda l: l.startswith(f"{i} credentials "), 10, "credentials")
    _, fpl = load.wait(lambda l: l.startswith(f"{i} fingerprint "), 10, "fingerprint")
    cands = []
    while True:
        _, line = load.wait(lambda l: l.startswith(f"{i} candidate ") or l == f"{i} gathering-done",
                            10, "candidates")
        if line.endswith("gathering-done"):
            break
        cands.append(line.split()[2:])
    ufrag, pwd = cred.split()[2:4]
    fp_hash, fp = fpl.split()[2:4]
    ssrc = 0x10000000 + i
    sid = f"bench-{i}-{os.urandom(4).hex()}"
    iq_id = client.new_id()
    t0 = time.monotonic()
    client.send_raw(f"<iq xmlns='{NS_CLIENT}' type='set' to={quoteattr(echo_jid)} id={quoteattr(iq_id)}>"
                    + offer_xml(sid, client.full_jid, ssrc, ufrag, pwd, fp_hash, fp, cands) + "</iq>")
    acc = client.wait_stanza(
        lambda e: e.tag == q(NS_CLIENT, "iq") and e.get("type") == "set"
        and (j := e.find(q(NS_JINGLE, "jingle"))) is not None and j.get("sid") == sid
        and j.get("action") in ("session-accept", "session-terminate"), 20, f"accept of {sid}")
    j = acc.find(q(NS_JINGLE, "jingle"))
    if j.get("action") != "session-accept":
        raise RuntimeError("echo terminated: " + ET.tostring(j, encoding="unicode"))
    tr = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_ICE, 'transport')}")
    fpe = tr.find(q(NS_DTLS, "fingerprint"))
    src = j.find(f"{q(NS_JINGLE, 'content')}/{q(NS_RTP, 'description')}/{q(NS_SSMA, 'source')}")
    echo_ssrc = int(src.get("ssrc")) if src is not None else 0
    ours = "passive" if fpe.get("setup") == "active" else "active"
    load.send(f"{i} remote-credentials {tr.get('ufrag')} {tr.get('pwd')}")
    load.send(f"{i} remote-dtls {ours} {fpe.get('hash')} {fpe.text.strip()}")
    for c in tr.findall(q(NS_ICE, "candidate")):
        load.send(f"{i} candidate {c.get('foundation')} {c.get('component')} {c.get('type')} "
                  f"{c.get('ip')} {c.get('port')} {c.get('priority')}")
    load.send(f"{i} end-of-candidates")
    load.send(f"{i} probe {ssrc} {echo_ssrc}")
    _, prof = load.wait(lambda l: l.startswith(f"{i} dtls-connected "), 20, "DTLS")
    _, line = load.wait(lambda l: l.startswith(f"{i} first-echo "), 20, "first echo")
    return int(line.split()[2]) / 1e6 - t0, prof.split()[2]


def measure_window(load_wait, cpu_read):
    """Wait for window-start/-end lines, reading CPU at each."""
    load_wait(lambda l: l == "window-start", 30, "window-start")
    c0, w0 = cpu_read(), time.monotonic()
    _, end = load_wait(lambda l: l.startswith("window-end"), 60, "window-end")
    c1, w1 = cpu_read(), time.monotonic()
    kv = parse_kv(end)
    return kv, (c1 - c0) / 1e9, w1 - w0


def result_row(kv, cpu_s, wall_s):
    return {"received": kv["received"], "sent": kv["sent"], "bad": kv["bad"],
            "verified": kv["verified"], "cpu_s": cpu_s, "wall": wall_s,
            "per_cpu_s": kv["received"] / cpu_s if cpu_s > 0 else float("nan"),
            "echo_pps": kv["received"] / wall_s, "util": cpu_s / wall_s}


# ---------------------------------------------------------------------------

def run_belfry(profile, ns, runs, calls, seconds, warmup, load_exe, tmp):
    import harness
    prosody = harness.Prosody()
    prosody.start()
    belfry = client = load = None
    try:
        belfry = harness.Belfry(tmp / f"belfry-{profile}", port=prosody.component_port,
                                groups={"media": {"addresses": "127.0.0.1", "workers": "1"},
                                        # the load's sessions are one account's
                                        "limits": {"max-sessions-per-jid": "0"}})
        belfry.start()
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(belfry.pid)], check=True,
                       capture_output=True)
        worker = find_thread(belfry.pid, "bf-media-0")
        client = jingle_client(harness, prosody)
        load = Load([str(load_exe), "belfry"],
                    env={"ECHO_LOAD_PROFILES": "AES_CM" if profile == "AES_CM" else "GCM,AES_CM"})
        setups, profiles = [], set()
        for i in range(max(calls, max(ns))):
            s, p = call(client, load, i, harness.ECHO)
            setups.append(s)
            profiles.add(p)
        # Idle worker CPU after setup (all sessions up, no media): also lets
        # whatever follows the handshakes settle before the first window.
        c0 = thread_ns(belfry.pid, worker)
        time.sleep(2.0)
        idle = (thread_ns(belfry.pid, worker) - c0) / 2.0 / 1e9
        rows = {"idle": idle}
        for mode, pps in runs:
            for n in ns:
                load.send(f"run {pps} {seconds} {warmup} {n}")
                kv, cpu_s, wall = measure_window(load.wait, lambda: thread_ns(belfry.pid, worker))
                rows[(mode, n)] = result_row(kv, cpu_s, wall)
                time.sleep(0.3)      # let the echoes of the run drain
        return setups[:calls], profiles, rows
    finally:
        if load:
            load.close()
        if client:
            client.close()
        if belfry and belfry.running():
            belfry.terminate()
        prosody.close()


def run_baseline(profile, ns, runs, seconds, warmup, load_exe, fwd_exe):
    import harness
    rows = {}
    for mode, pps in runs:
        for n in ns:
            port = harness.free_port()
            fwd = subprocess.Popen(["taskset", "-c", "0", str(fwd_exe), str(port), profile],
                                   stdout=subprocess.PIPE, text=True)
            try:
                assert fwd.stdout.readline().strip() == "ready"
                load = Load([str(load_exe), "raw", str(port), str(n), str(pps), str(seconds),
                             str(warmup), profile])
                try:
                    kv, cpu_s, wall = measure_window(load.wait, lambda: process_ns(fwd.pid))
                finally:
                    load.proc.wait(10)
                rows[(mode, n)] = result_row(kv, cpu_s, wall)
            finally:
                fwd.terminate()
                fwd.wait(10)
    return rows


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sessions", default="1,10,50")
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    if os.environ.get("BENCH_ECHO_NETNS") != "1":
        if os.geteuid() != 0:
            sys.exit("needs root (unshare -n)")
        os.environ["BENCH_ECHO_NETNS"] = "1"
        r = subprocess.run(["unshare", "-n", "sh", "-c",
                            'ip link set lo up && exec "$0" "$@"', sys.executable]
                           + sys.argv)
        sys.exit(r.returncode)

    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 CPUs (belfry on CPU 0, load on CPU 1)")
    os.sched_setaffinity(0, {1})          # this driver, Prosody, slixmpp: CPU 1
    load_exe, fwd_exe = executables()
    ns = [int(x) for x in args.sessions.split(",")]
    seconds, warmup = (1.5, 0.3) if args.quick else (args.seconds, 0.5)
    calls = 10 if args.quick else args.calls
    runs = [("50 pps/session", 50), ("unpaced", 0)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-echo-"))
    results = {}
    setup_times = {}
    try:
        for profile in ("GCM", "AES_CM"):
            setups, negotiated, brows = run_belfry(profile, ns, runs, calls, seconds, warmup,
                                                   load_exe, tmp)
            setup_times[profile] = (setups, negotiated)
            results[profile] = (brows, run_baseline(profile, ns, runs, seconds, warmup,
                                                    load_exe, fwd_exe))
    finally:
        if not os.environ.get("BELFRY_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)

    print("\n| what | packets/s per CPU-second | ratio |")
    print("|---|---|---|")
    details = []
    for profile, (brows, frows) in results.items():
        negotiated = ",".join(sorted(setup_times[profile][1]))
        for mode, _ in runs:
            for n in ns:
                b, f = brows[(mode, n)], frows[(mode, n)]
                ratio = b["per_cpu_s"] / f["per_cpu_s"]
                print(f"| belfry echo, {negotiated}, N={n}, {mode} | {b['per_cpu_s']/1e3:.1f}k | "
                      f"{ratio*100:.0f}% |")
                print(f"| baseline forwarder, {profile}, N={n}, {mode} | {f['per_cpu_s']/1e3:.1f}k | – |")
                for who, r in (("belfry", b), ("baseline", f)):
                    details.append(
                        f"{who:8s} {profile:6s} N={n:<3d} {mode:15s} echoed {r['echo_pps']:8.0f} pps, "
                        f"sent {r['sent']/r['wall']:8.0f} pps, loss {100*(1-r['received']/max(1,r['sent'])):5.1f}%, "
                        f"bad {int(r['bad'])}, payload-verified {int(r['verified'])}, "
                        f"forwarder CPU {100*r['util']:5.1f}% of a core")
    print()
    for profile, (brows, _) in results.items():
        print(f"belfry media worker CPU with {max(max(ns), calls)} {profile} sessions up and no media, "
              f"2 s right after setup: {100*brows['idle']:.1f}% of a core")
    for profile, (setups, negotiated) in setup_times.items():
        ms = [s * 1e3 for s in setups]
        print(f"call setup (session-initiate sent -> first echoed RTP), {profile} offer "
              f"(negotiated {','.join(sorted(negotiated))}), {len(ms)} calls: "
              f"median {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms")
    print("\ndetails (window %.1f s; 'loss' includes packets still in flight at the window edges):"
          % seconds)
    for d in details:
        print("  " + d)


if __name__ == "__main__":
    main()
