"""Firefox (Debian's firefox-esr: nICEr ICE, NSS DTLS, its own SRTP) as a
real peer, standing in for Movim in Firefox: the same page as the Chromium
peer (StanzaJS over Prosody's WebSocket), driven headless over WebDriver
BiDi (firefox-peer.mjs). In the private network namespace (conftest.py).

  * Firefox calls echo@relay.localhost and decodes its own audio (energy)
    and video (frames) back;
  * Firefox calls Chromium and Chromium calls Firefox through belfry's call
    relay: both sides decode, each sees only the relay address, every
    candidate each saw is one of belfry's sockets, the hang-up crosses.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

import e2e
from test_call import (SocketWatch, assert_hangup_propagated, assert_only_belfry_candidates,
                       assert_private, assert_relay_remote, belfry_log, relay_jid)
from test_peers import DURATION, assert_loopback_candidates, record
from test_peers import assert_chromium_decoded as assert_browser_decoded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

ECHO = "echo@relay.localhost"
TIMEOUT = 60


@pytest.fixture(scope="module")
def belfry(prosody):
    b = harness.Belfry(Path(tempfile.mkdtemp(prefix="belfry-e2e-ffcall-")),
                       port=prosody.component_port,
                       verbose=bool(os.environ.get("BELFRY_E2E_VERBOSE")),
                       modules="echo;call",
                       groups={"media": {"addresses": "127.0.0.1"},
                               "call": {"allow-domains": "localhost"}})
    b.start()
    e2e.adopt(b.pid)
    yield b
    b.stop()


def negotiated(res):
    """What Firefox's getStats says it negotiated (for the log and README)."""
    st = res.get("stats") or {}
    return {"firefox": res.get("firefox_version"), "transport": st.get("transport"),
            "selected_pair": st.get("selected_pair"),
            "audio_codec": (st.get("audio") or {}).get("codec"),
            "video_codec": (st.get("video") or {}).get("codec")}


def test_firefox_calls_echo(prosody, belfry, workdir, peers):
    started = time.monotonic()
    p = e2e.firefox_peer(prosody, workdir, "alice-firefox", "alice", "call", target=ECHO,
                         duration=DURATION, timeout=TIMEOUT)
    peers.append(p)
    res = p.result(DURATION + TIMEOUT + 15)
    record("firefox->echo", [res], time.monotonic() - started)
    print(json.dumps(negotiated(res)))
    assert res["peer"] == "firefox" and res["firefox_version"], e2e.debug_dump(res)
    assert res["ok"], e2e.debug_dump(res) + belfry_log(belfry)
    assert_browser_decoded(res)
    assert_loopback_candidates(res)
    assert res["remote_jid"] == ECHO
