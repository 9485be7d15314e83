"""Conference benchmark (not a test): belfry's `conference` module mixing a
room of N Opus participants, against Janus AudioBridge (Debian janus
1.1.2) mixing the same room, in the same run.

    /usr/bin/python3 tests/bench/bench_conference.py      (after ninja -C build)
    --quick: rooms of N = 10 and 50 (3 talkers), 3 s windows
    --only belfry,janus; --rooms 10,25,50,50all; --seconds S

Rooms (each a fresh room, participants joined one by one, then a warm-up,
then one measured window):
* N = 10, 25, 50 with 3 talkers and the rest silent, and N = 50 with
  everyone talking ("50all").  A talker sends its own tone (a multiple of
  50 Hz, -20 dBFS, Opus 32 kb/s VOIP from libopus, RFC 6464 level 20 with
  the voice bit) in spurts of 1.6 s every 2 s, its phase its own (so that
  2 or 3 talk at any time); a silent participant sends what libopus with
  DTX makes of silence, paced as libwebrtc sends it (~5 packets a second,
  1-byte frames and the encoder's comfort-noise updates; level 127).  The
  load is tests/bench/conf-load.c (one process, one socket per
  participant).
* belfry: a real Prosody, belfry `[modules] load = conference`, `[media]
  workers = 1`; participant I is the XMPP client alice@localhost/pI and
  calls the room (`benchN@relay.localhost`) with a Jingle session-initiate
  offering Opus 111 with the ssrc-audio-level extension (id 1), ICE and
  DTLS-SRTP (the load's own ICE and belfry's dtls.c, as call-load).  CPU:
  the worker thread the room is pinned to (bf-media-0, its comm; schedstat).
* Janus AudioBridge: one room per row (sampling_rate 48000, as belfry
  mixes; audiolevel_ext on), participants joined as AudioBridge's plain
  RTP participants ("rtp": {ip, port, payload_type 111, audiolevel_ext 1})
  over its HTTP API on 127.0.0.1; Janus mixes plain RTP here, belfry
  SRTP.  CPU: every thread of the Janus process (the room's mixer thread
  and the per-participant threads; the mixer thread alone printed beside
  it).  The room is destroyed after its row.

Figures per row: CPU-ms per participant-second (the measured CPU over N x
window seconds); what one more silent participant costs ((CPU of the
3-talker room at N - of the next smaller 3-talker room) / the
participants added, per second; and the least-squares slope of CPU-ms/s
over N across the 3-talker rooms, printed below the table); how long the
measured threads were runnable but waited for a CPU (schedstat run-queue
time, summed over threads: others' work on this shared machine; a mixer
that waits misses ticks); loss (the mixer's outgoing sequence
gaps seen by every participant) and frames missing (20 ms frames of the
RTP timestamp span every participant received that did not come: skipped
ticks or DTX from the mixer); onset latency (a talker's first speech packet sent -> the
first packet in which a listener hears its tone at > -40 dBFS; the same
measured with two participants sending straight to each other is
subtracted: the codec's look-ahead and the 20 ms detection granularity),
and the mix-minus check: a sample of listeners (the 3 talkers and 2
silent ones; in 50all 5 talkers) decode what they receive; a Hann-windowed
FFT over the window must show every other talker's tone (3-talker rooms;
50all: at least one other talker) and its own tone at least 40 dB below
the loudest one heard, and it must miss at most 5 % of the frames (someone
talks all the time in every room).  A row that fails the check is
reported as FAIL (the exit status is 1 if a belfry row failed).

Everything runs in a private network namespace (re-exec under `unshare
-n`; root); the mixer (belfry or Janus) is pinned to CPU 0, the load,
Prosody and this driver to CPU 1.  On this shared VM figures are noisy:
compare the ratios of one run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_call  # noqa: E402  (Load, Jingle, netns, schedstat helpers)
from bench_call import (NS_JINGLE, NS_RTP, log, q, schedstat_files,  # noqa: E402
                        thread_comm, tasks)

REPO = Path(__file__).resolve().parents[2]
NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
TALKERS = 3
SAMPLE_SILENT = 2
OWN_DB = 40.0                # own tone at least this far below the loudest heard
HEARD_DB = 30.0              # another talker's tone within this of the loudest
MISSING_LIMIT = 0.05         # a listener missing more frames than this hears gaps


def tone(k):
    """Talker k's tone: multiples of 50 Hz (whole cycles in a 20 ms frame),
    spaced so that none is a low harmonic of another among the first three
    (650, 1350, 2150 Hz); further talkers (50all) fill 400 .. 3850 Hz."""
    first = [650, 1350, 2150]
    if k < len(first):
        return first[k]
    rest = [f for f in range(400, 3900, 50) if f not in first]
    return rest[(k - len(first)) * 3 % len(rest)] if k - 3 < len(rest) else 400 + 10 * k


def executable():
    for d in ([Path(os.environ["BENCH_BUILD"])] if os.environ.get("BENCH_BUILD") else []) + \
             [REPO / "build", REPO / "build-bench"]:
        exe = d / "tests/bench/conf-load"
        if exe.exists():
            return exe
    sys.exit("conf-load not built: `ninja -C build` (or set BENCH_BUILD)")


def start_load(exe, mode):
    return bench_call.Load(exe, mode, "1")


# ---------------------------------------------------------------------------
# Janus AudioBridge
# ---------------------------------------------------------------------------

class Janus:
    """janus in the foreground with a configuration of our own: the HTTP
    transport on 127.0.0.1, the AudioBridge plugin only, no session
    timeout."""
    name = "janus"

    def __init__(self, tmp, rate=48000):
        self.rate = rate
        if not (JANUS_LIB / "plugins/libjanus_audiobridge.so").exists():
            raise RuntimeError("Janus AudioBridge not installed (Debian janus; scripts/setup.sh)")
        self.port = _free_port()
        conf = tmp / "janus-conf"
        conf.mkdir()
        plugins = [p.name for p in (JANUS_LIB / "plugins").glob("libjanus_*.so")
                   if "audiobridge" not in p.name]
        transports = [p.name for p in (JANUS_LIB / "transports").glob("libjanus_*.so")
                      if "http" not in p.name]
        (conf / "janus.jcfg").write_text(f"""
general: {{
  configs_folder = "{conf}"
  plugins_folder = "{JANUS_LIB / 'plugins'}"
  transports_folder = "{JANUS_LIB / 'transports'}"
  events_folder = "{JANUS_LIB / 'events'}"
  loggers_folder = "{JANUS_LIB / 'loggers'}"
  debug_level = 3
  session_timeout = 0
}}
media: {{ rtp_port_range = "30000-40000" }}
nat: {{ ice_enforce_list = "lo" }}
plugins: {{ disable = "{','.join(plugins)}" }}
transports: {{ disable = "{','.join(transports)}" }}
events: {{ broadcast = false }}
loggers: {{ disable = "libjanus_jsonlog.so" }}
""")
        (conf / "janus.plugin.audiobridge.jcfg").write_text("general: {\n}\n")
        (conf / "janus.transport.http.jcfg").write_text(f"""
general: {{
  json = "plain"
  base_path = "/janus"
  http = true
  port = {self.port}
  ip = "127.0.0.1"
  https = false
}}
admin: {{ admin_http = false }}
""")
        self.log_path = tmp / "janus.log"
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(["taskset", "-c", "0", "janus", "-F", str(conf),
                                      "-C", str(conf / "janus.jcfg"), "-i", "127.0.0.1",
                                      "-o", "-d", "3"],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.session = self.post("", {"janus": "create"})["data"]["id"]
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("janus did not start: " + self.log_path.read_text()[-2000:])
                time.sleep(0.2)
        self.handles = []
        self.rooms = 0

    def post(self, path, body):
        body = dict(body, transaction=os.urandom(6).hex())
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/janus{path}",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def events(self, timeout=5.0):
        """Events of the session (long poll)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/janus/{self.session}"
                                    f"?maxev=10&rid={time.time_ns()}", timeout=timeout + 35) as r:
            ev = json.loads(r.read())
        return ev if isinstance(ev, list) else [ev]

    def attach(self):
        r = self.post(f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.audiobridge"})
        h = r["data"]["id"]
        self.handles.append(h)
        return h

    def message(self, handle, body):
        return self.post(f"/{self.session}/{handle}", {"janus": "message", "body": body})

    def new_room(self):
        self.rooms += 1
        room = 9000 + self.rooms
        h = self.attach()
        r = self.message(h, {"request": "create", "room": room, "sampling_rate": self.rate,
                             "audiolevel_ext": True, "allow_rtp_participants": True,
                             "permanent": False})
        data = r.get("plugindata", {}).get("data", {})
        if data.get("audiobridge") != "created":
            raise RuntimeError(f"janus: create room: {r}")
        return room, h

    def join(self, room, port):
        """A plain RTP participant whose socket is 127.0.0.1:port; returns
        (handle, janus_ip, janus_port)."""
        h = self.attach()
        r = self.message(h, {"request": "join", "room": room, "display": f"p{port}",
                             "rtp": {"ip": "127.0.0.1", "port": port, "payload_type": 111,
                                     "audiolevel_ext": 1, "fec": True}})
        if r.get("janus") != "ack":
            data = r.get("plugindata", {}).get("data", {})
            if data.get("audiobridge") == "joined" and "rtp" in data:
                return h, data["rtp"]["ip"], data["rtp"]["port"]
            raise RuntimeError(f"janus: join: {r}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for ev in self.events():
                data = ev.get("plugindata", {}).get("data", {})
                if ev.get("sender") == h and data.get("audiobridge") == "joined" and "rtp" in data:
                    return h, data["rtp"]["ip"], data["rtp"]["port"]
                if ev.get("sender") == h and "error" in data:
                    raise RuntimeError(f"janus: join: {data}")
        raise RuntimeError("janus: no joined event")

    def leave_all(self, room, handles):
        try:
            self.message(handles[0], {"request": "destroy", "room": room})
        except (OSError, IndexError):
            pass
        for h in handles:
            try:
                self.post(f"/{self.session}/{h}", {"janus": "detach"})
            except OSError:
                pass

    def watch(self):
        return schedstat_files(self.proc.pid)

    def mixer_watch(self, room):
        """The room's AudioBridge mixer thread (comm "mixer <room>")."""
        return [f"/proc/{self.proc.pid}/task/{t}/schedstat" for t in tasks(self.proc.pid)
                if thread_comm(self.proc.pid, t) == f"mixer {room}"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.logf.close()


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def schedstat_sum(files, field=0):
    """Sum of one schedstat field (0: on-CPU ns, 1: run-queue wait ns)."""
    t = 0
    for f in files:
        try:
            t += int(Path(f).read_text().split()[field])
        except (OSError, ValueError, IndexError):
            pass
    return t


# ---------------------------------------------------------------------------
# belfry
# ---------------------------------------------------------------------------

def description_xml(ssrc, cname):
    return (f"<description xmlns='{NS_RTP}' media='audio'>"
            "<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
            "<parameter name='useinbandfec' value='1'/><parameter name='minptime' value='10'/>"
            "</payload-type>"
            f"<rtp-hdrext xmlns='{NS_HDREXT}' id='1' uri='{AUDIO_LEVEL}'/>"
            f"<source xmlns='{NS_SSMA}' ssrc='{ssrc}'><parameter name='cname' value='{cname}'/>"
            "</source><rtcp-mux/></description>")


class Belfry:
    """Prosody + belfry ([modules] load = conference, workers = 1); the
    participants are XMPP clients alice@localhost/pI, one per participant."""
    name = "belfry"

    def __init__(self, tmp, nmax, echo=False):
        import harness
        self.h = harness
        self.prosody = harness.Prosody(users=bench_call.bench_users(harness))
        self.prosody.start()
        self.clients = []
        self.belfry = None
        groups = {"media": {"addresses": "127.0.0.1", "workers": "1",
                            "max-sessions": str(4 * nmax + 10)},
                  "limits": {"max-sessions-per-jid": "0"},
                  "conference": {"rooms": "*", "max-participants": str(max(50, nmax)),
                                 "allow-domains": "*"}}
        if echo:
            del groups["conference"]
        self.belfry = harness.Belfry(tmp / "belfry-conf", port=self.prosody.component_port,
                                     modules="echo" if echo else "conference", groups=groups)
        self.belfry.start()
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(self.belfry.pid)], check=True,
                       capture_output=True)
        self.rooms = 0
        self.echo = echo
        self.sink = _Sink()

    def client(self, k, sink):
        """Participant k's XMPP client (kept across rows; its Jingle
        requests go to the current row's load)."""
        self.sink.queue = sink
        while len(self.clients) <= k:
            i = len(self.clients)
            self.clients.append(bench_call.Jingle(self.h, self.prosody, "alice", f"p{i}",
                                                  self.sink, f"p{i}"))
        return self.clients[k]

    def watch(self):
        return schedstat_files(self.belfry.pid, ["bf-media-0"])

    def close(self):
        for c in self.clients:
            c.close()
        if self.belfry and self.belfry.running():
            self.belfry.terminate()
        self.prosody.close()


class _Sink:
    def __init__(self):
        self.queue = None

    def put(self, item):
        self.queue.put(item)


class BelfryRoom:
    """Sets up N participants calling room@relay.localhost through Prosody
    (@domain: the rooms' domain; @first: the load's index of the first
    participant, when one load plays several rooms)."""

    def __init__(self, bf, load, room, n, timeout=60, domain="relay.localhost", first=0):
        self.sids = {}
        self.room_jid = "echo@relay.localhost" if bf.echo else f"{room}@{domain}"
        parts = range(first, first + n)
        state = {i: {"cands": [], "keyed": False} for i in parts}
        for i in parts:
            load.send(f"part {i}")
        pending = set(parts)
        deadline = time.monotonic() + timeout
        clients = {i: bf.client(i, load.events) for i in parts}
        by_sid = {}
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"belfry: participants {sorted(pending)[:10]} not up")
            items = load.pending
            load.pending = []
            if not items:
                item = load.next_event(1.0)
                items = [item] if item else []
            for t, ev in items:
                if isinstance(ev, str):
                    parts = ev.split()
                    if ev.startswith("error") or (len(parts) > 1 and parts[1] == "failed"):
                        raise RuntimeError(f"load: {ev}")
                    if not parts or not parts[0].isdigit():
                        continue
                    i = int(parts[0])
                    st = state.get(i)
                    if st is None:
                        continue
                    what = parts[1]
                    if what == "credentials":
                        st["creds"] = (parts[2], parts[3])
                    elif what == "fingerprint":
                        st["fp"] = (parts[2], parts[3])
                    elif what == "candidate":
                        st["cands"].append(parts[2:8])
                    elif what == "gathering-done":
                        sid = f"conf{i}-{os.urandom(4).hex()}"
                        by_sid[sid] = i
                        self.sids[i] = sid
                        tr = bench_call.transport_xml(st["creds"], st["fp"], "actpass", st["cands"])
                        body = (f"<content creator='initiator' name='a0' senders='both'>"
                                f"{description_xml(0x30000000 + i, f'p{i}')}{tr}</content>")
                        c = clients[i]
                        j = (f"<jingle xmlns='{NS_JINGLE}' action='session-initiate' "
                             f"sid={quoteattr(sid)} initiator={quoteattr(c.full_jid)}>{body}</jingle>")
                        c.send(bench_call.iq_set(self.room_jid, j))
                    elif what == "dtls-connected":
                        st["keyed"] = True
                        pending.discard(i)
                    continue
                el = ev[2]
                j = el.find(q(NS_JINGLE, "jingle"))
                i = by_sid.get(j.get("sid"))
                if i is None:
                    continue
                action = j.get("action")
                if action == "session-accept":
                    ufrag, pwd, fp, cands = bench_call.parse_transport(j)
                    if ufrag is None or fp is None:
                        raise RuntimeError(f"participant {i}: no ICE/DTLS in session-accept")
                    ours = "passive" if fp[2] == "active" else "active"
                    load.send(f"{i} remote-ice {ufrag} {pwd} controlled")
                    load.send(f"{i} remote-dtls {ours} {fp[0]} {fp[1]}")
                    for cand in cands:
                        load.send(f"{i} candidate {cand}")
                elif action == "transport-info":
                    for cand in bench_call.parse_transport(j)[3]:
                        load.send(f"{i} candidate {cand}")
                elif action == "session-terminate":
                    raise RuntimeError(f"participant {i}: terminated by belfry: "
                                       + bench_call.ET.tostring(j, encoding="unicode")[:500])

    def leave(self, bf, n=None):
        for i in self.sids:
            c = bf.clients[i]
            j = (f"<jingle xmlns='{NS_JINGLE}' action='session-terminate' "
                 f"sid={quoteattr(self.sids[i])}><reason><success/></reason></jingle>")
            c.send(bench_call.iq_set(self.room_jid, j))


# ---------------------------------------------------------------------------
# one row
# ---------------------------------------------------------------------------

def roles(n, all_talk):
    """(talkers, sampled listeners)."""
    talkers = list(range(n)) if all_talk else list(range(TALKERS))
    if all_talk:
        sample = [0, 1, 2, n // 2, n - 1]
    else:
        sample = list(range(TALKERS)) + [n - 1, n - 2][:SAMPLE_SILENT]
    return talkers, sorted(set(sample))


def run_window(load, watch, extra_watch, seconds, n_listeners):
    load.send("watch " + " ".join(watch))
    extra0 = schedstat_sum(extra_watch)
    wait0 = schedstat_sum(watch, 1)
    load.send(f"window {seconds}")
    load.report_line("window-start", 10)
    load.report_line("window-end", seconds + 10)
    extra1 = schedstat_sum(extra_watch)
    wait1 = schedstat_sum(watch, 1)
    kv = bench_call.parse_kv(load.report_line("window-report", 10))
    load.report_line("window-done", 10)
    listeners = {}
    for _ in range(n_listeners):
        _, line = load.wait(lambda l: l.startswith("listener "), 10, "listener report")
        parts = line.split()
        d = dict(p.split("=", 1) for p in parts[2:])
        listeners[int(parts[1])] = {
            "received": int(d["received"]), "expected": int(d["expected"]),
            "frames": int(d["frames"]),
            "lat": [int(x) for x in d["lat_us"].split(",")] if d["lat_us"] != "-" else []}
    kv["extra_cpu_ns"] = extra1 - extra0
    # time the measured threads were runnable but waited for the CPU
    # (others' work on this shared machine): a mixer that waits misses ticks
    kv["wait_ns"] = wait1 - wait0
    return kv, listeners


def fft_check(path, own, others, all_talk):
    """(ok, text): every other talker heard (3-talker rooms) or at least one
    (50all), the own tone OWN_DB below the loudest heard."""
    import numpy as np
    x = np.fromfile(path, dtype=np.int16).astype(np.float64)
    if len(x) < 48000:
        return False, f"{len(x) / 48000:.1f} s of audio"
    w = np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x * w)) / (w.sum() / 2) / 32768
    res = 48000 / len(x)

    def level(f):
        i = int(round(f / res))
        return 20 * np.log10(max(spec[max(0, i - 3):i + 4].max(), 1e-12))

    lv = {f: level(f) for f in others}
    loud = max(lv.values())
    own_lv = level(own) if own else None
    heard = [f for f, v in lv.items() if v > loud - HEARD_DB and v > -60]
    ok = bool(heard) if all_talk else len(heard) == len(others)
    if own_lv is not None and own_lv > loud - OWN_DB:
        ok = False
    txt = f"heard {len(heard)}/{len(others)} (loudest {loud:.0f} dBFS)"
    if own_lv is not None:
        txt += f", own {own_lv - loud:.0f} dB"
    return ok, txt


def run_row(target, load_exe, tmp, n, all_talk, seconds, warmup, floor_us):
    talkers, sample = roles(n, all_talk)
    mode = "ice" if target.name == "belfry" else "plain"
    load = start_load(load_exe, mode)
    handles = []
    room = None
    try:
        t0 = time.monotonic()
        if target.name == "janus":
            room, rh = target.new_room()
            handles.append(rh)
            for i in range(n):
                load.send(f"part {i}")
                _, line = load.wait(lambda l, i=i: l.startswith(f"{i} ready "), 5, f"part {i}")
                port = int(line.split()[2])
                h, ip, jport = target.join(room, port)
                handles.append(h)
                load.send(f"{i} dest {ip} {jport}")
        else:
            target.rooms += 1
            room = BelfryRoom(target, load, f"bench{target.rooms}", n)
        setup_s = time.monotonic() - t0
        for i in range(n):
            if i in talkers:
                load.send(f"{i} talker {tone(talkers.index(i))}")
        for i in sample:
            load.send(f"{i} listen {tmp}/{target.name}-{n}{'all' if all_talk else ''}-{i}.pcm")
        load.send(f"start {'all' if all_talk else 'spurts'}")
        load.wait(lambda l: l == "started", 5, "started")
        time.sleep(warmup)
        watch = target.watch()
        # beside the headline figure: Janus' mixer thread alone, belfry's
        # whole process (mixing done anywhere but the room's worker shows)
        extra = (target.mixer_watch(room) if target.name == "janus"
                 else schedstat_files(target.belfry.pid))
        kv, listeners = run_window(load, watch, extra, seconds, len(sample))
        load.send("stop")
        # mix-minus: the sampled listeners' audio
        checks = []
        for i in sample:
            own = tone(talkers.index(i)) if i in talkers else None
            others = [tone(talkers.index(k)) for k in talkers if k != i]
            ok, txt = fft_check(f"{tmp}/{target.name}-{n}{'all' if all_talk else ''}-{i}.pcm",
                                own, others, all_talk)
            li = listeners.get(i, {})
            if li.get("frames") and li["received"] < li["frames"]:
                txt += f", {li['frames'] - li['received']} of {li['frames']} frames missing"
                # someone talks all the time in every room: a listener
                # that misses frames hears gaps
                if li["frames"] - li["received"] > MISSING_LIMIT * li["frames"]:
                    ok = False
            checks.append((i, ok, txt))
        lats = [x for li in listeners.values() for x in li["lat"]]
        rx = kv.get("received", 0)
        exp = kv.get("expected", 0)
        secs = kv.get("seconds", seconds)
        r = {"n": n, "all": all_talk, "setup_s": setup_s,
             "cpu_ms_ps": kv["target_cpu_ns"] / 1e6 / (n * secs),
             "extra_ms_ps": kv["extra_cpu_ns"] / 1e6 / (n * secs),
             "loss": (exp - rx) / exp if exp else 1.0,
             # 20 ms frames of the window's RTP timestamp span not received
             # (skipped ticks, or DTX from the mixer: silence left to the
             # receiver) -- beside loss, which counts sequence gaps only
             "missing": (kv.get("frames", 0) - rx) / kv["frames"] if kv.get("frames") else 1.0,
             "out_pps": rx / (n * secs),
             "in_pps": kv.get("sent", 0) / (n * secs),
             "lat_ms": (statistics.median(lats) - floor_us) / 1000 if lats else None,
             "lat_p95_ms": (sorted(lats)[int(0.95 * (len(lats) - 1))] - floor_us) / 1000 if lats else None,
             "onsets": len(lats),
             "checks": checks, "ok": all(c[1] for c in checks), "bad": kv.get("bad", 0),
             "load_cpu": kv["load_cpu_ns"] / 1e9 / secs,
             "wait_ms_ps": kv["wait_ns"] / 1e6 / secs}
        log(f"{target.name} N={n}{' all talking' if all_talk else ''}: "
            f"{r['cpu_ms_ps']:.2f} CPU-ms per participant-second, loss {r['loss']:.4%}, "
            f"latency {r['lat_ms']} ms, checks {checks}")
        return r
    finally:
        if target.name == "janus":
            target.leave_all(room, handles)
        elif room is not None:
            try:
                room.leave(target, n)
            except Exception:
                pass
        load.close()
        time.sleep(1.0)


def latency_floor(load_exe, tmp, seconds=4):
    """Onset latency of two participants sending straight to each other:
    the codec's delay and the detection granularity, not a mixer's."""
    load = start_load(load_exe, "plain")
    try:
        ports = []
        for i in range(2):
            load.send(f"part {i}")
            _, line = load.wait(lambda l, i=i: l.startswith(f"{i} ready "), 5, "part")
            ports.append(int(line.split()[2]))
        load.send(f"0 dest 127.0.0.1 {ports[1]}")
        load.send(f"1 dest 127.0.0.1 {ports[0]}")
        load.send(f"0 talker {tone(0)}")
        load.send(f"1 listen {tmp}/floor.pcm")
        load.send("start spurts")
        load.wait(lambda l: l == "started", 5, "started")
        time.sleep(0.5)
        _, listeners = run_window(load, [], [], seconds, 1)
        lats = listeners[1]["lat"]
        return statistics.median(lats) if lats else 0
    finally:
        load.close()


ROWS = {"10": (10, False), "25": (25, False), "50": (50, False), "50all": (50, True)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="belfry,janus")
    ap.add_argument("--rooms", default="10,25,50,50all")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=6.0,
                    help="s between the last participant's set-up and the window (belfry's "
                         "ICE agents keep checking for ~5 s after set-up)")
    ap.add_argument("--janus-rate", type=int, default=48000,
                    help="AudioBridge's mixing rate (its default is 16000)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the listeners' decoded audio and the logs (printed path)")
    ap.add_argument("--echo", action="store_true",
                    help="belfry rows call echo@ instead of a room (checks the load's set-up "
                         "and pacing; every listener then hears only itself: the checks fail)")
    a = ap.parse_args()
    bench_call.enter_private_netns()
    if a.quick:
        a.rooms, a.seconds, a.warmup = "10,50", 3.0, 3.0
    rows = [ROWS[x] for x in a.rooms.split(",")]
    only = a.only.split(",")
    exe = executable()
    tmp = Path(tempfile.mkdtemp(prefix="bench-conf-"))
    os.chmod(tmp, 0o755)
    floor = latency_floor(exe, tmp)
    log(f"onset latency floor (two participants, no mixer): {floor / 1000:.1f} ms")
    res = {}
    targets = []
    try:
        if "janus" in only:
            targets.append(Janus(tmp, a.janus_rate))
        if "belfry" in only:
            targets.append(Belfry(tmp, max(n for n, _ in rows), a.echo))
        for n, all_talk in rows:
            for t in targets:
                res[(t.name, n, all_talk)] = run_row(t, exe, tmp, n, all_talk, a.seconds,
                                                     a.warmup, floor)
    finally:
        for t in targets:
            t.close()
        if a.keep:
            log(f"audio and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(res, rows, [t.name for t in targets], a.seconds, floor)
    bad = [k for k, r in res.items() if not r["ok"] and k[0] == "belfry"]
    return 1 if bad else 0


def report(res, rows, names, seconds, floor):
    print(f"\nConference rooms, {seconds:.0f} s windows, mixer on CPU 0, load on CPU 1 "
          f"(onset latency floor {floor / 1000:.1f} ms subtracted)")
    print("| room | mixer | CPU-ms per participant-second | one more silent participant | "
          "loss (seq) / frames missing (RTP ts) | added onset latency (median / p95, onsets) | "
          "pkts/s to each listener | mixer waited for a CPU (ms/s) | mix-minus (FFT) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, all_talk in rows:
        for name in names:
            r = res.get((name, n, all_talk))
            if r is None:
                continue
            # what one more silent participant costs: the CPU of this
            # 3-talker room less that of the next smaller one, per added
            # participant (per second)
            smaller = [m for m, al in rows if not al and m < n and (name, m, False) in res]
            silent = "–"
            if not all_talk and smaller:
                m = max(smaller)
                b = res[(name, m, False)]
                silent = f"{(r['cpu_ms_ps'] * n - b['cpu_ms_ps'] * m) / (n - m):.2f}"
            lat = (f"{r['lat_ms']:.0f} / {r['lat_p95_ms']:.0f} ms ({r['onsets']})"
                   if r["lat_ms"] is not None else "–")
            cpu = f"{r['cpu_ms_ps']:.2f}"
            cpu += (f" (room mixer thread {r['extra_ms_ps']:.2f})" if name == "janus"
                    else f" (process {r['extra_ms_ps']:.2f})")
            checks = "ok" if r["ok"] else "FAIL: " + "; ".join(
                f"p{i} {t}" for i, ok, t in r["checks"] if not ok)
            print(f"| N = {n}{', all talking' if all_talk else ', 3 talkers'} | {name} | {cpu} | "
                  f"{silent} | {r['loss']:.2%} / {r['missing']:.2%} | {lat} | {r['out_pps']:.1f} | "
                  f"{r['wait_ms_ps']:.0f} | {checks} |")
    for name in names:
        pts = [(n, res[(name, n, False)]["cpu_ms_ps"] * n) for n, al in rows
               if not al and (name, n, False) in res]
        if len(pts) >= 2:
            # least squares over the 3-talker rooms: CPU-ms/s = a + b * N
            mn = sum(n for n, _ in pts) / len(pts)
            mc = sum(c for _, c in pts) / len(pts)
            b = (sum((n - mn) * (c - mc) for n, c in pts)
                 / sum((n - mn) ** 2 for n, _ in pts))
            print(f"{name}: one more silent participant costs {b:.2f} CPU-ms per second "
                  f"(slope over the 3-talker rooms), the room with its 3 talkers "
                  f"{mc - b * mn:.1f} CPU-ms per second")
    for n, all_talk in rows:
        a, b = res.get(("belfry", n, all_talk)), res.get(("janus", n, all_talk))
        if a and b and b["cpu_ms_ps"] > 0:
            print(f"N = {n}{' all' if all_talk else ''}: belfry / AudioBridge CPU = "
                  f"{a['cpu_ms_ps'] / b['cpu_ms_ps']:.2f}")
    for k, r in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        print(f"  {k[0]} N={k[1]}{' all' if k[2] else ''}: checks "
              + ", ".join(f"p{i} {t}" for i, ok, t in r["checks"])
              + f"; set-up {r['setup_s']:.1f} s; offered {r['in_pps']:.1f} pkt/s per participant"
              f" (the load skips frames when it is not scheduled: 15.7 / 9.2 / 7.0 / 50 due);"
              f" load {r['load_cpu']:.2f} CPU; the measured threads waited for a CPU"
              f" {r['wait_ms_ps']:.0f} ms per second (summed over its threads)")


if __name__ == "__main__":
    sys.exit(main())
