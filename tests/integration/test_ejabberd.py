"""belfry attached to a real ejabberd 23.01, queried by a real slixmpp client."""

import pytest

import checks
from harness import COMPONENT, ECHO


def test_attach_log_line(ejabberd, ejabberd_belfry):
    log = ejabberd_belfry.log()
    assert f"attached to 127.0.0.1:{ejabberd.component_port} as {COMPONENT}" in log, log


def test_disco_info_domain(ejabberd_alice):
    checks.check_disco_info_domain(ejabberd_alice)


def test_disco_items_domain(ejabberd_alice):
    checks.check_disco_items_domain(ejabberd_alice)


def test_disco_info_echo(ejabberd_alice):
    checks.check_disco_info_echo(ejabberd_alice)


@pytest.mark.parametrize("to", [COMPONENT, ECHO])
def test_ping(ejabberd_alice, to):
    checks.check_ping(ejabberd_alice, to)


def test_version(ejabberd_alice):
    checks.check_version(ejabberd_alice)


@pytest.mark.parametrize("iq_type", ["get", "set"])
def test_unknown_namespace_is_service_unavailable(ejabberd_alice, iq_type):
    checks.check_unknown_namespace(ejabberd_alice, iq_type)


def test_unknown_address_iq_is_service_unavailable(ejabberd_alice):
    checks.check_unknown_address_iq(ejabberd_alice)


def test_unknown_address_message_is_service_unavailable(ejabberd_alice):
    checks.check_unknown_address_message(ejabberd_alice)


@pytest.mark.parametrize("mtype", ["chat", "normal"])
def test_echo_round_trip(ejabberd_alice, mtype):
    checks.check_echo(ejabberd_alice, mtype)


def test_iq_result_and_error_are_never_answered(ejabberd_alice):
    checks.check_results_and_errors_not_answered(ejabberd_alice)
