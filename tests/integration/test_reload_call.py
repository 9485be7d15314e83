"""SIGHUP and the call module (modules/call/call.c call_reload, through
bf_module_set_reload_func): [call] allow-domains changes live.  With
allow-domains = example.org, alice@localhost's call is declined; after the
file says localhost and belfry gets SIGHUP, the same call rings bob.  A bad
value in [call] on reload keeps the running list (logged with file, group
and key).  The call fixtures and helpers are test_call.py's."""

import signal

from harness import Belfry, write_config
from test_call import (MEDIA as CALL_MEDIA, assert_nothing_from_relay, call_prosody,  # noqa: F401
                       calls, new_call, online, reason_of)


def test_allow_domains_live(call_prosody, calls, tmp_path):  # noqa: F811
    path = tmp_path / "call.conf"

    def conf(allow):
        write_config(path, port=call_prosody.component_port, modules="call",
                     groups={"media": CALL_MEDIA, "call": {"allow-domains": allow}})

    conf("example.org")
    relay = Belfry(tmp_path, config_path=path)
    alice = bob = None
    try:
        relay.start()
        alice = online(call_prosody, "alice", "reloadcall")
        bob = online(call_prosody, "bob", "reloadcall")
        c = new_call(calls, relay, alice, bob, tag="before")
        c.initiate(video=False)
        assert reason_of(c.wait_a("session-terminate", 5))[0] == "decline"
        assert_nothing_from_relay(bob, c.b_mark, 0.5, "a call from a domain not allowed")

        conf("localhost")
        relay.send_signal(signal.SIGHUP)
        relay.wait_log("reload: [call] allow-domains: example.org → localhost", 5)
        c = new_call(calls, relay, alice, bob, tag="after")
        c.initiate(video=False)
        c.wait_propose()

        # a broken value: the module keeps its running list
        path.write_text(path.read_text().replace("allow-domains = localhost", "allow-domains ="))
        relay.send_signal(signal.SIGHUP)
        relay.wait_log("[call] allow-domains: empty (use * to allow anyone) "
                       "(the module keeps its running settings)", 5)
        assert f"{path}: [call] allow-domains" in relay.log()
        c.cleanup()
        relay.stop()
    finally:
        for client in (alice, bob):
            if client:
                client.close()
        relay.kill_quietly()
