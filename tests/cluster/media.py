"""Relayed calls with media through the cluster: tests/bench/call-load
plays both parties of every call (its own ICE and DTLS-SRTP, every packet
authenticated and checked), driven as tests/soak/test_calls_asan.py drives
it (its Driver), but with many XMPP clients: each call has its own caller
and callee, on either ejabberd node, so that calls spread over the
processes (the relay domain is balanced by the caller's bare JID).

A call's callee is called at its full JID (callee\\40localhost\\2fsoak@
relay.localhost: no JMI); leg B comes from the sub-domain of the process
that holds the call.  Once up, a call streams audio both ways (50 packets
a second each way) until it is hung up; `legs` reads the load's own
per-leg counters: packets verified, the longest silence between two of
them since the previous reading, the time since the last one.  Every party checks consent (RFC 7675, a
check every 4-6 s, lost after 30 s without an answer), as WebRTC
parties do: `expired` says whose was lost and when."""

import queue
import time
from types import SimpleNamespace

from calls import domain_of  # tests/integration's test_call (see test_cluster_media.py)
from cluster import node_jid
from harness import COMPONENT
from test_calls_asan import Driver, Failed, LoadProc
from test_soak import IQ, JINGLE, client, dump, kv


class Party:
    """One logged-in client (resource "soak") of @user on ejabberd @node
    ("a" or "b"), every iq and message it receives queued as (role, el)."""

    def __init__(self, cluster, node, user, password, role, events):
        self.user, self.node, self.role = user, node, role
        self.client = client(cluster.nodes[node], user, password,
                             lambda el: events.put((role, el)))
        # the relay address that rings this client (callees only)
        self.addr = f"{user}\\40localhost\\2fsoak@{COMPONENT}"

    def close(self):
        self.client.close()


class _Streaming:
    """The load as the Driver sees it, but a call's `probe` (sent once both
    parties are keyed) is a `stream`: its audio goes on, with no pause
    between the set-up and the rest of the call."""

    def __init__(self, load):
        self.load = load
        self.proc = load.proc

    def send(self, line):
        self.load.send("stream " + line[6:] if line.startswith("probe ") else line)


class MediaCalls(Driver):
    """The soak's Driver with a caller, a callee and a callee address per
    call; calls are streamed once up, and their legs can be read."""

    def __init__(self, load, events, processes):
        super().__init__(_Streaming(load), None, None, events, callee=None)
        self.processes = processes
        self.plan = {}              # index -> (caller Party, callee Party)
        self.readings = {}          # index -> the last "legs" line, parsed
        self.hanging = set()        # calls whose caller has hung up
        self.expired = {}           # (index, "a"|"b") -> when its consent expired
        self.next_index = 0

    def party(self, c, who):
        return self.plan[c.i][0 if who == "alice" else 1].client

    def callee_of(self, c):
        return self.plan[c.i][1].addr

    def on_line(self, line):
        parts = line.split()
        if len(parts) > 1 and parts[1] == "legs" and parts[0].isdigit():
            self.readings[int(parts[0])] = kv(line)
            return
        if len(parts) == 3 and parts[2] == "consent-expired" and parts[0].isdigit():
            self.expired[(int(parts[0]), parts[1])] = time.monotonic()
            return
        super().on_line(line)

    def on_xmpp(self, who, el):
        # The soak's Driver takes any session-terminate `success` to the
        # callee while some call is being hung up; here only the calls
        # whose caller hung up may end.
        j = el.find(JINGLE) if el.tag == IQ and el.get("type") == "set" else None
        if j is not None and j.get("action") == "session-terminate":
            c = self.by_sid.get((who, j.get("sid")))
            if c is not None and c.i not in self.hanging:
                raise Failed(f"call {c.i}: belfry ended {who}'s leg, nobody hung up: {dump(el)}")
        super().on_xmpp(who, el)

    def hangup(self, indices):
        self.hanging.update(indices)
        super().hangup(indices)

    def place(self, pairs):
        """Calls from each (caller, callee) of @pairs up with media verified
        both ways, streaming from then on; returns their indices."""
        indices = []
        for pair in pairs:
            self.plan[self.next_index] = pair
            indices.append(self.next_index)
            self.next_index += 1
        if indices:
            self.setup(indices)
        return indices

    def up_at(self, i):
        """When call @i's media was first verified both ways (monotonic)."""
        c = self.calls[i]
        return c.t0 + c.setup_s

    def process_of(self, i):
        d = domain_of(self.calls[i].b_from)
        for p in self.processes:
            if d == node_jid(p):
                return p
        raise AssertionError(f"call {i}: leg B from {self.calls[i].b_from}, no process's")

    def as_cluster_call(self, i):
        """What test_cluster_calls.assert_on_one_process reads."""
        c = self.calls[i]
        return SimpleNamespace(a_sid=c.a_sid, b_sid=c.b_sid, b_from=c.b_from,
                               node=domain_of(c.b_from))

    def legs(self, indices, timeout=10):
        """Each call's "legs" reading (and the gaps reset): index -> dict
        with a_/b_received, a_/b_gap_ms, a_/b_idle_ms (missing before any
        packet)."""
        for i in indices:
            self.readings.pop(i, None)
            self.load.send(f"legs {i}")
        deadline = time.monotonic() + timeout
        while any(i not in self.readings for i in indices):
            if time.monotonic() > deadline:
                raise Failed(f"no legs reading of {[i for i in indices if i not in self.readings]}")
            self.pump(0.5)
        return {i: self.readings[i] for i in indices}

    def settle(self, seconds):
        """Handles what arrives for @seconds (a belfry session-terminate
        outside a hang-up fails the test here)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(max(0.0, min(0.2, deadline - time.monotonic())))

    def drop(self, indices):
        """The load forgets calls whose process is gone (no packet more, no
        signalling: nobody is there to answer it)."""
        for i in indices:
            self.load.send(f"end {i} drop")
            self.calls[i].dropped = True


def worst_gap_ms(reading):
    """The longest silence either party of a call saw: between two packets
    since the previous reading, or since the last one."""
    return max(reading.get("a_gap_ms", 10 ** 9), reading.get("b_gap_ms", 10 ** 9),
               reading.get("a_idle_ms", 10 ** 9), reading.get("b_idle_ms", 10 ** 9))


class MediaSession:
    """The load, the parties and the driver of one test."""

    def __init__(self, cluster, users, processes):
        self.events = queue.Queue()
        self.load = LoadProc(self.events)
        self.parties = []
        try:
            self.driver = MediaCalls(self.load, self.events, processes)
            self.driver.wait_line("ports ", 10)
            # RFC 7675 consent on every leg, as a WebRTC party checks it
            self.load.send("consent on")
            for node, user, password, role in users:
                self.parties.append(Party(cluster, node, user, password, role, self.events))
        except BaseException:
            self.close()
            raise

    def close(self):
        for p in self.parties:
            try:
                p.close()
            except Exception:
                pass
        self.load.close()
