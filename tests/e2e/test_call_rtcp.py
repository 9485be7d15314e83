"""RTCP privacy on a real relayed call (issue 10, finding 9): what one leg's
RTCP tells the other leg of a `call` relay (modules/call/rtcp-privacy.c,
used by call.c for every RTCP compound it relays).

Two GStreamer webrtcbin peers through a real Prosody and belfry, the
lightest path with real media on both legs: alice calls
carol\\40localhost@relay.localhost, carol answers. Each peer watches its
RTP session's plain RTCP (webrtcbin_peer.py "rtcp_probe": before SRTP on
the way out, after it on the way in) and adds an APP packet to every
compound it sends; GStreamer's own compounds carry SR/RR and SDES with a
CNAME and a TOOL item ("GStreamer").

Asserted, each way: the sender sent compounds with its CNAME, its TOOL
item and our APP packet; the receiver got compounds whose SDES names
only the CNAME belfry signalled to it for this leg (bf + 16 hex digits,
the `cname` source parameter of the Jingle it received), never the
sender's CNAME, no other SDES item, and no APP packet at all.
"""

import json
import re
import time

import e2e
# belfry (echo and call, call allowed to localhost): test_call.py's fixture
from test_call import belfry, received_xml, relay_jid  # noqa: F401
from test_peers import record

# GStreamer's RTCP interval is ~5 s (RFC 3550 minimum), its first report
# ~half that: long enough for a few compounds each way.
DURATION = 14
TIMEOUT = 90
SDES_CNAME, SDES_TOOL = "1", "6"
RELAY_CNAME = re.compile(r"bf[0-9a-f]{16}")


def signalled_cnames(res):
    """The cname source parameters (XEP-0339) in the Jingle this peer
    received: belfry's, for this leg."""
    out = set()
    for xml in received_xml(res):
        for el in re.findall(r"<parameter\b[^>]*>", xml):
            if re.search(r"""name=["']cname["']""", el):
                m = re.search(r"""value=["']([^"']*)["']""", el)
                if m:
                    out.add(m.group(1))
    return out


def assert_private(sender, receiver, what, info):
    out, got = sender["rtcp"]["out"], receiver["rtcp"]["in"]
    figures = {"rtcp": what, "sent": out, "received": got,
               "signalled_to_receiver": sorted(signalled_cnames(receiver))}
    print(json.dumps(figures))
    # What the sender put in: its own CNAME and TOOL item, and our APP.
    assert out["compounds"] >= 2 and out["app"] >= out["compounds"], (figures, info)
    sender_cnames = set(out["cnames"].values())
    assert sender_cnames and out["sdes_items"].get(SDES_TOOL, 0) > 0, (figures, info)
    assert not any(RELAY_CNAME.fullmatch(c) for c in sender_cnames), (figures, info)
    # What reached the other leg.
    assert got["compounds"] >= 1 and got["malformed"] == 0, (figures, info)
    assert got["app"] == 0, (figures, info)
    received = set(got["cnames"].values())
    assert received, (figures, info)
    assert not received & sender_cnames, (figures, info)
    assert set(got["sdes_items"]) == {SDES_CNAME}, (figures, info)
    signalled = signalled_cnames(receiver)
    assert len(signalled) == 1 and received == signalled, (figures, info)
    assert RELAY_CNAME.fullmatch(next(iter(received))), (figures, info)


def test_relayed_rtcp_carries_the_legs_own_cname_and_no_app(prosody, belfry, workdir, peers):
    started = time.monotonic()
    carol = e2e.webrtcbin_peer(prosody, workdir, "carol-rtcp", "carol", "answer",
                               duration=DURATION + 4, linger=0.5, timeout=TIMEOUT,
                               rtcp_probe=True)
    peers.append(carol)
    carol.wait_ready(30)
    alice = e2e.webrtcbin_peer(prosody, workdir, "alice-rtcp", "alice", "call",
                               target=relay_jid("carol@localhost"), duration=DURATION,
                               linger=0.5, timeout=TIMEOUT, rtcp_probe=True)
    peers.append(alice)
    r_alice = alice.result(DURATION + 60)
    r_carol = carol.result(DURATION + 60)
    record("webrtcbin->call->webrtcbin, RTCP watched", [r_alice, r_carol],
           time.monotonic() - started)
    blog = "\n--- belfry ---\n" + belfry.log()[-6000:]
    info_a, info_c = e2e.debug_dump(r_alice) + blog, e2e.debug_dump(r_carol) + blog
    assert r_alice["ok"] and r_alice["connected"], info_a
    assert r_carol["ok"] and r_carol["connected"], info_c
    assert_private(r_alice, r_carol, "alice -> carol", info_c)
    assert_private(r_carol, r_alice, "carol -> alice", info_a)
    # belfry's own account of it, at the call's end.
    belfry.wait_log("RTCP kept private", 10)
