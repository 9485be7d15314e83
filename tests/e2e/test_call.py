"""belfry's call relay (module `call`) between real WebRTC peers through a
real Prosody, in the private network namespace (see conftest.py).

Alice calls `carol\\40localhost@relay.localhost` (XEP-0106: Carol's JID as
the localpart of the relay component); belfry rings carol@localhost with a
JMI propose from `alice\\40localhost@relay.localhost/<random>`, sends her a
session-initiate with its own candidates after her proceed, and accepts
Alice's session once Carol accepted. Each leg has its own ICE/DTLS/SRTP;
belfry decrypts and re-encrypts every packet.

Proven here, for Chromium -> webrtcbin and webrtcbin -> Chromium, with and
without a JMI propose from the caller:

  * both sides decode the other's audio and video (test_peers thresholds);
  * each side only ever sees the relay address as its remote JID, and no
    Jingle/JMI stanza it receives names the other's real JID or resource;
  * every candidate a side received is one of belfry's: its port is a
    socket of belfry's PID (sampled from /proc/PID/fd and /proc/PID/net/*
    during the call), and none is a candidate the other peer signalled;
    Chromium's selected pair's remote end is a belfry socket too;
  * hang-up propagation: when one side ends (after its measurement), the
    other receives session-terminate with the same reason; session-info
    hold/active/unhold/mute/unmute sent by either side arrive at the other
    (mute/unmute with the same content name and creator).
"""

import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import e2e
from test_peers import (DURATION, assert_chromium_decoded, assert_webrtcbin_decoded,
                        record)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

RELAY_DOMAIN = "relay.localhost"
TIMEOUT = 60


def relay_jid(bare):
    """The relay address for a user's bare JID (XEP-0106 escaping of the
    localpart, '@' -> '\\40'; our test JIDs need no other escape)."""
    assert re.fullmatch(r"[a-z0-9.-]+@[a-z0-9.-]+", bare), bare
    return bare.replace("@", "\\40") + "@" + RELAY_DOMAIN


@pytest.fixture(scope="module")
def belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-call-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;call",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "call": {"allow-domains": "localhost"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()   # exit 0 on SIGTERM; fails if belfry died during the module


def belfry_log(b, n=8000):
    return "\n--- belfry ---\n" + b.log()[-n:]


# ---------------------------------------------------------------------------
# Which sockets belong to belfry
# ---------------------------------------------------------------------------

def _hex_addr(h):
    """'0100007F:9C40' (/proc/net/udp) -> ('127.0.0.1', 40000); IPv6 too."""
    ip_hex, port_hex = h.split(":")
    port = int(port_hex, 16)
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = ".".join(str(b) for b in raw[::-1])
    else:
        import ipaddress
        words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
        ip = str(ipaddress.IPv6Address(b"".join(words)))
        if ip.startswith("::ffff:"):
            ip = ip[7:]
    return ip, port


class SocketWatch:
    """Samples the UDP and TCP sockets a process holds (the socket inodes of
    /proc/PID/fd looked up in /proc/PID/net/{udp,udp6,tcp,tcp6}) every 50 ms
    while a call runs: belfry's ICE sockets live only as long as a session."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.udp = set()      # (ip, port)
        self.tcp = set()      # (ip, port), listening or connected
        self.samples = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        inodes = set()
        fd_dir = f"/proc/{self.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for table, into in (("udp", self.udp), ("udp6", self.udp),
                            ("tcp", self.tcp), ("tcp6", self.tcp)):
            try:
                with open(f"/proc/{self.pid}/net/{table}") as f:
                    next(f)
                    for line in f:
                        fields = line.split()
                        if len(fields) > 9 and fields[9] in inodes:
                            into.add(_hex_addr(fields[1]))
            except OSError:
                pass
        self.samples += 1

    def _run(self):
        while not self._stop.is_set():
            try:
                self.sample()
            except OSError as e:
                if len(self.errors) < 5:
                    self.errors.append(str(e))
            self._stop.wait(self.interval)

    def __enter__(self):
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def owns(self, ip, port, protocol="udp"):
        socks = self.udp if protocol == "udp" else self.tcp
        return (ip, port) in socks or ("0.0.0.0", port) in socks or ("::", port) in socks

    def describe(self):
        return (f"belfry pid {self.pid}: {self.samples} samples, UDP {sorted(self.udp)}, "
                f"TCP {sorted(self.tcp)}, errors {self.errors}")


# ---------------------------------------------------------------------------
# What the peers recorded
# ---------------------------------------------------------------------------

_CAND_RE = re.compile(r"<(?:[\w-]+:)?candidate\b([^>]*)>")
_ATTR_RE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def sent_candidates(res):
    """Every candidate a peer signalled itself: from its outgoing Jingle
    stanzas (raw XML), plus webrtcbin's own list. {(ip, port)}."""
    found = set()
    for j in res.get("jingle", []):
        if j.get("dir") != "out":
            continue
        for m in _CAND_RE.finditer(j.get("xml", "")):
            attrs = {a: v1 or v2 for a, v1, v2 in _ATTR_RE.findall(m.group(1))}
            if "ip" in attrs and "port" in attrs:
                found.add((attrs["ip"], int(attrs["port"])))
    for c in res.get("local_candidates", []):
        found.add((c.get("ip"), int(c.get("port"))))
    return found


def received_xml(res):
    """Every Jingle and JMI stanza the peer received, raw."""
    return [m.get("xml", "") for m in res.get("jingle", []) + res.get("jmi", [])
            if m.get("dir") == "in"]


def assert_only_belfry_candidates(res, watch, other, blog):
    """Every candidate `res`'s peer received is a socket of belfry's, none
    is a candidate the other peer (`other`) signalled."""
    info = e2e.debug_dump(res) + "\n" + watch.describe() + blog
    cands = res["remote_candidates"]
    assert any((c.get("protocol") or "").lower() == "udp" for c in cands), info
    theirs = sent_candidates(other)
    assert theirs, "the other peer signalled no candidates at all: " + e2e.debug_dump(other)
    for c in cands:
        proto = (c.get("protocol") or "").lower()
        ip, port = c.get("ip"), int(c.get("port"))
        assert proto in ("udp", "tcp"), f"candidate {c}\n{info}"
        if proto == "tcp" and c.get("tcptype") == "active" and port == 9:
            pass  # RFC 6544 active candidates carry the discard port
        else:
            assert watch.owns(ip, port, proto), (
                f"candidate {c} is not a socket of belfry's\n{info}")
        assert (ip, port) not in theirs, (
            f"candidate {c} is one the other peer signalled: {sorted(theirs)}\n{info}")
    # Chromium tells us where its media actually went: to belfry.
    pair = (res.get("stats") or {}).get("selected_pair")
    if res.get("peer") == "chromium":
        assert pair, info
        r = pair["remote"]
        assert watch.owns(r["address"], int(r["port"]), (r.get("protocol") or "udp").lower()), (
            f"selected pair's remote end {r} is not belfry's\n{info}")


def assert_private(res, other_real_jid, other_resource, blog):
    """Nothing the peer received names the other peer's real JID or resource."""
    for xml in received_xml(res):
        for secret in (other_real_jid, "/" + other_resource):
            assert secret not in xml, (
                f"{res['jid']} received {secret!r}:\n{xml[:3000]}" + blog)


def assert_relay_remote(res_caller, res_callee, caller_bare, callee_bare, blog):
    """The caller talks to the address it called, the callee to the relay
    address of the caller's bare JID with belfry's own resource."""
    called = relay_jid(callee_bare)
    assert res_caller["remote_jid"] == called, e2e.debug_dump(res_caller) + blog
    rj = res_callee["remote_jid"] or ""
    assert rj.startswith(relay_jid(caller_bare) + "/"), e2e.debug_dump(res_callee) + blog
    caller_resource = res_caller["jid"].split("/", 1)[1]
    assert rj.split("/", 1)[1] and rj.split("/", 1)[1] != caller_resource, rj
    # belfry rang the callee with a JMI propose (a bare JID was called) from
    # that address.
    proposes = [m["xml"] for m in res_callee["jmi"]
                if m["dir"] == "in" and "<propose" in m["xml"]]
    assert proposes, e2e.debug_dump(res_callee) + blog
    assert any(("from='%s'" % rj) in x or ('from="%s"' % rj) in x for x in proposes), proposes
    if res_caller.get("propose"):
        proceeds = [m["xml"] for m in res_caller["jmi"]
                    if m["dir"] == "in" and "<proceed" in m["xml"]]
        assert proceeds, e2e.debug_dump(res_caller) + blog


def assert_hangup_propagated(res_hangs_up, res_other, blog):
    """The side that hung up sent session-terminate (success); the other got
    one, with the same reason, after its own measurement."""
    assert res_hangs_up["terminated_by"] == "local", e2e.debug_dump(res_hangs_up) + blog
    info = e2e.debug_dump(res_other) + blog
    assert res_other["terminated_by"] == "remote", info
    assert res_other["terminate_reason"] == "success", info
    assert not res_other.get("terminated_early"), info
    got = [m["xml"] for m in res_other["jingle"]
           if m["dir"] == "in" and "session-terminate" in m["xml"]]
    assert got, info


def check_call(res_caller, res_callee, caller_bare, callee_bare, watch, blog):
    for r in (res_caller, res_callee):
        info = e2e.debug_dump(r) + blog
        assert r["ok"], info
        if r["peer"] == "chromium":
            assert_chromium_decoded(r, blog)
        else:
            assert_webrtcbin_decoded(r, blog)
    assert_relay_remote(res_caller, res_callee, caller_bare, callee_bare, blog)
    assert_only_belfry_candidates(res_caller, watch, res_callee, blog)
    assert_only_belfry_candidates(res_callee, watch, res_caller, blog)
    assert_private(res_caller, callee_bare, res_callee["jid"].split("/", 1)[1], blog)
    assert_private(res_callee, caller_bare, res_caller["jid"].split("/", 1)[1], blog)


def run_call(belfry, callee, caller_factory):
    """Callee logged in first, then the caller; both results while belfry's
    sockets are watched."""
    started = time.monotonic()
    callee.wait_ready(40)
    with SocketWatch(belfry.pid) as watch:
        caller = caller_factory()
        res_caller = caller.result(DURATION + TIMEOUT + 15)
        res_callee = callee.result(DURATION + 30)
    return res_caller, res_callee, watch, time.monotonic() - started


# ---------------------------------------------------------------------------
# 1. Chromium (alice) calls webrtcbin (carol) through belfry
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("propose", [False, True], ids=["initiate", "jmi-propose"])
def test_chromium_calls_webrtcbin_through_belfry(prosody, belfry, workdir, peers, propose):
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "answer",
                               duration=DURATION, timeout=TIMEOUT)
    peers.append(carol)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target=relay_jid("carol@localhost"), propose=propose,
                              duration=DURATION, timeout=TIMEOUT)
        peers.append(p)
        return p

    ra, rc, watch, wall = run_call(belfry, carol, caller)
    record(f"chromium->belfry->webrtcbin ({'propose' if propose else 'initiate'})",
           [ra, rc], wall)
    blog = belfry_log(belfry)
    check_call(ra, rc, "alice@localhost", "carol@localhost", watch, blog)
    # The caller hung up after its linger; the callee got it through belfry.
    assert_hangup_propagated(ra, rc, blog)


# ---------------------------------------------------------------------------
# 2. webrtcbin (carol) calls Chromium (bob) through belfry
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("propose", [False, True], ids=["initiate", "jmi-propose"])
def test_webrtcbin_calls_chromium_through_belfry(prosody, belfry, workdir, peers, propose):
    bob = e2e.chromium_peer(prosody, workdir, "bob-chromium", "bob", "answer",
                            duration=DURATION, timeout=TIMEOUT)
    peers.append(bob)

    def caller():
        p = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "call",
                               target=relay_jid("bob@localhost"), propose=propose,
                               duration=DURATION, timeout=TIMEOUT)
        peers.append(p)
        return p

    rc, rb, watch, wall = run_call(belfry, bob, caller)
    record(f"webrtcbin->belfry->chromium ({'propose' if propose else 'initiate'})",
           [rc, rb], wall)
    blog = belfry_log(belfry)
    check_call(rc, rb, "carol@localhost", "bob@localhost", watch, blog)
    assert_hangup_propagated(rc, rb, blog)


# ---------------------------------------------------------------------------
# 3. Hang-up from either side, session-info both ways
# ---------------------------------------------------------------------------

# Sent by each side during its measurement (seconds after DTLS connected).
INFO_A = [{"after": 1.0, "info": "hold"}, {"after": 1.4, "info": "active"},
          {"after": 1.8, "info": "mute", "media": "audio"},
          {"after": 2.2, "info": "unmute", "media": "audio"}]
INFO_B = [{"after": 1.2, "info": "mute", "media": "video"},
          {"after": 1.6, "info": "unmute", "media": "video"},
          {"after": 2.0, "info": "hold"}, {"after": 2.4, "info": "unhold"}]


def assert_session_info_relayed(sender, receiver, blog):
    """What `sender` sent arrived at `receiver`, in order: same info, and for
    mute/unmute the same content name and creator."""
    sent = [(s["info"], s["name"], s["creator"]) for s in sender["session_info_sent"]]
    got = [(s["info"], s["name"], s["creator"]) for s in receiver["session_info_received"]]
    assert len(sent) == 4, e2e.debug_dump(sender) + blog
    assert all(n for i, n, _ in sent if i in ("mute", "unmute")), sent
    assert got == sent, (f"{sender['jid']} sent {sent}, {receiver['jid']} got {got}\n"
                         + e2e.debug_dump(receiver) + blog)


@pytest.mark.parametrize("who", ["caller-hangs-up", "callee-hangs-up"])
def test_hangup_and_session_info_cross_belfry(prosody, belfry, workdir, peers, who):
    # The side that hangs up measures a second longer and does not linger,
    # so its session-terminate reaches the other side after that side's
    # measurement; the other side waits up to 15 s for it.
    hang = dict(duration=DURATION + 1, linger=0.5)
    wait = dict(duration=DURATION, linger=15)
    if who == "caller-hangs-up":
        # Chromium alice -> webrtcbin carol; alice hangs up.
        callee = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "answer",
                                    timeout=TIMEOUT, session_info=INFO_B, **wait)

        def caller():
            return e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                                     target=relay_jid("carol@localhost"), timeout=TIMEOUT,
                                     session_info=INFO_A, **hang)
        caller_bare, callee_bare = "alice@localhost", "carol@localhost"
    else:
        # webrtcbin carol -> Chromium bob; bob hangs up.
        callee = e2e.chromium_peer(prosody, workdir, "bob-chromium", "bob", "answer",
                                   timeout=TIMEOUT, session_info=INFO_B, **hang)

        def caller():
            return e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "call",
                                      target=relay_jid("bob@localhost"), propose=True,
                                      timeout=TIMEOUT, session_info=INFO_A, **wait)
        caller_bare, callee_bare = "carol@localhost", "bob@localhost"
    peers.append(callee)

    def start_caller():
        p = caller()
        peers.append(p)
        return p

    r_caller, r_callee, watch, wall = run_call(belfry, callee, start_caller)
    record(f"belfry call, {who}", [r_caller, r_callee], wall)
    blog = belfry_log(belfry)
    check_call(r_caller, r_callee, caller_bare, callee_bare, watch, blog)
    assert_session_info_relayed(r_caller, r_callee, blog)
    assert_session_info_relayed(r_callee, r_caller, blog)
    if who == "caller-hangs-up":
        assert_hangup_propagated(r_caller, r_callee, blog)
    else:
        assert_hangup_propagated(r_callee, r_caller, blog)
    # belfry logged both legs ending (its log names each leg's sid and peer).
    for r in (r_caller, r_callee):
        assert f"session {r['sid']} with {r['jid']} ended" in belfry.log(), blog
    print(json.dumps({"who": who, "sockets": len(watch.udp), "samples": watch.samples}))
