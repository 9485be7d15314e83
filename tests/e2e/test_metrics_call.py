"""Metrics scraped during a real call: a GStreamer webrtcbin caller calls
belfry's echo through a real Prosody while the test scrapes
[metrics] listen. The session shows up as one established echo session,
the media counters climb while it runs, and after the hang-up the gauge is
back to 0 with one setup time in the histogram."""

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from test_metrics import scrape, total, value  # noqa: E402

ECHO = "echo@relay.localhost"
DURATION = 6   # seconds of media, from DTLS connected


@pytest.fixture(scope="module")
def belfry(prosody):
    mport = harness.free_port()
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-")), port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       groups={"media": {"addresses": "127.0.0.1"},
                               "metrics": {"listen": f"127.0.0.1:{mport}"}})
    b.start()
    e2e.adopt(b.pid)
    b.wait_log("metrics: serving", 5)
    b.mport = mport
    yield b
    b.stop()


def poll(b, what, pred, timeout):
    """Scrapes every 0.2 s until pred(samples) holds; returns those samples."""
    deadline = time.monotonic() + timeout
    while True:
        _, samples = scrape(b.mport)
        if pred(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s; last scrape:\n"
                                 + "\n".join(f"{n}{l} {v}" for n, l, v in samples
                                             if n.startswith(("belfry_sessions",
                                                              "belfry_media_packets")))
                                 + "\n--- belfry ---\n" + b.log()[-4000:])
        time.sleep(0.2)


def echo_sessions(samples, state=None):
    labels = {"module": "echo"}
    if state:
        labels["state"] = state
    return total(samples, "belfry_sessions", **labels)


def test_echo_call_shows_in_metrics(prosody, belfry, workdir, peers):
    _, before = scrape(belfry.mport)
    assert echo_sessions(before) == 0
    assert value(before, "belfry_session_setup_seconds_count", module="echo") == 0
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-metrics", "alice", "call", target=ECHO,
                           duration=DURATION, timeout=60)
    peers.append(p)

    during = poll(belfry, "an established echo session",
                  lambda s: echo_sessions(s, "established") == 1, 30)
    assert echo_sessions(during) == 1, "the established session is counted once"
    assert value(during, "belfry_sessions_started_total", module="echo") == 1
    assert value(during, "belfry_session_setup_seconds_count", module="echo") == 1
    # the workers fold their counters in once a second: packets climb
    first_in = total(during, "belfry_media_packets_total", direction="in")
    first_out = total(during, "belfry_media_packets_total", direction="out")
    later = poll(belfry, "media packets climbing",
                 lambda s: (total(s, "belfry_media_packets_total", direction="in")
                            >= first_in + 50
                            and total(s, "belfry_media_packets_total", direction="out")
                            >= first_out + 50), 5)
    assert total(later, "belfry_media_protocol_packets_total", kind="rtp_in") > 0
    assert total(later, "belfry_media_protocol_packets_total", kind="rtp_out") > 0
    assert total(later, "belfry_media_bytes_total", direction="in") > 0
    assert total(later, "belfry_worker_sessions") == 1
    # the core parses every RTP packet before the echo sees it: the reason
    # is listed, and a real caller's RTP is never dropped as malformed
    malformed = [v for n, l, v in later if n == "belfry_media_dropped_packets_total"
                 and l.get("reason") == "malformed_rtp"]
    assert malformed and sum(malformed) == 0, malformed
    # once belfry reads the call's socket itself, the worker iterates no
    # GMainContext for it: libnice's check timer (every Ta, 5 ms) stops
    # 50 ms after the take-over instead of 5 s after its last check
    time.sleep(1.0)
    _, s0 = scrape(belfry.mport)
    time.sleep(2.0)
    _, s1 = scrape(belfry.mport)
    iterations = (total(s1, "belfry_media_context_iterations_total")
                  - total(s0, "belfry_media_context_iterations_total"))
    wakeups = (total(s1, "belfry_media_loop_wakeups_total")
               - total(s0, "belfry_media_loop_wakeups_total"))
    assert wakeups > 50, f"the loop woke {wakeups} times in 2 s of media"
    assert iterations < 40, f"{iterations} context iterations in 2 s of a running call"

    res = p.result(DURATION + 60)
    assert res["ok"], e2e.debug_dump(res) + "\n--- belfry ---\n" + belfry.log()[-6000:]

    # the worker lets go of the session just after the main thread ends it
    after = poll(belfry, "the echo session gone",
                 lambda s: echo_sessions(s) == 0 and total(s, "belfry_worker_sessions") == 0, 10)
    assert value(after, "belfry_sessions_ended_total", module="echo", reason="success") == 1, (
        [x for x in after if x[0] == "belfry_sessions_ended_total"])
    assert value(after, "belfry_session_setup_seconds_count", module="echo") == 1
    setup = value(after, "belfry_session_setup_seconds_sum", module="echo")
    assert 0 < setup < 5, f"setup took {setup} s"
    # the +Inf bucket holds it; some bucket up to 5 s does too
    assert value(after, "belfry_session_setup_seconds_bucket", module="echo", le="+Inf") == 1
    assert value(after, "belfry_session_setup_seconds_bucket", module="echo", le="5") == 1
    assert total(after, "belfry_transport_failures_total") == 0
    assert total(after, "belfry_thread_cpu_seconds_total") > 0
