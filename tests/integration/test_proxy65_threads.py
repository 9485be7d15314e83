"""proxy65's relay threads (modules/proxy65/p65-pool.c): activated streams
are relayed on `[proxy65] threads` threads of the module's own
("bf-proxy65-N"), not on the main loop.

Against a real Prosody with real slixmpp clients (discovery and activation
iqs), the data through plain SOCKS5 sockets:

  - the configured number of relay threads exists, named bf-proxy65-N;
  - 40 concurrent streams, each moving its own random data both ways at
    once, arrive intact (SHA-256 per direction), are spread evenly over the
    threads (least-loaded placement, from the activation log lines), and
    every relay thread spent CPU time (/proc/PID/task/TID/schedstat, in ns)
    while the main thread's share stayed small;
  - a stream ended by either side (orderly close after the other side saw
    EOF, or a reset of one side alone) is freed: its closed line with the
    byte counts, and belfry's descriptors back to where they were;
  - SIGTERM with streams still relaying joins the threads, closes the
    clients' sockets and exits 0 (under ASan: no leak).
"""

import hashlib
import os
import re
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from harness import (DOMAIN, USERS, Belfry, free_port, require_belfry, run_belfry,
                     write_config)
from s5b import (S5BClient, Stream, close_quietly, fd_count, recv_exact, wait_closed_log,
                 wait_fds_at_most, wait_listening)

THREADS = 2
STREAMS = 40
PER_STREAM = 1 << 20          # bytes each way per stream


@pytest.fixture(scope="module")
def alice(prosody):
    c = S5BClient(f"alice@{DOMAIN}", USERS["alice"], prosody.c2s_port)
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(prosody):
    c = S5BClient(f"bob@{DOMAIN}", USERS["bob"], prosody.c2s_port)
    yield c
    c.close()


def start_proxy(prosody, workdir, **settings):
    require_belfry()
    port = free_port()
    group = {"listen": f"127.0.0.1:{port}", "threads": str(THREADS),
             "max-streams-per-jid": str(STREAMS + 8)}
    group.update(settings)
    b = Belfry(workdir, port=prosody.component_port, modules="echo;proxy65",
               groups={"proxy65": group})
    try:
        b.start(timeout=10)
        wait_listening(port, 5, b)
    except BaseException:
        b.kill_quietly()
        raise
    b.s5_port = port
    return b


@pytest.fixture(scope="module")
def relay(prosody, tmp_path_factory):
    b = start_proxy(prosody, tmp_path_factory.mktemp("belfry-proxy65-threads"))
    yield b
    try:
        if b.running():
            b.stop()   # exit 0, no secret in the log
    finally:
        b.kill_quietly()


def tasks(pid):
    """{tid: comm} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out[int(tid)] = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            pass
    return out


def relay_tids(pid):
    return {tid: name for tid, name in tasks(pid).items() if name.startswith("bf-proxy65-")}


def run_ns(pid, tid):
    """CPU time of one thread so far, in ns (schedstat's first field)."""
    return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])


def relay_thread_of(b, tag):
    line = [l for l in b.log().splitlines() if f"stream {tag} activated" in l][-1]
    m = re.search(r"\(relay thread (\d+)\)", line)
    assert m, f"no relay thread in the activation line: {line!r}"
    return int(m.group(1))


def open_stream(b, alice, bob):
    s = Stream(b.s5_port, alice, bob.full_jid).open()
    for sock in (s.req, s.target):
        sock.settimeout(30)
    return s


def test_relay_threads_exist(relay):
    names = sorted(relay_tids(relay.pid).values())
    assert names == [f"bf-proxy65-{i}" for i in range(THREADS)], (
        f"belfry's threads: {sorted(tasks(relay.pid).values())}; expected {THREADS} relay "
        "threads bf-proxy65-N")
    assert re.search(rf"{THREADS} relay threads", relay.log()), "start line lacks the thread count"


def test_many_concurrent_streams_relayed_intact_on_every_thread(relay, alice, bob):
    fds_before = fd_count(relay.pid)
    streams = [open_stream(relay, alice, bob) for _ in range(STREAMS)]
    try:
        placed = [relay_thread_of(relay, s.tag) for s in streams]
        for i in range(THREADS):
            assert placed.count(i) == STREAMS // THREADS, (
                f"streams per relay thread: {[placed.count(k) for k in range(THREADS)]} "
                "(least-loaded placement should spread them evenly)")

        tids = relay_tids(relay.pid)
        main_tid = relay.pid
        before = {tid: run_ns(relay.pid, tid) for tid in list(tids) + [main_tid]}
        errors = []
        digests = {}

        def pump(k, s, sock_out, sock_in, direction):
            data = hashlib.shake_256(f"{k}/{direction}/{s.sid}".encode()).digest(PER_STREAM)
            sender = threading.Thread(target=lambda: sock_out.sendall(data), daemon=True)
            try:
                sender.start()
                got = recv_exact(sock_in, len(data), 60, f"stream {k} {direction}")
                digests[(k, direction)] = (hashlib.sha256(got).hexdigest(),
                                           hashlib.sha256(data).hexdigest())
                sender.join(10)
            except BaseException as e:  # noqa: BLE001
                errors.append(f"stream {k} {direction}: {e!r}")

        workers = []
        for k, s in enumerate(streams):
            workers.append(threading.Thread(target=pump, args=(k, s, s.req, s.target, "r2t"),
                                            daemon=True))
            workers.append(threading.Thread(target=pump, args=(k, s, s.target, s.req, "t2r"),
                                            daemon=True))
        for w in workers:
            w.start()
        for w in workers:
            w.join(90)
        assert not errors, "; ".join(errors[:5])
        assert len(digests) == 2 * STREAMS
        for key, (got, want) in digests.items():
            assert got == want, f"stream {key[0]} {key[1]}: data differs from what was sent"

        after = {tid: run_ns(relay.pid, tid) for tid in before}
        used = {tids[t]: (after[t] - before[t]) / 1e6 for t in tids}
        main_ms = (after[main_tid] - before[main_tid]) / 1e6
        total = STREAMS * 2 * PER_STREAM
        # Splicing 80 MiB costs tens of ms; each thread relayed half of it.
        for name, ms in used.items():
            assert ms >= 2.0, f"relay thread {name} used {ms:.2f} ms of CPU for its streams " \
                              f"(all: {used}, main {main_ms:.2f} ms)"
        assert main_ms < sum(used.values()), (
            f"the main thread used {main_ms:.1f} ms, the relay threads {used}: the bytes "
            f"({total} of them) are still moved on the main loop")
    finally:
        for s in streams:
            s.close()
    for s in streams:
        line = wait_closed_log(relay, s.tag, 10)
        assert f"{PER_STREAM} bytes requester->target" in line, line
        assert f"{PER_STREAM} bytes target->requester" in line, line
    wait_fds_at_most(relay, fds_before, 5, "concurrent streams")


def reset(sock):
    """Close with a RST (SO_LINGER 0), not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("side", ["target", "requester"])
@pytest.mark.parametrize("how", ["close", "reset"])
def test_stream_ended_by_one_side_is_freed(relay, alice, bob, side, how):
    fds_before = fd_count(relay.pid)
    s = open_stream(relay, alice, bob)
    ours, other = (s.target, s.req) if side == "target" else (s.req, s.target)
    try:
        ours.sendall(b"x" * 1000)
        assert recv_exact(other, 1000, 5, "before the close") == b"x" * 1000
        before = relay.count("closed:")
        if how == "close":
            ours.close()
            # The other side sees the half-close passed on, then closes.
            other.settimeout(5)
            assert other.recv(1) == b"", "the other side got no EOF after the close"
            other.close()
        else:
            reset(ours)
            # The relay ends the pair on the reset and closes the other side
            # itself (which never closes here).
            other.settimeout(5)
            try:
                assert other.recv(1) == b"", "the other side got data after the reset"
            except ConnectionResetError:
                pass
        relay.wait_log("closed:", 5, count=before + 1)
        line = wait_closed_log(relay, s.tag, 5)
        if how == "reset":
            assert "connection reset" in line, line
        want = "requester->target" if side == "requester" else "target->requester"
        assert f"1000 bytes {want}" in line, line
        wait_fds_at_most(relay, fds_before, 5, f"{side} {how}")
    finally:
        close_quietly(s.target, s.req)


def test_stop_with_open_streams(relay, alice, bob):
    """Last in the module: the shared belfry stops while streams relay."""
    streams = [open_stream(relay, alice, bob) for _ in range(6)]
    try:
        for s in streams:
            s.req.sendall(b"y" * 100)
            assert recv_exact(s.target, 100, 5) == b"y" * 100
        # Data still flowing on one of them while belfry stops.
        flow = threading.Thread(target=lambda: _send_until_error(streams[0].req), daemon=True)
        flow.start()
        time.sleep(0.2)
        relay.stop()   # asserts exit 0 (and, under ASan, no leak report)
        assert "6 streams still open" in relay.log(), relay.log()[-2000:]
        for s in streams:
            s.target.settimeout(5)
            while True:
                try:
                    chunk = s.target.recv(1 << 20)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
        flow.join(10)
    finally:
        for s in streams:
            s.close()


def _send_until_error(sock):
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            sock.sendall(b"z" * 65536)
    except OSError:
        pass


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_bad_threads_value_names_the_key(tmp_path, value):
    require_belfry()
    path = write_config(tmp_path / "belfry.conf", port=free_port(), modules="echo;proxy65",
                        groups={"proxy65": {"listen": f"127.0.0.1:{free_port()}",
                                            "threads": value}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 2, f"exit {r.returncode}, expected 2; stderr:\n{r.stderr}"
    assert "[proxy65] threads" in r.stderr, r.stderr
