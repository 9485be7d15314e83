"""Metrics of a process's several component connections (README
"Metrics"): with [component] node-jid, rooms-jid and siblings, belfry holds
the shared domain's connection, its node-jid's and the rooms' domain's
(roles shared, node, rooms), and opens more in a gone sibling's slots
(role takeover); belfry_sibling_* say what it thinks of each sibling.

A real Prosody with the three, and the sibling's sub-domain, as separate
components.  Without siblings, a Prosody restart: each of the three roles
counts one reconnect.  With a sibling (a second belfry attached as
n2.relay.localhost: it answers pings on its domain as a sibling does on
its node-jid): killed, n1 (its heir, the only other process) counts it
gone and tries to take its slots; Prosody accepts one connection per
component, so the takeover connections are refused (<conflict/>) and never
attach while the process's own three stay up; the sibling back, n1 lets
go.  (On Prosody, siblings are meaningless -- one process per domain --
but what the metrics show does not depend on the server.)"""

import time

import pytest

from harness import COMPONENT, SECRET, Belfry, Prosody, free_port, require_belfry
from test_metrics import scrape, value

NODE = f"n1.{COMPONENT}"
ROOMS = f"rooms.{COMPONENT}"
SIBLING = f"n2.{COMPONENT}"
ROLES = ("shared", "node", "rooms")


@pytest.fixture
def prosody3():
    extra = "".join(f'Component "{d}"\n  component_secret = "{SECRET}"\n'
                    for d in (NODE, ROOMS, SIBLING))
    p = Prosody(extra=extra)
    p.start()
    yield p
    p.close()


def metrics(b):
    return scrape(b.mport)[1]


def wait_metrics(b, pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        s = metrics(b)
        if pred(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s; have "
                                 + repr([x for x in s if "link" in x[0] or "sibling" in x[0]]))
        time.sleep(0.2)


def links(s, name, role):
    return value(s, name, role=role)


def relay(prosody, tmp_path, **component):
    require_belfry()
    mport = free_port()
    b = Belfry(tmp_path / "n1", port=prosody.component_port, modules="echo",
               component_extra=dict({"node-jid": NODE, "rooms-jid": ROOMS}, **component),
               groups={"metrics": {"listen": f"127.0.0.1:{mport}"}})
    b.mport = mport
    return b


def start_three(b):
    b.start(wait_attached=False)
    b.wait_log("attached to 127.0.0.1:", 15, count=3)
    s = wait_metrics(b, lambda s: all(links(s, "belfry_component_links_up", r) == 1
                                      for r in ROLES), 5, "three roles up")
    for r in ROLES:
        assert links(s, "belfry_component_link_attaches_total", r) == 1, r
        assert links(s, "belfry_component_link_reconnects_total", r) == 0, r
    # the shared role is the unlabelled belfry_link_*'s connection
    assert value(s, "belfry_link_up") == 1
    return s


def stop_all(*bs):
    for x in bs:
        if x.running():
            x.stop()
        x.kill_quietly()


def test_each_role_reconnects_after_a_server_restart(prosody3, tmp_path):
    b = relay(prosody3, tmp_path)
    try:
        s = start_three(b)
        assert not [x for x in s if x[0] == "belfry_component_links_up"
                    and x[1].get("role") == "takeover"], "takeover series without siblings"
        prosody3.restart()
        s = wait_metrics(b, lambda s: all(
            links(s, "belfry_component_links_up", r) == 1
            and links(s, "belfry_component_link_reconnects_total", r) == 1 for r in ROLES),
            30, "three roles back")
        for r in ROLES:
            assert links(s, "belfry_component_link_attaches_total", r) == 2, r
            assert links(s, "belfry_component_link_connects_total", r) >= 2, r
        assert value(s, "belfry_link_reconnects_total") == 1
    finally:
        stop_all(b)


def test_a_takeover_refused_by_prosody(prosody3, tmp_path):
    b = relay(prosody3, tmp_path, siblings=SIBLING)
    sibling = Belfry(tmp_path / "n2", port=prosody3.component_port, modules="echo", jid=SIBLING)
    try:
        sibling.start()
        s = start_three(b)
        assert value(s, "belfry_sibling_up", sibling=SIBLING) == 1
        assert value(s, "belfry_sibling_taken_over", sibling=SIBLING) == 0
        assert links(s, "belfry_component_links_up", "takeover") == 0
        # the sibling dies: gone after two pings, and n1 tries its slots
        sibling.kill_quietly()
        b.wait_log(f"siblings: {SIBLING} is gone", 10)
        s = wait_metrics(b, lambda s: links(s, "belfry_component_link_connects_total",
                                            "takeover") >= 2, 10, "takeover attempts")
        assert value(s, "belfry_sibling_up", sibling=SIBLING) == 0
        assert value(s, "belfry_sibling_taken_over", sibling=SIBLING) == 1
        assert value(s, "belfry_sibling_takeovers_total", sibling=SIBLING) == 1
        assert links(s, "belfry_component_links_up", "takeover") == 0
        assert links(s, "belfry_component_link_attaches_total", "takeover") == 0
        for r in ROLES:
            assert links(s, "belfry_component_links_up", r) == 1, f"{r} lost to the takeover"
        # back: released
        sibling.start()
        b.wait_log(f"siblings: releasing the shared-domain slot held for {SIBLING}", 5)
        s = metrics(b)
        assert value(s, "belfry_sibling_up", sibling=SIBLING) == 1
        assert value(s, "belfry_sibling_taken_over", sibling=SIBLING) == 0
        assert value(s, "belfry_sibling_takeovers_total", sibling=SIBLING) == 1
        assert links(s, "belfry_component_link_connects_total", "takeover") >= 2
        for r in ROLES:
            assert links(s, "belfry_component_links_up", r) == 1, r
    finally:
        stop_all(b, sibling)
