"""proxy65 and file descriptors, against a real Prosody 0.12.

An unauthenticated client can open SOCKS5 connections to the proxy as fast
as it likes.  These tests hold belfry to:

  - its descriptor limit: raised to the hard limit at start, and logged;
  - running out of descriptors (belfry started with RLIMIT_NOFILE 64:64, so
    its own raise cannot help): no CPU spin on the listening socket, no log
    flood, no double close (a failed activation leaves both parties'
    sockets open and working; the component link stays up), and service
    resumes once the flood lets go;
  - max-pending-per-address (default 32): extra connections from one
    address are closed at once, another address still gets in;
  - handshake-timeout: a client that never finishes the SOCKS5 greeting is
    closed, one waiting for activation is not.

One belfry per test (Prosody takes one connection per component), started
and stopped by the test.
"""

import os
import resource
import socket
import subprocess
import time

import pytest

from checks import assert_error, result_query
from harness import (COMPONENT, DOMAIN, NS_DISCO_INFO, USERS, Belfry, Client, free_port,
                     require_belfry, run_belfry, write_config)
from s5b import (GREETING, METHOD_OK, Sender, Stream, assert_silent, close_quietly,
                 connect_request, dst_hash, fd_count, new_sid, read_to_close, recv_exact,
                 success_reply, wait_fds_at_most, wait_listening)

MB = 1 << 20
LOW_FDS = 64
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class LimitedBelfry(Belfry):
    """A belfry whose RLIMIT_NOFILE is set (soft, hard) in the child before
    exec, as `ulimit -n` would: the test process keeps its own limits."""

    def __init__(self, *a, nofile=None, **kw):
        super().__init__(*a, **kw)
        self.nofile = nofile

    def start(self, wait_attached=True, timeout=10):
        nofile = self.nofile

        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

        args = [require_belfry(), "-c", str(self.config)]
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=self.dir, preexec_fn=limit)
        if wait_attached:
            self.wait_log("attached to 127.0.0.1:", timeout)
        return self


def start_belfry(prosody, tmp_path, nofile=None, **settings):
    port = free_port()
    group = {"listen": f"127.0.0.1:{port}"}
    group.update(settings)
    b = LimitedBelfry(tmp_path, port=prosody.component_port, modules="echo;proxy65",
                      groups={"proxy65": group}, nofile=nofile)
    try:
        b.start(timeout=10)
        wait_listening(port, 5, b)
    except BaseException:
        b.kill_quietly()
        raise
    b.s5_port = port
    return b


def finish(b):
    try:
        if b.running():
            b.stop()   # exit 0, secret not logged
    finally:
        b.kill_quietly()


def proc_limits(pid):
    """(soft, hard) of 'Max open files' in /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no 'Max open files' in /proc/PID/limits")


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def open_from(port, source, timeout=3.0):
    """A TCP connection to the proxy from a given loopback source address."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def socks_connect_from(port, source, dst, timeout=5.0):
    s = open_from(port, source, timeout)
    try:
        s.sendall(GREETING)
        assert recv_exact(s, 2, timeout, f"method reply to {source}") == METHOD_OK
        s.sendall(connect_request(dst))
        want = success_reply(dst)
        got = recv_exact(s, len(want), timeout, f"CONNECT reply to {source}")
        assert got == want, f"reply {got!r}, expected {want!r}"
    except BaseException:
        s.close()
        raise
    return s


def log_lines(b):
    return len(b.log().splitlines())


def transfer(s, nbytes):
    """nbytes one way and a quarter back through an activated Stream, in
    full (a Sender thread, so neither side blocks the other)."""
    a, c = os.urandom(nbytes), os.urandom(nbytes // 4)
    tx = Sender(s.req, a)
    tx.start()
    assert recv_exact(s.target, len(a), 20, "requester -> target") == a
    tx.join(5)
    assert tx.error is None, tx.error
    s.target.sendall(c)
    assert recv_exact(s.req, len(c), 10, "target -> requester") == c


@pytest.fixture(scope="module")
def alice(prosody):
    c = Client(f"alice@{DOMAIN}", USERS["alice"], prosody.c2s_port)
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(prosody):
    c = Client(f"bob@{DOMAIN}", USERS["bob"], prosody.c2s_port)
    yield c
    c.close()


# ---------------------------------------------------------------------------
# RLIMIT_NOFILE
# ---------------------------------------------------------------------------

def test_fd_limit_raised_to_hard_and_logged(prosody, tmp_path):
    b = start_belfry(prosody, tmp_path, nofile=(256, 2048))
    try:
        assert proc_limits(b.pid) == (2048, 2048), open(f"/proc/{b.pid}/limits").read()
        b.wait_log("file descriptors: limit 2048 (raised from 256 to the hard limit)", 2)
    finally:
        finish(b)


def test_fd_limit_already_at_hard_is_logged(prosody, tmp_path):
    b = start_belfry(prosody, tmp_path, nofile=(LOW_FDS, LOW_FDS))
    try:
        assert proc_limits(b.pid) == (LOW_FDS, LOW_FDS)
        b.wait_log(f"file descriptors: limit {LOW_FDS} (the hard limit)", 2)
    finally:
        finish(b)


# ---------------------------------------------------------------------------
# out of descriptors
# ---------------------------------------------------------------------------

FLOOD_SOURCES = [f"127.0.0.{n}" for n in range(11, 15)]
FLOOD_PER_SOURCE = 30     # under max-pending-per-address (32): the cap is not what saves us


def test_out_of_descriptors(prosody, tmp_path, alice, bob):
    # Long timeouts: the flood must still be there when it is measured.
    b = start_belfry(prosody, tmp_path, nofile=(LOW_FDS, LOW_FDS),
                     **{"handshake-timeout": "120", "connect-timeout": "120"})
    flood, s, s2 = [], None, None
    try:
        base_fds = fd_count(b.pid)
        assert base_fds < LOW_FDS - 10, f"belfry starts with {base_fds} descriptors"
        # Both parties of a stream connect and wait; activation comes later.
        s = Stream(b.s5_port, alice, bob.full_jid).connect()

        # The flood: more connections than belfry has descriptors left.
        for src in FLOOD_SOURCES:
            for _ in range(FLOOD_PER_SOURCE):
                flood.append(open_from(b.s5_port, src))
        deadline = time.monotonic() + 5
        while fd_count(b.pid) < LOW_FDS:
            assert time.monotonic() < deadline, \
                f"belfry holds {fd_count(b.pid)} descriptors, never reached its limit {LOW_FDS}"
            time.sleep(0.05)

        # Idle at EMFILE (the flood's rest waits in the backlog): no spin,
        # no log flood.
        time.sleep(0.3)
        lines0, cpu0, t0 = log_lines(b), cpu_seconds(b.pid), time.monotonic()
        time.sleep(3.0)
        cpu = (cpu_seconds(b.pid) - cpu0) / (time.monotonic() - t0)
        lines = log_lines(b) - lines0
        print(f"at EMFILE: {cpu:.1%} CPU, {lines} log lines in 3 s")
        assert cpu < 0.10, f"belfry used {cpu:.0%} CPU over 3 s idle at EMFILE"
        assert lines <= 3, (f"{lines} log lines in 3 s idle at EMFILE:\n"
                            + "\n".join(b.log().splitlines()[-10:]))
        # One line said why, with the limit.
        assert b.count("pausing SOCKS5 accepts") == 1, b.log()[-3000:]
        assert f"limit {LOW_FDS} descriptors" in b.log(), b.log()[-3000:]

        # Activation needs two pipes: it fails, and leaves both sockets to
        # their (pending) owners: nothing closed, twice or at all.
        r = s.activate()
        assert_error(r, "resource-constraint", "wait")
        b.wait_log("cannot relay stream: pipe: Too many open files", 2)
        assert_silent(s.target, 0.3, "target after the failed activation")
        assert_silent(s.req, 0.3, "requester after the failed activation")
        assert fd_count(b.pid) == LOW_FDS, "descriptors freed by the failed activation"

        # Its other sockets survived: the component link answers through Prosody.
        q = result_query(alice.query(COMPONENT, NS_DISCO_INFO), NS_DISCO_INFO, COMPONENT)
        assert q is not None
        assert b.count("attached to 127.0.0.1:") == 1, "the component link was re-established"

        # The flood lets go: belfry accepts again and frees what it held.
        close_quietly(*flood)
        flood = []
        b.wait_log("accepting SOCKS5 connections again", 5)
        wait_fds_at_most(b, base_fds + 2, 10, "flood connections")

        # The stream whose activation failed is still whole: activate it now.
        r = s.activate()
        assert r.get("type") == "result", f"second activation: {r}"
        transfer(s, 1 * MB)
        # And a stream set up from scratch carries a full transfer.
        s2 = Stream(b.s5_port, bob, alice.full_jid).open()
        transfer(s2, 4 * MB)
        for st in (s, s2):
            st.close()
            b.wait_log(f"stream {st.tag} closed", 5)
        assert b.count("attached to 127.0.0.1:") == 1, "the component link was re-established"
        finish(b)
        stop = [l for l in b.log().splitlines() if "belfry-proxy65: stopping:" in l]
        assert stop and " 0 accept pauses" not in stop[0], stop
    finally:
        close_quietly(*flood)
        for st in (s, s2):
            if st is not None:
                st.close()
        finish(b)


# ---------------------------------------------------------------------------
# max-pending-per-address, handshake-timeout
# ---------------------------------------------------------------------------

def test_max_pending_per_address_default_32(prosody, tmp_path, alice, bob):
    b = start_belfry(prosody, tmp_path)
    held, extra = [], []
    try:
        # 32 pending from 127.0.0.1: one waiting for activation, the rest
        # silent (connected, not greeted).
        held.append(socks_connect_from(b.s5_port, "127.0.0.1",
                                       dst_hash(new_sid(), alice.full_jid, bob.full_jid)))
        for _ in range(31):
            held.append(open_from(b.s5_port, "127.0.0.1"))
        time.sleep(0.3)
        # Over the cap: closed at once, without a byte.
        for i in range(3):
            x = open_from(b.s5_port, "127.0.0.1")
            extra.append(x)
            data, how = read_to_close(x, 5, f"connection {33 + i} from 127.0.0.1")
            assert data == b"", data
        b.wait_log("too many pending connections from this address (max-pending-per-address)", 2)
        # One line for the three (a flood must not flood the log).
        assert b.count("max-pending-per-address") == 1, b.log()[-2000:]
        # Another address still gets in, all the way through the handshake.
        other = socks_connect_from(b.s5_port, "127.0.0.2",
                                   dst_hash(new_sid(), alice.full_jid, bob.full_jid))
        held.append(other)
        # The held ones are untouched.
        assert_silent(held[0], 0.2, "a pending connection under the cap")
        # One leaves; 127.0.0.1 has room for one again.
        held.pop(1).close()
        deadline = time.monotonic() + 3
        while True:
            y = open_from(b.s5_port, "127.0.0.1")
            extra.append(y)
            try:
                y.sendall(GREETING)
                assert recv_exact(y, 2, 1, "greeting after one left") == METHOD_OK
                break
            except (AssertionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        close_quietly(*held, *extra)
        finish(b)


def test_handshake_timeout(prosody, tmp_path, alice, bob):
    b = start_belfry(prosody, tmp_path, **{"handshake-timeout": "1", "connect-timeout": "30"})
    socks = []
    try:
        t0 = time.monotonic()
        silent = open_from(b.s5_port, "127.0.0.1")
        slow = open_from(b.s5_port, "127.0.0.1")
        slow.sendall(GREETING[:2])          # slowloris: never the whole greeting
        greeted = open_from(b.s5_port, "127.0.0.1")
        greeted.sendall(GREETING)
        assert recv_exact(greeted, 2, 2) == METHOD_OK   # never sends its request
        waiting = socks_connect_from(b.s5_port, "127.0.0.1",
                                     dst_hash(new_sid(), alice.full_jid, bob.full_jid))
        socks += [silent, slow, greeted, waiting]
        for name, sock in (("silent", silent), ("slow greeting", slow),
                           ("greeted, no request", greeted)):
            read_to_close(sock, 5, f"{name} connection")
            t = time.monotonic() - t0
            assert 0.8 <= t <= 4.5, f"{name} closed {t:.2f} s after connecting " \
                                    "(handshake-timeout 1)"
        b.wait_log("(handshake-timeout;", 2)
        # Through the handshake, waiting for activation: connect-timeout applies.
        assert_silent(waiting, 1.5, "a connection waiting for activation")
    finally:
        close_quietly(*socks)
        finish(b)


# ---------------------------------------------------------------------------
# configuration (--check-config: nothing is started)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [("max-pending-per-address", "0"),
                                       ("max-pending-per-address", "many"),
                                       ("handshake-timeout", "0"),
                                       ("handshake-timeout", "3601")])
def test_bad_limit_names_file_group_and_key(tmp_path, key, value):
    path = write_config(tmp_path / "belfry.conf", port=free_port(), modules="echo;proxy65",
                        groups={"proxy65": {"listen": f"127.0.0.1:{free_port()}", key: value}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 2, f"exit {r.returncode}, expected 2; stderr:\n{r.stderr}"
    assert f"[proxy65] {key}" in r.stderr and str(path) in r.stderr, r.stderr


def test_limits_accepted(tmp_path):
    path = write_config(tmp_path / "belfry.conf", port=free_port(), modules="echo;proxy65",
                        groups={"proxy65": {"listen": f"127.0.0.1:{free_port()}",
                                            "max-pending-per-address": "1",
                                            "handshake-timeout": "5"}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"
