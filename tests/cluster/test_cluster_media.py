"""Relayed calls WITH MEDIA through the two-node ejabberd cluster and three
belfry processes (n1, n2 on node A, n3 on node B; tests/cluster/
test_cluster_calls.py's `relays`, started afresh for this file).  Every
call's media comes from tests/bench/call-load (tests/cluster/media.py): its
own ICE and DTLS-SRTP per party, every packet authenticated and checked, 50
packets a second each way; its counters say what each party received and
the longest silence between two packets (GAP_MS is the most allowed).

Callers: alice and caller1, 3, 5, 7, 9 on node A calling callee2 on node B;
bob and caller2, 4, 6, 8 on node B calling callee1 on node A."""

import signal
import time

import pytest

# test_cluster_calls (and calls.py) first: they take test_call from
# tests/integration before test_calls_asan puts tests/e2e first on the path
from test_cluster_calls import PROCESSES, assert_on_one_process, relays  # noqa: F401
from calls import start_attached, wait_until
from cluster import node_jid
from conftest import CALLEES, CALLERS
from harness import USERS
from media import MediaSession, worst_gap_ms

SUMMARY = []
GAP_MS = 500                # the longest silence a party of a running call may see
KILLED_CALLS = 15           # calls up when a process is killed
NEW_CALLS = 10              # calls placed right after the kill
ROLLING_CALLS = 10          # calls kept running through the rolling restart
TAKEOVER_TIMEOUT = 10       # s: the heir takes a gone process's slot (siblings.h: ~2 pings)
CONSENT_S = 30              # RFC 7675's consent timeout (call-load's, as WebRTC parties')
CONSENT_FIRST_S = 6.5       # s: every party has had a consent check answered


def _users():
    pw = dict(USERS, **CALLERS, **CALLEES)
    on_a = ["alice"] + [f"caller{k}" for k in (1, 3, 5, 7, 9)]
    on_b = ["bob"] + [f"caller{k}" for k in (2, 4, 6, 8)]
    users = [("a", u, pw[u], "alice") for u in on_a] + [("b", u, pw[u], "alice") for u in on_b]
    users += [("a", "callee1", pw["callee1"], "bob"), ("b", "callee2", pw["callee2"], "bob")]
    return users


@pytest.fixture
def media(cluster, relays):  # noqa: F811
    s = MediaSession(cluster, _users(), PROCESSES)
    try:
        yield s
    finally:
        s.close()


def pairs_of(session):
    """(caller, callee) per caller, each calling the callee on the other
    node, in an order that alternates the nodes."""
    callers = [p for p in session.parties if p.role == "alice"]
    callee = {p.node: p for p in session.parties if p.role == "bob"}
    a = [p for p in callers if p.node == "a"]
    b = [p for p in callers if p.node == "b"]
    order = [x for pair in zip(a, b) for x in pair] + a[len(b):] + b[len(a):]
    return [(p, callee["b" if p.node == "a" else "a"]) for p in order]


def gone(i):
    return f"siblings: {node_jid(i)} is gone"


def released(i):
    return f"siblings: releasing the shared-domain slot held for {node_jid(i)}"


def cycle(pairs, n, start=0):
    return [pairs[(start + k) % len(pairs)] for k in range(n)]


def assert_media_flowing(drv, indices, what, received_before=None):
    """Every call of @indices: both parties received packets (more than at
    @received_before's reading), none saw a silence over GAP_MS since the
    previous reading."""
    now = drv.legs(indices)
    for i in indices:
        r = now[i]
        for side in "ab":
            floor = received_before[i][f"{side}_received"] if received_before else 0
            assert r[f"{side}_received"] > floor, (
                f"{what}: call {i} party {side} received nothing new ({r})")
        assert worst_gap_ms(r) <= GAP_MS, f"{what}: call {i} saw a silence of {r} ms"
        lost = [side for side in "ab" if (i, side) in drv.expired]
        assert not lost, f"{what}: call {i} party {lost} lost consent"
    return now


def test_thirty_calls_with_media_spread_over_processes(relays, media):  # noqa: F811
    """30 relayed calls, every one with media both ways (the load's own
    counters, bad packets 0), callers and callees on both nodes; each call's
    two legs on one process (its log names both sessions of the call, no
    other process's log names either); calls on all three processes, none
    with more than half."""
    drv = media.driver
    calls = drv.place(cycle(pairs_of(media), 30))
    try:
        setup = sorted(drv.calls[i].setup_s for i in calls)
        time.sleep(2.0)
        first = assert_media_flowing(drv, calls, "30 calls")
        time.sleep(1.0)
        second = assert_media_flowing(drv, calls, "30 calls", first)
        per = {p: 0 for p in PROCESSES}
        for i in calls:
            p = assert_on_one_process(relays, drv.as_cluster_call(i))
            assert p == drv.process_of(i)
            per[p] += 1
        assert all(per[p] >= 1 for p in PROCESSES), f"a process got no call: {per}"
        assert max(per.values()) <= len(calls) / 2, f"one process got over half: {per}"
        worst = max(worst_gap_ms(r) for r in second.values())
    finally:
        drv.hangup(calls)
    bad = sum(e.get("a_bad", 0) + e.get("b_bad", 0) for i in calls for e in drv.calls[i].ended)
    got = min(min(e["a_received"], e["b_received"]) for i in calls for e in drv.calls[i].ended[-1:])
    assert bad == 0, f"{bad} packets failed the load's checks"
    SUMMARY.append(f"cluster media: {len(calls)} calls with media both ways, per process {per}; "
                   f"set-up median {setup[len(setup) // 2]:.2f} s, max {setup[-1]:.2f} s; "
                   f"longest silence in the last second {worst} ms; every party got >= {got} "
                   f"packets, 0 bad")


def test_sigkill_with_media_running(relays, media):  # noqa: F811
    """A process killed with SIGKILL while calls carry media.

    * Every call on the other processes keeps its media: no party sees a
      silence over GAP_MS from before the kill to the end.
    * The killed process's calls carry no packet from the kill on (both
      parties' last packet is older than the kill), and both parties of
      each see the call end by RFC 7675 consent: their checks (every 4-6 s,
      as WebRTC parties) go unanswered and consent expires within
      CONSENT_S of the kill.  Nothing else can tell them: the process that
      held both sessions is gone and ejabberd keeps no Jingle state, so no
      session-terminate comes (the test fails on any session-terminate
      that nobody's hang-up asked for, and on any survivor's party losing
      consent).
    * NEW_CALLS new calls right after the kill all come up with media: those
      of the survivors' callers at once, those of the dead process's callers
      on its heir (n1) once it has taken the slot.  Measured: the kill to
      the first and to the last of them carrying media both ways."""
    drv = media.driver
    victim, heir = 3, 1
    pairs = pairs_of(media)
    calls = drv.place(cycle(pairs, KILLED_CALLS))
    new = []
    try:
        on = {i: drv.process_of(i) for i in calls}
        lost = [i for i in calls if on[i] == victim]
        kept = [i for i in calls if on[i] != victim]
        assert lost and kept, f"calls per process: {on}"
        slot_of = {drv.plan[i][0].user: on[i] for i in calls}
        # past every party's first consent check (4-6 s after set-up): the
        # kill comes when consent is being refreshed, not on its first answer
        drv.settle(CONSENT_FIRST_S)
        before = assert_media_flowing(drv, calls, "before the kill")
        gone_count = relays[heir].count(gone(victim))
        released_count = relays[heir].count(released(victim))
        relays[victim].proc.send_signal(signal.SIGKILL)
        relays[victim].proc.wait(10)
        killed_at = time.monotonic()
        # new calls: the survivors' callers at once; the dead slot's once
        # the heir holds it
        fresh = cycle(pairs, NEW_CALLS, start=KILLED_CALLS)
        now_ok = [p for p in fresh if slot_of.get(p[0].user) not in (victim, None)]
        later = [p for p in fresh if p not in now_ok]
        new += drv.place(now_ok)
        assert wait_until(lambda: relays[heir].count(gone(victim)) > gone_count,
                          TAKEOVER_TIMEOUT), (
            f"n{heir} did not take n{victim}'s slot within {TAKEOVER_TIMEOUT} s")
        taken_after = time.monotonic() - killed_at
        new += drv.place(later)
        landed = sorted(drv.up_at(i) - killed_at for i in new)
        for i in new:
            want = heir if slot_of.get(drv.plan[i][0].user) in (victim, None) else slot_of[
                drv.plan[i][0].user]
            assert drv.process_of(i) == want, f"new call {i} on n{drv.process_of(i)}, not n{want}"
        drv.settle(1.0)
        since_kill_ms = (time.monotonic() - killed_at) * 1000
        after = assert_media_flowing(drv, kept, "after the kill", before)
        worst_kept = max(worst_gap_ms(r) for r in after.values())
        dead = drv.legs(lost)
        for i in lost:
            r = dead[i]
            for side in "ab":
                # packets in flight at the kill: at most one 20 ms tick's
                assert r[f"{side}_idle_ms"] >= since_kill_ms - 100, (
                    f"call {i} on the killed n{victim}: party {side} got a packet after the "
                    f"kill ({r}, kill {since_kill_ms:.0f} ms ago)")
        assert_media_flowing(drv, new, "new calls after the kill")
        # the killed process's parties: consent lost, within its timeout
        # of the kill (the last answer came before it)
        legs = [(i, side) for i in lost for side in "ab"]
        deadline = killed_at + CONSENT_S + 2
        while time.monotonic() < deadline and not all(k in drv.expired for k in legs):
            drv.pump(0.2)
        assert all(k in drv.expired for k in legs), (
            f"consent still held {CONSENT_S + 2} s after the kill: "
            f"{[k for k in legs if k not in drv.expired]}")
        ended_by_consent = sorted(drv.expired[k] - killed_at for k in legs)
        assert ended_by_consent[-1] <= CONSENT_S + 0.5, ended_by_consent
        # the survivors' parties: consent still held a full timeout later
        drv.settle(max(0.0, killed_at + CONSENT_S + 2 - time.monotonic()))
        assert_media_flowing(drv, kept + new, "survivors, consent time later")
        assert all(not drv.calls[i].hung_up and not drv.calls[i].ended for i in kept + lost), (
            "a call ended without a hang-up")
    finally:
        drv.drop([i for i in calls if drv.calls[i].b_from and drv.process_of(i) == victim])
        drv.hangup([i for i in calls + new if not getattr(drv.calls[i], "dropped", False)
                    and drv.calls[i].b_from])
        if not relays[victim].running():
            start_attached(relays[victim])
            relays[heir].wait_log(released(victim), TAKEOVER_TIMEOUT,
                                  count=released_count + 1)
    SUMMARY.append(f"cluster kill with media: {len(kept)} calls on the survivors kept media "
                   f"(longest silence {worst_kept} ms), {len(lost)} on n{victim} silent from "
                   f"the kill, their parties' consent lost {ended_by_consent[0]:.1f}-"
                   f"{ended_by_consent[-1]:.1f} s after it; heir n{heir} held its slot "
                   f"{taken_after:.1f} s after; "
                   f"{len(new)} new calls with media {landed[0]:.2f} s (first) to "
                   f"{landed[-1]:.2f} s (last) after the kill")


def test_rolling_restart_with_media_running(relays, media):  # noqa: F811
    """A rolling restart of n1, n2, n3 in turn while ROLLING_CALLS calls
    carry media; no call is dropped.

    Under the scheme (docs/architecture.md, "Several relays behind one relay
    domain") a draining process keeps its calls and both its links until
    its last call ends, and its slot answers new calls with <busy/>.  So,
    for each process in turn: SIGUSR1; replacement calls are placed from
    callers whose slot is not draining (ROLLING_CALLS or more keep running);
    the draining process's calls still carry media, then their callers hang
    up normally (<success/> both ways); it exits 0 and is started again (and
    takes its slot back from the heir, if the heir had taken it).  Every
    call on the other processes keeps its media throughout (no silence over
    GAP_MS), and no call ends in any other way than its caller's hang-up
    (the driver fails on any other session-terminate)."""
    drv = media.driver
    pairs = pairs_of(media)
    running = drv.place(cycle(pairs, ROLLING_CALLS))
    placed = list(running)
    slot_of = {drv.plan[i][0].user: drv.process_of(i) for i in running}
    cursor = ROLLING_CALLS
    report = []
    try:
        time.sleep(1.0)
        reading = assert_media_flowing(drv, running, "before the restarts")
        for target in PROCESSES:
            b = relays[target]
            mine = [i for i in running if drv.process_of(i) == target]
            others = [i for i in running if i not in mine]
            drains = b.count("drain: taking no new sessions")
            gone_before = {j: relays[j].count(gone(target)) for j in PROCESSES}
            released_before = {j: relays[j].count(released(target)) for j in PROCESSES}
            b.send_signal(signal.SIGUSR1)
            b.wait_log("drain: taking no new sessions", 5, count=drains + 1)
            t0 = time.monotonic()
            # replacements, from callers whose slot is on another process
            other_pairs = [p for p in pairs if slot_of.get(p[0].user) not in (target, None)]
            repl = drv.place(cycle(other_pairs, len(mine), start=cursor))
            cursor += len(mine)
            assert all(drv.process_of(i) != target for i in repl), "a replacement on the drain"
            placed += repl
            drv.settle(1.0)
            reading = assert_media_flowing(drv, others + mine, f"n{target} draining",
                                           reading)
            assert b.running(), f"n{target} exited with calls running"
            drv.hangup(mine)
            code, _ = b.wait_exit(15)
            assert code == 0, b.log()[-3000:]
            exit_s = time.monotonic() - t0
            start_attached(b)
            # a sibling that took the slot while it was down (pings every
            # second, gone after two) hands it back once it answers again
            drv.settle(2.5)
            for j in PROCESSES:
                if j != target and (relays[j].count(gone(target)) > gone_before[j]):
                    relays[j].wait_log(released(target), TAKEOVER_TIMEOUT,
                                       count=released_before[j] + 1)
            running = others + repl
            reading = assert_media_flowing(drv, running, f"n{target} restarted",
                                           {i: reading.get(i, {"a_received": 0,
                                                               "b_received": 0})
                                            for i in running})
            report.append(f"n{target}: {len(mine)} calls hung up, exit 0 after {exit_s:.1f} s")
        assert len(running) >= ROLLING_CALLS
        ended_otherwise = [i for i in running if drv.calls[i].hung_up or drv.calls[i].ended]
        assert not ended_otherwise, f"calls ended without a hang-up: {ended_otherwise}"
    finally:
        drv.hangup([i for i in placed if drv.calls[i].b_from and not drv.calls[i].hung_up])
    SUMMARY.append(f"cluster rolling restart with media: {len(placed)} calls in all, "
                   f"{ROLLING_CALLS} running throughout, none dropped; " + "; ".join(report))
