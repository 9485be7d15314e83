"""Relayed calls through a two-node ejabberd cluster and three belfry
processes (n1, n2 attached to node A, n3 to node B), every one serving
relay.localhost (balanced by the caller's bare JID, 3 slots) and its own
sub-domain nK.relay.localhost (docs/architecture.md, "Several relays behind
one relay domain"). Callers and callees are on different nodes.

Signalling only (tests/cluster/calls.py): a call connects only if the
callee's answers reach the process that holds the caller's leg."""

import signal
import time

import pytest

from calls import ClusterCall, relay_process, start_attached, three_processes
from cluster import ROOMS, node_jid
from conftest import CALLEES, CALLERS
from harness import USERS, free_port
from test_conference import call as call_room, disco_info, form_fields
from test_conference import new_room
from test_call import bare, domain_of, is_jingle, reason_of, terminate_xml, wait_new
from test_jingle import dump, jingle_client
from s5b import Stream, activate, recv_exact, streamhost_query, streamhosts

SUMMARY = []
PROCESSES = (1, 2, 3)


@pytest.fixture(scope="module")
def relays(cluster, tmp_path_factory):
    yield from three_processes(cluster, tmp_path_factory.mktemp("belfry-cluster"))


def _client(cluster, user, password, node, resource):
    c = jingle_client(cluster.nodes[node], user, resource, password)
    c.send_raw("<presence xmlns='jabber:client'/>")
    return c


@pytest.fixture(scope="module")
def people(cluster, relays):
    """(caller, callee) pairs, caller and callee on different nodes:
    alice, bob and every callerN call one of alice, bob, callee1, callee2."""
    passwords = dict(USERS, **CALLERS, **CALLEES)
    callers_a = ["alice"] + [u for n, u in enumerate(sorted(CALLERS)) if n % 2 == 0]
    callers_b = ["bob"] + [u for n, u in enumerate(sorted(CALLERS)) if n % 2 == 1]
    clients = {}
    try:
        for node, users in (("a", callers_a), ("b", callers_b)):
            for u in users:
                clients[u] = _client(cluster, u, passwords[u], node, f"{u}-dev")
        for u, node in (("callee1", "a"), ("callee2", "b")):
            clients[u] = _client(cluster, u, passwords[u], node, f"{u}-dev")
        pairs = []
        for u in callers_a:
            pairs.append((clients[u], clients["bob" if u == "alice" else "callee2"]))
        for u in callers_b:
            pairs.append((clients[u], clients["alice" if u == "bob" else "callee1"]))
        yield pairs
    finally:
        for c in clients.values():
            c.close()


def process_of(call):
    n = call.node
    for i in PROCESSES:
        if n == node_jid(i):
            return i
    raise AssertionError(f"leg B of {call.a_sid} came from {call.b_from}, no process's node-jid")


def assert_on_one_process(relays, call):
    """The process whose sub-domain placed leg B logged the call with both
    legs; no other process saw either session."""
    i = process_of(call)
    line = [ln for ln in relays[i].log().splitlines()
            if f"(legs {call.a_sid}, {call.b_sid})" in ln]
    assert line, f"n{i} did not log call {call.a_sid}/{call.b_sid}"
    for j in PROCESSES:
        if j != i:
            log = relays[j].log()
            assert call.a_sid not in log and call.b_sid not in log, (
                f"call {call.a_sid} also seen by n{j}")
    return i


def establish_all(pairs):
    calls = []
    for caller, callee in pairs:
        calls.append(ClusterCall(caller, callee).establish())
    return calls


def test_calls_spread_over_processes_each_on_one(relays, people):
    calls = establish_all(people)
    try:
        per = {i: 0 for i in PROCESSES}
        per_caller = {}
        for c in calls:
            i = assert_on_one_process(relays, c)
            per[i] += 1
            per_caller.setdefault(bare(c.caller.full_jid), set()).add(i)
        SUMMARY.append(f"cluster: {len(calls)} calls, per process {per}")
        assert all(per[i] >= 1 for i in PROCESSES), f"a process got no call: {per}"
        assert max(per.values()) <= len(calls) / 2, f"one process got over half: {per}"
        # bare_source: a caller's calls all land on one process
        second = establish_all(people[:3])
        calls += second
        for c in second:
            assert {assert_on_one_process(relays, c)} == per_caller[bare(c.caller.full_jid)]
        for c in calls:
            c.hang_up()
    finally:
        for c in calls:
            c.cleanup()
        time.sleep(0.3)


def room_host(relays, room):
    """The process whose log names @room; no other's does."""
    hosts = [i for i in PROCESSES if f"room {room} opened" in relays[i].log()]
    assert len(hosts) == 1, f"room {room} seen by processes {hosts}"
    return hosts[0]


def test_rooms_land_on_one_process_each(relays, people):
    """Rooms are on rooms.relay.localhost, balanced by the room's bare JID:
    participants from both nodes and of every caller's slot join one room
    on one process, which counts them all; rooms spread over processes."""
    callers = [caller for caller, _ in people]
    # 2 on node A, 2 on node B, of different public-domain slots
    parts = [callers[0], callers[1], callers[len(callers) // 2], callers[len(callers) // 2 + 1]]
    hosts = {}
    for k in range(6):
        room = new_room(f"cl{k}")
        jid = f"{room}@{ROOMS}"
        sids = []
        try:
            for c in parts:
                sid, answer = call_room(c, jid, video=False)
                assert answer.get("from") == jid
                sids.append((c, sid))
            q = disco_info(parts[-1], jid)
            got = int(form_fields(q)["muc#roominfo_occupants"][0])
            assert got == len(parts), f"room {room}: {got} participants on its host"
            hosts[room] = room_host(relays, room)
        finally:
            for c, sid in sids:
                reply = c.iq(jid, "set", terminate_xml(sid, "success"))
                assert reply.get("type") == "result", dump(reply)
    per = {i: sum(1 for h in hosts.values() if h == i) for i in PROCESSES}
    SUMMARY.append(f"cluster rooms: {len(hosts)} rooms of {len(parts)} participants "
                   f"(both nodes), each on one process, per process {per}")
    assert len(set(hosts.values())) >= 2, f"every room on one process: {hosts}"


def rooms_hosted(relays, caller, names):
    """Opens and closes each room of @names; returns room -> the process
    that opened it (exactly one must: a room whose slot is empty would get
    no answer at all)."""
    where = {}
    for room in names:
        jid = f"{room}@{ROOMS}"
        before = {i: relays[i].count(f"room {room} opened") for i in PROCESSES
                  if relays[i].running()}
        sid, _ = call_room(caller, jid, video=False)
        reply = caller.iq(jid, "set", terminate_xml(sid, "success"))
        assert reply.get("type") == "result", dump(reply)
        on = [i for i in before if relays[i].count(f"room {room} opened") > before[i]]
        assert len(on) == 1, f"room {room} opened on {on}"
        where[room] = on[0]
    return where


def establish_within(caller, callee, seconds):
    """A new call from @caller, retried until one is answered within
    @seconds: the slot it hashes to may still be empty.  Returns the call
    and when it was answered."""
    deadline = time.monotonic() + seconds
    tried = []
    while True:
        c = ClusterCall(caller, callee)
        tried.append(c)
        try:
            c.initiate(timeout=0.5)
        except AssertionError:
            c.a_sid = None  # never reached a process: nothing to clean up
            if time.monotonic() > deadline:
                raise
            continue
        return c.establish_initiated(), time.monotonic()


def test_sigkill_of_one_process(relays, people):
    """A process killed: its calls are lost, every other call goes on, and
    the survivor after it (n1 after n3, in the sorted list of node-jids)
    takes its slot within about two pings (siblings.h), so its callers'
    new calls are answered without a restart.  When the process is back,
    the survivor gives the slot up and the returning process takes it: no
    caller is left without an answer."""
    calls = establish_all(people)
    try:
        on = {c.a_sid: process_of(c) for c in calls}
        victim, heir = 3, 1
        assert victim in on.values(), f"n3 holds no call: {on}"
        room_caller = people[0][0]
        before = rooms_hosted(relays, room_caller, [new_room(f"kill{k}") for k in range(9)])
        victim_rooms = [r for r, i in before.items() if i == victim]
        assert victim_rooms, f"no room on n{victim}: {before}"
        relays[victim].proc.send_signal(signal.SIGKILL)
        relays[victim].proc.wait(10)
        killed_at = time.monotonic()
        survivors = [c for c in calls if on[c.a_sid] != victim]
        lost = [c for c in calls if on[c.a_sid] == victim]
        # a new call from a caller of the dead slot: answered by the heir
        first, answered_at = establish_within(lost[0].caller, lost[0].callee, 3.5)
        calls.append(first)
        taken_after = answered_at - killed_at
        assert process_of(first) == heir
        assert taken_after < 3.5, f"the dead slot was taken after {taken_after:.1f} s"
        relays[heir].wait_log(f"siblings: {node_jid(victim)} is gone", 1)
        first.hang_up()
        # the rooms of the dead process's rooms slot open on the heir
        assert set(rooms_hosted(relays, room_caller, victim_rooms).values()) == {heir}
        # every call on the other processes still carries its signalling
        for c in survivors:
            c.hang_up()
        # new calls: the survivors' callers where they were, the dead
        # process's on the heir
        for c in survivors + lost:
            again = ClusterCall(c.caller, c.callee)
            calls.append(again)
            assert process_of(again.establish()) == (on[c.a_sid] if c in survivors else heir)
            again.hang_up()
        # the process comes back: the heir lets go of the slot, the
        # returning process takes it
        start_attached(relays[victim])
        back_after = time.monotonic() - killed_at
        relays[heir].wait_log(f"siblings: releasing the shared-domain slot held for "
                              f"{node_jid(victim)}", 1)
        for c in survivors + lost:
            again = ClusterCall(c.caller, c.callee)
            calls.append(again)
            assert process_of(again.establish()) == on[c.a_sid]
            again.hang_up()
        # and on the returning process again: the heir let go
        assert set(rooms_hosted(relays, room_caller, victim_rooms).values()) == {victim}
        SUMMARY.append(f"cluster kill: {len(survivors)} calls on the survivors kept, "
                       f"{len(lost)} lost with n{victim}; its callers' new calls answered by "
                       f"n{heir} {taken_after:.1f} s after the kill; n{victim} back and its "
                       f"slot again after {back_after:.1f} s, every caller answered")
    finally:
        for c in calls:
            c.cleanup()


def test_drain_then_restart_of_one_process(relays, people):
    """A rolling restart of one process: in drain it keeps both links, so
    its running calls go on and end normally; new calls of its slot get
    <busy/>; it exits 0 when its last call ends, and its replacement takes
    the slot."""
    calls = establish_all(people)
    try:
        on = {c.a_sid: process_of(c) for c in calls}
        target = 2
        mine = [c for c in calls if on[c.a_sid] == target]
        others = [c for c in calls if on[c.a_sid] != target]
        assert mine, f"n{target} holds no call: {on}"
        b = relays[target]
        b.send_signal(signal.SIGUSR1)
        b.wait_log("drain: taking no new sessions", 5)
        # a new call of its slot: acknowledged, then ended <busy/>
        busy = ClusterCall(mine[0].caller, mine[0].callee)
        calls.append(busy)
        busy.initiate()
        el = wait_new(busy.caller, busy.a_mark,
                      lambda e: is_jingle(e, busy.addr, busy.a_sid, "session-terminate"), 10,
                      f"session-terminate of {busy.a_sid}")
        assert reason_of(el)[0] == "busy"
        # its running calls still reach it through both domains
        for c in mine:
            c.hang_up()
        code, _ = b.wait_exit(15)
        assert code == 0, b.log()[-3000:]
        # nobody else noticed
        for c in others:
            c.hang_up()
        start_attached(b)
        for c in mine[:2]:
            again = ClusterCall(c.caller, c.callee)
            calls.append(again)
            assert process_of(again.establish()) == target
            again.hang_up()
    finally:
        for c in calls:
            c.cleanup()


def test_a_spare_process_takes_no_slot(cluster, relays, people, tmp_path_factory):
    """A fourth process attached while the 3 slots are taken gets no call,
    and does not take the slot of a process that goes away
    (ejabberd_router_mnesia:register_route/5 fills a free slot only at a
    connection's registration): the heir among the siblings does."""
    spare = start_attached(relay_process(tmp_path_factory.mktemp("spare"), 4,
                                         cluster.a.component_port, free_port()))
    calls = []
    try:
        calls = establish_all(people)
        on = {c.a_sid: process_of(c) for c in calls}
        assert 4 not in on.values(), f"the spare got calls: {on}"
        for c in calls:
            c.hang_up()
        lost = [c for c in calls if on[c.a_sid] == 1]
        assert lost, f"n1 holds no call: {on}"
        code, _ = relays[1].terminate()
        assert code == 0
        again, _ = establish_within(lost[0].caller, lost[0].callee, 3.5)
        calls.append(again)
        assert process_of(again) == 2
        again.hang_up()
        start_attached(relays[1])
        again = ClusterCall(lost[0].caller, lost[0].callee)
        calls.append(again)
        assert process_of(again.establish()) == 1
        again.hang_up()
    finally:
        for c in calls:
            c.cleanup()
        if spare.running():
            spare.stop()
        spare.kill_quietly()


def test_proxy65_activation_reaches_the_streamhosts_process(relays, people):
    """Each process names its streamhost by its node-jid, at its own port;
    a requester's activation, sent to that JID, reaches the process that
    holds both SOCKS5 connections, whichever node the requester is on."""
    seen = set()
    for caller, callee in people[:6]:
        reply = streamhost_query(caller)
        assert reply.get("type") == "result", dump(reply)
        hosts = streamhosts(reply)
        assert hosts and len(hosts) == 1, dump(reply)
        sh = hosts[0]
        i = next((j for j in PROCESSES if sh["jid"] == node_jid(j)), None)
        assert i is not None, f"streamhost jid {sh['jid']} is no process's node-jid"
        assert int(sh["port"]) == relays[i].proxy65_port, sh
        seen.add(i)
        st = Stream(relays[i].proxy65_port, caller, callee.full_jid)
        try:
            st.connect()
            r = activate(caller, st.sid, callee.full_jid, to=sh["jid"])
            assert r.get("type") == "result", f"activation through {sh['jid']}: {dump(r)}"
            assert r.get("from") == sh["jid"], dump(r)
            st.req.sendall(b"through the cluster 7Pw")
            assert recv_exact(st.target, 23, 5.0, "relayed bytes") == b"through the cluster 7Pw"
        finally:
            st.close()
    assert len(seen) >= 2, f"every streamhost query was answered by one process: {seen}"


def test_media_both_ways_on_each_process(cluster, relays, people):
    """One call per process carries media both ways: tests/bench/call-load
    plays both parties (its own ICE and DTLS-SRTP, every packet checked), as
    tests/soak/test_calls_asan.py drives it; the callee is called at its
    full JID (no JMI), leg B comes from the process's node-jid."""
    import queue

    from test_calls_asan import Driver, LoadProc
    from test_soak import client

    # one (caller, callee) pair per process, found by a signalling call
    chosen = {}
    for caller, callee in people:
        c = ClusterCall(caller, callee).establish()
        chosen.setdefault(process_of(c), (caller, callee))
        c.hang_up()
    assert sorted(chosen) == list(PROCESSES), chosen
    passwords = dict(USERS, **CALLERS, **CALLEES)
    for i, (caller, callee) in sorted(chosen.items()):
        events = queue.Queue()
        load = LoadProc(events)
        clients = []
        try:
            cu, eu = bare(caller.full_jid).split("@")[0], bare(callee.full_jid).split("@")[0]
            a_node = cluster.a if caller.xmpp.address[1] == cluster.a.c2s_port else cluster.b
            b_node = cluster.a if callee.xmpp.address[1] == cluster.a.c2s_port else cluster.b
            alice = client(a_node, cu, passwords[cu], lambda el: events.put(("alice", el)))
            clients.append(alice)
            bob = client(b_node, eu, passwords[eu], lambda el: events.put(("bob", el)))
            clients.append(bob)
            drv = Driver(load, alice, bob, events,
                         callee=f"{eu}\\40localhost\\2fsoak@relay.localhost")
            drv.wait_line("ports ", 10)
            t = drv.setup([0])
            call = drv.calls[0]
            assert domain_of(call.b_from) == node_jid(i), (call.b_from, i)
            drv.hangup([0])
            SUMMARY.append(f"cluster media: n{i} call {cu} -> {eu} up with media both ways "
                           f"in {t[0]:.2f} s")
        finally:
            for c in clients:
                c.close()
            load.close()
