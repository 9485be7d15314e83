"""The metrics endpoint ([metrics] listen: Prometheus text over HTTP), against
a real Prosody with a real slixmpp client.

Every scrape is parsed line by line by a small exposition-format (0.0.4)
parser below, which fails on any line it cannot read: so every test also
checks the format. One belfry (echo and proxy65, metrics on a free loopback
port) for the class; the configuration and listen errors need no server.
"""

import os
import re
import socket
import time
import urllib.error
import urllib.request

import pytest

from harness import (COMPONENT, NS_DISCO_INFO, USERS, Belfry, FakeServer, free_port,
                     require_belfry, run_belfry, write_config)
from s5b import S5BClient, dst_hash, new_sid, wait_closed_log, wait_listening

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Families a scrape must list from the start (HELP and TYPE), whatever ran.
FAMILIES = {
    "belfry_sessions": "gauge",
    "belfry_sessions_started_total": "counter",
    "belfry_sessions_ended_total": "counter",
    "belfry_session_setup_seconds": "histogram",
    "belfry_transport_failures_total": "counter",
    "belfry_link_up": "gauge",
    "belfry_link_connects_total": "counter",
    "belfry_link_attaches_total": "counter",
    "belfry_link_reconnects_total": "counter",
    "belfry_stanzas_total": "counter",
    "belfry_stanzas_dropped_out_total": "counter",
    "belfry_stream_errors_total": "counter",
    "belfry_router_stanzas_total": "counter",
    "belfry_worker_sessions": "gauge",
    "belfry_thread_cpu_seconds_total": "counter",
    "belfry_media_packets_total": "counter",
    "belfry_media_bytes_total": "counter",
    "belfry_media_dropped_packets_total": "counter",
    "belfry_srtp_errors_total": "counter",
    "belfry_media_send_errors_total": "counter",
    "belfry_media_protocol_packets_total": "counter",
    "belfry_proxy65_streams_total": "counter",
    "belfry_proxy65_streams_open": "gauge",
    "belfry_proxy65_bytes_total": "counter",
    "belfry_proxy65_connections_total": "counter",
    "belfry_proxy65_pending": "gauge",
    "belfry_proxy65_accept_paused": "gauge",
    "belfry_proxy65_refused_handshake_total": "counter",
    "belfry_proxy65_refused_max_pending_per_address_total": "counter",
    "belfry_proxy65_refused_handshake_timeout_total": "counter",
    "belfry_proxy65_accept_pauses_total": "counter",
    "belfry_remote_candidates_ignored_total": "counter",
    "belfry_stanzas_refused_total": "counter",
    "belfry_stanzas_held_total": "counter",
    "belfry_stanzas_held_dropped_total": "counter",
}


# ---------------------------------------------------------------------------
# a small Prometheus text-format (0.0.4) parser
# ---------------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN)"


def _unescape(s, quote):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            assert i + 1 < len(s), f"dangling backslash in {s!r}"
            n = s[i + 1]
            table = {"\\": "\\", "n": "\n"}
            if quote:
                table['"'] = '"'
            assert n in table, f"bad escape \\{n} in {s!r}"
            out.append(table[n])
            i += 2
        else:
            assert c != "\n"
            out.append(c)
            i += 1
    return "".join(out)


def _labels(text):
    """'a="x",b="y"' -> {'a': 'x', 'b': 'y'} (quoted values with escapes)."""
    labels, i = {}, 0
    while i < len(text):
        m = re.compile(rf"({LABEL})=\"").match(text, i)
        assert m, f"bad label at {text[i:]!r}"
        i = m.end()
        j = i
        while j < len(text) and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        assert j < len(text), f"unterminated label value in {text!r}"
        name = m.group(1)
        assert name not in labels, f"label {name} twice in {text!r}"
        labels[name] = _unescape(text[i:j], True)
        i = j + 1
        if i < len(text):
            assert text[i] == ",", f"expected ',' at {text[i:]!r}"
            i += 1
    return labels


def parse(text):
    """-> (families {name: {"help", "type"}}, samples [(name, labels, value)]).
    Asserts every line is a HELP, TYPE or sample line, that HELP and TYPE
    come once per family and before its samples, and that every sample
    belongs to a declared family."""
    assert text.endswith("\n"), "the exposition does not end with a newline"
    families, samples, seen_samples = {}, [], set()
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            m = re.fullmatch(rf"# HELP ({NAME}) (.*)", line)
            assert m, f"bad HELP line {line!r}"
            f = families.setdefault(m.group(1), {})
            assert "help" not in f, f"second HELP for {m.group(1)}"
            assert m.group(1) not in seen_samples, f"HELP after samples of {m.group(1)}"
            f["help"] = _unescape(m.group(2), False)
        elif line.startswith("# TYPE "):
            m = re.fullmatch(rf"# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)", line)
            assert m, f"bad TYPE line {line!r}"
            f = families.setdefault(m.group(1), {})
            assert "type" not in f, f"second TYPE for {m.group(1)}"
            f["type"] = m.group(2)
        else:
            assert not line.startswith("#") and line.strip(), f"unexpected line {line!r}"
            m = re.fullmatch(rf"({NAME})(?:\{{(.*)\}})? ({VALUE})", line)
            assert m, f"bad sample line {line!r}"
            name, labels, value = m.group(1), _labels(m.group(2) or ""), float(m.group(3))
            family = name
            if family not in families:
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                assert families.get(family, {}).get("type") == "histogram", (
                    f"sample {name} of no declared family")
            assert "type" in families[family] and "help" in families[family], (
                f"sample {name} before its family's HELP and TYPE")
            seen_samples.add(family)
            samples.append((name, labels, value))
    for name, f in families.items():
        assert "help" in f and "type" in f, f"{name}: HELP {f.get('help')!r}, TYPE {f.get('type')!r}"
        if f["type"] == "counter":
            assert name.endswith("_total"), f"counter {name} does not end in _total"
    return families, samples


def value(samples, name, **labels):
    """The one sample `name` whose labels include `labels` (0 when absent)."""
    found = [v for n, l, v in samples
             if n == name and all(l.get(k) == want for k, want in labels.items())]
    assert len(found) <= 1, f"{name}{labels}: {len(found)} samples"
    return found[0] if found else 0.0


def total(samples, name, **labels):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == want for k, want in labels.items()))


def scrape(port, host="127.0.0.1", path="/metrics"):
    url = f"http://{host}:{port}{path}" if ":" not in host else f"http://[{host}]:{port}{path}"
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == CONTENT_TYPE, r.headers["Content-Type"]
        return parse(r.read().decode("utf-8"))


def test_parser_reads_what_it_should_and_refuses_the_rest():
    fams, samples = parse('# HELP a_total x \\\\ y\\nz\n# TYPE a_total counter\n'
                          'a_total{l="q\\"\\\\\\n",m="2"} 3\n'
                          '# HELP h h\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\n'
                          'h_sum 0.5\nh_count 1\n')
    assert fams["a_total"]["help"] == "x \\ y\nz"
    assert samples[0] == ("a_total", {"l": 'q"\\\n', "m": "2"}, 3.0)
    for bad in ["a 1\n", "# TYPE a_total counter\na_total 1\n",
                "# HELP a a\n# TYPE a gauge\na{l=\"x} 1\n",
                "# HELP b b\n# TYPE b counter\nb 1\n",
                "# HELP a a\n# TYPE a gauge\na 1 2 3\n"]:
        with pytest.raises(AssertionError):
            parse(bad)


# ---------------------------------------------------------------------------
# a running belfry
# ---------------------------------------------------------------------------

def listening_sockets(pid):
    """Local TCP ports that process `pid` listens on (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


class TestScrape:
    @pytest.fixture(scope="class")
    def relay(self, prosody, tmp_path_factory):
        require_belfry()
        mport, s5port = free_port(), free_port()
        b = Belfry(tmp_path_factory.mktemp("belfry-metrics"), port=prosody.component_port,
                   modules="echo;proxy65",
                   groups={"proxy65": {"listen": f"127.0.0.1:{s5port}"},
                           "metrics": {"listen": f"127.0.0.1:{mport}"}})
        try:
            b.start()
            wait_listening(s5port, 5, b)
            b.wait_log(f"metrics: serving http://127.0.0.1:{mport}/metrics", 5)
        except BaseException:
            b.kill_quietly()
            raise
        b.mport, b.s5_port = mport, s5port
        yield b
        try:
            b.stop()
        finally:
            b.kill_quietly()

    @pytest.fixture(scope="class")
    def alice(self, prosody, relay):
        c = S5BClient("alice@localhost", USERS["alice"], prosody.c2s_port)
        yield c
        c.close()

    @pytest.fixture(scope="class")
    def bob(self, prosody, relay):
        c = S5BClient("bob@localhost", USERS["bob"], prosody.c2s_port)
        yield c
        c.close()

    def test_every_family_has_help_and_type(self, relay):
        fams, samples = scrape(relay.mport)
        for name, kind in FAMILIES.items():
            assert name in fams, f"no family {name}; have {sorted(fams)}"
            assert fams[name]["type"] == kind, (name, fams[name])
            assert len(fams[name]["help"]) > 10, (name, fams[name])
        # the workers' series exist before any call, one per worker
        workers = {l["worker"] for n, l, v in samples if n == "belfry_worker_sessions"}
        assert workers and all(re.fullmatch(r"bf-media-\d+", w) for w in workers), workers
        assert value(samples, "belfry_thread_cpu_seconds_total", thread="main") > 0

    def test_link_up_and_stanzas_move_after_a_disco_info(self, relay, alice):
        _, before = scrape(relay.mport)
        assert value(before, "belfry_link_up") == 1
        assert value(before, "belfry_link_attaches_total") == 1
        assert value(before, "belfry_link_reconnects_total") == 0
        r = alice.query(COMPONENT, NS_DISCO_INFO)
        assert r.get("type") == "result"
        _, after = scrape(relay.mport)
        for direction in ("in", "out"):
            assert (value(after, "belfry_stanzas_total", direction=direction)
                    >= value(before, "belfry_stanzas_total", direction=direction) + 1), direction
        assert (value(after, "belfry_router_stanzas_total", outcome="answered")
                >= value(before, "belfry_router_stanzas_total", outcome="answered") + 1)

    def test_counters_are_monotonic_across_scrapes(self, relay, alice):
        fams, first = scrape(relay.mport)
        for _ in range(3):
            alice.query(COMPONENT, NS_DISCO_INFO)
        _, second = scrape(relay.mport)
        counters = {n for n, f in fams.items() if f["type"] == "counter"}
        old = {(n, tuple(sorted(l.items()))): v for n, l, v in first if n in counters}
        new = {(n, tuple(sorted(l.items()))): v for n, l, v in second if n in counters}
        assert old, "no counter samples"
        for key, v in old.items():
            assert key in new, f"{key} vanished between scrapes"
            assert new[key] >= v, f"{key} went from {v} to {new[key]}"

    def test_proxy65_stream_is_counted(self, relay, alice, bob):
        _, before = scrape(relay.mport)
        size = 256 * 1024
        found = alice.discover_proxies()
        assert found == {COMPONENT: ("127.0.0.1", str(relay.s5_port))}, found
        data = os.urandom(size)
        sid = new_sid()
        tag = dst_hash(sid, alice.full_jid, bob.full_jid)[:8]
        bob.reset_rx()
        alice.send_file(bob.full_jid, data, sid)
        relay.wait_log(f"stream {tag} activated", 5)
        _, during = scrape(relay.mport)
        assert value(during, "belfry_proxy65_streams_open") == 1
        got, _ = bob.wait_rx(size, 30)
        assert got == size
        alice.close_stream(sid)
        bob.wait_rx_closed(5)
        wait_closed_log(relay, tag)
        _, after = scrape(relay.mport)
        assert (value(after, "belfry_proxy65_streams_total")
                == value(before, "belfry_proxy65_streams_total") + 1)
        assert value(after, "belfry_proxy65_streams_open") == 0
        assert (value(after, "belfry_proxy65_bytes_total")
                >= value(before, "belfry_proxy65_bytes_total") + size)

    def test_only_get_and_head_on_metrics(self, relay):
        base = f"http://127.0.0.1:{relay.mport}"
        for path in ("/", "/metricsx", "/metrics/", "/favicon.ico"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + path, timeout=5)
            assert e.value.code == 404, path
        for method in ("POST", "PUT", "DELETE"):
            req = urllib.request.Request(base + "/metrics", data=b"x", method=method)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=5)
            assert e.value.code == 405, method
            assert e.value.headers["Allow"] == "GET, HEAD"
        req = urllib.request.Request(base + "/metrics", method="HEAD")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == CONTENT_TYPE
            assert r.read() == b""
        # a query string is not another path
        with urllib.request.urlopen(base + "/metrics?x=1", timeout=5) as r:
            parse(r.read().decode())

    def test_listens_on_loopback_only_where_told(self, relay):
        assert listening_sockets(relay.pid) == {relay.mport, relay.s5_port}


def test_ipv6_listen(prosody, belfry_factory):
    mport = free_port()
    b = belfry_factory(port=prosody.component_port, groups={"metrics": {"listen": f"[::1]:{mport}"}})
    b.start()
    b.wait_log(f"metrics: serving http://[::1]:{mport}/metrics", 5)
    fams, samples = scrape(mport, host="::1")
    assert value(samples, "belfry_link_up") == 1


def test_off_unless_set(tmp_path, belfry_bin):
    s = FakeServer()
    try:
        b = Belfry(tmp_path, port=s.port)
        b.start(wait_attached=False)
        b.wait_log("connecting to", 5)
        time.sleep(0.3)
        assert listening_sockets(b.pid) == set()
        assert "metrics:" not in b.log()
        b.stop()
    finally:
        s.close()


BAD_LISTEN = ["127.0.0.1", "localhost:9470", "[::1]9470", "::1:9470", "127.0.0.1:0",
              "127.0.0.1:70000", "127.0.0.1:http", ""]


@pytest.mark.parametrize("listen", BAD_LISTEN)
@pytest.mark.parametrize("check", [False, True], ids=["start", "check-config"])
def test_bad_listen_exits_2_naming_it(tmp_path, belfry_bin, listen, check):
    path = write_config(tmp_path / "belfry.conf", port=free_port(),
                        groups={"metrics": {"listen": listen}})
    r = run_belfry((["--check-config"] if check else []) + ["-c", str(path)])
    assert r.returncode == 2, f"exit {r.returncode}; stderr:\n{r.stderr}"
    assert f"{path}: [metrics] listen: " in r.stderr, r.stderr
    assert "connecting to" not in r.stderr


def test_unknown_key_in_metrics_group_exits_2(tmp_path, belfry_bin):
    path = write_config(tmp_path / "belfry.conf", port=free_port(),
                        groups={"metrics": {"listen": "127.0.0.1:9470", "lisen": "x"}})
    r = run_belfry(["-c", str(path)])
    assert r.returncode == 2, r.stderr
    assert f"{path}: [metrics] lisen: unknown key" in r.stderr, r.stderr


def test_port_in_use_is_a_clear_error(tmp_path, belfry_bin):
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        s = FakeServer()
        try:
            path = write_config(tmp_path / "belfry.conf", port=s.port,
                                groups={"metrics": {"listen": f"127.0.0.1:{port}"}})
            r = run_belfry(["-c", str(path)])
        finally:
            s.close()
        assert r.returncode == 1, f"exit {r.returncode}; stderr:\n{r.stderr}"
        assert f"[metrics] listen = 127.0.0.1:{port}" in r.stderr, r.stderr
        assert "in use" in r.stderr.lower(), r.stderr
    finally:
        busy.close()

    def test_proxy65_refusals_and_pending_are_counted(self, relay):
        """A flood from one address over max-pending-per-address (32): the
        extra connections show as refusals, the held ones as pending
        (published by the module's 1 s timer)."""
        _, before = scrape(relay.mport)
        held = []
        try:
            for _ in range(35):
                held.append(socket.create_connection(("127.0.0.1", relay.s5_port), timeout=3))
            deadline = time.monotonic() + 5
            while True:
                _, now = scrape(relay.mport)
                refused = (value(now, "belfry_proxy65_refused_max_pending_per_address_total")
                           - value(before, "belfry_proxy65_refused_max_pending_per_address_total"))
                if refused == 3 and value(now, "belfry_proxy65_pending") == 32:
                    break
                assert time.monotonic() < deadline, (refused, value(now, "belfry_proxy65_pending"))
                time.sleep(0.2)
            assert (value(now, "belfry_proxy65_connections_total")
                    >= value(before, "belfry_proxy65_connections_total") + 32)
        finally:
            for c in held:
                c.close()
        deadline = time.monotonic() + 5
        while value(scrape(relay.mport)[1], "belfry_proxy65_pending") != 0:
            assert time.monotonic() < deadline
            time.sleep(0.2)
