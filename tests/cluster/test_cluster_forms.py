"""The two-node ejabberd cluster itself: both nodes are members, and a user
on node A reaches a user on node B (what every other test here relies on)."""

from cluster import NODES
from harness import DOMAIN, USERS, Client


def test_both_nodes_are_members(cluster):
    want = sorted(n for n, _ in NODES.values())
    assert cluster.members(cluster.a) == want
    assert cluster.members(cluster.b) == want


def test_message_from_node_a_to_node_b(cluster):
    alice = Client(f"alice@{DOMAIN}", USERS["alice"], cluster.a.c2s_port)
    bob = Client(f"bob@{DOMAIN}", USERS["bob"], cluster.b.c2s_port)
    try:
        bob.send_raw("<presence xmlns='jabber:client'/>")
        alice.send_raw("<presence xmlns='jabber:client'/>")
        alice.message(bob.full_jid, "across the cluster 4Hq")
        msg = bob.wait_stanza(
            lambda e: e.tag.endswith("message") and e.findtext("{jabber:client}body") == "across the cluster 4Hq",
            timeout=10, what="alice's message on node B")
        assert msg.get("from") == alice.full_jid
    finally:
        alice.close()
        bob.close()
