"""Conference rooms with real media through the two-node cluster: two
audio rooms on rooms.relay.localhost (balanced by the room's bare JID),
each with four participants, two on ejabberd node A and two on node B, at
once.  Each room must land on one belfry process, the two on different
processes, and mix-minus must hold: every participant hears the three
others of its room, not itself, and nothing of the other room.

The participants are tests/bench/conf-load (`ice` mode), the audio
conference benchmark's load, driven as tests/bench/bench_conference.py
drives it (`BelfryRoom`): one process plays all eight, each with its own
socket, ICE credentials, DTLS association and SRTP, sending a tone of its
own (Opus 32 kb/s from libopus, -20 dBFS) and decoding what the room sends
it (libopus) to a file read here by FFT (tests/e2e/tone_analysis.py).
Chosen over webrtcbin peers because eight GStreamer pipelines (and the
pytest-side analysis of eight recordings) do not fit the cluster stage's
few minutes on two cores, while conf-load plays eight participants in one
light process; the SFU load (sfu-load.c) checks forwarded packets, not a
mix, so it cannot show mix-minus.  What differs from real clients
(README "Running several relays"): no browser or libwebrtc stack, no jitter
buffer, no RTCP beyond what belfry needs; the signalling is
bench_conference's (a plain session-initiate with Opus and the
audio-level extension), not a client's.

Then a takeover: the process hosting the second room is killed, and its
heir's metrics ([metrics] listen on every process) show it: the sibling
down, its slot taken over, a takeover connection per role up."""

import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_call import Jingle, Load
from bench_conference import BelfryRoom, executable, run_window
from calls import start_attached, three_processes, wait_until
from cluster import ROOMS, node_jid
from harness import USERS
from test_cluster_calls import rooms_hosted
from test_jingle import jingle_client
from test_metrics import scrape, total, value
import tone_analysis as ta

SUMMARY = []
PROCESSES = (1, 2, 3)
# Each room's tones: multiples of 50 Hz (whole cycles in a 20 ms frame, as
# conf-load wants), those of one room at least 250 Hz from the other's
# (Opus leaves a tone's own noise within ~100 Hz of it at about -60 dB, seen
# here) and 60 Hz from the other room's second- and third-order products
# (tone_analysis.distortion_products).
TONES = ([650, 1350, 2150, 3050], [1000, 1850, 2550, 3350])
PER_ROOM = 4
# A participant at -20 dBFS mixed without gain must be above this; its own
# tone at least MIX_MINUS_DB below the weakest other (seen: 60-75 dB), the
# other room's at least ISOLATION_DB (seen: 45-55 dB; a tone mixed into the
# wrong room would be at the others' level).
PRESENT_DB = -35.0
MIX_MINUS_DB = 40.0
ISOLATION_DB = 30.0
WARMUP_S = 1.5
WINDOW_S = 3.0
# A listener missing more of the window's frames than this hears gaps.
MISSING_MAX = 0.2


@pytest.fixture(scope="module")
def media_relays(cluster, tmp_path_factory):
    """Three processes as in test_cluster_calls.py, each with [metrics]
    listen and [conference] max-talkers = 4 (the default mixes the three
    loudest of a room's four tones)."""
    yield from three_processes(cluster, tmp_path_factory.mktemp("belfry-cluster-rooms"),
                               metrics=True,
                               extra_groups={"conference": {"max-talkers": "4"}})


class Participants:
    """What BelfryRoom wants of its target: participant i's XMPP client
    (alice on node A for the first two of a room, bob on node B for the
    other two), handing Jingle requests to the load's queue."""
    echo = False

    def __init__(self, cluster):
        self.cluster = cluster
        self.clients = {}

    def client(self, i, sink):
        if i not in self.clients:
            a_side = i % PER_ROOM < PER_ROOM // 2
            self.clients[i] = Jingle(_harness(), self.cluster.a if a_side else self.cluster.b,
                                     "alice" if a_side else "bob", f"room-p{i}", sink, f"p{i}")
        return self.clients[i]

    def close(self):
        for c in self.clients.values():
            c.close()


def _harness():
    import harness
    return harness


def two_rooms_on_two_processes(relays, cluster):
    """Names of two rooms whose slots are held by different processes
    (found by opening and closing rooms at signalling level)."""
    probe = jingle_client(cluster.a, "alice", "room-probe", USERS["alice"])
    try:
        names = [f"mix{k}-{time.monotonic_ns() % 100000}" for k in range(8)]
        where = rooms_hosted(relays, probe, names)
    finally:
        probe.close()
    first = names[0]
    second = next((n for n in names if where[n] != where[first]), None)
    assert second, f"8 rooms all on one process: {where}"
    return (first, where[first]), (second, where[second])


def check_listener(path, own, room_tones, other_tones):
    """Problems with what one participant decoded: every other tone of its
    room present, its own and the other room's MIX_MINUS_DB below the
    weakest of those."""
    x = np.fromfile(path, dtype="<i2").astype(np.float64) / 32768.0
    x = x[int(0.5 * ta.RATE):]   # the first frames after the start
    if len(x) < ta.RATE:
        return [f"{path.name}: {len(x) / ta.RATE:.1f} s of audio"], {}
    others = [f for f in room_tones if f != own]
    lv = {f: round(v, 1) for f, v in ta.levels(x, room_tones + other_tones).items()}
    bad = [f"{f} Hz missing ({lv[f]} dB)" for f in others if lv[f] < PRESENT_DB]
    weakest = min(lv[f] for f in others)
    for f, what, below in ([(own, "own", MIX_MINUS_DB)]
                           + [(f, "other room's", ISOLATION_DB) for f in other_tones]):
        if lv[f] > weakest - below:
            bad.append(f"{what} {f} Hz at {lv[f]} dB, {weakest - lv[f]:.1f} dB below the "
                       f"weakest other ({weakest} dB)")
    return bad, lv


def test_two_rooms_with_media_on_two_processes(cluster, media_relays, tmp_path):
    relays = media_relays
    (room1, host1), (room2, host2) = two_rooms_on_two_processes(relays, cluster)
    people = Participants(cluster)
    load = Load(executable(), "ice", "0,1")
    rooms = []
    try:
        t0 = time.monotonic()
        for k, name in enumerate((room1, room2)):
            rooms.append(BelfryRoom(people, load, name, PER_ROOM, domain=ROOMS,
                                    first=k * PER_ROOM))
        setup_s = time.monotonic() - t0
        # each room on the process that held its slot, and only there
        for name, host in ((room1, host1), (room2, host2)):
            opened = [i for i in PROCESSES
                      if relays[i].count(f"room {name} opened") >= 2]
            assert opened == [host], f"room {name} opened again on {opened}, expected n{host}"
            assert f"joined (participants: {PER_ROOM})" in "".join(
                ln for ln in relays[host].log().splitlines(True) if f"room {name}: " in ln), (
                f"room {name}: no {PER_ROOM}th participant on n{host}")
        for k in range(2 * PER_ROOM):
            load.send(f"{k} talker {TONES[k // PER_ROOM][k % PER_ROOM]}")
            load.send(f"{k} listen {tmp_path}/p{k}.pcm")
        load.send("start all")
        load.wait(lambda ln: ln == "started", 5, "started")
        time.sleep(WARMUP_S)
        kv, listeners = run_window(load, [], [], WINDOW_S, 2 * PER_ROOM)
        load.send("stop")
        assert kv.get("bad", 0) == 0, f"packets that failed SRTP or content checks: {kv}"
        problems, table, margins = [], {}, []
        for k in range(2 * PER_ROOM):
            r = k // PER_ROOM
            bad, lv = check_listener(Path(tmp_path) / f"p{k}.pcm", TONES[r][k % PER_ROOM],
                                     TONES[r], TONES[1 - r])
            li = listeners.get(k, {})
            frames, got = li.get("frames", 0), li.get("received", 0)
            if not frames or frames - got > MISSING_MAX * frames:
                bad.append(f"received {got} of {frames} frames of the window")
            problems += [f"p{k} (room {r + 1}): {b}" for b in bad]
            table[f"p{k}"] = lv
            if lv:
                own = TONES[r][k % PER_ROOM]
                weakest = min(lv[f] for f in TONES[r] if f != own)
                margins.append((weakest - lv[own], weakest - max(lv[f] for f in TONES[1 - r])))
        assert not problems, f"{problems}\nlevels (dB): {table}"
        SUMMARY.append(f"cluster rooms media: 2 rooms x {PER_ROOM} participants (2 per node) "
                       f"on n{host1} and n{host2}, set up in {setup_s:.1f} s; every participant "
                       f"hears its room's 3 others, its own >= "
                       f"{min(m[0] for m in margins):.0f} dB and the other room's >= "
                       f"{min(m[1] for m in margins):.0f} dB below the weakest of those")
    finally:
        for room in rooms:
            try:
                room.leave(people)
            except Exception:
                pass
        load.close()
        people.close()


def metrics_of(b):
    return scrape(b.metrics_port)[1]


def test_takeover_shows_in_the_heirs_metrics(media_relays):
    """Before: every sibling up, nothing taken over, the three roles'
    connections up.  n3 killed: its heir n1 (the first live one after it in
    the sorted node-jids) shows n3 down, its slot taken over once, and two
    takeover connections (the shared domain's and the rooms') up; n2 shows
    n3 down but takes nothing.  n3 back: released, the takeover
    connections down."""
    relays = media_relays
    victim, heir, other = 3, 1, 2
    s = metrics_of(relays[heir])
    for role in ("shared", "node", "rooms"):
        assert value(s, "belfry_component_links_up", role=role) == 1, role
    assert value(s, "belfry_component_links_up", role="takeover") == 0
    assert value(s, "belfry_sibling_up", sibling=node_jid(victim)) == 1
    assert total(s, "belfry_sibling_taken_over") == 0
    before = value(s, "belfry_sibling_takeovers_total", sibling=node_jid(victim))
    # (at the start, each process may have seen a later one gone for a
    # moment: count the lines from here)
    went = f"siblings: {node_jid(victim)} does not answer"
    seen_before = {i: relays[i].count(went) for i in (heir, other)}
    relays[victim].proc.send_signal(signal.SIGKILL)
    relays[victim].proc.wait(10)
    killed = time.monotonic()
    relays[heir].wait_log(went, 6, count=seen_before[heir] + 1)

    def heir_took():
        s = metrics_of(relays[heir])
        return (value(s, "belfry_component_links_up", role="takeover") == 2
                and value(s, "belfry_sibling_taken_over", sibling=node_jid(victim)) == 1)
    assert wait_until(heir_took, 5), metrics_of(relays[heir])
    seen = time.monotonic() - killed
    s = metrics_of(relays[heir])
    assert value(s, "belfry_sibling_up", sibling=node_jid(victim)) == 0
    assert value(s, "belfry_sibling_takeovers_total", sibling=node_jid(victim)) == before + 1
    assert value(s, "belfry_component_link_attaches_total", role="takeover") >= 2
    # n2 pings on its own second: it may count n3 gone a little later
    relays[other].wait_log(went, 5, count=seen_before[other] + 1)
    o = metrics_of(relays[other])
    assert value(o, "belfry_sibling_up", sibling=node_jid(victim)) == 0
    assert total(o, "belfry_sibling_taken_over") == 0
    assert value(o, "belfry_component_links_up", role="takeover") == 0
    # back: the heir lets go
    start_attached(relays[victim])
    relays[heir].wait_log(f"siblings: releasing the shared-domain slot held for "
                          f"{node_jid(victim)}", 1)
    s = metrics_of(relays[heir])
    assert value(s, "belfry_sibling_up", sibling=node_jid(victim)) == 1
    assert value(s, "belfry_sibling_taken_over", sibling=node_jid(victim)) == 0
    assert value(s, "belfry_component_links_up", role="takeover") == 0
    SUMMARY.append(f"cluster metrics: n{victim} killed, the takeover in n{heir}'s metrics "
                   f"{seen:.1f} s after the kill, released when n{victim} came back")
