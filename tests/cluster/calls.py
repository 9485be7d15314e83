"""Signalling-level relayed calls through the cluster, on the stanza
builders and readers of tests/integration/test_call.py (no media: fake
candidates and fingerprints, as there).

A call: the caller sends session-initiate to the callee's relay address on
the shared domain (relay.localhost, balanced by the caller's bare JID); the
process that answers rings the callee with a JMI <propose/> from
caller\\40localhost@nK.relay.localhost/<res>, its own sub-domain; the
callee proceeds and accepts; the caller gets the session-accept. It
connects only if the callee's stanzas reach the process holding the
caller's leg."""

import time
from xml.sax.saxutils import quoteattr

from harness import SECRET, Belfry, free_ports
from test_call import (addr, alice_offer, bare, bob_answer, domain_of, is_jingle, jingle_of,
                       jmi_child, jmi_xml, received, terminate_xml, wait_new)
from test_jingle import dump, new_sid

from cluster import ROOMS, node_jid

MEDIA = {"addresses": "127.0.0.1", "ice-timeout": "60"}


def relay_process(workdir, i, component_port, proxy65_port, siblings=(), extra_groups=None):
    """belfry process i (1-based): the shared domain and n<i>.relay.localhost,
    watching the processes @siblings (their numbers) to take a gone one's
    slot, echo, the call relay and proxy65 on its own port, no per-JID
    session limit (every call of a callee is one session of that JID).
    @extra_groups: more configuration groups ({"metrics": {...}}...)."""
    lo = 20000 + (i - 1) * 5000
    component = {"node-jid": node_jid(i), "rooms-jid": ROOMS}
    if siblings:
        component["siblings"] = ";".join(node_jid(j) for j in siblings)
    groups = {"media": dict(MEDIA, **{"port-range": f"{lo}-{lo + 4999}"}),
              "call": {"max-calls-per-jid": "20", "max-calls-per-minute": "600",
                       "ring-timeout": "30"},
              "proxy65": {"listen": f"127.0.0.1:{proxy65_port}"}}
    groups.update(extra_groups or {})
    return Belfry(workdir / f"n{i}", port=component_port, secret=SECRET,
                  modules="echo;call;proxy65;conference",
                  component_extra=component,
                  limits={"max-sessions-per-jid": "0"},
                  groups=groups)


def three_processes(cluster, workdir, metrics=False, extra_groups=None):
    """Generator for a fixture: processes 1 and 2 on node A, 3 on node B,
    each watching the other two, started; b.proxy65_port (and with
    @metrics, [metrics] listen on b.metrics_port) set.  Stopped after."""
    nodes = {1: cluster.a, 2: cluster.a, 3: cluster.b}
    made = {}
    for i, node in nodes.items():
        p65, mport = free_ports(2)
        groups = dict(extra_groups or {})
        if metrics:
            groups["metrics"] = {"listen": f"127.0.0.1:{mport}"}
        made[i] = relay_process(workdir, i, node.component_port, p65,
                                [j for j in nodes if j != i], groups)
        made[i].proxy65_port, made[i].metrics_port = p65, mport if metrics else None
    try:
        for b in made.values():
            start_attached(b)
        yield made
    finally:
        for b in made.values():
            if b.running():
                b.stop()
            b.kill_quietly()


def start_attached(b, timeout=15):
    """Started, its three links attached (the domain's, the rooms' and the
    node-jid's)."""
    b.start(wait_attached=False)
    b.wait_log("attached to 127.0.0.1:", timeout, count=3)
    return b


class ClusterCall:
    def __init__(self, caller, callee):
        self.caller, self.callee = caller, callee
        self.addr = addr(bare(callee.full_jid))
        self.caller_addr = addr(bare(caller.full_jid))
        self.a_sid = new_sid("cl")
        self.a_mark = len(received(caller))
        self.b_mark = len(received(callee))
        self.b_from = self.b_sid = None

    @property
    def node(self):
        """The sub-domain leg B came from: the process holding the call."""
        return domain_of(self.b_from)

    def initiate(self, timeout=5.0):
        reply = self.caller.iq(self.addr, "set",
                               alice_offer(self.a_sid, self.caller.full_jid, True), timeout=timeout)
        assert reply.get("type") == "result", f"session-initiate not acked: {dump(reply)}"
        return reply

    def establish(self):
        self.initiate()
        return self.establish_initiated()

    def establish_initiated(self):
        """The rest of establish(), once the session-initiate is acked."""
        msg = wait_new(self.callee, self.b_mark,
                       lambda e: jmi_child(e, "propose") is not None
                       and bare(e.get("from")).startswith(self.caller_addr.split("@")[0] + "@"),
                       10, f"JMI propose for {self.a_sid}")
        self.b_from = msg.get("from")
        self.b_sid = jmi_child(msg, "propose").get("id")
        self.callee.send_raw(jmi_xml(self.b_from, "proceed", self.b_sid))
        wait_new(self.callee, self.b_mark,
                 lambda e: is_jingle(e, self.b_from, self.b_sid, "session-initiate"), 10,
                 f"session-initiate sid={self.b_sid}")
        reply = self.callee.iq(self.b_from, "set",
                               bob_answer(self.b_sid, self.callee.full_jid, self.b_from, True))
        assert reply.get("type") == "result", f"leg B's session-accept not acked: {dump(reply)}"
        wait_new(self.caller, self.a_mark,
                 lambda e: is_jingle(e, self.addr, self.a_sid, "session-accept"), 10,
                 f"session-accept sid={self.a_sid}")
        return self

    def hang_up(self):
        """The caller ends the call; the callee must hear of it from the
        process that holds both legs."""
        mark = len(received(self.callee))
        reply = self.caller.iq(self.addr, "set", terminate_xml(self.a_sid, "success"))
        assert reply.get("type") == "result", f"session-terminate not acked: {dump(reply)}"
        wait_new(self.callee, mark,
                 lambda e: is_jingle(e, self.b_from, self.b_sid, "session-terminate"), 10,
                 f"session-terminate of leg B sid={self.b_sid}")

    def cleanup(self):
        for client, to, sid in ((self.caller, self.addr, self.a_sid),
                                (self.callee, self.b_from, self.b_sid)):
            if to and sid:
                try:
                    client.send_raw(f"<iq xmlns='jabber:client' type='set' to={quoteattr(to)} "
                                    f"id='cleanup-{sid}'>" + terminate_xml(sid, "success")
                                    + "</iq>")
                except Exception:
                    pass


def wait_until(pred, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


__all__ = ["ClusterCall", "relay_process", "start_attached", "wait_until", "jingle_of"]
