"""Fixtures for belfry's integration tests.

Run with Debian's interpreter (it has python3-slixmpp and python3-pytest):

    /usr/bin/python3 -m pytest tests/integration

BELFRY_BIN overrides the binary (default <repo>/build/relay/belfry).
BELFRY_KEEP_TMP=1 keeps the servers' temp dirs for post-mortems.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from harness import (Belfry, Client, Ejabberd, FakeServer, Prosody,  # noqa: E402
                     USERS, require_belfry)


@pytest.fixture(scope="session")
def belfry_bin():
    return require_belfry()


@pytest.fixture(scope="module")
def prosody():
    p = Prosody()
    try:
        p.start()
        yield p
    finally:
        p.close()


@pytest.fixture
def fresh_prosody():
    """A Prosody of the test's own (the shared one's component slot is taken)."""
    p = Prosody()
    try:
        p.start()
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def ejabberd():
    e = Ejabberd()
    try:
        e.start()
        yield e
    finally:
        e.close()


class _Factory:
    def __init__(self, workdir):
        self.workdir = workdir
        self.made = []

    def __call__(self, **kw):
        b = Belfry(self.workdir, **kw)
        self.made.append(b)
        return b

    def finish(self):
        errors = []
        for b in self.made:
            if b.running():
                try:
                    b.stop()
                except AssertionError as e:
                    errors.append(str(e))
        for b in self.made:
            b.kill_quietly()
        if errors:
            pytest.fail("belfry did not stop cleanly:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def belfry_factory(tmp_path, belfry_bin):
    """make(port=..., **config) -> Belfry (not started). Whatever is still
    running at the end is stopped with SIGTERM and must exit 0."""
    f = _Factory(tmp_path)
    yield f
    f.finish()


def attached_belfry(tmp_path_factory, server, name):
    require_belfry()
    b = Belfry(tmp_path_factory.mktemp(name), port=server.component_port)
    try:
        b.start()
    except BaseException:
        b.kill_quietly()
        raise
    return b


@pytest.fixture(scope="module")
def prosody_belfry(prosody, tmp_path_factory):
    b = attached_belfry(tmp_path_factory, prosody, "belfry-prosody")
    yield b
    try:
        b.stop()
    finally:
        b.kill_quietly()


@pytest.fixture(scope="module")
def ejabberd_belfry(ejabberd, tmp_path_factory):
    b = attached_belfry(tmp_path_factory, ejabberd, "belfry-ejabberd")
    yield b
    try:
        b.stop()
    finally:
        b.kill_quietly()


@pytest.fixture(scope="module")
def prosody_alice(prosody, prosody_belfry):
    c = Client("alice@localhost", USERS["alice"], prosody.c2s_port)
    yield c
    c.close()


@pytest.fixture(scope="module")
def ejabberd_alice(ejabberd, ejabberd_belfry):
    c = Client("alice@localhost", USERS["alice"], ejabberd.c2s_port)
    yield c
    c.close()


@pytest.fixture
def fake_server():
    s = FakeServer()
    yield s
    s.close()

