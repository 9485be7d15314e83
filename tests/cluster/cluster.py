"""A two-node ejabberd 23.01 cluster for belfry's scale-out tests
(docs/architecture.md, "Several relays behind one relay domain").

Two Erlang nodes, ejabberd@a.cluster on 127.0.0.2 and ejabberd@b.cluster on
127.0.0.3, each with its own config, spool and logs in a temp dir
(tests/integration/harness.py `Ejabberd`), the same cookie, and the same
distribution port: with no epmd (ERL_DIST_PORT) a node reaches another on
that one port at the other's address, so the members need an address each.
Their c2s and component listeners are on 127.0.0.1, ports chosen free.
Node B joins A with `ejabberdctl join_cluster` (which wipes B's own
database: users are registered once the cluster has formed).

The relay domain is balanced by the caller's bare JID over N slots, and each
belfry process also has a sub-domain of its own (`n1.relay.localhost`...);
the listener has `global_routes: false`, so a connection registers only the
domain it names.  Rooms are on rooms.relay.localhost, balanced by the room's
bare JID (bare_destination) over N slots.
"""

import secrets
import time

from harness import COMPONENT, Ejabberd, free_port, port_open

NODES = {"a": ("ejabberd@a.cluster", "127.0.0.2"), "b": ("ejabberd@b.cluster", "127.0.0.3")}
HOSTS = {"a.cluster": "127.0.0.2", "b.cluster": "127.0.0.3"}


# Rooms (the conference) live on a domain of their own, balanced by the
# room's bare JID, which every process attaches too.
ROOMS = f"rooms.{COMPONENT}"


def node_jid(i):
    """The sub-domain of belfry process i (1-based)."""
    return f"n{i}.{COMPONENT}"


def _dist_port_free_on(port, ips):
    import socket
    for ip in ips:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((ip, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


class Cluster:
    def __init__(self, users, processes=3, spares=1, balancing="bare_source"):
        """@processes slots for the shared domain; sub-domains for
        @processes + @spares processes (a spare finds no slot)."""
        self.users = dict(users)
        self.processes = processes
        cookie = secrets.token_hex(16)
        for _ in range(20):
            dist_port = free_port()
            if _dist_port_free_on(dist_port, [ip for _, ip in NODES.values()]):
                break
        else:
            raise RuntimeError("no distribution port free on both node addresses")
        components = [COMPONENT, ROOMS] + [node_jid(i)
                                           for i in range(1, processes + spares + 1)]
        extra = (f"domain_balancing:\n  {COMPONENT}:\n    type: {balancing}\n"
                 f"    component_number: {processes}\n"
                 f"  {ROOMS}:\n    type: bare_destination\n"
                 f"    component_number: {processes}\n")
        self.nodes = {}
        for name, (node, ip) in NODES.items():
            self.nodes[name] = Ejabberd(users={}, node=node, dist_ip=ip, dist_port=dist_port,
                                        hosts=HOSTS, cookie=cookie, components=components,
                                        service_yaml="    global_routes: false\n",
                                        extra_yaml=extra)

    @property
    def a(self):
        return self.nodes["a"]

    @property
    def b(self):
        return self.nodes["b"]

    def start(self):
        try:
            for n in self.nodes.values():
                n.start()
            self.b.ctl(("join_cluster", NODES["a"][0]), timeout=120)
            # join_cluster restarts ejabberd on B: its listeners go away and
            # come back.
            self._wait_members(60)
            self._wait_listening(self.b, 60)
            self.a.register(self.users)
        except BaseException:
            self.close()
            raise

    def members(self, node=None):
        out = (node or self.a).ctl(("list_cluster",))[0]
        return sorted(line.strip().strip("'") for line in out.split() if "@" in line)

    def _wait_members(self, timeout):
        want = sorted(n for n, _ in NODES.values())
        deadline = time.monotonic() + timeout
        while True:
            got = self.members(self.b)
            if got == want:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster members {got}, expected {want}")
            time.sleep(0.5)

    @staticmethod
    def _wait_listening(node, timeout):
        deadline = time.monotonic() + timeout
        time.sleep(1.0)
        while not (port_open(node.c2s_port) and port_open(node.component_port)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.node} not listening again after join_cluster")
            time.sleep(0.2)

    def close(self):
        errors = []
        for n in reversed(list(self.nodes.values())):
            try:
                n.close()
            except Exception as e:  # stop the other node whatever happens
                errors.append(f"{n.node}: {e}")
        if errors:
            raise RuntimeError("; ".join(errors))
