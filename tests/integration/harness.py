"""Helpers for belfry's integration tests: throwaway real XMPP servers
(Prosody, ejabberd) on loopback, the belfry process, a real slixmpp client
and a deliberately misbehaving fake server.

Everything listens on 127.0.0.1 only, on ports chosen by the kernel, so runs
can overlap. Every process is a child of the test process, is stopped by its
own PID and is waited for (PID 1 on these machines does not reap orphans).
"""

import asyncio
import hashlib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

REPO = Path(__file__).resolve().parents[2]
BELFRY_BIN = os.environ.get("BELFRY_BIN", str(REPO / "build" / "relay" / "belfry"))
VERSION = "0.1.0"

COMPONENT = "relay.localhost"
ECHO = "echo@" + COMPONENT
DOMAIN = "localhost"
USERS = {"alice": "alice-pw-7Qx", "bob": "bob-pw-3Lm"}
# Distinctive so that a leak into a log is unambiguous.
SECRET = "s3cr3t-belfry-Zq8Wk4"

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"
NS_ECHO = "urn:belfry:echo:0"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"

SETPRIV = ["setpriv", "--init-groups"]


def _tail(path, n=4000):
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return data[-n:].decode("utf-8", "replace")


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (all held open while choosing)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_ports(ports, timeout, proc=None, what="server", log=None):
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {proc.returncode} before listening on "
                f"{pending}; log:\n{_tail(log) if log else ''}")
        if port_open(pending[0]):
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} not listening on {pending} after {timeout}s; log:\n"
                f"{_tail(log) if log else ''}")
        time.sleep(0.05)


def _proc_children(pid):
    try:
        data = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in data.split()]


def _proc_comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _group_members(pgid):
    """PIDs whose process group is pgid (a group we created with setsid)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def _reap_group(proc):
    """Kill (by PID) anything left in the session/group we created for proc."""
    for pid in _group_members(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _chown_tree(path, user):
    shutil.chown(path, user, user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            shutil.chown(os.path.join(root, name), user, user)


# ---------------------------------------------------------------------------
# Prosody 0.12
# ---------------------------------------------------------------------------

class Prosody:
    """A throwaway Prosody in its own temp dir, run as the prosody user in the
    foreground (setpriv; as root Prosody refuses to run and does not exit).
    restart() keeps the same ports."""

    MODULES = ("roster", "saslauth", "disco", "ping")

    DISABLED = ("s2s", "offline")

    def __init__(self, secret=SECRET, users=USERS, modules=MODULES, extra="",
                 prefix="belfry-prosody-", disabled=DISABLED):
        """`modules` for modules_enabled; `disabled` for modules_disabled
        (e.g. without "offline", messages to an offline user are stored, as
        on a real server, instead of bounced); `extra`: global options (Lua
        lines) placed before the first VirtualHost."""
        self.secret = secret
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.c2s_port, self.component_port, self.http_port = free_ports(3)
        self.config = self.dir / "prosody.cfg.lua"
        self.log = self.dir / "prosody.log"
        self.console = self.dir / "console.log"
        self.proc = None
        self.ready_ports = [self.c2s_port, self.component_port]
        (self.dir / "data").mkdir()
        d = self.dir
        enabled = ", ".join(f'"{m}"' for m in modules)
        disabled_list = ", ".join(f'"{m}"' for m in disabled)
        self.config.write_text(f"""\
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{self.log}" }} }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.c2s_port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
http_ports = {{ {self.http_port} }}
http_interfaces = {{ "127.0.0.1" }}
modules_enabled = {{ {enabled} }}
modules_disabled = {{ {disabled_list} }}
authentication = "internal_hashed"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
{extra}VirtualHost "{DOMAIN}"
Component "{COMPONENT}"
  component_secret = "{secret}"
""")
        _chown_tree(self.dir, "prosody")
        for user, pw in users.items():
            r = subprocess.run(
                SETPRIV + ["--reuid=prosody", "--regid=prosody", "prosodyctl",
                           "--config", str(self.config), "register", user, DOMAIN, pw],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                raise RuntimeError(f"prosodyctl register {user} failed: {r.stdout}{r.stderr}")

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        out = open(self.console, "ab")
        try:
            self.proc = subprocess.Popen(
                SETPRIV + ["--reuid=prosody", "--regid=prosody",
                           "prosody", "-F", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=self.dir)
        finally:
            out.close()
        try:
            wait_ports(self.ready_ports, 20, self.proc, "prosody", self.log)
        except Exception:
            self.stop()
            raise

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        _reap_group(self.proc)

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        try:
            self.stop()
        finally:
            if not os.environ.get("BELFRY_KEEP_TMP"):
                shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        return _tail(self.log, 1 << 20)


# ---------------------------------------------------------------------------
# ejabberd 23.01
# ---------------------------------------------------------------------------
#
# How to run a throwaway ejabberd as a child, found by experiment (Debian 12,
# ejabberd 23.01, OTP 25). Pitfalls:
#
# * `ejabberdctl` run as root re-executes everything through
#   `su ejabberd`, which resets HOME to /var/lib/ejabberd (the system node's
#   Erlang cookie) and adds su/sh processes in between. So run ejabberdctl
#   itself as the ejabberd user (setpriv) with HOME pointing at a private
#   dir: the instance gets its own .erlang.cookie, and ejabberdctl's
#   sub-commands (register) find the same cookie through the same HOME.
# * `ejabberdctl foreground` does not exec the VM: the process we start is
#   bash, its child is beam.smp. SIGTERM to bash kills bash and orphans the
#   VM. Stop it by sending SIGTERM to the beam.smp child (OTP >= 19 turns
#   SIGTERM into a graceful init:stop(); takes ~2.3 s), then wait for bash,
#   which exits when the VM does. We also start it in a new session so a
#   Ctrl-C in the terminal does not reach it and anything left in that group
#   afterwards can be found and killed by PID.
# * Without ERL_DIST_PORT, ejabberdctl uses epmd on 0.0.0.0:4369, starts it
#   if absent, and its check_start may even run `epmd -kill`. With
#   ERL_DIST_PORT set it passes `-start_epmd false -erl_epmd_port PORT`: no
#   epmd at all, and the distribution listener sits on PORT, bound to
#   127.0.0.1 by INET_DIST_INTERFACE. ejabberdctl sub-commands reach the node
#   over that same port (from ejabberdctl.cfg), so concurrent instances with
#   the same node name do not clash.
# * --config-dir must contain an `inetrc`, else every erl started by
#   ejabberdctl prints an "inet_config: file .../inetrc not found" report.
# * Never use Debian's /etc/ejabberd/ejabberd.yml (many public listeners);
#   we write our own with only c2s and the component listener.
# * Users can only be registered once the node runs (`ejabberdctl register`
#   talks to the node); each call boots an Erlang VM (~1 s), so run them
#   concurrently. Readiness: the listeners accept TCP only after "ejabberd
#   ... is started" (about 2 s after launch here).
# * Mnesia lives in the spool dir; all dirs must belong to ejabberd.

class Ejabberd:
    """One ejabberd node. The defaults are a lone node; a cluster member
    (tests/cluster) names its node (`node`, a long name its `hosts` map to
    loopback addresses through inetrc), binds its distribution listener to
    `dist_ip` on the `dist_port` all members share (with no epmd, a node
    reaches another on ERL_DIST_PORT at that node's address), shares the
    members' `cookie`, and adds top-level YAML (`extra_yaml`) and component
    listener options (`service_yaml`, indented under the listener)."""

    def __init__(self, secret=SECRET, users=USERS, *, node="ejabberd@localhost",
                 dist_ip="127.0.0.1", dist_port=None, hosts=None, cookie=None,
                 components=(COMPONENT,), service_yaml="", extra_yaml=""):
        self.secret = secret
        self.users = dict(users)
        self.node = node
        self.dir = Path(tempfile.mkdtemp(prefix="belfry-ejabberd-"))
        self.conf = self.dir / "conf"
        self.logs = self.dir / "logs"
        self.spool = self.dir / "spool"
        self.home = self.dir / "home"
        for p in (self.conf, self.logs, self.spool, self.home):
            p.mkdir()
        self.c2s_port, self.component_port, self.dist_port = free_ports(3)
        if dist_port is not None:
            self.dist_port = dist_port
        self.console = self.logs / "console.log"
        self.log = self.logs / "ejabberd.log"
        self.proc = None
        if cookie is not None:
            (self.home / ".erlang.cookie").write_text(cookie)
            (self.home / ".erlang.cookie").chmod(0o400)
        (self.conf / "ejabberdctl.cfg").write_text(
            f"ERL_DIST_PORT={self.dist_port}\n"
            f"INET_DIST_INTERFACE={dist_ip}\n"
            f"ERLANG_NODE={node}\n"
            'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\n'
            "EJABBERD_BYPASS_WARNINGS=true\n")
        host_lines = "".join(f'{{host,{{{ip.replace(".", ",")}}}, ["{name}"]}}.\n'
                             for name, ip in (hosts or {"localhost": "127.0.0.1"}).items())
        (self.conf / "inetrc").write_text('{lookup,["file","native"]}.\n' + host_lines)
        component_hosts = "".join(f"""\
      {c}:
        password: "{secret}"
""" for c in components)
        (self.conf / "ejabberd.yml").write_text(f"""\
hosts:
  - {DOMAIN}
loglevel: info
certfiles: []
acme:
  auto: false
auth_method: internal
auth_password_format: plain
default_db: mnesia
listen:
  - port: {self.c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
  - port: {self.component_port}
    ip: "127.0.0.1"
    module: ejabberd_service
{service_yaml}    hosts:
{component_hosts}acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
{extra_yaml}""")
        _chown_tree(self.dir, "ejabberd")

    def _ctl(self, *args):
        return (SETPRIV + ["--reuid=ejabberd", "--regid=ejabberd", "ejabberdctl",
                           "--config-dir", str(self.conf), "--logs", str(self.logs),
                           "--spool", str(self.spool)] + list(args))

    def _env(self):
        env = dict(os.environ)
        env["HOME"] = str(self.home)
        return env

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        out = open(self.console, "ab")
        try:
            self.proc = subprocess.Popen(
                self._ctl("foreground"), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=self._env(), start_new_session=True,
                cwd=self.dir)
        finally:
            out.close()
        try:
            wait_ports([self.c2s_port, self.component_port], 60, self.proc,
                       "ejabberd", self.console)
            self.register(self.users)
        except Exception:
            self.stop()
            raise

    def ctl(self, *commands, timeout=60):
        """Runs the ejabberdctl commands (each a tuple of arguments) at once
        against the running node; each boots a VM (~1 s). Returns their
        outputs; any non-zero exit raises."""
        runs = [subprocess.Popen(self._ctl(*c), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env=self._env(), cwd=self.dir)
                for c in commands]
        outs, errors = [], []
        for c, r in zip(commands, runs):
            try:
                out_, _ = r.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                for other in runs:
                    if other.poll() is None:
                        other.kill()
                        other.wait()
                raise
            outs.append(out_.decode(errors="replace"))
            if r.returncode != 0:
                errors.append(f"ejabberdctl {' '.join(c[:1])} exited {r.returncode}: {outs[-1]}")
        if errors:
            raise RuntimeError("\n".join(errors))
        return outs

    def register(self, users, at_once=4):
        """Each registration boots a VM: a few at a time on a loaded machine."""
        items = [("register", u, DOMAIN, pw) for u, pw in users.items()]
        for i in range(0, len(items), at_once):
            self.ctl(*items[i:i + at_once])

    def _beam_pid(self):
        for pid in _proc_children(self.proc.pid):
            if _proc_comm(pid) == "beam.smp":
                return pid
        return None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                _reap_group(self.proc)
            return
        beam = self._beam_pid()
        try:
            os.kill(beam if beam else self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            if beam:
                try:
                    os.kill(beam, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait(10)
        _reap_group(self.proc)

    def close(self):
        try:
            self.stop()
        finally:
            if not os.environ.get("BELFRY_KEEP_TMP"):
                shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# belfry
# ---------------------------------------------------------------------------

def require_belfry():
    assert os.path.isfile(BELFRY_BIN) and os.access(BELFRY_BIN, os.X_OK), (
        f"belfry binary not found or not executable: {BELFRY_BIN} "
        "(build it, or set BELFRY_BIN)")
    return BELFRY_BIN


def write_config(path, *, port, secret=SECRET, jid=COMPONENT, host="127.0.0.1",
                 secret_file=None, component_extra=None, limits=None,
                 modules="echo", groups=None):
    lines = ["[component]"]
    if jid is not None:
        lines.append(f"jid = {jid}")
    lines.append(f"host = {host}")
    lines.append(f"port = {port}")
    if secret is not None:
        lines.append(f"secret = {secret}")
    if secret_file is not None:
        lines.append(f"secret-file = {secret_file}")
    for k, v in (component_extra or {}).items():
        lines.append(f"{k} = {v}")
    if limits:
        lines.append("")
        lines.append("[limits]")
        for k, v in limits.items():
            lines.append(f"{k} = {v}")
    if modules is not None:
        lines.append("")
        lines.append("[modules]")
        lines.append(f"load = {modules}")
    groups = dict(groups or {})
    if os.environ.get("BELFRY_TEST_SHARED_PORT") == "1":
        # Runs a suite on the worker's shared port ([media] shared-port),
        # where a test's media settings allow it (no TURN, STUN or port range).
        media = dict(groups.get("media") or {})
        if not {"turn", "stun", "port-range", "shared-port"} & set(media):
            media["shared-port"] = "0"
            groups["media"] = media
    for group, kv in groups.items():
        lines.append("")
        lines.append(f"[{group}]")
        for k, v in kv.items():
            lines.append(f"{k} = {v}")
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


class Belfry:
    """One belfry process. stderr goes to a file that tests search."""

    _seq = itertools.count()

    def __init__(self, workdir, *, port=None, secret=SECRET, verbose=False,
                 config_path=None, command_prefix=None, binary=None, **config):
        self.dir = Path(workdir)
        # Another build of belfry (the benchmarks' before/after rows); None:
        # BELFRY_BIN.
        self.binary = binary
        # A command that execs belfry (its arguments appended), e.g. into a
        # mount namespace of its own: the PID stays belfry's.
        self.command_prefix = list(command_prefix or [])
        self.dir.mkdir(parents=True, exist_ok=True)
        n = next(self._seq)
        self.secret = secret
        self.verbose = verbose
        if config_path is None:
            config_path = write_config(self.dir / f"belfry-{n}.conf", port=port,
                                       secret=secret, **config)
        self.config = Path(config_path)
        self.stderr_path = self.dir / f"belfry-{n}.stderr"
        self.stdout_path = self.dir / f"belfry-{n}.stdout"
        self.proc = None
        self.returncode = None
        self.stop_seconds = None
        # strings that must never reach belfry's output (e.g. handshake digests)
        self.forbidden = []
        # The conference module may load GStreamer (its MCU and recorder):
        # in the ASan build, mallocs are then unwound fully, so LeakSanitizer
        # sees that the one block GLib leaks on purpose once GStreamer's
        # quarks outgrow its first table was allocated while libglib loaded
        # (tests/lsan.supp, _dl_init); the fast unwinder stops inside libglib
        # and cannot tell it from a leak of ours.  No effect outside ASan.
        # (GStreamer starts when the module does, so any belfry that loads
        # the conference, whether from keyword groups or a config file.)
        try:
            text = self.config.read_text(errors="replace")
        except OSError:
            text = ""             # a test of a missing or unreadable file
        self.full_unwind = "conference" in str(config.get("modules", "")) or "conference" in text

    @property
    def pid(self):
        return self.proc.pid

    def start(self, wait_attached=True, timeout=10):
        args = self.command_prefix + [self.binary or require_belfry(), "-c", str(self.config)]
        if self.verbose:
            args.append("--verbose")
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            env = None
            if self.full_unwind:
                env = dict(os.environ)
                old = env.get("ASAN_OPTIONS")
                env["ASAN_OPTIONS"] = ((old + ":") if old else "") + "fast_unwind_on_malloc=0"
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=self.dir, env=env)
        if wait_attached:
            self.wait_log("attached to 127.0.0.1:", timeout)
        return self

    def log(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def count(self, needle):
        return self.log().count(needle)

    def wait_log(self, needle, timeout, count=1):
        deadline = time.monotonic() + timeout
        while True:
            if self.count(needle) >= count:
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"belfry exited ({self.proc.returncode}) while waiting for "
                    f"{needle!r} x{count}; stderr:\n{self.log()[-6000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {needle!r} x{count} in belfry's log within {timeout}s; "
                    f"stderr:\n{self.log()[-6000:]}")
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def vm_hwm_kb(self):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    def send_signal(self, sig=signal.SIGTERM):
        self.signalled_at = time.monotonic()
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=10):
        """Wait for exit after signal(); returns (exit code, seconds since the
        signal). Kills belfry and fails if it does not exit in time."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            self.returncode = self.proc.returncode
            raise AssertionError(
                f"belfry did not exit within {timeout}s of its signal; killed. "
                f"stderr:\n{self.log()[-6000:]}") from None
        self.stop_seconds = time.monotonic() - self.signalled_at
        self.returncode = self.proc.returncode
        return self.returncode, self.stop_seconds

    def terminate(self, sig=signal.SIGTERM, timeout=10):
        """Signal belfry and wait; returns (exit code, seconds taken)."""
        if self.proc.poll() is None:
            self.send_signal(sig)
            return self.wait_exit(timeout)
        self.returncode = self.proc.returncode
        return self.returncode, self.stop_seconds

    def stop(self):
        """SIGTERM; asserts exit code 0 (so a sanitizer report at exit fails)
        and that the secret never reached the log."""
        if self.proc is None:
            return
        already = self.proc.poll() is not None
        rc, _ = self.terminate()
        assert not already, (
            f"belfry had already exited with {rc} before the test stopped it; "
            f"stderr:\n{self.log()[-6000:]}")
        assert rc == 0, f"belfry exited with {rc} after SIGTERM; stderr:\n{self.log()[-8000:]}"
        self.assert_secret_not_logged()

    def assert_secret_not_logged(self):
        if self.secret:
            text = self.log()
            try:
                text += self.stdout_path.read_text(errors="replace")
            except FileNotFoundError:
                pass
            assert self.secret not in text, "the component secret appears in belfry's output"
        for f in self.forbidden:
            assert f not in self.log().lower(), f"{f!r} (handshake digest) appears in belfry's log"

    def kill_quietly(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def run_belfry(args, timeout=10):
    """Run belfry to completion (config checks, --version)."""
    return subprocess.run([require_belfry()] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------
# slixmpp client (Debian's python3-slixmpp, run by /usr/bin/python3)
# ---------------------------------------------------------------------------

class Client:
    """A real XMPP client (slixmpp ClientXMPP) on its own asyncio loop in a
    background thread, with synchronous wrappers. Every iq/message/presence
    it receives is recorded as an ElementTree element."""

    _ids = itertools.count()

    def __init__(self, jid, password, port, timeout=15):
        import slixmpp  # Debian package; a failure here is a test failure
        self._slixmpp = slixmpp
        self.jid_text = jid
        self.received = []
        self._cond = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._started = None
        try:
            self._call(self._setup(jid, password, port), timeout)
            fut = asyncio.run_coroutine_threadsafe(self._wait_started(), self.loop)
            result = fut.result(timeout)
        except BaseException:
            self.close()
            raise
        if result != "ok":
            self.close()
            raise AssertionError(f"client {jid} could not log in: {result}")
        self.full_jid = str(self.xmpp.boundjid.full)

    def _call(self, coro, timeout):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _setup(self, jid, password, port):
        x = self._slixmpp.ClientXMPP(jid, password)
        x.loop = self.loop
        # Loopback only, no certificates: no STARTTLS; allow PLAIN in clear.
        x['feature_mechanisms'].unencrypted_plain = True
        self._started = self.loop.create_future()

        def done(value):
            if not self._started.done():
                self._started.set_result(value)

        x.add_event_handler("session_start", lambda _e: done("ok"))
        x.add_event_handler("failed_auth", lambda _e: done("authentication failed"))
        x.add_event_handler("connection_failed", lambda e: done(f"connection failed: {e}"))
        x.add_event_handler("disconnected", lambda e: done(f"disconnected: {e}"))
        x.add_filter("in", self._record)
        self.xmpp = x
        x.connect(("127.0.0.1", port), force_starttls=False, disable_starttls=True)

    async def _wait_started(self):
        return await self._started

    def _record(self, stanza):
        el = stanza.xml
        if el.tag in ("{%s}iq" % NS_CLIENT, "{%s}message" % NS_CLIENT,
                      "{%s}presence" % NS_CLIENT):
            copy = ET.fromstring(ET.tostring(el))
            with self._cond:
                self.received.append(copy)
                self._cond.notify_all()
        return stanza

    @classmethod
    def new_id(cls):
        return f"t{os.getpid()}-{next(cls._ids)}-{int(time.monotonic() * 1000) % 100000}"

    def send_raw(self, xml):
        self.loop.call_soon_threadsafe(self.xmpp.send_raw, xml)

    def wait_stanza(self, pred, timeout=5.0, what="stanza"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for el in self.received:
                    if pred(el):
                        return el
                left = deadline - time.monotonic()
                if left <= 0:
                    got = "\n".join(ET.tostring(e, encoding="unicode") for e in self.received[-10:])
                    raise AssertionError(f"no {what} within {timeout}s; last received:\n{got}")
                self._cond.wait(left)

    def iq(self, to, type_="get", payload="", timeout=5.0):
        """Send an iq, return the result/error reply element (never None)."""
        iq_id = self.new_id()
        self.send_raw(f"<iq xmlns='jabber:client' type={quoteattr(type_)} to={quoteattr(to)} "
                      f"id={quoteattr(iq_id)}>{payload}</iq>")
        return self.wait_stanza(
            lambda e: e.tag == "{%s}iq" % NS_CLIENT and e.get("id") == iq_id
            and e.get("type") in ("result", "error"),
            timeout, what=f"reply to iq {iq_id} ({payload[:60]}) to {to}")

    def query(self, to, ns, type_="get", node=None, timeout=5.0):
        node_attr = f" node={quoteattr(node)}" if node else ""
        return self.iq(to, type_, f"<query xmlns={quoteattr(ns)}{node_attr}/>", timeout)

    def message(self, to, body, type_="chat", msg_id=None):
        msg_id = msg_id or self.new_id()
        type_attr = f" type={quoteattr(type_)}" if type_ else ""
        self.send_raw(f"<message xmlns='jabber:client' to={quoteattr(to)} id={quoteattr(msg_id)}"
                      f"{type_attr}><body>{escape(body)}</body></message>")
        return msg_id

    def close(self):
        try:
            if getattr(self, "xmpp", None) is not None and self.loop.is_running():
                try:
                    asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(8)
                except Exception:
                    pass
        finally:
            if self.loop.is_running():
                self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            if not self.loop.is_running():
                self.loop.close()

    async def _shutdown(self):
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), 3)
        except Exception:
            pass
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def iq_error_condition(el):
    """(type, condition local name) of an error stanza, or None."""
    err = el.find("{%s}error" % NS_CLIENT)
    if err is None:
        return None
    conds = [c.tag.split("}", 1)[1] for c in err if c.tag.startswith("{%s}" % NS_STANZAS)
             and c.tag != "{%s}text" % NS_STANZAS]
    return err.get("type"), conds


# ---------------------------------------------------------------------------
# The one allowed fake server: a misbehaving XEP-0114 peer on a raw socket
# ---------------------------------------------------------------------------

def handshake_digest(stream_id, secret):
    return hashlib.sha1((stream_id + secret).encode("utf-8")).hexdigest()


class FakeServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []

    def accept(self, timeout):
        self.sock.settimeout(timeout)
        try:
            s, _ = self.sock.accept()
        except socket.timeout:
            raise AssertionError(f"belfry did not connect within {timeout}s") from None
        c = FakeConn(s)
        self.conns.append(c)
        return c

    def no_connection_within(self, timeout):
        self.sock.settimeout(timeout)
        try:
            s, _ = self.sock.accept()
        except socket.timeout:
            return True
        c = FakeConn(s)
        self.conns.append(c)
        return False

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


class FakeConn:
    """One accepted connection; a reader thread collects all bytes."""

    def __init__(self, sock):
        self.sock = sock
        self.accepted_at = time.monotonic()
        self.buf = b""
        self.eof_at = None
        self.error = None
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                data = b""
                self.error = e
            with self._cond:
                if not data:
                    self.eof_at = time.monotonic()
                    self._cond.notify_all()
                    return
                self.buf += data
                self._cond.notify_all()

    def text(self):
        with self._cond:
            return self.buf.decode("utf-8", "replace")

    def wait_for(self, pattern, timeout, start=0):
        """Wait until regex pattern (bytes) matches the received data."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self.buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof_at is not None:
                    raise AssertionError(
                        f"did not receive {pattern!r} within {timeout}s "
                        f"(eof={self.eof_at is not None}); got: {self.buf[-3000:]!r}")
                self._cond.wait(left)

    def wait_eof(self, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.eof_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def serve_handshake(self, secret=SECRET, stream_id=None, accept=True):
        """Play the server's side of XEP-0114; returns the stream id."""
        stream_id = stream_id or "bf" + os.urandom(6).hex()
        m = self.wait_for(rb"<(?:stream:)?stream\b[^>]*>", 10)
        header = m.group(0).decode()
        assert "jabber:component:accept" in header, header
        assert re.search(r"""\bto=['"]%s['"]""" % re.escape(COMPONENT), header), header
        self.send(f"<?xml version='1.0'?><stream:stream "
                  f"xmlns:stream='{NS_STREAM}' xmlns='jabber:component:accept' "
                  f"from='{COMPONENT}' id='{stream_id}'>")
        m = self.wait_for(rb"<handshake\b[^>/]*>([^<]*)</handshake\s*>", 10)
        got = m.group(1).decode().strip()
        assert got == handshake_digest(stream_id, secret), (
            f"handshake {got!r} != sha1hex(id + secret) "
            f"{handshake_digest(stream_id, secret)!r}")
        self.handshake_end = m.end()
        if accept:
            self.send("<handshake/>")
        return stream_id

    def stream_error(self, timeout=5.0):
        """Wait for a <stream:error>; return its condition's local name."""
        m = self.wait_for(rb"<stream:error\b.*?</stream:error\s*>", timeout)
        wrapped = (b"<w xmlns:stream='" + NS_STREAM.encode() + b"'>" + m.group(0) + b"</w>")
        el = ET.fromstring(wrapped)[0]
        conds = [c.tag.split("}", 1)[1] for c in el
                 if c.tag.startswith("{%s}" % NS_STREAMS) and not c.tag.endswith("}text")]
        assert len(conds) == 1, f"stream error without exactly one condition: {m.group(0)!r}"
        self.stream_error_end = m.end()
        return conds[0]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(5)
