"""Real Dino (Debian's dino-im 0.4.x), headless, calling belfry's echo.

Used by test_real_dino.py, and run by it as a script for the AT-SPI part
(`real_dino.py press-call ACTION`: pyatspi binds to the session bus named in
the environment when it is imported, so it runs in its own process with
Dino's environment).

Everything is a child of the test process, stopped by its own PID:

- Prosody on 127.0.0.1:5222 with STARTTLS: Dino 0.4 always sends
  <starttls/>, has no port setting (SRV lookup, which fails in the private
  namespace, then the domain on 5222) and accepts no certificate error
  (connection_manager.vala: only .onion domains may have an unknown CA).
  So a throwaway CA signs a certificate for `localhost`, and Dino runs in a
  mount namespace of its own where /etc/ssl/certs/ca-certificates.crt, the
  system trust glib-networking reads, is that bundle plus the CA.
- Xvfb, a private session D-Bus (the AT-SPI bus is activated through it),
  PulseAudio with a null sink `out` (Dino's speaker) and a source `mic`
  (a remap of a second null sink's monitor: Dino skips monitor sources)
  fed by paplay with a WAV of tone-and-noise bursts. A plain sine source
  (module-sine-source) delivers in 2 s chunks; Dino's jitter buffer
  (latency 100 ms, drop-on-latency) then drops nearly everything.
- Dino's profile: the first start creates dino.db (schema version 26);
  then the account (the password lives in the `account` row in 0.4) and an
  open conversation with echo are inserted and Dino is started again.
- ICE: Dino's libnice gathers no loopback candidates, and its packets to a
  127.0.0.1 candidate left through the veth it had gathered on and died as
  "host unreachable". So Dino and belfry's [media] addresses share one
  address, 198.51.100.2 on a veth pair inside the test's namespace.
"""

import math
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))

import harness  # noqa: E402

DINO = "/usr/bin/dino-im"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
MEDIA_ADDR = "198.51.100.2"
VETH = ("bfdino0", "bfdino1")
RESOURCE = "dino.test"
SCHEMA_VERSION = 26   # Dino 0.4's libdino/src/service/database.vala


def run(argv, **kw):
    return subprocess.run(argv, check=True, timeout=30, capture_output=True, **kw)


# ---------------------------------------------------------------------------
# Network, certificates, Prosody
# ---------------------------------------------------------------------------

def add_veth():
    a, b = VETH
    run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
    run(["ip", "link", "set", a, "up"])
    run(["ip", "link", "set", b, "up"])
    run(["ip", "addr", "add", f"{MEDIA_ADDR}/24", "dev", a])


def del_veth():
    subprocess.run(["ip", "link", "del", VETH[0]], timeout=10, capture_output=True)


def make_pki(d):
    """A CA, a certificate for `localhost` it signs, and the system bundle
    with the CA appended (what Dino's mount namespace sees)."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=belfry real-Dino test CA",
         "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt")])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", str(d / "localhost.key"), "-out", str(d / "localhost.csr")])
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-days", "2", "-in", str(d / "localhost.csr"),
         "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"), "-CAcreateserial",
         "-extfile", str(d / "ext.cnf"), "-out", str(d / "localhost.crt")])
    (d / "bundle.crt").write_bytes(Path(SYSTEM_CA).read_bytes() + (d / "ca.crt").read_bytes())
    return d


class TlsProsody(harness.Prosody):
    """harness.Prosody with mod_tls, the localhost certificate and c2s on
    5222 (Dino's only choice without DNS). The private namespace has 5222
    to itself."""

    def __init__(self, pki):
        super().__init__(modules=harness.Prosody.MODULES + ("tls",),
                         prefix="belfry-real-dino-prosody-")
        for f in ("localhost.crt", "localhost.key"):
            shutil.copy(Path(pki) / f, self.dir / f)
        cfg = self.config.read_text()
        cfg = cfg.replace(f"c2s_ports = {{ {self.c2s_port} }}", "c2s_ports = { 5222 }")
        cfg = cfg.replace(f'VirtualHost "{harness.DOMAIN}"',
                          f'ssl = {{ certificate = "{self.dir}/localhost.crt", '
                          f'key = "{self.dir}/localhost.key" }}\n'
                          f'VirtualHost "{harness.DOMAIN}"')
        self.config.write_text(cfg)
        harness._chown_tree(self.dir, "prosody")
        self.c2s_port = 5222
        self.ready_ports[0] = 5222


def roster_echo(jid, password, echo):
    """Put echo in the account's roster with a subscription, as a user who
    added the contact would have; belfry approves and presents itself."""
    c = harness.Client(jid, password, 5222)
    try:
        r = c.iq(jid, "set", f"<query xmlns='jabber:iq:roster'><item jid='{echo}' name='Echo'/></query>")
        assert r.get("type") == "result", r
        c.send_raw("<presence xmlns='jabber:client'/>")
        c.send_raw(f"<presence xmlns='jabber:client' to='{echo}' type='subscribe'/>")
        # approved: echo's available presence (with caps) reaches us
        c.wait_stanza(lambda e: e.tag.endswith("presence") and e.get("type") is None
                      and (e.get("from") or "").startswith(echo + "/"), 10, "presence from echo")
    finally:
        c.close()


# ---------------------------------------------------------------------------
# Desktop: Xvfb, session bus, PulseAudio, the microphone's sound
# ---------------------------------------------------------------------------

def write_mic_wav(path, seconds=120, rate=48000):
    """Bursts of a wandering tone plus noise, 250 ms on, 250 ms off: a
    signal Dino's voice processing (noise suppression, AGC, VAD) lets
    through, and which is silent nowhere for long."""
    import random
    rnd = random.Random(9)
    f = 300.0
    frames = bytearray()
    for n in range(rate * seconds):
        if (n // (rate // 4)) % 2 == 0:
            f = min(max(f + rnd.uniform(-5, 5), 200), 1200)
            v = 0.3 * math.sin(2 * math.pi * f * n / rate) + 0.15 * rnd.uniform(-1, 1)
        else:
            v = 0.0
        frames += struct.pack("<h", int(v * 32767))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


class Desktop:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.run_dir = self.dir / "run"
        self.home = self.dir / "home"
        self.procs = {}
        self.env = None

    def start(self):
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY", "PULSE_SERVER")}
        env.update(HOME=str(self.home), XDG_DATA_HOME=str(self.home / ".local/share"),
                   XDG_CONFIG_HOME=str(self.home / ".config"),
                   XDG_CACHE_HOME=str(self.home / ".cache"),
                   XDG_RUNTIME_DIR=str(self.run_dir),
                   PULSE_SERVER=f"unix:{self.run_dir}/pulse/native",
                   # GTK 4 under Xvfb: no GL; X11 for the screenshots
                   GSK_RENDERER="cairo", GDK_BACKEND="x11",
                   G_MESSAGES_DEBUG="rtp ice")
        self.env = env
        # -displayfd: Xvfb picks a free display (X sockets and locks live in
        # /tmp, shared with everything else on the machine) and writes it.
        rfd, wfd = os.pipe()
        try:
            log = open(self.dir / "xvfb.log", "wb")
            try:
                self.procs["xvfb"] = subprocess.Popen(
                    ["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x900x24",
                     "-nolisten", "tcp"], env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, pass_fds=(wfd,))
            finally:
                log.close()
            os.close(wfd)
            wfd = None
            with os.fdopen(rfd, "rb", closefd=False) as r:
                number = r.readline().strip().decode()
        finally:
            os.close(rfd)
            if wfd is not None:
                os.close(wfd)
        assert number.isdigit(), f"Xvfb gave no display: {harness._tail(self.dir / 'xvfb.log')}"
        env["DISPLAY"] = f":{number}"
        bus = self.run_dir / "bus"
        self._spawn("dbus", ["dbus-daemon", "--session", "--nofork", f"--address=unix:path={bus}"])
        self._wait(bus.exists, 10, "session bus")
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
        (self.run_dir / "pulse").mkdir(exist_ok=True)
        pa = self.dir / "pulse.pa"
        pa.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.run_dir}/pulse/native\n"
            "load-module module-null-sink sink_name=out\n"
            "load-module module-null-sink sink_name=micsink\n"
            "load-module module-remap-source source_name=mic master=micsink.monitor\n"
            "set-default-sink out\n"
            "set-default-source mic\n")
        self._spawn("pulse", ["pulseaudio", "-n", "-F", str(pa), "--daemonize=no",
                              "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit"])
        self._wait(lambda: subprocess.run(["pactl", "info"], env=env, capture_output=True,
                                          timeout=10).returncode == 0, 15, "PulseAudio")
        wav = self.dir / "mic.wav"
        write_mic_wav(wav)
        self._spawn("mic", ["paplay", "-d", "micsink", str(wav)])

    def _spawn(self, name, argv):
        log = open(self.dir / f"{name}.log", "wb")
        try:
            self.procs[name] = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def _wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} did not come up within {timeout}s")

    def record(self, seconds=3.0):
        """What Dino plays (the `out` sink's monitor), s16 mono 48 kHz."""
        r = subprocess.run(["timeout", str(seconds), "parec", "-d", "out.monitor",
                            "--format=s16le", "--channels=1", "--rate=48000", "--raw",
                            "--latency-msec=20"], env=self.env, capture_output=True,
                           timeout=seconds + 10)
        return r.stdout

    def screenshot(self, path):
        """For a look after a failure (BELFRY_KEEP_TMP=1); ImageMagick's
        `import` if it is there, nothing otherwise."""
        if shutil.which("import"):
            subprocess.run(["import", "-window", "root", str(path)], env=self.env,
                           capture_output=True, timeout=20)

    def stop(self):
        for name in ("mic", "pulse", "dbus", "xvfb"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def rms(raw):
    n = len(raw) // 2
    if n == 0:
        return 0.0
    samples = struct.unpack(f"<{n}h", raw[:2 * n])
    return math.sqrt(sum(s * s for s in samples) / n)


# ---------------------------------------------------------------------------
# Dino
# ---------------------------------------------------------------------------

class Dino:
    def __init__(self, desktop, bundle):
        self.desktop = desktop
        self.bundle = Path(bundle)
        self.proc = None
        self.log_path = desktop.dir / "dino.log"
        self.db = desktop.home / ".local/share/dino/dino.db"

    def start(self):
        # unshare execs sh, sh execs dino-im: self.proc.pid is Dino's.
        script = ('mount --make-rprivate / && mount --bind "$1" "$2" && shift 2 && exec "$@"')
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--", "/bin/sh", "-c", script, "sh",
                 str(self.bundle), SYSTEM_CA, DINO, "--print-xmpp=all"],
                env=self.desktop.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.desktop.dir)
        finally:
            log.close()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def _db_ready(self):
        if not self.db.exists():
            return False
        try:
            con = sqlite3.connect(str(self.db), timeout=1)
            try:
                v = con.execute("SELECT int_val FROM _meta WHERE name = 'version'").fetchone()
                t = con.execute("SELECT name FROM sqlite_master WHERE name = 'conversation'").fetchone()
            finally:
                con.close()
        except sqlite3.Error:
            return False
        return v is not None and t is not None

    def prepare_profile(self, jid, password, contact, timeout=30):
        """First start creates the database; then the account and an open
        conversation with `contact` go in while Dino is stopped."""
        self.start()
        deadline = time.monotonic() + timeout
        while not self._db_ready():
            assert self.proc.poll() is None, f"dino-im exited: {self.log_tail()}"
            assert time.monotonic() < deadline, "Dino created no database"
            time.sleep(0.2)
        time.sleep(1.0)
        self.stop()
        con = sqlite3.connect(str(self.db), timeout=10)
        try:
            (version,) = con.execute("SELECT int_val FROM _meta WHERE name = 'version'").fetchone()
            assert int(version) == SCHEMA_VERSION, f"dino.db schema {version}, expected {SCHEMA_VERSION}"
            now = int(time.time())
            con.execute("INSERT INTO account (bare_jid, resourcepart, password, alias, enabled) "
                        "VALUES (?, ?, ?, 'Alice', 1)", (jid, RESOURCE, password))
            (account_id,) = con.execute("SELECT id FROM account WHERE bare_jid = ?", (jid,)).fetchone()
            con.execute("INSERT OR IGNORE INTO jid (bare_jid) VALUES (?)", (contact,))
            (jid_id,) = con.execute("SELECT id FROM jid WHERE bare_jid = ?", (contact,)).fetchone()
            # type 0: chat; encryption 0: none
            con.execute("INSERT INTO conversation (account_id, jid_id, active, active_last_changed, "
                        "last_active, type, encryption, read_up_to_item, notification, send_typing, "
                        "send_marker, pinned) VALUES (?, ?, 1, ?, ?, 0, 0, -1, 0, 0, 0, 0)",
                        (account_id, jid_id, now, now))
            con.commit()
        finally:
            con.close()

    def press_call(self, action, timeout=45):
        """Wait until the conversation's "Start call" menu button offers
        `action` (Dino shows it once echo's caps say Jingle RTP + ICE), then
        activate it through AT-SPI."""
        r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "press-call", action,
                            str(timeout)], env=self.desktop.env, capture_output=True, text=True,
                           timeout=timeout + 30)
        assert r.returncode == 0, f"AT-SPI press {action} failed: {r.stdout}{r.stderr}"
        return r.stdout

    def log_tail(self, n=6000):
        return harness._tail(self.log_path, n)

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# ---------------------------------------------------------------------------
# AT-SPI (run as a script, in Dino's environment)
# ---------------------------------------------------------------------------

def _press_call(action, timeout):
    import pyatspi  # python3-pyatspi; binds to $DBUS_SESSION_BUS_ADDRESS now

    def find(node, depth=0):
        if depth > 40:
            return None
        try:
            if node.getRoleName() == "push button" and node.description == "Start call":
                ai = node.queryAction()
                names = [ai.getName(i) for i in range(ai.nActions)]
                if action in names:
                    return ai, names.index(action)
            for i in range(min(node.childCount, 300)):
                hit = find(node.getChildAtIndex(i), depth + 1)
                if hit:
                    return hit
        except Exception:   # a widget going away while we walk: walk again
            return None
        return None

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desk = pyatspi.Registry.getDesktop(0)
        for i in range(desk.childCount):
            app = desk.getChildAtIndex(i)
            if app is not None and app.name == "dino-im":
                hit = find(app)
                if hit and hit[0].doAction(hit[1]):
                    print(f"pressed {action}")
                    return 0
        time.sleep(0.5)
    print(f"no 'Start call' button offering {action} within {timeout}s")
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "press-call":
        sys.exit(_press_call(sys.argv[2], float(sys.argv[3])))
    sys.exit("usage: real_dino.py press-call ACTION TIMEOUT")
