"""belfry with `[media] shared-port = 0` and `workers = 2` (one UDP port per
worker and address, belfry's own ICE agent: relay/media/ice-agent.c,
port-mux.c) against real WebRTC stacks through a real Prosody, in the
private network namespace (see conftest.py).

  1. Chromium calls webrtcbin through the call relay: belfry is the
     controlled agent on the caller's leg and the controlling one on the
     callee's (it places that session); both decode each other, and both
     legs' candidates are the one shared socket of their worker.
  2. webrtcbin (libnice) calls the echo.
  3. Chromium restarts ICE mid-call (its own timer, the Conversations way)
     and audio keeps coming back from the echo after the restart.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_call import belfry_log, check_call, relay_jid, run_call
from test_conversations import MIN_AUDIO_AFTER_RESTART, dump
from test_peers import DURATION, assert_chromium_decoded, assert_webrtcbin_decoded, record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

ECHO = "echo@relay.localhost"
TIMEOUT = 60
RESTART_AFTER = 2.0
RESTART_DURATION = 12


@pytest.fixture(scope="module")
def belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-shared-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;call",
                       groups={"media": {"addresses": "127.0.0.1", "shared-port": "0",
                                         "workers": "2"},
                               "call": {"allow-domains": "localhost"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()


def belfry_candidates(res):
    """The (ip, port) of every UDP candidate the peer received from belfry."""
    return {(c.get("ip"), int(c.get("port"))) for c in res["remote_candidates"]
            if (c.get("protocol") or "").lower() == "udp"}


def test_chromium_calls_webrtcbin_shared_port(prosody, belfry, workdir, peers):
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-webrtcbin", "carol", "answer",
                               duration=DURATION, timeout=TIMEOUT)
    peers.append(carol)

    def caller():
        p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call",
                              target=relay_jid("carol@localhost"), duration=DURATION,
                              timeout=TIMEOUT)
        peers.append(p)
        return p

    ra, rc, watch, wall = run_call(belfry, carol, caller)
    record("chromium->belfry->webrtcbin (shared port)", [ra, rc], wall)
    blog = belfry_log(belfry)
    check_call(ra, rc, "alice@localhost", "carol@localhost", watch, blog)
    # Both legs of a call are on one worker: one socket for both.
    ca, cc = belfry_candidates(ra), belfry_candidates(rc)
    assert len(ca) == 1 and ca == cc, f"caller got {ca}, callee got {cc}\n{blog}"


def test_webrtcbin_calls_echo_shared_port(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.webrtcbin_peer(prosody, workdir, "alice-webrtcbin", "alice", "call", target=ECHO,
                           duration=DURATION, timeout=TIMEOUT)
    peers.append(p)
    res = p.result(DURATION + TIMEOUT)
    record("webrtcbin->echo (shared port)", [res], time.monotonic() - started)
    assert res["ok"], e2e.debug_dump(res) + belfry_log(belfry)
    assert_webrtcbin_decoded(res)
    assert res["remote_jid"] == ECHO
    assert len(belfry_candidates(res)) == 1, e2e.debug_dump(res)


def test_chromium_ice_restart_to_echo_shared_port(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.chromium_peer(prosody, workdir, "alice-chromium", "alice", "call", target=ECHO,
                          conversations=True, duration=RESTART_DURATION, timeout=TIMEOUT,
                          ice_restart_after=RESTART_AFTER)
    peers.append(p)
    res = p.result(RESTART_DURATION + TIMEOUT + 20)
    record("chromium->echo, ICE restart (shared port)", [res], time.monotonic() - started)
    blog = belfry_log(belfry)
    info = dump(res, blog)
    assert res["ok"], info
    assert_chromium_decoded(res)
    ours = [r for r in res["ice_restarts"] if r.get("by") == "us"]
    assert ours, "no ICE restart was started:\n" + info
    r = ours[0]
    assert r.get("reply") == "result", info
    assert r.get("remote_credentials") and not r["remote_credentials"]["isOffer"], info
    assert r.get("reconnected"), "media never connected again after the restart:\n" + info
    assert r["after"]["audio_packets"] >= MIN_AUDIO_AFTER_RESTART, info
    assert r["after"]["audio_energy"] > 0, info
