"""belfry attached to a real Prosody 0.12, queried by a real slixmpp client."""

import hashlib
import re
import time

import pytest

import checks
from harness import COMPONENT, ECHO, NS_DISCO_INFO, SECRET, USERS, Client


# --- router, through the shared Prosody + belfry -----------------------------

def test_disco_info_domain(prosody_alice):
    checks.check_disco_info_domain(prosody_alice)


def test_disco_items_domain(prosody_alice):
    checks.check_disco_items_domain(prosody_alice)


def test_disco_info_echo(prosody_alice):
    checks.check_disco_info_echo(prosody_alice)


@pytest.mark.parametrize("to", [COMPONENT, ECHO])
def test_ping(prosody_alice, to):
    checks.check_ping(prosody_alice, to)


def test_version(prosody_alice):
    checks.check_version(prosody_alice)


@pytest.mark.parametrize("iq_type", ["get", "set"])
def test_unknown_namespace_is_service_unavailable(prosody_alice, iq_type):
    checks.check_unknown_namespace(prosody_alice, iq_type)


def test_unknown_namespace_to_echo_is_service_unavailable(prosody_alice):
    checks.check_unknown_namespace(prosody_alice, "get", to=ECHO)


def test_unknown_address_iq_is_service_unavailable(prosody_alice):
    checks.check_unknown_address_iq(prosody_alice)


def test_unknown_address_message_is_service_unavailable(prosody_alice):
    checks.check_unknown_address_message(prosody_alice)


@pytest.mark.parametrize("mtype", ["chat", "normal"])
def test_echo_round_trip(prosody_alice, mtype):
    checks.check_echo(prosody_alice, mtype)


def test_echo_for_second_user(prosody, prosody_belfry):
    bob = Client("bob@localhost", USERS["bob"], prosody.c2s_port)
    try:
        checks.check_echo(bob, "chat")
    finally:
        bob.close()


def test_iq_result_and_error_are_never_answered(prosody_alice):
    checks.check_results_and_errors_not_answered(prosody_alice)


def test_error_message_is_never_answered(prosody_alice):
    checks.check_error_message_not_answered(prosody_alice)


def test_attach_log_line(prosody, prosody_belfry):
    log = prosody_belfry.log()
    assert f"connecting to 127.0.0.1:{prosody.component_port}" in log, log
    assert f"attached to 127.0.0.1:{prosody.component_port} as {COMPONENT}" in log, log


# --- lifecycle: each with a Prosody of its own -------------------------------

def disco_ok(client):
    r = client.query(COMPONENT, NS_DISCO_INFO, timeout=3)
    return r.get("type") == "result"


def test_prosody_restart_reattaches(fresh_prosody, belfry_factory):
    b = belfry_factory(port=fresh_prosody.component_port).start()
    c = Client("alice@localhost", USERS["alice"], fresh_prosody.c2s_port)
    try:
        assert disco_ok(c)
    finally:
        c.close()

    fresh_prosody.restart()
    t0 = time.monotonic()
    b.wait_log(f"attached to 127.0.0.1:{fresh_prosody.component_port} as {COMPONENT}",
               10, count=2)
    left = 10 - (time.monotonic() - t0)
    c = Client("alice@localhost", USERS["alice"], fresh_prosody.c2s_port, timeout=max(left, 1))
    try:
        ok = False
        while time.monotonic() - t0 < 10:
            if disco_ok(c):
                ok = True
                break
            time.sleep(0.2)
        assert ok, f"no disco answer within 10 s of Prosody's restart; log:\n{b.log()[-4000:]}"
    finally:
        c.close()
    assert "reconnecting in" in b.log()
    assert b.running()


def test_wrong_secret_is_reported_and_not_busy_looped(fresh_prosody, belfry_factory):
    wrong = "wrong-secret-Xy77Pq"
    b = belfry_factory(port=fresh_prosody.component_port, secret=wrong)
    b.start(wait_attached=False)
    t0 = time.monotonic()
    b.wait_log(f"the server refused the component secret for {COMPONENT}", 5)
    time.sleep(max(0.0, 8.0 - (time.monotonic() - t0)))
    log = b.log()
    attempts = log.count(f"connecting to 127.0.0.1:{fresh_prosody.component_port}")
    assert 2 <= attempts <= 5, f"{attempts} connection attempts in 8 s:\n{log[-4000:]}"
    assert "attached to" not in log, log[-4000:]
    assert re.search(r"reconnecting in \d+\.\d s", log), log[-4000:]
    assert b.running(), "belfry gave up instead of retrying with backoff"
    # stop() (at teardown too) asserts exit 0 and that `wrong` was never logged
    b.stop()


def test_verbose_logs_stanzas_but_never_the_secret(fresh_prosody, belfry_factory):
    b = belfry_factory(port=fresh_prosody.component_port, verbose=True).start()
    c = Client("alice@localhost", USERS["alice"], fresh_prosody.c2s_port)
    try:
        checks.check_disco_info_domain(c)
        checks.check_echo(c, "chat")
    finally:
        c.close()
    b.stop()
    log = b.log()
    assert re.search(r"RECV: <iq\b[^\n]*" + re.escape(NS_DISCO_INFO), log), log[-4000:]
    assert re.search(r"SEND: <iq\b[^\n]*" + re.escape(NS_DISCO_INFO), log), log[-4000:]
    assert re.search(r"SEND: <message\b", log), log[-4000:]
    assert SECRET not in log
    # The handshake is logged redacted: not even the digest shows.
    assert not re.search(r"<handshake>\s*[0-9a-fA-F]{40}", log), "handshake digest logged"
    m = re.search(r"<stream:stream\b[^\n]*\bid=['\"]([^'\"]+)['\"]", log)
    if m:
        digest = hashlib.sha1((m.group(1) + SECRET).encode()).hexdigest()
        assert digest not in log.lower(), "the handshake digest appears in the verbose log"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_exits_0_within_2s(fresh_prosody, belfry_factory, sig):
    import signal
    b = belfry_factory(port=fresh_prosody.component_port).start()
    rc, seconds = b.terminate(getattr(signal, sig))
    assert rc == 0, f"exit code {rc} after {sig}; log:\n{b.log()[-4000:]}"
    assert seconds < 2.0, f"took {seconds:.2f} s to exit after {sig}"
    b.assert_secret_not_logged()
