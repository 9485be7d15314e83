"""The proxy65 module (XEP-0065 SOCKS5 bytestreams proxy), against a real
Prosody 0.12 with real slixmpp clients.

One Prosody (with alice, bob and carol) for the whole file; one belfry per
class (Prosody takes one connection per component, so the classes run one
after another):

  TestRelay   default settings: discovery, real clients moving a file with
              slixmpp's own xep_0065 plugin, every activation error, every
              malformed SOCKS5 request, back-pressure, half-close.
  TestAcl     allow-domains = example.org: localhost users are forbidden.
  TestLimits  connect/idle timeouts, max-bytes, max-streams(-per-jid),
              max-pending, advertise.

Each class ends by checking that, after its hostile cases, a normal transfer
still works and belfry exits 0 on SIGTERM (under ASan: no leak either).
The config checks at the end need no server.
"""

import hashlib
import os
import re
import socket
import time

import pytest

from checks import assert_error, dump, features, identities, result_query
from harness import (COMPONENT, DOMAIN, NS_DISCO_INFO, USERS, Belfry, FakeServer, Prosody,
                     free_port, require_belfry, run_belfry, write_config)
from s5b import (GREETING, METHOD_NONE, METHOD_OK, NS_BYTESTREAMS, REP_ATYP_NOT_SUPPORTED,
                 REP_CMD_NOT_SUPPORTED, REP_GENERAL_FAILURE, REP_HOST_UNREACHABLE,
                 REP_NOT_ALLOWED, RssSampler, S5BClient, Sender, Stream, activate,
                 assert_closed_with, assert_silent, close_quietly, connect_request, dst_hash,
                 log_line, new_sid, open_raw, read_to_close, recv_all_to_eof, recv_exact,
                 refusal, socks_connect, streamhost_query, streamhosts, success_reply,
                 fd_count, vm_rss_kb, wait_closed_log, wait_fds_at_most, wait_listening)

ALL_USERS = dict(USERS, carol="carol-pw-5Tn")
MB = 1 << 20
REFUSED = "belfry-proxy65: refused"


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prosody():
    """Overrides conftest's: the same throwaway Prosody, plus carol (a third
    JID that is neither requester nor target)."""
    p = Prosody(users=ALL_USERS)
    try:
        p.start()
        yield p
    finally:
        p.close()


def _client(prosody, user, resource=None):
    jid = f"{user}@{DOMAIN}" + (f"/{resource}" if resource else "")
    return S5BClient(jid, ALL_USERS[user], prosody.c2s_port)


@pytest.fixture(scope="module")
def alice(prosody):
    c = _client(prosody, "alice")
    yield c
    c.close()


@pytest.fixture(scope="module")
def alice2(prosody):
    """alice on a second resource (same bare JID)."""
    c = _client(prosody, "alice", "second")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(prosody):
    c = _client(prosody, "bob")
    yield c
    c.close()


@pytest.fixture(scope="module")
def carol(prosody):
    c = _client(prosody, "carol")
    yield c
    c.close()


def start_proxy(prosody, tmp_path_factory, name, listen_port=None, **settings):
    require_belfry()
    port = listen_port or free_port()
    group = {"listen": f"127.0.0.1:{port}"}
    group.update(settings)
    b = Belfry(tmp_path_factory.mktemp(name), port=prosody.component_port,
               modules="echo;proxy65", groups={"proxy65": group})
    try:
        b.start(timeout=10)
        wait_listening(port, 5, b)
    except BaseException:
        b.kill_quietly()
        raise
    b.s5_port = port
    return b


def finish_proxy(b):
    try:
        if b.running():
            b.stop()   # asserts exit 0 and no secret in the log
    finally:
        b.kill_quietly()


def refusals(b):
    return b.count(REFUSED)


def wait_refusal(b, before, what):
    """A new 'refused <why>' line in belfry's log; returns it."""
    b.wait_log(REFUSED, 3, count=before + 1)
    lines = [l for l in b.log().splitlines() if REFUSED in l]
    line = lines[before]
    why = line.split(REFUSED, 1)[1].strip()
    assert len(why) >= 3, f"refusal for {what} does not say why: {line!r}"
    return line


def rand(n):
    return os.urandom(n)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def plugin_transfer(b, alice, bob, size=8 * MB):
    """alice sends `size` random bytes to bob with slixmpp's own XEP-0065
    plugin: discovery of the proxy, the streamhost offer to bob, bob's and
    alice's SOCKS5 connections, activation; then the data. Checks SHA-256,
    the close, and belfry's activated/closed log lines."""
    found = alice.discover_proxies()
    assert found == {COMPONENT: ("127.0.0.1", str(b.s5_port))}, (
        f"the plugin's discovery found {found}, expected {COMPONENT} at "
        f"127.0.0.1:{b.s5_port}")
    data = rand(size)
    sid = new_sid()
    tag = dst_hash(sid, alice.full_jid, bob.full_jid)[:8]
    bob.reset_rx()
    alice.send_file(bob.full_jid, data, sid)
    b.wait_log(f"stream {tag} activated", 5)
    got, digest = bob.wait_rx(size, 30)
    assert got == size, f"bob received {got} bytes, {size} were sent"
    assert digest == sha(data), "what bob received differs from what alice sent"
    alice.close_stream(sid)
    bob.wait_rx_closed(5)
    line = wait_closed_log(b, tag)
    assert re.search(rf"\b{size}\b", line), f"no byte count {size} in {line!r}"


def relay_check(s, nbytes=64 * 1024):
    """Bytes go both ways through an activated Stream."""
    a, c = rand(nbytes), rand(nbytes // 2)
    s.req.sendall(a)
    assert recv_exact(s.target, len(a), 5, "requester -> target") == a
    s.target.sendall(c)
    assert recv_exact(s.req, len(c), 5, "target -> requester") == c


def close_and_wait(b, *streams):
    for s in streams:
        s.close()
    for s in streams:
        wait_closed_log(b, s.tag)


# ---------------------------------------------------------------------------
# default settings
# ---------------------------------------------------------------------------

@pytest.fixture(scope="class")
def relay(prosody, tmp_path_factory):
    b = start_proxy(prosody, tmp_path_factory, "belfry-proxy65")
    yield b
    finish_proxy(b)


@pytest.mark.usefixtures("relay")
class TestRelay:

    def test_disco_info_has_proxy_identity_and_feature(self, alice):
        q = result_query(alice.query(COMPONENT, NS_DISCO_INFO), NS_DISCO_INFO, COMPONENT)
        assert any(cat == "proxy" and typ == "bytestreams" for cat, typ, _ in identities(q)), \
            f"no proxy/bytestreams identity: {identities(q)}"
        assert NS_BYTESTREAMS in features(q), features(q)
        assert ("component", "generic", "belfry") in identities(q), identities(q)

    def test_streamhost_query_gives_listen_address(self, relay, alice):
        r = streamhost_query(alice)
        assert r.get("type") == "result", dump(r)
        assert r.get("from") == COMPONENT, dump(r)
        assert streamhosts(r) == [{"jid": COMPONENT, "host": "127.0.0.1",
                                   "port": str(relay.s5_port)}], dump(r)

    def test_slixmpp_clients_transfer_8mb(self, relay, alice, bob):
        # slixmpp 1.8.3's own xep_0065 plugin does the whole exchange: it
        # finds relay.localhost through Prosody's disco#items, asks it for
        # its streamhost, offers it to bob (whose plugin connects first, as
        # target), connects itself and activates.
        plugin_transfer(relay, alice, bob)

    def test_full_duplex_8mb_each_way(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid).open()
        try:
            up, down = rand(8 * MB), rand(8 * MB)
            tx1 = Sender(s.req, up, shutdown=True)
            tx2 = Sender(s.target, down, shutdown=True)
            tx1.start(), tx2.start()
            got_down = recv_all_to_eof(s.req, 30, "target -> requester")
            got_up = recv_all_to_eof(s.target, 30, "requester -> target")
            tx1.join(5), tx2.join(5)
            assert tx1.error is None and tx2.error is None, (tx1.error, tx2.error)
            assert len(got_up) == len(up) and sha(got_up) == sha(up), \
                f"requester -> target: {len(got_up)} of {len(up)} bytes or corrupted"
            assert len(got_down) == len(down) and sha(got_down) == sha(down), \
                f"target -> requester: {len(got_down)} of {len(down)} bytes or corrupted"
            line = wait_closed_log(relay, s.tag)
            assert re.search(rf"\b{8 * MB}\b", line), line
        finally:
            s.close()

    # --- activation errors ----------------------------------------------

    def test_activation_by_a_third_jid_is_item_not_found(self, relay, alice, bob, carol):
        s = Stream(relay.s5_port, alice, bob.full_jid).connect()
        try:
            early = b"sent before activation " + rand(1000)
            s.req.sendall(early)
            for who, target in ((bob, bob.full_jid), (bob, alice.full_jid),
                                (carol, bob.full_jid)):
                r = s.activate(client=who, target=target)
                assert_error(r, "item-not-found", "cancel")
                assert r.get("from") == COMPONENT, dump(r)
            assert_silent(s.target, 0.3, "target after refused activations")
            assert f"stream {s.tag} activated" not in relay.log()
            # The real requester can still activate; the early bytes arrive.
            r = s.activate()
            assert r.get("type") == "result", dump(r)
            assert recv_exact(s.target, len(early), 5, "early bytes") == early
            relay_check(s)
        finally:
            s.close()

    def test_bytes_sent_before_activation_are_delivered(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid).connect()
        try:
            a, c = rand(300 * 1024), rand(200 * 1024)
            s.req.sendall(a)
            s.target.sendall(c)
            time.sleep(0.2)
            r = s.activate()
            assert r.get("type") == "result", dump(r)
            assert recv_exact(s.target, len(a), 5, "requester's early bytes") == a
            assert recv_exact(s.req, len(c), 5, "target's early bytes") == c
            relay_check(s)
        finally:
            s.close()

    def test_activation_before_both_sides_connected(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid)
        try:
            r = s.activate()
            assert_error(r, "item-not-found", "cancel")   # nobody connected: no such hash
            s.connect_target()
            r = s.activate()
            assert_error(r, "not-allowed", "cancel")      # only one side
            assert_silent(s.target, 0.2, "target alone")
            s.connect_requester()
            r = s.activate()
            assert r.get("type") == "result", dump(r)
            relay_check(s)
        finally:
            s.close()

    def test_wrong_sid_or_target_is_item_not_found(self, relay, alice, bob, carol):
        s = Stream(relay.s5_port, alice, bob.full_jid).connect()
        try:
            for sid, target in ((s.sid + "x", bob.full_jid), (new_sid(), bob.full_jid),
                                (s.sid, carol.full_jid), (s.sid, f"bob@{DOMAIN}")):
                r = s.activate(sid=sid, target=target)
                assert_error(r, "item-not-found", "cancel")
            r = s.activate()
            assert r.get("type") == "result", dump(r)
            relay_check(s)
        finally:
            s.close()

    def test_second_activation_is_not_allowed(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid).open()
        try:
            r = s.activate()
            assert_error(r, "not-allowed", "cancel")
            relay_check(s)   # the stream is unharmed
        finally:
            s.close()

    @pytest.mark.parametrize("case", ["no-sid", "no-activate", "empty-activate",
                                      "empty-localpart", "empty-domain", "two-ats"])
    def test_malformed_activation_is_bad_request(self, relay, alice, bob, case):
        sid = new_sid()
        target = {"no-sid": bob.full_jid, "no-activate": None, "empty-activate": "",
                  "empty-localpart": f"@{DOMAIN}/x", "empty-domain": "bob@/x",
                  "two-ats": f"bob@@{DOMAIN}"}[case]
        r = activate(alice, None if case == "no-sid" else sid, target)
        assert_error(r, "bad-request", "modify")
        assert r.get("from") == COMPONENT, dump(r)

    def test_hash_is_case_insensitive(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid)
        try:
            t = open_raw(relay.s5_port)
            s.target = t
            t.sendall(GREETING)
            assert recv_exact(t, 2, 5, "method reply") == METHOD_OK
            t.sendall(connect_request(s.hash.upper()))
            got = recv_exact(t, 47, 5, "reply")
            assert got[:5] == b"\x05\x00\x00\x03\x28", f"upper-case hash refused: {got!r}"
            s.connect_requester()                # lower case: the same stream
            r = s.activate()
            assert r.get("type") == "result", dump(r)
            relay_check(s)
        finally:
            s.close()

    def test_reply_echoes_dst_addr_verbatim(self, relay, alice, bob):
        # XEP-0065 §5.3.2/§6.3.2: BND.ADDR = the DST.ADDR the client sent.
        h = dst_hash(new_sid(), alice.full_jid, bob.full_jid)
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(h))
        s = socks_connect(relay.s5_port, mixed)   # asserts the exact reply
        s.close()

    def test_any_port_and_method_list_accepted(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid)
        try:
            # the target offers several methods (0x00 last) and a non-zero port
            t = open_raw(relay.s5_port)
            s.target = t
            t.sendall(b"\x05\x03\x02\x01\x00")
            assert recv_exact(t, 2, 5, "method reply") == METHOD_OK
            t.sendall(connect_request(s.hash, port_field=0x1234))
            got = recv_exact(t, 47, 5, "reply")
            assert got[:45] == success_reply(s.hash)[:45], got
            s.connect_requester()
            r = s.activate()
            assert r.get("type") == "result", dump(r)
            relay_check(s)
        finally:
            s.close()

    @pytest.mark.parametrize("phase", ["pending", "activated"])
    def test_third_connection_for_a_hash_is_refused(self, relay, alice, bob, phase):
        s = Stream(relay.s5_port, alice, bob.full_jid).connect()
        x = None
        try:
            if phase == "activated":
                r = s.activate()
                assert r.get("type") == "result", dump(r)
            before = refusals(relay)
            x = open_raw(relay.s5_port)
            x.sendall(GREETING)
            assert recv_exact(x, 2, 5) == METHOD_OK
            x.sendall(connect_request(s.hash))
            assert_closed_with(x, refusal(REP_NOT_ALLOWED), what=f"third connection ({phase})")
            wait_refusal(relay, before, f"third connection ({phase})")
            if phase == "pending":
                r = s.activate()
                assert r.get("type") == "result", dump(r)
            relay_check(s)
        finally:
            s.close()
            close_quietly(x)

    # --- malformed SOCKS5 ------------------------------------------------

    H = dst_hash("sid-malformed", f"alice@{DOMAIN}/x", f"bob@{DOMAIN}/y")
    MALFORMED = [
        # id, greeting, request (None: none), what comes after the method
        # reply (or after the greeting when no request), half-close first?, logged?
        ("truncated-greeting", b"\x05", None, b"", True, False),
        ("truncated-method-list", b"\x05\x02\x00", None, b"", True, False),
        ("truncated-request", GREETING, connect_request(H)[:20], b"", True, False),
        ("greeting-version-4", b"\x04\x01\x00", None, b"", False, True),
        ("greeting-version-0", b"\x00\x01\x00", None, b"", False, True),
        ("no-methods", b"\x05\x00", None, METHOD_NONE, False, True),
        ("no-0x00-method", b"\x05\x02\x01\x02", None, METHOD_NONE, False, True),
        ("request-version-4", GREETING, connect_request(H, version=4), b"", False, True),
        ("cmd-bind", GREETING, connect_request(H, cmd=2), refusal(REP_CMD_NOT_SUPPORTED),
         False, True),
        ("cmd-udp-associate", GREETING, connect_request(H, cmd=3),
         refusal(REP_CMD_NOT_SUPPORTED), False, True),
        ("atyp-ipv4", GREETING, b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x00",
         refusal(REP_ATYP_NOT_SUPPORTED), False, True),
        ("atyp-ipv6", GREETING, b"\x05\x01\x00\x04" + bytes(15) + b"\x01\x00\x00",
         refusal(REP_ATYP_NOT_SUPPORTED), False, True),
        ("hash-39-chars", GREETING, connect_request(H[:39]), refusal(REP_HOST_UNREACHABLE),
         False, True),
        ("hash-41-chars", GREETING, connect_request(H + "0"), refusal(REP_HOST_UNREACHABLE),
         False, True),
        ("hash-empty", GREETING, connect_request(b""), refusal(REP_HOST_UNREACHABLE),
         False, True),
        ("hash-non-hex", GREETING, connect_request(H[:39] + "g"),
         refusal(REP_HOST_UNREACHABLE), False, True),
        ("hash-hex-with-nul", GREETING, connect_request(H[:20].encode() + b"\0" + H[21:].encode()),
         refusal(REP_HOST_UNREACHABLE), False, True),
        ("hostname-255-chars", GREETING, connect_request("a" * 255),
         refusal(REP_HOST_UNREACHABLE), False, True),
    ]

    @pytest.mark.parametrize("case,greeting,req,after,half_close,logged", MALFORMED,
                             ids=[m[0] for m in MALFORMED])
    def test_malformed_socks5(self, relay, case, greeting, req, after, half_close, logged):
        before = refusals(relay)
        fds = fd_count(relay.pid)
        s = open_raw(relay.s5_port)
        try:
            s.sendall(greeting)
            if req is not None:
                assert recv_exact(s, 2, 5, "method reply") == METHOD_OK
                s.sendall(req)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            assert_closed_with(s, after, timeout=3, what=case)
        finally:
            s.close()
        if logged:
            wait_refusal(relay, before, case)
        wait_fds_at_most(relay, fds, 3, case)

    def test_still_relays_after_malformed_connections(self, relay, alice, bob):
        s = Stream(relay.s5_port, alice, bob.full_jid).open()
        try:
            relay_check(s, 1 * MB)
        finally:
            s.close()

    # --- flow control ----------------------------------------------------

    @pytest.mark.parametrize("direction", ["requester-to-target", "target-to-requester"])
    def test_back_pressure_stalled_reader(self, relay, alice, bob, direction):
        s = Stream(relay.s5_port, alice, bob.full_jid).open()
        try:
            src, dst = (s.req, s.target) if direction == "requester-to-target" \
                else (s.target, s.req)
            size = 200 * MB
            data = rand(size)
            rss_before = vm_rss_kb(relay.pid)
            sampler = RssSampler(relay.pid)
            sampler.start()
            tx = Sender(src, data, chunk=1 * MB)
            tx.start()
            try:
                stalled_at = tx.wait_stalled(quiet=0.8, timeout=20)
                time.sleep(0.5)
                assert tx.sent == stalled_at, "the sender moved again with nobody reading"
            finally:
                peak = sampler.stop()
            assert stalled_at < 64 * MB, (
                f"{stalled_at // MB} MB accepted from the writer while the reader read "
                "nothing: belfry does not stop reading")
            assert peak - rss_before < 20 * 1024, (
                f"belfry's VmRSS grew by {(peak - rss_before) // 1024} MB (from "
                f"{rss_before // 1024} MB) while the reader was stalled")
            # Now read everything: intact and in order.
            h, got = hashlib.sha256(), 0
            dst.settimeout(30)
            while got < size:
                chunk = dst.recv(min(4 * MB, size - got))
                assert chunk, f"EOF after {got} of {size} bytes"
                h.update(chunk)
                got += len(chunk)
            tx.join(10)
            assert tx.error is None, tx.error
            assert h.hexdigest() == sha(data), "the 200 MB arrived corrupted"
            relay_check(s)
        finally:
            s.close()

    @pytest.mark.parametrize("first", ["requester", "target"])
    def test_half_close(self, relay, alice, bob, first):
        fds = fd_count(relay.pid)
        s = Stream(relay.s5_port, alice, bob.full_jid).open()
        try:
            x, y = (s.req, s.target) if first == "requester" else (s.target, s.req)
            a, c = rand(3 * MB), rand(1 * MB + 17)
            x.sendall(a)
            x.shutdown(socket.SHUT_WR)
            got = recv_all_to_eof(y, 15, f"{first}'s data then EOF")
            assert got == a, f"{len(got)} of {len(a)} bytes before EOF, or corrupted"
            # The other direction keeps working after the half-close.
            y.sendall(c)
            assert recv_exact(x, len(c), 10, "data after the half-close") == c
            assert f"stream {s.tag} closed" not in relay.log(), \
                "stream closed while one direction was still open"
            y.shutdown(socket.SHUT_WR)
            assert recv_all_to_eof(x, 5, "EOF after the second half-close") == b""
            line = wait_closed_log(relay, s.tag, 5)
            counts = [int(n) for n in re.findall(r"\b\d+\b", line)]
            assert len(a) in counts and len(c) in counts, \
                f"byte counts {len(a)} and {len(c)} not in {line!r}"
            # both ended: belfry has closed both sockets (and whatever else
            # the stream held), though our sockets are still open
            wait_fds_at_most(relay, fds, 3, "half-closed stream")
        finally:
            s.close()

    # --- still healthy ---------------------------------------------------

    def test_zz_after_all_that_transfer_works_and_sigterm_exits_0(self, relay, alice, bob):
        plugin_transfer(relay, alice, bob)
        # Leave an activated stream and a pending connection open: exiting
        # must free them too (ASan would report a leak as a non-zero exit).
        s = Stream(relay.s5_port, alice, bob.full_jid).open()
        p = socks_connect(relay.s5_port, dst_hash(new_sid(), alice.full_jid, bob.full_jid))
        try:
            relay_check(s)
            rc, seconds = relay.terminate()
            assert rc == 0, f"exit {rc} after SIGTERM:\n{relay.log()[-6000:]}"
            assert seconds < 2.0, f"took {seconds:.2f} s to exit"
            relay.assert_secret_not_logged()
            for sock in (s.req, s.target, p):
                read_to_close(sock, 2, "a connection after belfry exited")
        finally:
            s.close()
            close_quietly(p)


# ---------------------------------------------------------------------------
# allow-domains excludes the users' domain
# ---------------------------------------------------------------------------

@pytest.fixture(scope="class")
def acl_relay(prosody, tmp_path_factory):
    b = start_proxy(prosody, tmp_path_factory, "belfry-proxy65-acl",
                    **{"allow-domains": "example.org"})
    yield b
    finish_proxy(b)


@pytest.mark.usefixtures("acl_relay")
class TestAcl:

    def test_streamhost_query_forbidden(self, alice, bob):
        for c in (alice, bob):
            r = streamhost_query(c)
            assert_error(r, "forbidden", "auth")
            assert r.get("from") == COMPONENT, dump(r)

    def test_activation_forbidden_and_not_relayed(self, acl_relay, alice, bob):
        s = Stream(acl_relay.s5_port, alice, bob.full_jid).connect()
        try:
            s.req.sendall(b"must not pass")
            r = s.activate()
            assert_error(r, "forbidden", "auth")
            assert_silent(s.target, 0.3, "target after a forbidden activation")
            assert f"stream {s.tag} activated" not in acl_relay.log()
        finally:
            s.close()

    def test_zz_sigterm_exits_0(self, acl_relay):
        rc, _ = acl_relay.terminate()
        assert rc == 0, f"exit {rc} after SIGTERM:\n{acl_relay.log()[-6000:]}"


# ---------------------------------------------------------------------------
# timeouts and limits
# ---------------------------------------------------------------------------

MAX_BYTES = 1000000


@pytest.fixture(scope="class")
def limited(prosody, tmp_path_factory):
    port = free_port()
    b = start_proxy(prosody, tmp_path_factory, "belfry-proxy65-limits", listen_port=port,
                    **{"advertise": f"localhost:{port}", "allow-domains": "example.org;localhost",
                       "connect-timeout": "2",
                       "idle-timeout": "2", "max-bytes": str(MAX_BYTES), "max-streams": "2",
                       "max-streams-per-jid": "1", "max-pending": "6"})
    yield b
    finish_proxy(b)


@pytest.mark.usefixtures("limited")
class TestLimits:

    def test_streamhost_query_gives_advertise(self, limited, alice):
        r = streamhost_query(alice)
        assert r.get("type") == "result", dump(r)
        assert streamhosts(r) == [{"jid": COMPONENT, "host": "localhost",
                                   "port": str(limited.s5_port)}], dump(r)

    def test_connect_timeout_closes_unactivated_connections(self, limited, alice, bob):
        fds = fd_count(limited.pid)
        t0 = time.monotonic()
        silent = open_raw(limited.s5_port)
        greeted = open_raw(limited.s5_port)
        greeted.sendall(GREETING)
        assert recv_exact(greeted, 2, 2) == METHOD_OK
        lone = socks_connect(limited.s5_port, dst_hash(new_sid(), alice.full_jid, bob.full_jid))
        s = Stream(limited.s5_port, alice, bob.full_jid).connect()   # paired, never activated
        try:
            for name, sock in (("silent", silent), ("greeted", greeted), ("lone", lone),
                               ("paired target", s.target), ("paired requester", s.req)):
                read_to_close(sock, 5, f"{name} connection")
                t = time.monotonic() - t0
                assert 1.5 <= t <= 4.0, \
                    f"{name} connection closed {t:.2f} s after connecting (connect-timeout 2)"
            r = s.activate()
            assert r.get("type") == "error", f"activation after the timeout: {dump(r)}"
            wait_fds_at_most(limited, fds, 1, "timed-out connections")
        finally:
            close_quietly(silent, greeted, lone)
            s.close()

    def test_idle_timeout_closes_quiet_streams_only(self, limited, alice, bob):
        quiet = Stream(limited.s5_port, alice, bob.full_jid).open()
        t0 = time.monotonic()
        busy = Stream(limited.s5_port, bob, alice.full_jid).open()
        try:
            # busy: a byte each way every 0.4 s for 3.2 s
            while time.monotonic() - t0 < 3.2:
                busy.req.sendall(b"p")
                assert recv_exact(busy.target, 1, 2, "busy stream") == b"p"
                busy.target.sendall(b"q")
                assert recv_exact(busy.req, 1, 2, "busy stream") == b"q"
                time.sleep(0.4)
            for name, sock in (("target", quiet.target), ("requester", quiet.req)):
                read_to_close(sock, 2, f"idle stream's {name}")
            wait_closed_log(limited, quiet.tag, 2)
            t = time.monotonic() - t0
            assert t <= 5.0, f"idle stream closed only {t:.2f} s after activation"
            line = log_line(limited, f"stream {quiet.tag} closed")
            relay_check(busy, 1000)
            assert f"stream {busy.tag} closed" not in limited.log(), \
                "the busy stream was closed by the idle timeout"
            assert line is not None
        finally:
            close_and_wait(limited, busy)
            quiet.close()

    def test_idle_timeout_timing(self, limited, alice, bob):
        s = Stream(limited.s5_port, alice, bob.full_jid).open()
        t0 = time.monotonic()
        try:
            read_to_close(s.target, 5, "idle stream")
            t = time.monotonic() - t0
            assert 1.5 <= t <= 4.0, f"idle stream closed {t:.2f} s after activation (idle 2)"
            wait_closed_log(limited, s.tag, 2)
        finally:
            s.close()

    def test_max_bytes_counts_both_directions(self, limited, alice, bob):
        fds = fd_count(limited.pid)
        s = Stream(limited.s5_port, alice, bob.full_jid).open()
        try:
            a = rand(600000)
            s.req.sendall(a)
            assert recv_exact(s.target, len(a), 5, "first 600000 bytes") == a
            c = rand(600000)
            tx = Sender(s.target, c)
            tx.start()
            got, how = read_to_close(s.req, 5, "stream over max-bytes")
            left = MAX_BYTES - len(a)
            assert len(got) <= left, (f"{len(got)} bytes relayed back after {len(a)}: "
                                      f"more than max-bytes {MAX_BYTES} in all")
            assert len(got) >= left - 150000, (
                f"closed after only {len(a) + len(got)} bytes (max-bytes {MAX_BYTES})")
            assert got == c[:len(got)], "bytes relayed before the limit are corrupted"
            read_to_close(s.target, 5, "the other side of the stream over max-bytes",
                          limit=1 << 30)
            tx.join(5)
            line = wait_closed_log(limited, s.tag, 3)
            assert len(a) in [int(n) for n in re.findall(r"\b\d+\b", line)], line
            wait_fds_at_most(limited, fds, 3, "stream over max-bytes")
        finally:
            s.close()

    def test_stream_limits(self, limited, alice, alice2, bob, carol):
        opened = []
        try:
            s1 = Stream(limited.s5_port, alice, bob.full_jid).open()
            opened.append(s1)
            # max-streams-per-jid = 1: per bare JID, from either resource
            for who in (alice, alice2):
                s = Stream(limited.s5_port, who, bob.full_jid).connect()
                opened.append(s)
                r = s.activate()
                assert_error(r, "resource-constraint", "wait")
                assert f"stream {s.tag} activated" not in limited.log()
                s.close()   # (max-pending is 6)
            # another requester is fine: 2 streams in all = max-streams
            s3 = Stream(limited.s5_port, bob, alice.full_jid).open()
            opened.append(s3)
            relay_check(s3)
            # max-streams = 2: carol (no stream of her own) is refused too
            s4 = Stream(limited.s5_port, carol, bob.full_jid).connect()
            opened.append(s4)
            r = s4.activate()
            assert_error(r, "resource-constraint", "wait")
            s4.close()
            relay_check(s1)
            # closing alice's stream frees both her slot and a global one
            close_and_wait(limited, s1)
            s5 = Stream(limited.s5_port, alice2, bob.full_jid).open()
            opened.append(s5)
            relay_check(s5)
            close_and_wait(limited, s3, s5)
        finally:
            for s in opened:
                s.close()

    def test_max_pending(self, limited, alice, bob):
        held = []
        try:
            for _ in range(6):
                held.append(socks_connect(limited.s5_port,
                                          dst_hash(new_sid(), alice.full_jid, bob.full_jid)))
            before = refusals(limited)
            x = open_raw(limited.s5_port)
            try:
                x.sendall(GREETING)
                first = recv_exact(x, 2, 3, "method reply over max-pending")
                assert first == METHOD_OK, first
                x.sendall(connect_request(dst_hash(new_sid(), alice.full_jid, bob.full_jid)))
                assert_closed_with(x, refusal(REP_GENERAL_FAILURE), what="over max-pending")
            finally:
                x.close()
            wait_refusal(limited, before, "max-pending")
            close_quietly(*held)
            held = []
            # once they are gone, connections are accepted again
            deadline = time.monotonic() + 1.5
            while True:
                try:
                    s = Stream(limited.s5_port, alice, bob.full_jid).open()
                    break
                except AssertionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            relay_check(s)
            close_and_wait(limited, s)
        finally:
            close_quietly(*held)

    def test_zz_still_relays_and_sigterm_exits_0(self, limited, alice, bob):
        s = Stream(limited.s5_port, alice, bob.full_jid).open()
        try:
            relay_check(s, 200 * 1024)
        finally:
            s.close()
        wait_closed_log(limited, s.tag)
        rc, _ = limited.terminate()
        assert rc == 0, f"exit {rc} after SIGTERM:\n{limited.log()[-6000:]}"
        limited.assert_secret_not_logged()


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------

# --check-config only: a belfry that wrongly accepted this would otherwise
# listen on every interface.
@pytest.mark.parametrize("listen", ["[::]:{p}", "0.0.0.0:{p}"], ids=["ipv6-any", "ipv4-any"])
def test_wildcard_listen_needs_advertise(tmp_path, listen):
    require_belfry()
    server = FakeServer()
    try:
        p = free_port()
        path = write_config(tmp_path / "belfry.conf", port=server.port, modules="echo;proxy65",
                            groups={"proxy65": {"listen": listen.format(p=p)}})
        r = run_belfry(["--check-config", "-c", str(path)])
        assert r.returncode == 2, f"exit {r.returncode}, expected 2; stderr:\n{r.stderr}"
        assert "[proxy65] advertise" in r.stderr, r.stderr
        assert "connecting to" not in r.stderr, r.stderr
        assert server.no_connection_within(0.2), "belfry connected despite a config error"
    finally:
        server.close()


def test_wildcard_listen_with_advertise_is_accepted(tmp_path):
    require_belfry()
    p = free_port()
    path = write_config(tmp_path / "belfry.conf", port=free_port(), modules="echo;proxy65",
                        groups={"proxy65": {"listen": f"[::]:{p}",
                                            "advertise": f"proxy.example.org:{p}"}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"
