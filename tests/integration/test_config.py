"""belfry's command line and configuration: errors exit 2 naming file, group
and key, and start nothing; --check-config, --version, secret-file."""

import re

import pytest

from harness import (COMPONENT, SECRET, VERSION, Belfry, FakeServer, run_belfry,
                     write_config)


@pytest.fixture
def listener():
    """A port that is listening, so a connection attempt would be seen."""
    s = FakeServer()
    yield s
    s.close()


def assert_config_error(path, r, group, key, listener=None):
    err = r.stderr
    assert r.returncode == 2, f"exit {r.returncode}, expected 2; stderr:\n{err}"
    rx = re.escape(f"{path}: [{group}] ") + f"({key}): " + r"\S"
    assert re.search(rx, err), f"stderr does not name {path}: [{group}] {key}:\n{err}"
    assert "connecting to" not in err, f"a connection was attempted:\n{err}"
    if listener is not None:
        assert listener.no_connection_within(0.2), "belfry connected despite a config error"
    assert SECRET not in err + r.stdout, "the secret appears in the error output"


BAD = [
    # id, write_config kwargs / raw extra lines, group, key regex
    ("port-not-a-number", dict(port="abc"), "component", "port"),
    ("port-out-of-range", dict(port="70000"), "component", "port"),
    ("port-zero", dict(port="0"), "component", "port"),
    ("secret-and-secret-file", dict(secret_file="SECRETFILE"), "component",
     "secret|secret-file"),
    ("no-secret", dict(secret=None), "component", "secret|secret-file"),
    ("missing-jid", dict(jid=None), "component", "jid"),
    ("secret-file-missing", dict(secret=None, secret_file="/nonexistent/belfry-secret"),
     "component", "secret-file"),
    ("unknown-module", dict(modules="nosuchmodule"), "modules", "load"),
    ("unknown-component-key", dict(component_extra={"colour": "blue"}), "component", "colour"),
    ("unknown-limits-key", dict(limits={"max-stanza-size": "262144", "max-fun": "3"}),
     "limits", "max-fun"),
    ("unknown-modules-key", dict(groups={}, modules="echo\nautoload = yes"), "modules",
     "autoload"),
    ("unknown-module-group-key", dict(groups={"echo": {"bogus": "1"}}), "echo", "bogus"),
    ("bad-keepalive", dict(component_extra={"keepalive-interval": "soon"}), "component",
     "keepalive-interval"),
    ("bad-ping-timeout", dict(component_extra={"ping-timeout": "-5"}), "component",
     "ping-timeout"),
    ("bad-max-stanza-size", dict(limits={"max-stanza-size": "lots"}), "limits",
     "max-stanza-size"),
    ("bad-max-depth", dict(limits={"max-depth": "deep"}), "limits", "max-depth"),
    ("node-jid-not-a-domain", dict(component_extra={"node-jid": "n1@relay.localhost"}),
     "component", "node-jid"),
    ("node-jid-is-the-jid", dict(component_extra={"node-jid": "relay.localhost"}),
     "component", "node-jid"),
    ("rooms-jid-not-a-domain", dict(component_extra={"rooms-jid": "r@relay.localhost"}),
     "component", "rooms-jid"),
    ("rooms-jid-is-the-jid", dict(component_extra={"rooms-jid": "relay.localhost"}),
     "component", "rooms-jid"),
    ("siblings-without-node-jid", dict(component_extra={"siblings": "n2.relay.localhost"}),
     "component", "siblings"),
    ("sibling-not-a-domain", dict(component_extra={"node-jid": "n1.relay.localhost",
                                                   "siblings": "n2.relay.localhost;x@y"}),
     "component", "siblings"),
    ("sibling-is-itself", dict(component_extra={"node-jid": "n1.relay.localhost",
                                                "siblings": "n1.relay.localhost"}),
     "component", "siblings"),
    ("sibling-twice", dict(component_extra={"node-jid": "n1.relay.localhost",
                                            "siblings": "n2.relay.localhost;N2.relay.localhost"}),
     "component", "siblings"),
    # [media] shared-port: host candidates only, on a fixed port
    ("shared-port-with-port-range",
     dict(groups={"media": {"shared-port": "40000", "port-range": "40000-40100"}}),
     "media", "shared-port"),
    ("shared-port-with-stun", dict(groups={"media": {"shared-port": "0", "stun": "192.0.2.1"}}),
     "media", "shared-port"),
    ("shared-port-with-turn",
     dict(groups={"media": {"shared-port": "0", "turn": "turn:u:p@192.0.2.2:3478"}}),
     "media", "shared-port"),
    ("shared-port-beyond-65535", dict(groups={"media": {"workers": "3", "shared-port": "65534"}}),
     "media", "shared-port"),
    ("shared-port-not-a-port", dict(groups={"media": {"shared-port": "any"}}),
     "media", "shared-port"),
]


def make_bad(tmp_path, listener, kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("secret_file") == "SECRETFILE":
        sf = tmp_path / "secret"
        sf.write_text(SECRET + "\n")
        kwargs["secret_file"] = sf
    kwargs.setdefault("port", listener.port)
    return write_config(tmp_path / "belfry.conf", **kwargs)


@pytest.mark.parametrize("case,kwargs,group,key", BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_naming_file_group_key(tmp_path, listener, belfry_bin,
                                                  case, kwargs, group, key):
    path = make_bad(tmp_path, listener, kwargs)
    r = run_belfry(["-c", str(path)])
    assert_config_error(path, r, group, key, listener)


@pytest.mark.parametrize("case,kwargs,group,key",
                         [BAD[i] for i in (0, 3, 8, 11)],
                         ids=[BAD[i][0] for i in (0, 3, 8, 11)])
def test_check_config_rejects_bad_config(tmp_path, listener, belfry_bin,
                                         case, kwargs, group, key):
    path = make_bad(tmp_path, listener, kwargs)
    r = run_belfry(["--check-config", "-c", str(path)])
    assert_config_error(path, r, group, key, listener)


def test_missing_config_file_exits_2(tmp_path, belfry_bin):
    path = tmp_path / "does-not-exist.conf"
    r = run_belfry(["-c", str(path)])
    assert r.returncode == 2, f"exit {r.returncode}; stderr:\n{r.stderr}"
    assert str(path) in r.stderr, r.stderr
    assert "connecting to" not in r.stderr


def test_unparsable_config_file_exits_2(tmp_path, belfry_bin):
    path = tmp_path / "garbage.conf"
    path.write_text("[component\njid = relay.localhost\nthis is not a key file\n")
    r = run_belfry(["-c", str(path)])
    assert r.returncode == 2, f"exit {r.returncode}; stderr:\n{r.stderr}"
    assert str(path) in r.stderr, r.stderr
    assert "connecting to" not in r.stderr


@pytest.mark.parametrize("flag", ["-c", "--config"])
def test_check_config_accepts_good_config(tmp_path, listener, belfry_bin, flag):
    path = write_config(tmp_path / "belfry.conf", port=listener.port,
                        component_extra={"keepalive-interval": "60", "ping-timeout": "30"},
                        limits={"max-stanza-size": "262144", "max-depth": "32",
                                "max-attributes": "64"})
    r = run_belfry(["--check-config", flag, str(path)])
    assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"
    assert "connecting to" not in r.stderr, r.stderr
    assert listener.no_connection_within(0.2), "--check-config connected to the server"
    assert SECRET not in r.stderr + r.stdout


def test_check_config_accepts_shared_port(tmp_path, listener, belfry_bin):
    path = write_config(tmp_path / "belfry.conf", port=listener.port,
                        groups={"media": {"workers": "2", "shared-port": "65534",
                                          "addresses": "127.0.0.1"}})
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 0, f"exit {r.returncode}; stderr:\n{r.stderr}"


def test_version(belfry_bin):
    r = run_belfry(["--version"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"belfry {VERSION}", repr(r.stdout)


@pytest.mark.parametrize("content", [SECRET + "\n", SECRET],
                         ids=["trailing-newline", "no-newline"])
def test_secret_file_attaches_to_prosody(prosody, tmp_path, belfry_bin, content):
    sf = tmp_path / "component.secret"
    sf.write_text(content)
    sf.chmod(0o600)
    b = Belfry(tmp_path, port=prosody.component_port, secret=None, secret_file=sf)
    b.secret = SECRET  # for the never-logged check in stop()
    try:
        b.start(timeout=10)
        assert f"attached to 127.0.0.1:{prosody.component_port} as {COMPONENT}" in b.log()
        assert "refused" not in b.log()
        b.stop()
    finally:
        b.kill_quietly()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_example_cluster_configs_check(tmp_path, belfry_bin, n):
    """examples/belfry-nN.conf (README "Running several relays") are valid,
    each with its own node-jid (the secret file swapped for a secret)."""
    from harness import REPO
    text = (REPO / "examples" / f"belfry-n{n}.conf").read_text()
    assert f"node-jid = n{n}.relay.example.org" in text
    others = ";".join(f"n{j}.relay.example.org" for j in (1, 2, 3) if j != n)
    assert f"siblings = {others}" in text
    assert "rooms-jid = rooms.relay.example.org" in text
    path = tmp_path / f"belfry-n{n}.conf"
    path.write_text(text.replace("secret-file = /etc/belfry/secret", f"secret = {SECRET}"))
    r = run_belfry(["--check-config", "-c", str(path)])
    assert r.returncode == 0, r.stderr
