"""Memory per relayed call (not a test): belfry's `call` module relaying N
two-leg calls with media flowing; prints (VmRSS with the calls up - VmRSS
before the first call) / N.

    /usr/bin/python3 tests/bench/rss_per_call.py [--calls 200] [--workers 2] [--shared-port]
    --heaptrack: run belfry under heaptrack (Debian package) and print its
                 peak consumers with the calls up (what each call holds)
    --malloc-stats: with the calls up, glibc's malloc_stats() per arena and
                 VmRSS after malloc_trim(0), both called in belfry by gdb
                 (Debian package): how much of the RSS is free heap

Always printed: the VmRSS growth split by kind of mapping
(/proc/PID/smaps): the main thread's heap, the media workers' malloc arenas,
anonymous mappings (blocks malloc mmaps), files.

Reuses tests/bench/bench_call.py (its load process, call-load.c, plays
alice and bob: per leg ICE + DTLS-SRTP; the calls are set up through
Prosody and belfry exactly as there), inside a private network namespace
(root; every address 127.0.0.1).  The calls are set up in batches, then a
few seconds of audio (50 pps each way, every packet verified) run on all of
them, and VmRSS is read after the window, while they are still up: the
figure includes every buffer media touched.  The same figure is the
"per call" column of bench_call.py's capacity table.
"""

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_call as bc  # noqa: E402


def belfry_child(pid, timeout=10):
    """The belfry process under the heaptrack script `pid`."""
    deadline = time.monotonic() + timeout
    todo = [pid]
    while todo and time.monotonic() < deadline:
        p = todo.pop(0)
        if Path(f"/proc/{p}/comm").read_text().strip() == "belfry":
            return p
        for t in os.listdir(f"/proc/{p}/task"):
            todo += [int(c) for c in Path(f"/proc/{p}/task/{t}/children").read_text().split()]
    raise RuntimeError(f"no belfry process under {pid}")


# (category, frame markers): a peak allocation goes to the category of the
# innermost frame of its stack that contains a marker
CATEGORIES = [
    ("libnice: 2 x 64 KiB buffers per component (never touched: not RSS)",
     ["g_type_create_instance;~;g_malloc"]),
    ("OpenSSL SSL_CTX", ["SSL_CTX_new", "build_ctx"]),
    ("DTLS handshake buffer (init_buf, until the SSL is released)", ["BUF_MEM_grow"]),
    ("OpenSSL SSL object", ["SSL_new"]),
    ("DTLS other (record buffers, handshake state, peer certificate)",
     ["drive_handshake", "bf_media_dtls"]),
    ("SRTP contexts (srtp-session.c, srtp-crypto.c)", ["bf_media_srtp", "bf_srtp"]),
    ("consent STUN agent (ice-consent.c)", ["bf_ice_consent_new"]),
    ("libnice agent, stream, component, candidates, STUN agents",
     ["nice_agent", "nice_", "conn_check"]),
    ("direct I/O", ["bf_media_direct_io"]),
    ("BfMediaTransport", ["bf_media_transport"]),
    ("session + Jingle model, module (main thread)",
     ["bf_session", "bf_jingle", "sessions.c", "call.c"]),
]


def breakdown(stacks, n):
    """Per-call KiB by category from heaptrack_print -F (peak cost)."""
    tot = {}
    for line in Path(stacks).read_text().splitlines():
        st, _, cost = line.rpartition(" ")
        frames = st.rstrip(";").split(";")
        cat = "other (not per call: the process's own)"
        done = False
        for i in range(len(frames) - 1, -1, -1):
            for name, marks in CATEGORIES:
                for m in marks:
                    if "~" in m:
                        a, b = m.split(";~;")
                        hit = (i + 2 < len(frames) and frames[i].startswith(a)
                               and frames[i + 2].startswith(b) and i + 3 == len(frames))
                    else:
                        hit = m in frames[i]
                    if hit:
                        cat, done = name, True
                        break
                if done:
                    break
            if done:
                break
        tot[cat] = tot.get(cat, 0) + int(cost)
    return sorted(((v / 1024 / n, k) for k, v in tot.items()), reverse=True)


def stop_leftovers(tmp):
    """Closing the harness' belfry stops the heaptrack script, not the
    belfry under it: stop every process whose command line names our
    temporary directory (ours alone), then wait for them (bounded)."""
    mine = []
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != os.getpid():
            try:
                if str(tmp).encode() in Path(f"/proc/{p}/cmdline").read_bytes():
                    mine.append(int(p))
            except OSError:
                pass
    for p in mine:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while mine and time.monotonic() < deadline:
        alive = []
        for p in mine:
            try:
                if Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(p)
            except OSError:
                pass
        mine = alive
        time.sleep(0.2)


def smaps_kb(pid):
    """VmRSS by kind of mapping (/proc/PID/smaps), KiB: the main heap (brk),
    the worker threads' malloc arenas (anonymous, inside 64 MiB-aligned
    reservations), thread stacks, other anonymous memory (mmapped
    allocations, libnice's 64 KiB buffers if malloc mmaps them), files."""
    out, cur = {}, None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        f = line.split()
        if "-" in f[0] and len(f) >= 5 and not f[0].endswith(":"):
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else ""
            if name == "[heap]":
                cur = "main heap (brk)"
            elif name.startswith("[stack"):
                cur = "stacks"
            elif name.startswith("/") or name.startswith("["):
                cur = "files and vdso"
            elif lo % (64 << 20) == 0:
                cur = "malloc arenas (threads)"
            else:
                cur = "other anonymous (mmapped blocks, thread stacks)"
        elif f[0] == "Rss:" and cur:
            out[cur] = out.get(cur, 0) + int(f[1])
    return out


def print_malloc_stats(pid, stderr_path, rss0, n):
    """glibc's own account of the heap with the calls up: malloc_stats()
    called in belfry by gdb (it writes to belfry's stderr: system bytes are
    what each arena took from the kernel, in use what is allocated, so the
    difference is free space the arena keeps), then malloc_trim(0) (every
    free page back to the kernel) and VmRSS again: what trimming would save."""
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (void)malloc_stats()",
                        "-ex", "call (int)malloc_trim(0)"], capture_output=True, timeout=120)
    if r.returncode != 0:
        sys.exit(f"gdb failed: {r.stderr.decode(errors='replace')[-500:]}")
    time.sleep(0.5)
    text = Path(stderr_path).read_text(errors="replace")
    block = text[text.rindex("Arena 0:"):]
    arenas, cur = [], None
    for line in block.splitlines():
        if line.startswith("Arena "):
            cur = [line.rstrip(":"), 0, 0]
            arenas.append(cur)
        elif line.startswith("Total"):
            break
        elif cur and line.startswith("system bytes"):
            cur[1] = int(line.split("=")[1])
        elif cur and line.startswith("in use bytes"):
            cur[2] = int(line.split("=")[1])
    for name, system, in_use in arenas:
        print(f"| malloc {name} | system {system / 1024 / n:.1f} KiB per call, "
              f"free {(system - in_use) / 1024 / n:.1f} KiB per call |")
    print(f"after malloc_trim(0): **{(bc.vm_rss_kb(pid) - rss0) / n:.0f} KiB per relayed call**")


def heaptrack_wrapper(tmp):
    """A belfry 'binary' that runs the real one under heaptrack (the pid
    the harness sees is heaptrack's; VmRSS then means nothing)."""
    import harness
    real = harness.BELFRY_BIN
    w = tmp / "belfry-heaptrack"
    w.write_text(f'#!/bin/sh\nexec heaptrack -o "{tmp}/heaptrack" "{real}" "$@"\n')
    w.chmod(0o755)
    return str(w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shared-port", action="store_true",
                    help="belfry with [media] shared-port = 0 (one UDP port per worker)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--heaptrack", action="store_true")
    ap.add_argument("--malloc-stats", action="store_true")
    args = ap.parse_args()

    bc.enter_private_netns()

    os.sched_setaffinity(0, {1})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    bc.LOAD_EXE, bc.FWD_EXE = bc.executables()
    bc.QUIET_WAIT = 0
    import harness
    tmp = Path(tempfile.mkdtemp(prefix="bench-rss-"))
    if args.malloc_stats and args.heaptrack:
        sys.exit("--malloc-stats and --heaptrack exclude each other (heaptrack owns the heap)")
    if args.malloc_stats and not shutil.which("gdb"):
        sys.exit("gdb not installed (apt-get install gdb)")
    if args.heaptrack:
        if not shutil.which("heaptrack"):
            sys.exit("heaptrack not installed (apt-get install heaptrack)")
        harness.BELFRY_BIN = heaptrack_wrapper(tmp)
        start = harness.Belfry.start
        harness.Belfry.start = lambda self, **kw: start(self, timeout=60)
    bt = None
    try:
        bt = bc.BelfryTarget(harness, tmp, args.workers, args.calls, shared=args.shared_port)
        time.sleep(1.0)
        pid = belfry_child(bt.belfry.pid) if args.heaptrack else bt.belfry.pid
        rss0 = bc.vm_rss_kb(pid)
        maps0 = smaps_kb(pid)
        t = time.monotonic()
        bt.setup(args.calls)
        setup_s = time.monotonic() - t
        watch = bc.schedstat_files(pid, ["bf-media-"])
        r = bc.run_window(bt.load, watch, args.calls, bc.AUDIO, args.seconds, 0.5)
        time.sleep(0.5)
        rss = bc.vm_rss_kb(pid)
        maps = smaps_kb(pid)
        print(f"belfry workers = {args.workers}, {args.calls} relayed calls (two legs each) "
              f"set up in {setup_s:.1f} s; audio window {args.seconds:.0f} s: loss "
              f"{100 * r['loss']:.3f}%, bad {int(r['bad'])}")
        print(f"VmRSS before calls {rss0 / 1024:.1f} MiB, with calls {rss / 1024:.1f} MiB: "
              f"**{(rss - rss0) / args.calls:.0f} KiB per relayed call**")
        print("VmRSS growth by kind of mapping:")
        for k in sorted(maps, key=lambda k: maps0.get(k, 0) - maps[k]):
            print(f"| {k} | {(maps[k] - maps0.get(k, 0)) / args.calls:.1f} KiB per call |")
        if args.malloc_stats:
            print_malloc_stats(pid, bt.belfry.stderr_path, rss0, args.calls)
        if args.heaptrack:
            # heaptrack writes its file when belfry exits: stop belfry (the
            # heaptrack script's child) with the calls up, then wait for it
            real = belfry_child(bt.belfry.pid)
            print(f"belfry under heaptrack: VmRSS {bc.vm_rss_kb(real) / 1024:.1f} MiB")
            os.kill(real, signal.SIGTERM)
            bt.belfry.proc.wait(120)
    finally:
        if bt:
            bt.close()
        if args.heaptrack:
            stop_leftovers(tmp)
        if args.heaptrack:
            for f in sorted(tmp.glob("heaptrack*.zst")) + sorted(tmp.glob("heaptrack*.gz")):
                print(f"heaptrack data: {f}")
                dest = Path(os.environ.get("RSS_HEAPTRACK_OUT", tmp.parent / "rss-heaptrack"))
                subprocess.run(["heaptrack_print", "-f", str(f), "-a", "0", "-T", "0",
                                "-n", "40", "-s", "10", "--flamegraph-cost-type", "peak",
                                "-F", f"{dest}.stacks"], stdout=open(f"{dest}.txt", "w"),
                               timeout=900, check=True)
                print(f"heaptrack_print: peak consumers in {dest}.txt, "
                      f"peak stacks in {dest}.stacks")
                print(f"heap at the peak per relayed call (N = {args.calls}):")
                for kib, cat in breakdown(f"{dest}.stacks", args.calls):
                    print(f"| {cat} | {kib:.1f} KiB |")
        if not os.environ.get("BELFRY_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
