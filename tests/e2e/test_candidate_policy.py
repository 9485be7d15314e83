"""The remote candidate policy (relay/media/addr-policy.h): belfry sends ICE
connectivity checks only to peer addresses within the scope of its own
[media] addresses, widened by [media] allow-peer-networks.

A real belfry (echo) behind a real Prosody, in the test's private network
namespace (conftest.py). The test gives the namespace a veth interface
(v0) holding belfry's media addresses and every target address, so every
datagram belfry sends to a target comes back to a UDP listener of the test:

  belfry's addresses          198.51.100.7/24 and 2001:db8::7 (public scope:
                              documentation ranges count as public), or
                              10.20.0.1 (private)
  targets (one listener each) 127.0.0.1, 10.20.0.5, 169.254.7.7, 224.0.0.99
                              (a multicast group joined on v0), 0.0.0.0,
                              255.255.255.255, 198.51.100.255 (v0's directed
                              broadcast), ::1, fd00::5, 203.0.113.9 port 999
  allowed targets             203.0.113.9 and 2001:db8:1::9 (public), and
                              10.20.0.5 when belfry is private or allows it

A slixmpp client offers a call to echo@ whose candidates point at every
target, the allowed ones with the lowest priorities (libnice checks in
priority order: when the allowed listeners see belfry's STUN checks, the
others would have had theirs already). Asserted: each allowed listener
receives STUN Binding requests (the test does see belfry's packets), every
other listener receives nothing at all within the whole window, and belfry
logs once, at the session's end, how many candidates it ignored by reason.

Measured with the belfry before the policy (public case): the private,
multicast, unspecified (Linux delivers 0.0.0.0 locally), ULA and port-999
targets received belfry's checks. The loopback, link-local and ::1 targets
did not: libnice pairs those only with a local address of the same kind,
so here they stand for a libnice that stops doing so. The broadcast targets
are refused by the kernel (libnice does not set SO_BROADCAST): they are here
so that a change of that stays covered.
"""

import select
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import e2e

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from test_jingle import (ECHO, assert_result, ended_line, jingle, jingle_client,  # noqa: E402
                         new_sid, offer, send_jingle, wait_jingle)
from test_metrics import scrape, total  # noqa: E402

IFACE, PEER_IFACE = "v0", "v1"
PUBLIC_V4, PUBLIC_V6, PRIVATE_V4 = "198.51.100.7", "2001:db8::7", "10.20.0.1"
# Extra addresses on v0: the targets that are bound to themselves.
V4_TARGETS = ["203.0.113.9", "10.20.0.5", "169.254.7.7"]
V6_TARGETS = ["2001:db8:1::9", "fd00::5"]
MCAST = "224.0.0.99"
# After the allowed listeners saw checks, how long the others must stay
# silent (libnice retransmits a check for ~several seconds; its first check
# on every pair is long sent by then).
QUIET_S = 5
FIRST_CHECK_S = 20


def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"


@pytest.fixture(scope="module")
def netdev():
    """v0 (a veth pair: the dummy driver is not always there) with belfry's
    addresses and the targets, inside this test's own namespace."""
    assert e2e.in_private_netns() or IFACE in e2e.interfaces()
    sh(f"ip link add {IFACE} type veth peer name {PEER_IFACE}")
    try:
        sh(f"ip addr add {PUBLIC_V4}/24 dev {IFACE}")
        sh(f"ip addr add {PRIVATE_V4}/32 dev {IFACE}")
        for a in V4_TARGETS:
            sh(f"ip addr add {a}/32 dev {IFACE}")
        sh(f"ip -6 addr add {PUBLIC_V6}/64 dev {IFACE} nodad")
        for a in V6_TARGETS:
            sh(f"ip -6 addr add {a}/128 dev {IFACE} nodad")
        sh(f"ip link set {IFACE} up")
        sh(f"ip link set {PEER_IFACE} up")
        sh(f"ip route add 224.0.0.0/4 dev {IFACE}")
        yield
    finally:
        subprocess.run(["ip", "link", "del", IFACE], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def prosody(netdev):
    # Only Prosody is needed here, not the browsers conftest's fixture checks.
    p = e2e.Prosody()
    try:
        p.start()
        yield p
    finally:
        p.close()


class Target:
    def __init__(self, name, address, bind, family, port=0, group=None):
        self.name, self.address = name, address
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.sock.bind((bind, port))
        if group:
            mreqn = struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"),
                                socket.if_nametoindex(IFACE))
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.datagrams = []

    def drain(self):
        while True:
            try:
                data, src = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            self.datagrams.append((data, src))

    def stun_requests(self):
        return [d for d, _ in self.datagrams
                if len(d) >= 20 and d[0:2] == b"\x00\x01" and d[4:8] == b"\x21\x12\xa4\x42"]

    def close(self):
        self.sock.close()


def make_targets():
    v4, v6 = socket.AF_INET, socket.AF_INET6
    return [
        Target("public", "203.0.113.9", "203.0.113.9", v4),
        Target("public-v6", "2001:db8:1::9", "2001:db8:1::9", v6),
        Target("private", "10.20.0.5", "10.20.0.5", v4),
        Target("loopback", "127.0.0.1", "127.0.0.1", v4),
        Target("link-local", "169.254.7.7", "169.254.7.7", v4),
        Target("multicast", MCAST, "0.0.0.0", v4, group=MCAST),
        Target("unspecified", "0.0.0.0", "0.0.0.0", v4),
        Target("broadcast", "255.255.255.255", "0.0.0.0", v4),
        Target("directed-broadcast", "198.51.100.255", "0.0.0.0", v4),
        Target("loopback-v6", "::1", "::1", v6),
        Target("ula", "fd00::5", "fd00::5", v6),
        Target("low-port", "203.0.113.9", "203.0.113.9", v4, port=999),
    ]


def candidates_xml(targets, allowed):
    """One host candidate per target; the allowed ones last by priority."""
    out = []
    ordered = [t for t in targets if t.name not in allowed] + \
              [t for t in targets if t.name in allowed]
    for i, t in enumerate(ordered):
        prio = 2130706431 - i * 1000
        out.append(f"<candidate component='1' foundation='{i + 1}' generation='0' "
                   f"id='c{i}' ip='{t.address}' network='0' port='{t.port}' "
                   f"priority='{prio}' protocol='udp' type='host'/>")
    return "".join(out)


def listen(targets, allowed, belfry):
    """Collects datagrams until every allowed target has seen a STUN check,
    then QUIET_S seconds more."""
    by_fd = {t.sock.fileno(): t for t in targets}
    deadline = time.monotonic() + FIRST_CHECK_S
    quiet_until = None
    while True:
        now = time.monotonic()
        if quiet_until is None and all(t.stun_requests() for t in targets if t.name in allowed):
            quiet_until = now + QUIET_S
        end = quiet_until if quiet_until is not None else deadline
        if now >= end:
            break
        ready, _, _ = select.select(list(by_fd), [], [], min(0.2, end - now))
        for fd in ready:
            by_fd[fd].drain()
    missing = [t.name for t in targets if t.name in allowed and not t.stun_requests()]
    assert not missing, (f"no STUN check reached the allowed targets {missing} within "
                         f"{FIRST_CHECK_S} s\n--- belfry ---\n{belfry.log()[-4000:]}")


CASES = {
    # belfry on public addresses: public peers only
    "public": dict(addresses=f"{PUBLIC_V4};{PUBLIC_V6}", allow=None,
                   allowed={"public", "public-v6"},
                   ignored="unspecified 1, loopback 2, link-local 1, private 2, multicast 1, "
                           "broadcast 2, port 1"),
    # belfry on a private address: private and public peers (IPv6, where it
    # has no address, public only; 198.51.100.255 is no broadcast of its)
    "private": dict(addresses=PRIVATE_V4, allow=None,
                    allowed={"public", "private"},
                    ignored="unspecified 1, loopback 2, link-local 1, private 1, multicast 1, "
                            "broadcast 1, port 1"),
    # belfry on public addresses, the operator allows 10.20.0.0/16
    "widened": dict(addresses=f"{PUBLIC_V4};{PUBLIC_V6}", allow="10.20.0.0/16",
                    allowed={"public", "public-v6", "private"},
                    ignored="unspecified 1, loopback 2, link-local 1, private 1, multicast 1, "
                            "broadcast 2, port 1"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_candidate_policy(prosody, case, tmp_path):
    spec = CASES[case]
    media = {"addresses": spec["addresses"]}
    if spec["allow"]:
        media["allow-peer-networks"] = spec["allow"]
    mport = harness.free_port()
    belfry = harness.Belfry(tmp_path, port=prosody.component_port,
                            groups={"media": media, "metrics": {"listen": f"127.0.0.1:{mport}"}})
    targets = make_targets()
    client = None
    try:
        belfry.start()
        e2e.adopt(belfry.pid)
        belfry.wait_log("metrics: serving", 5)
        client = jingle_client(prosody, "alice", f"candpolicy-{case}")
        sid = new_sid("candpolicy")
        allowed = spec["allowed"]
        cands = candidates_xml(targets, allowed)
        assert_result(send_jingle(client, offer(sid, client.full_jid, video=False,
                                                candidates=cands)), "session-initiate")
        wait_jingle(client, sid, "session-accept", timeout=15)
        listen(targets, allowed, belfry)

        report = "\n".join(f"  {t.name:20} {t.address}:{t.port}: {len(t.datagrams)} datagrams, "
                           f"{len(t.stun_requests())} STUN checks" for t in targets)
        leaked = [t.name for t in targets if t.name not in allowed and t.datagrams]
        assert not leaked, (f"belfry sent to targets outside its candidate policy: {leaked}\n"
                            f"{report}\n--- belfry ---\n{belfry.log()[-4000:]}")

        reply = send_jingle(client, jingle("session-terminate", sid,
                                           "<reason><success/></reason>"))
        assert_result(reply, "session-terminate")
        belfry.wait_log(ended_line(belfry, sid, client, "success"), 10)
        line = f"session {sid}: ignored "
        belfry.wait_log(line, 10)
        logged = [ln for ln in belfry.log().splitlines() if line in ln]
        assert len(logged) == 1, logged            # once per session
        n = sum(int(part.rsplit(" ", 1)[1]) for part in spec["ignored"].split(", "))
        assert (f"ignored {n} remote candidates by the candidate policy ({spec['ignored']})"
                in logged[0]), logged
        # The counter, by value: every candidate the log names, summed over
        # the workers (one per worker).
        ignored_metric = total(scrape(mport)[1], "belfry_remote_candidates_ignored_total")
        assert ignored_metric == n, (ignored_metric, n)
        # No peer address in the log line (only counts by reason).
        for t in targets:
            if t.address != "0.0.0.0":
                assert t.address not in logged[0], logged
        print(f"\n{case}: {report}\n  {logged[0]}\n"
              f"  belfry_remote_candidates_ignored_total {ignored_metric:g}")
        client.close()
        client = None
        belfry.stop()       # exit 0: no sanitizer report with an ASan build
    finally:
        if client is not None:
            client.close()
        for t in targets:
            t.close()
        belfry.kill_quietly()
