"""Call set-up benchmark (not a test): where the time of a relayed call's
set-up goes.  The same calls as tests/bench/bench_call.py's belfry rows
(alice -> Prosody -> belfry's `call` module -> Prosody -> bob, the load
tests/bench/call-load.c playing both parties' ICE, DTLS and SRTP, up to 16
calls set up at once), timed from alice's session-initiate sent to media
verified both ways.

    /usr/bin/python3 tests/bench/bench_call_setup.py [--calls 48] [--trace]

Without --trace: the set-up times alone (median, p95), belfry as the
benchmark runs it.  With --trace: belfry runs with --verbose and writes a
debug record for each step (BF_SETUP_TRACE: "trace KEY STEP T_US", on
CLOCK_MONOTONIC), the load stamps its own steps (CALL_LOAD_TRACE=1) and the
driver its sends and receipts, all on the one CLOCK_MONOTONIC clock; the
report is the median time of each step from alice's session-initiate,
over all calls, in the order they happen.  The trace costs a little
(verbose logging): take the set-up figure from a run without it.

Same conditions as bench_call.py: a private network namespace (re-exec
under `unshare -n`; root), belfry pinned to CPU 0, Prosody, the load and
this driver on CPU 1, [media] workers = 1.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_call  # noqa: E402  (the calls, the load, the clients)

TRACE_RE = re.compile(r"DEBUG\s+\S+: trace (\S+) (\S+) (\d+)$")
MAP_RE = re.compile(r"DEBUG\s+\S+: trace-transport (\S+) (\d+) (\S+)$")


def belfry_steps(log_path):
    """{sid: {step: [t, ...]}} from belfry's trace records.  A transport's
    steps (keyed by its address, which a later transport may reuse) go to
    the session that created it: its "new-*" step opens a record, the
    "trace-transport" line after it names the session."""
    out, current = {}, {}
    for line in Path(log_path).read_text(errors="replace").splitlines():
        m = MAP_RE.search(line)
        if m:
            sid, ptr = m.group(1), m.group(3)
            d = out.setdefault(sid, {})
            for step, t in current.get(ptr, {}).get("steps", []):
                d.setdefault("ice/dtls " + step, []).append(t)
            current[ptr] = {"sid": sid}
            continue
        m = TRACE_RE.search(line)
        if not m:
            continue
        key, step, t = m.group(1), m.group(2), int(m.group(3)) / 1e6
        if key.startswith("0x"):
            if step.startswith("new-"):
                current[key] = {"steps": []}
            rec = current.setdefault(key, {"steps": []})
            if "sid" in rec:
                out[rec["sid"]].setdefault("ice/dtls " + step, []).append(t)
            else:
                rec["steps"].append((step, t))
        else:
            out.setdefault(key, {}).setdefault(step, []).append(t)
    return out


def schedstat(pid):
    """{thread name: (on-CPU ns, run-queue wait ns)} of a process."""
    out = {}
    for tid in bench_call.tasks(pid):
        try:
            run, wait, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
        except (FileNotFoundError, ValueError):
            continue
        name = bench_call.thread_comm(pid, tid)
        r, w = out.get(name, (0, 0))
        out[name] = (r + int(run), w + int(wait))
    return out


def cpu_report(before, after, n):
    """Lines: per process and thread, CPU and run-queue wait over the set-up."""
    lines = []
    for who in after:
        for name, (r1, w1) in sorted(after[who].items()):
            r0, w0 = before[who].get(name, (0, 0))
            if r1 - r0 < 1e6 and w1 - w0 < 1e6:
                continue
            lines.append(f"| {who} {name} | {(r1 - r0) / 1e6:.1f} | {(r1 - r0) / 1e6 / n:.2f} "
                         f"| {(w1 - w0) / 1e6:.1f} |")
    return lines


def timeline(calls, steps):
    """[(label, [ms after t0 per call])] in order of the median time."""
    rows = {}
    for c in calls:
        if c.done is None:
            continue
        marks = dict(c.marks)
        for leg, sid in (("a", c.a_sid), ("b", c.b_sid)):
            for step, ts in steps.get(sid, {}).items():
                name = f"belfry {leg}: {step}"
                marks[name] = ts[0]
                if step in ("ice/dtls dtls-out", "ice/dtls dtls-in") and len(ts) > 1:
                    marks[name + " (last)"] = ts[-1]
        for k, t in marks.items():
            rows.setdefault(k, []).append((t - c.t0) * 1e3)
    out = [(k, v) for k, v in rows.items()]
    out.sort(key=lambda kv: statistics.median(kv[1]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=48)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--trace", action="store_true", help="a timeline of each step")
    ap.add_argument("--prosody", default="",
                    help="Lua lines for Prosody's global section, e.g. "
                    "'network_settings = { nagle = false }'")
    ap.add_argument("--after", type=float, default=0.0,
                    help="also the media worker's CPU over this many seconds after the "
                    "set-up, the calls up and silent (libnice's timers wind down)")
    ap.add_argument("--perf", action="store_true", help="perf profile of belfry's threads "
                    "during the set-up")
    args = ap.parse_args()
    bench_call.enter_private_netns()
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 CPUs (relay on CPU 0, load on CPU 1)")
    os.sched_setaffinity(0, {1})
    bench_call.LOAD_EXE, _ = bench_call.executables()
    import harness
    if args.trace:
        os.environ["CALL_LOAD_TRACE"] = "1"
    tmp = Path(tempfile.mkdtemp(prefix="bench-call-setup-"))
    prosody = harness.Prosody(extra=args.prosody + "\n" if args.prosody else "")
    prosody.start()
    belfry = load = alice = bob = None
    try:
        groups = {"media": {"addresses": "127.0.0.1", "workers": "1",
                            "max-sessions": str(2 * args.calls + 10)},
                  "limits": {"max-sessions-per-jid": "0"},
                  "call": {"max-calls-per-jid": str(max(4, args.calls)),
                           "max-calls-per-minute": "0"}}
        belfry = harness.Belfry(tmp / "belfry", port=prosody.component_port, modules="call",
                                groups=groups, verbose=args.trace)
        belfry.start()
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(belfry.pid)], check=True,
                       capture_output=True)
        load = bench_call.Load(bench_call.LOAD_EXE, "ice")
        alice = bench_call.Jingle(harness, prosody, "alice", "bench", load.events, "alice")
        bob = bench_call.Jingle(harness, prosody, "bob", "load", load.events, "bob")
        calls = bench_call.Calls(load, alice, bob)
        pids = {"belfry": belfry.pid, "prosody": prosody.proc.pid, "load": load.proc.pid,
                "driver": os.getpid()}
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "2999", "--call-graph", os.environ.get("BENCH_PERF_CALLGRAPH", "fp"), "-p",
                                     str(belfry.pid), "-o", str(tmp / "perf.data")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        before = {k: schedstat(p) for k, p in pids.items()}
        t = time.monotonic()
        setups = calls.setup(args.calls, parallel=args.parallel)
        took = time.monotonic() - t
        after = {k: schedstat(p) for k, p in pids.items()}
        if args.after:
            w0 = schedstat(belfry.pid).get("bf-media-0", (0, 0))[0]
            time.sleep(args.after)
            w1 = schedstat(belfry.pid).get("bf-media-0", (0, 0))[0]
            print(f"bf-media-0 in the {args.after:.0f} s after the set-up, {args.calls} calls "
                  f"up without media: {(w1 - w0) / 1e6:.1f} ms CPU")
        if perf:
            perf.send_signal(2)
            perf.wait(30)
        ms = sorted(x * 1e3 for x in setups if x is not None)
        print(f"call setup (alice's session-initiate sent -> media verified both ways), "
              f"{len(ms)} calls, up to {args.parallel} in parallel, {took:.1f} s in all"
              f"{', traced (belfry --verbose)' if args.trace else ''}: median "
              f"{statistics.median(ms):.0f} ms, p95 {bench_call.pct(ms, 95):.0f} ms, "
              f"min {ms[0]:.0f}, max {ms[-1]:.0f}")
        print("\n| process, thread | CPU ms during the set-up | per call | waiting for a "
              "CPU (run queue), ms |")
        print("|---|---|---|---|")
        print("\n".join(cpu_report(before, after, len(ms))))
        if perf:
            for comm in ("bf-media-0", "belfry"):
                r = subprocess.run(["perf", "report", "-i", str(tmp / "perf.data"), "--stdio",
                                    "--no-children", "--comm", comm, "--sort", "dso,sym",
                                    "-g", "none", "--percent-limit", "1.5"],
                                   capture_output=True, text=True)
                print(f"\nperf, thread {comm}:")
                print("\n".join(l for l in r.stdout.splitlines()
                                if l.strip() and not l.startswith("#")))
        if args.trace:
            time.sleep(0.5)          # the last records reach the log
            rows = timeline(calls.calls, belfry_steps(belfry.stderr_path))
            print("\n| step (a: alice's leg, b: bob's leg) | median ms after alice's "
                  "session-initiate | p95 | calls |")
            print("|---|---|---|---|")
            for k, v in rows:
                print(f"| {k} | {statistics.median(v):.1f} | {bench_call.pct(v, 95):.1f} "
                      f"| {len(v)} |")
    finally:
        for c in (alice, bob):
            if c:
                c.close()
        if load:
            load.close()
        if belfry:
            belfry.stop()
        prosody.stop()
        if not os.environ.get("BELFRY_KEEP_TMP"):
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
