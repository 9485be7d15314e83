"""Helpers for the proxy65 (XEP-0065 SOCKS5 bytestreams proxy) tests: plain
SOCKS5 sockets (RFC 1928 as XEP-0065 §6 uses it), the activation iq, and a
slixmpp client with the xep_0065 plugin loaded.

Everything talks to 127.0.0.1 only.
"""

import asyncio
import hashlib
import os
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from harness import COMPONENT, Client

NS_BYTESTREAMS = "http://jabber.org/protocol/bytestreams"

GREETING = b"\x05\x01\x00"          # version 5, one method: 0x00 (no auth)
METHOD_OK = b"\x05\x00"
METHOD_NONE = b"\x05\xff"

# RFC 1928 replies, as the module's contract spells them (ATYP 1, 0.0.0.0:0)
REP_GENERAL_FAILURE = 0x01
REP_NOT_ALLOWED = 0x02
REP_HOST_UNREACHABLE = 0x04
REP_CMD_NOT_SUPPORTED = 0x07
REP_ATYP_NOT_SUPPORTED = 0x08


def refusal(code):
    """The 10-byte refusal reply: 05 CODE 00 01 00 00 00 00 00 00."""
    return bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0])


def dst_hash(sid, requester, target):
    """XEP-0065: SHA1(SID + Requester JID + Target JID), hex."""
    return hashlib.sha1((sid + str(requester) + str(target)).encode("utf-8")).hexdigest()


def new_sid():
    return "s" + os.urandom(8).hex()


def connect_request(dst, port_field=0, cmd=1, atyp=3, version=5):
    """A SOCKS5 request with a domain-name DST.ADDR (bytes or str)."""
    if isinstance(dst, str):
        dst = dst.encode("ascii")
    return (bytes([version, cmd, 0, atyp, len(dst)]) + dst + struct.pack(">H", port_field))


def success_reply(dst):
    if isinstance(dst, str):
        dst = dst.encode("ascii")
    return b"\x05\x00\x00\x03" + bytes([len(dst)]) + dst + b"\x00\x00"


# ---------------------------------------------------------------------------
# Raw sockets
# ---------------------------------------------------------------------------

def open_raw(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n, timeout=5.0, what="data"):
    """Exactly n bytes, or an AssertionError saying what came instead."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{what}: got {len(buf)} of {n} bytes within {timeout}s: "
                                 f"{bytes(buf[:80])!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise AssertionError(f"{what}: connection reset after {len(buf)} of {n} bytes: "
                                 f"{bytes(buf[:80])!r}") from None
        if not chunk:
            raise AssertionError(f"{what}: EOF after {len(buf)} of {n} bytes: "
                                 f"{bytes(buf[:80])!r}")
        buf += chunk
    return bytes(buf)


def read_to_close(sock, timeout=3.0, what="connection", limit=1 << 20):
    """Read until the peer closes (EOF or reset). Returns (data, how) with how
    "eof" or "reset". Fails if the connection is still open after timeout."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{what} still open after {timeout}s; received "
                                 f"{len(buf)} bytes: {bytes(buf[:80])!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return bytes(buf), "reset"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk
        if len(buf) > limit:
            raise AssertionError(f"{what}: more than {limit} bytes without a close")


def assert_closed_with(sock, expected, timeout=3.0, what="connection"):
    """The peer sends exactly `expected` (maybe b"") and then closes."""
    data, how = read_to_close(sock, timeout, what)
    assert data == expected, (f"{what}: expected {expected.hex(' ')!r} then close, got "
                              f"{data.hex(' ')!r} then {how}")
    return how


def assert_silent(sock, seconds, what="socket"):
    """Nothing arrives (and no close) for `seconds`."""
    sock.settimeout(seconds)
    try:
        chunk = sock.recv(65536)
    except socket.timeout:
        return
    except ConnectionResetError:
        raise AssertionError(f"{what}: reset, expected an open, silent connection") from None
    if chunk:
        raise AssertionError(f"{what}: received {len(chunk)} bytes, expected none: {chunk[:60]!r}")
    raise AssertionError(f"{what}: EOF, expected an open, silent connection")


def socks_connect(port, dst, port_field=0, timeout=5.0, what=None):
    """Greeting + CONNECT for dst; asserts the exact success replies; returns
    the socket, ready for data."""
    what = what or f"SOCKS5 CONNECT {dst[:8]}"
    s = open_raw(port, timeout)
    try:
        s.sendall(GREETING)
        got = recv_exact(s, 2, timeout, what + " (method reply)")
        assert got == METHOD_OK, f"{what}: method reply {got.hex(' ')}, expected 05 00"
        s.sendall(connect_request(dst, port_field))
        want = success_reply(dst)
        got = recv_exact(s, len(want), timeout, what + " (reply)")
        assert got == want, f"{what}: reply {got!r}, expected {want!r}"
    except BaseException:
        s.close()
        raise
    return s


def close_quietly(*socks):
    for s in socks:
        if s is None:
            continue
        try:
            s.close()
        except OSError:
            pass



def recv_all_to_eof(sock, timeout=20.0, what="stream"):
    """Read until EOF (a reset is a failure); returns the bytes."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{what}: no EOF within {timeout}s ({len(buf)} bytes read)")
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise AssertionError(f"{what}: reset after {len(buf)} bytes, expected EOF") from None
        if not chunk:
            return bytes(buf)
        buf += chunk


class Sender(threading.Thread):
    """Writes `data` to a blocking socket in chunks, counting progress, so a
    test can see it stall (back-pressure). Ends on completion or error."""

    def __init__(self, sock, data, chunk=256 * 1024, shutdown=False):
        super().__init__(daemon=True)
        self.sock, self.data, self.chunk, self.shutdown_after = sock, data, chunk, shutdown
        self.sent = 0
        self.error = None
        self.done = threading.Event()

    def run(self):
        view = memoryview(self.data)
        try:
            self.sock.settimeout(None)
            while self.sent < len(view):
                n = self.sock.send(view[self.sent:self.sent + self.chunk])
                self.sent += n
            if self.shutdown_after:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.error = e
        finally:
            self.done.set()

    def wait_stalled(self, quiet=0.7, timeout=20.0):
        """Wait until `sent` has not moved for `quiet` seconds; returns it.
        Fails if everything was sent (nothing pushed back)."""
        deadline = time.monotonic() + timeout
        last, since = self.sent, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.done.is_set():
                raise AssertionError(f"sender never blocked: sent all {self.sent} bytes "
                                     f"(error: {self.error})")
            if self.sent != last:
                last, since = self.sent, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return last
        raise AssertionError(f"sender still making progress after {timeout}s ({self.sent} bytes)")


def vm_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc status")


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every 20 ms; .peak_kb is the highest seen."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = vm_rss_kb(pid)
        self._halt = threading.Event()

    def run(self):
        while not self._halt.wait(0.02):
            try:
                self.peak_kb = max(self.peak_kb, vm_rss_kb(self.pid))
            except (OSError, AssertionError):
                return

    def stop(self):
        self._halt.set()
        self.join(2)
        return self.peak_kb


# ---------------------------------------------------------------------------
# XMPP side
# ---------------------------------------------------------------------------

def activate_payload(sid, target):
    sid_attr = "" if sid is None else f" sid={quoteattr(sid)}"
    act = "" if target is None else f"<activate>{escape(str(target))}</activate>"
    return f"<query xmlns='{NS_BYTESTREAMS}'{sid_attr}>{act}</query>"


def activate(client, sid, target, to=COMPONENT, timeout=5.0):
    """Send the activation iq from `client`; return the reply element."""
    return client.iq(to, "set", activate_payload(sid, target), timeout)


def streamhost_query(client, to=COMPONENT, timeout=5.0):
    return client.iq(to, "get", f"<query xmlns='{NS_BYTESTREAMS}'/>", timeout)


def streamhosts(reply):
    q = reply.find("{%s}query" % NS_BYTESTREAMS)
    if q is None:
        return None
    return [dict(sh.attrib) for sh in q.findall("{%s}streamhost" % NS_BYTESTREAMS)]


class Stream:
    """One bytestream through the proxy, driven with plain sockets: the
    target connects first, then the requester (as Prosody pairs them), then
    the requester's client activates."""

    def __init__(self, port, requester, target_jid, sid=None):
        self.port = port
        self.requester = requester          # a harness.Client
        self.target_jid = str(target_jid)
        self.sid = sid or new_sid()
        self.hash = dst_hash(self.sid, requester.full_jid, self.target_jid)
        self.target = None
        self.req = None

    @property
    def tag(self):
        return self.hash[:8]

    def connect_target(self, dst=None):
        self.target = socks_connect(self.port, dst or self.hash, what=f"target {self.tag}")
        return self.target

    def connect_requester(self, dst=None):
        self.req = socks_connect(self.port, dst or self.hash, what=f"requester {self.tag}")
        return self.req

    def connect(self):
        self.connect_target()
        self.connect_requester()
        return self

    def activate(self, client=None, sid=None, target=None):
        return activate(client or self.requester, sid or self.sid,
                        self.target_jid if target is None else target)

    def open(self):
        """Connect both sides and activate; asserts an empty result."""
        self.connect()
        r = self.activate()
        assert r.get("type") == "result", f"activation of {self.tag} failed: {dump(r)}"
        assert r.get("from") == COMPONENT, dump(r)
        assert len(list(r)) == 0, f"activation result is not empty: {dump(r)}"
        return self

    def close(self):
        close_quietly(self.target, self.req)


def dump(el):
    return ET.tostring(el, encoding="unicode")


def log_line(belfry, needle):
    """The last line of belfry's log containing needle (or None)."""
    found = None
    for line in belfry.log().splitlines():
        if needle in line:
            found = line
    return found


def wait_closed_log(belfry, tag, timeout=5.0):
    belfry.wait_log(f"stream {tag} closed", timeout)
    return log_line(belfry, f"stream {tag} closed")


# ---------------------------------------------------------------------------
# slixmpp with its XEP-0065 plugin
# ---------------------------------------------------------------------------

class S5BClient(Client):
    """harness.Client plus slixmpp's own xep_0065 plugin (auto-accepting
    offered streams), and a record of the bytes it receives through it."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.rx = {"bytes": 0, "sha": hashlib.sha256(), "closed": False}
        self._rx_cond = threading.Condition()
        self._call(self._enable(), 10)

    async def _enable(self):
        self.xmpp.register_plugin("xep_0030")
        self.xmpp.register_plugin("xep_0065", {"auto_accept": True})
        self.xmpp.add_event_handler("socks5_data", self._on_data)
        self.xmpp.add_event_handler("socks5_closed", self._on_closed)

    def _on_data(self, data):
        with self._rx_cond:
            self.rx["bytes"] += len(data)
            self.rx["sha"].update(data)
            self._rx_cond.notify_all()

    def _on_closed(self, _exc):
        with self._rx_cond:
            self.rx["closed"] = True
            self._rx_cond.notify_all()

    def reset_rx(self):
        with self._rx_cond:
            self.rx = {"bytes": 0, "sha": hashlib.sha256(), "closed": False}

    def wait_rx(self, nbytes, timeout):
        deadline = time.monotonic() + timeout
        with self._rx_cond:
            while self.rx["bytes"] < nbytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.jid_text} received {self.rx['bytes']} of "
                                         f"{nbytes} bytes within {timeout}s")
                self._rx_cond.wait(left)
            return self.rx["bytes"], self.rx["sha"].hexdigest()

    def wait_rx_closed(self, timeout):
        deadline = time.monotonic() + timeout
        with self._rx_cond:
            while not self.rx["closed"]:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.jid_text}'s bytestream not closed within "
                                         f"{timeout}s")
                self._rx_cond.wait(left)

    def discover_proxies(self, timeout=10):
        """The plugin's own discovery (disco#items of the server, disco#info
        of each item, the bytestreams query), cache cleared first."""
        async def go():
            p = self.xmpp["xep_0065"]
            p._proxies = {}
            found = await asyncio.wait_for(p.discover_proxies(timeout=timeout), timeout)
            return {str(k): (str(h), str(pt)) for k, (h, pt) in found.items()}
        return self._call(go(), timeout + 2)

    def send_file(self, target, data, sid, timeout=30, chunk=65536):
        """The plugin's handshake (request_stream to the target, which
        connects; then our own SOCKS5 connection; then activation), then write
        data through the plugin's socket. Returns when all is handed to the
        transport; the socket stays open."""
        async def go():
            p = self.xmpp["xep_0065"]
            sock = await asyncio.wait_for(p.handshake(target, sid=sid, timeout=timeout),
                                          timeout)
            assert sock is not None, "xep_0065 handshake returned no socket"
            view = memoryview(data)
            for off in range(0, len(view), chunk):
                await sock.write(bytes(view[off:off + chunk]))
            return True
        return self._call(go(), timeout + 5)

    def close_stream(self, sid, timeout=5):
        async def go():
            p = self.xmpp["xep_0065"]
            sock = p.get_socket(sid)
            if sock is not None and sock.transport is not None:
                sock.transport.close()
        self._call(go(), timeout)





def listening(port):
    """Is something LISTENing on TCP port (IPv4 or IPv6)? Read from /proc, so
    no connection is made (a probe would be a client of its own)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def wait_listening(port, timeout, belfry=None):
    deadline = time.monotonic() + timeout
    while not listening(port):
        if belfry is not None and not belfry.running():
            raise AssertionError(f"belfry exited before listening on {port}:\n"
                                 f"{belfry.log()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {timeout}s"
                                 + (f"; belfry log:\n{belfry.log()[-4000:]}" if belfry else ""))
        time.sleep(0.02)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_fds_at_most(belfry, n, timeout=3.0, what="connections"):
    """belfry's open file descriptors drop back to n (sockets and any pipes
    of closed streams released)."""
    deadline = time.monotonic() + timeout
    while True:
        now = fd_count(belfry.pid)
        if now <= n:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"belfry still holds {now} file descriptors {timeout}s after "
                                 f"the {what} ended (before: {n})")
        time.sleep(0.02)
