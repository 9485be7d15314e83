"""Helpers for belfry's end-to-end media tests: a throwaway Prosody with its
WebSocket endpoint, the private network namespace, and the two real peers
(chromium-peer.mjs, webrtcbin_peer.py) run as child processes that speak
JSON lines on stdout.

Everything listens on 127.0.0.1 inside a network namespace of the test's own
(`unshare -n`, only `lo` up). Every process is a child of the test process,
is stopped by its own PID and is waited for.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402
from harness import DOMAIN, SECRET, USERS, _reap_group, _tail  # noqa: E402

PY = "/usr/bin/python3"
NODE = shutil.which("node") or "/usr/bin/node"
CHROMIUM_PEER = HERE / "chromium-peer.mjs"
WEBRTCBIN_PEER = HERE / "webrtcbin_peer.py"
DINO_PEER = HERE / "dino_peer.py"
NETNS_MARKER = "BELFRY_E2E_NETNS"

E2E_USERS = dict(USERS)
E2E_USERS.update({"carol": "carol-pw-8Rt", "dave": "dave-pw-5Vn"})


# ---------------------------------------------------------------------------
# Network namespace
# ---------------------------------------------------------------------------

def interfaces():
    return sorted(name for _, name in socket.if_nameindex())


def in_private_netns():
    """True when this process sees only the loopback interface, and it is up."""
    if interfaces() != ["lo"]:
        return False
    # lo must be up: a datagram to ourselves must come back.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.sendto(b"x", s.getsockname())
        s.settimeout(1)
        s.recv(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def netns_argv(argv):
    """argv run in a new network namespace with lo up (needs root)."""
    return ["unshare", "--net", "--", "/bin/sh", "-c",
            'ip link set lo up && exec "$@"', "sh"] + list(argv)


# ---------------------------------------------------------------------------
# Prosody 0.12 with WebSocket and BOSH
# ---------------------------------------------------------------------------

class Prosody(harness.Prosody):
    """harness.Prosody with the BOSH and WebSocket endpoints the browser
    peer logs in through, and the extra e2e users."""

    def __init__(self, users=E2E_USERS, secret=SECRET):
        super().__init__(secret=secret, users=users,
                         modules=harness.Prosody.MODULES + ("bosh", "websocket"),
                         extra=("consider_websocket_secure = true\n"
                                "consider_bosh_secure = true\n"
                                f'http_default_host = "{DOMAIN}"\n'),
                         prefix="belfry-e2e-prosody-")
        self.users = dict(users)
        self.ready_ports.append(self.http_port)

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.http_port}/xmpp-websocket"

    def start(self):
        super().start()
        _spawned.add(self.proc.pid)   # ours, not an orphan to reap


# ---------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------

def _all_ppids():
    ppid = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        ppid[int(entry)] = int(fields[1])
    return ppid


# Chromium leaves helper processes (zygotes, crashpad) that outlive the
# browser process and get reparented; PID 1 on these machines never reaps
# them. The test process makes itself a child subreaper, so they come to it,
# and reaps every such orphan (never a child it started itself) by PID.
_spawned = set()
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def adopt(pid):
    """A child this test started itself (belfry): not an orphan to reap."""
    _spawned.add(pid)


def reap_orphans(grace=3.0):
    """Wait up to `grace` s for orphans reparented to us to exit, then kill
    the rest; reap all of them. Returns how many there were."""
    me = os.getpid()
    deadline = time.monotonic() + grace
    seen = set()
    while True:
        orphans = [pid for pid, pp in _all_ppids().items() if pp == me and pid not in _spawned]
        for pid in orphans:
            seen.add(pid)
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
        alive = [pid for pid, pp in _all_ppids().items() if pp == me and pid not in _spawned]
        if not alive:
            return len(seen)
        if time.monotonic() > deadline:
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in alive:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
            return len(seen)
        time.sleep(0.05)


def descendants(pid):
    ppid = _all_ppids()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in ppid.items() if pp == p]
        out.extend(kids)
        todo.extend(kids)
    return out


class Peer:
    """One peer process. stdout carries JSON lines: {"event":"ready",...}
    once it is logged in, {"event":"result",...} last. stderr goes to a file."""

    def __init__(self, kind, argv, cfg, workdir, name):
        self.kind = kind
        self.name = name
        self.cfg = dict(cfg)
        self.events = []
        self.other_lines = []
        self._cond = threading.Condition()
        self.stderr_path = Path(workdir) / f"{name}.stderr"
        self.started = time.monotonic()
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                argv + [json.dumps(self.cfg)], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=err, start_new_session=True, cwd=HERE)
            _spawned.add(self.proc.pid)
        finally:
            err.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                ev = None
            with self._cond:
                if isinstance(ev, dict) and "event" in ev:
                    self.events.append(ev)
                else:
                    self.other_lines.append(line[:2000])
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _event(self, name):
        for ev in self.events:
            if ev.get("event") == name:
                return ev
        return None

    def stderr_text(self):
        return _tail(self.stderr_path, 6000)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                ev = self._event("ready")
                if ev:
                    return ev
                res = self._event("result")
                if res or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"{self.name} ({self.kind}) ended before it was ready: "
                        f"{json.dumps(res)[:3000] if res else ''}\nstderr:\n{self.stderr_text()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name} ({self.kind}) not ready within {timeout}s;"
                                         f" stderr:\n{self.stderr_text()}")
                self._cond.wait(min(left, 0.5))

    def wait_event(self, name, timeout=30):
        """The first event `name` the peer printed (e.g. "connected",
        "reconnected"); fails if it ends or the time runs out first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                ev = self._event(name)
                if ev:
                    return ev
                res = self._event("result")
                if res or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"{self.name} ({self.kind}) ended before {name!r}: "
                        f"{debug_dump(res)[:6000] if res else ''}\nstderr:\n{self.stderr_text()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name} ({self.kind}): no {name!r} within "
                                         f"{timeout}s; stderr:\n{self.stderr_text()}")
                self._cond.wait(min(left, 0.5))

    def result(self, timeout=60):
        """The result event (waits for the process to exit; kills it on timeout)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} ({self.kind}) gave no result within {timeout}s; "
                                 f"killed. stderr:\n{self.stderr_text()}") from None
        self._reader.join(10)
        self.wall_s = time.monotonic() - self.started
        res = self._event("result")
        if res is None:
            raise AssertionError(
                f"{self.name} ({self.kind}) exited {self.proc.returncode} without a result; "
                f"stdout: {self.other_lines[-20:]}\nstderr:\n{self.stderr_text()}")
        res["exit_code"] = self.proc.returncode
        return res

    def kill(self):
        if self.proc.poll() is None:
            kids = descendants(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        _reap_group(self.proc)

    def close(self):
        self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()
        reap_orphans()


def chromium_peer(prosody, workdir, name, user, mode, **cfg):
    cfg.update(ws=prosody.ws_url, jid=f"{user}@{DOMAIN}/{name}",
               password=E2E_USERS[user], mode=mode)
    return Peer("chromium", [NODE, str(CHROMIUM_PEER)], cfg, workdir, name)


def firefox_peer(prosody, workdir, name, user, mode, **cfg):
    """Headless firefox-esr on the same page as chromium_peer (firefox-peer.mjs)."""
    cfg.update(ws=prosody.ws_url, jid=f"{user}@{DOMAIN}/{name}",
               password=E2E_USERS[user], mode=mode)
    return Peer("firefox", [NODE, str(HERE / "firefox-peer.mjs")], cfg, workdir, name)


def webrtcbin_peer(prosody, workdir, name, user, mode, **cfg):
    cfg.update(host="127.0.0.1", port=prosody.c2s_port, jid=f"{user}@{DOMAIN}/{name}",
               password=E2E_USERS[user], mode=mode)
    return Peer("webrtcbin", [PY, str(WEBRTCBIN_PEER)], cfg, workdir, name)


def dino_peer(prosody, workdir, name, user, mode, **cfg):
    """The Dino-shaped peer (dino_peer.py): same protocol as webrtcbin_peer."""
    cfg.update(host="127.0.0.1", port=prosody.c2s_port, jid=f"{user}@{DOMAIN}/{name}",
               password=E2E_USERS[user], mode=mode)
    return Peer("dino", [PY, str(DINO_PEER)], cfg, workdir, name)


def summary(res):
    """The numbers a test asserts on, for messages and logs."""
    keys = ["ok", "error", "mode", "jid", "remote_jid", "connected", "terminated_by",
            "audio_total_samples_received", "audio_total_energy", "audio_packets_received",
            "audio_buffers_decoded", "audio_peak", "audio_freq_hz", "video_frames_decoded",
            "video_packets_received", "first_video_frame_ms", "timings_ms", "wall_ms"]
    s = {k: res[k] for k in keys if k in res}
    s["remote_candidates"] = [(c.get("content"), c.get("ip"), c.get("port"), c.get("protocol"))
                              for c in res.get("remote_candidates", [])]
    return json.dumps(s)


def debug_dump(res, limit=20000):
    """Result without the bulky parts, plus the Jingle log, for failure messages."""
    slim = {k: v for k, v in res.items() if k not in ("jingle", "jmi", "local_sdp", "remote_sdp")}
    text = json.dumps(slim, indent=1)[:limit]
    for j in res.get("jingle", [])[:12]:
        text += f"\n[{j.get('dir')} {j.get('t')}] {j.get('xml', '')[:3000]}"
    return text


# --- out-of-tree example modules (examples/module-*) -----------------------

G711_ELEMENTS = ("mulawenc", "mulawdec", "rtppcmupay", "rtppcmudepay",
                 "alawenc", "alawdec", "rtppcmapay", "rtppcmadepay")


def require_gst_elements(names=G711_ELEMENTS):
    """Fails (never skips) when a GStreamer element a peer needs is missing:
    the Dino-shaped peer offers only codecs it has elements for."""
    for el in names:
        r = subprocess.run(["gst-inspect-1.0", el], capture_output=True, timeout=30)
        assert r.returncode == 0, f"missing GStreamer element {el}"


def build_example_module(tmp, name):
    """Builds examples/module-<name> with its own meson.build against this
    checkout's headers (a belfry.pc pointing at include/), as an operator
    builds it against an installed belfry; the directory holding <name>.so."""
    pcdir = tmp / "pkgconfig"
    pcdir.mkdir()
    (pcdir / "belfry.pc").write_text(
        f"includedir={REPO / 'include'}\n"
        f"moduledir={tmp / 'installed'}\n\n"
        "Name: belfry\nDescription: belfry's module API (this checkout)\nVersion: 0\n"
        "Requires: glib-2.0 gmodule-2.0\nCflags: -I${includedir}\n")
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcdir))
    env.pop("PKG_CONFIG_LIBDIR", None)
    out = tmp / "build"
    src = REPO / "examples" / f"module-{name}"
    for argv in (["meson", "setup", str(out), str(src)], ["ninja", "-C", str(out)]):
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (f"{' '.join(argv)} failed ({r.returncode}):\n"
                                   f"{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    assert (out / f"{name}.so").is_file(), f"no {name}.so in {out}"
    return out


def build_tree_echo_dir():
    """The build tree's modules/echo/ ([modules] path replaces the default
    search, which knows the build tree's layout, so echo's folder is listed
    beside an example's)."""
    echo_dir = Path(harness.require_belfry()).resolve().parent.parent / "modules" / "echo"
    assert (echo_dir / "echo.so").is_file(), f"no echo.so in {echo_dir} (a build tree's belfry?)"
    return echo_dir
