"""Fixtures that several integration test modules share, so that each
module says only what is its own: which users its Prosody has, how its
belfry is configured, which clients it logs in.

A module binds them to its names:

    abuse_prosody = prosody_fixture("abuse_prosody", USERS_HERE)
    relay = belfry_fixture("abuse_prosody", "belfry-call-abuse", modules="call", groups=...)
    alice = client_fixture("alice", "abuse_prosody", lambda p: online(p, "alice", "abuse-a"))

and imports `_belfry_survives` (autouse) by name; the calls a test makes
are test_call's `calls` and `new_call`.  Each
fixture is module-scoped where the copies it replaces were.
"""

import pytest

from harness import Belfry, Prosody, require_belfry


def prosody_fixture(name, users, scope="module"):
    """A Prosody of the module's own with @users (no s2s), named @name;
    scope="function" for a test that attaches a belfry of its own (the
    module's Prosody has its component slot taken)."""
    @pytest.fixture(scope=scope, name=name)
    def _prosody():
        require_belfry()
        p = Prosody(users=users, disabled=("s2s",))
        try:
            p.start()
            yield p
        finally:
            p.close()
    return _prosody


def belfry_fixture(prosody, tmp_name, **belfry_args):
    """The module's belfry, named "relay": attached to the Prosody fixture
    named @prosody, configured by @belfry_args (harness.Belfry's)."""
    @pytest.fixture(scope="module", name="relay")
    def _relay(request, tmp_path_factory):
        server = request.getfixturevalue(prosody)
        b = Belfry(tmp_path_factory.mktemp(tmp_name), port=server.component_port, **belfry_args)
        try:
            b.start()
            yield b
            b.stop()
        finally:
            b.kill_quietly()
    return _relay


def client_fixture(name, prosody, connect):
    """A client named @name, logged in once belfry runs: connect(the Prosody
    fixture named @prosody); closed at the end of the module."""
    @pytest.fixture(scope="module", name=name)
    def _client(request, relay):
        c = connect(request.getfixturevalue(prosody))
        yield c
        c.close()
    return _client


@pytest.fixture(autouse=True)
def _belfry_survives(request):
    """Every test of a module with a "relay" leaves belfry running."""
    yield
    if "relay" in request.fixturenames:
        b = request.getfixturevalue("relay")
        assert b.running(), f"belfry exited during the test; stderr:\n{b.log()[-6000:]}"
