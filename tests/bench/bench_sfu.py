"""SFU fan-out benchmark (not a test; issue 14): belfry's XEP-0521 SFU
forwarding a video room of N participants, against srtp-forwarder's fan-out
mode doing the same fan-out, in the same run.

    /usr/bin/python3 tests/bench/bench_sfu.py      (after ninja -C build)
    --quick: the room of N = 10 only, 3 s windows
    --only belfry,belfry-shared,forwarder (belfry-shared: belfry with
        `[media] shared-port = 0`, one socket for the worker; belfry-before,
        belfry-shared-before: the same two with the belfry binary given by
        --before-bin, e.g. a build from before a change, in the same run);
        --rooms 10,50; --seconds S; --warmup S; --rounds R (each part R
        windows per room, the parts' order reversed every other round;
        figures are the medians, ratios the medians of same-round ratios);
        --perf DIR (a perf profile of each belfry part's worker after its window)

The load (tests/bench/sfu-load.c, one process, CPU 1): every participant
sends one audio stream (Opus from libopus, 50 packets/s) with its RFC 6464
level: MAX_TALKERS = 3 of them (talkers(n)) speak (voice, -20 dBov), the
rest send silence (-127 dBov, no voice flag), so the room's mixer picks
exactly those as its talkers.  The first VIDEO_SENDERS = 12 also send
video: VP8 RTP with a valid RFC 7741 payload descriptor (PictureID, S/PID,
the VP8 payload header, a keyframe every 2 s of 15 packets, other frames
3 packets, 30 frames/s, ~1000-byte packets: ~97 packets/s), the sender's
index and the send time (CLOCK_MONOTONIC) in a trailer.  One layer: no
simulcast (sending three would only add incoming packets the room drops
until bandwidth estimation chooses per receiver; not measured here).

What the room should forward (expected()): audio of its talkers only (it
has more than 3 audio senders), video of the last-N = 8 latest speakers
among the video senders (the talkers, then those who never spoke by their
join number in the room, which the bench reads from the msid of the
sessions the room places).  The rest is withheld by design: not loss.
Every receiver unprotects every packet (SRTP authentication), checks its
content (an Opus frame the load sent; VP8 filler and the trailer naming
the leg's sender) and counts it against the expected set: loss is
expected - verified, an unexpected stream or wrong content is counted
apart.  Withheld is printed twice: what the rules say, and the room's own
counters (belfry_conference_sfu_{audio,video}_withheld_total).  The
forwarder does the same fan-out: it is told the same audio and video
senders and withholds the rest after unprotecting them, so both send the
same packets out.  Latency: arrival (SO_TIMESTAMPNS) - the send time, of
every video packet (two loopback hops and the forwarder).

* belfry: a real Prosody, belfry `[modules] load = conference`, `[media]
  workers = 1`, pinned to CPU 0.  Participant I is alice@localhost/pI: it
  answers the room's disco#info with urn:xmpp:jingle:av-conferences:0
  (XEP-0521), calls `benchN@relay.localhost` with senders='initiator'
  audio (+ video) contents, and accepts every session-initiate the room
  places to it (one per other participant: senders='initiator' from the
  room, XEP-0298 conference-info naming the sender) with a receive leg of
  its own (socket, ICE, DTLS-SRTP: N x (N-1) of them).  CPU: the room's
  worker thread (bf-media-0, schedstat); the whole process beside it.
* forwarder: `srtp-forwarder fanout N GCM AUDIO VIDEO` pinned to CPU 0: one
  socket per participant, each incoming packet SRTP-unprotected once and,
  if its sender's audio / video is forwarded, protected per receiver with
  that receiver's key, sent to each of the N-1 others
  (epoll, recvmmsg/sendmmsg), fixed keys (no ICE/DTLS: set-up is not
  measured).  CPU: its one thread.

Figures per row: forwarded packets out per CPU-second (packets of the
expected set the participants received and verified in the window / the
measured CPU-seconds), the ratio belfry / forwarder, loss of the expected
set, withheld, added latency of video (median / p95 / p99), and how long
the measured thread waited for a CPU.
Goal (issue 14) printed beside: >= 200,000 packets out per CPU-second and
>= 90 % of the forwarder.

Everything runs in a private network namespace (re-exec under `unshare -n`;
root); belfry or the forwarder on CPU 0, the load, Prosody and this driver
on CPU 1.  On this shared VM figures are noisy: compare the ratios of one
run.
"""

import argparse
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_call  # noqa: E402  (Load, netns, Jingle XML helpers)
from bench_call import (NS_CLIENT, NS_GROUPING, NS_JINGLE, NS_RTP, NS_SSMA, log,  # noqa: E402
                        parse_kv, q, schedstat_files)
from bench_conference import schedstat_sum  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NS_AV_CONF = "urn:xmpp:jingle:av-conferences:0"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_RTCP_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
LAST_N = 8
VIDEO_SENDERS = 12     # more than LAST_N: the room withholds some video
MAX_TALKERS = 3        # [conference] max-talkers
AUDIO_ALL_SENDERS = 3  # sfu-room.c: rooms with at most this many audio senders forward all
GOAL_PPS = 200_000
GOAL_RATIO = 0.90
JOIN_GATE = int(os.environ.get("BENCH_SFU_JOIN_GATE", "40"))  # legs in set-up at once


def executables():
    for d in ([Path(os.environ["BENCH_BUILD"])] if os.environ.get("BENCH_BUILD") else []) + \
             [REPO / "build", REPO / "build-bench"]:
        load, fwd = d / "tests/bench/sfu-load", d / "tests/bench/srtp-forwarder"
        if load.exists() and fwd.exists():
            return load, fwd
    sys.exit("sfu-load / srtp-forwarder not built: `ninja -C build` (or set BENCH_BUILD)")


def video_sender(i):
    return i < VIDEO_SENDERS


def talkers(n):
    """The participants that speak (RFC 6464 voice at -20 dBov; the others
    send silence): as many as the room's max-talkers, one of them a video
    sender outside the first LAST_N, one not a video sender at N = 50."""
    return sorted({2, min(9, n - 1), n - 2})[:MAX_TALKERS]


def expected(n, number):
    """What the room should forward (sfu-room.c cf_sfu_talkers): audio of
    its talkers (of all when there are no more than AUDIO_ALL_SENDERS audio
    senders), video of the LAST_N latest speakers among the video senders
    -- the talkers, then those who never spoke by their join number
    (last-n.c).  @number: participant -> the room's join number."""
    t = set(talkers(n))
    audio = set(range(n)) if n <= AUDIO_ALL_SENDERS else t
    vs = sorted((i for i in range(n) if video_sender(i)), key=lambda i: (i not in t, number[i]))
    return audio, set(vs[:LAST_N])


def send_expectation(load, n, number):
    audio, video = expected(n, number)
    for i in range(n):
        load.send(f"expect {i} {int(i in audio)} {int(i in video)}")
    return audio, video


def part_line(i, n):
    return (f"part {i}{' video' if video_sender(i) else ''}"
            f"{' talker' if i in talkers(n) else ''}")


def run_window(load, watch, extra_watch, seconds):
    load.send("watch " + " ".join(watch))
    extra0 = schedstat_sum(extra_watch)
    wait0 = schedstat_sum(watch, 1)
    load.send(f"window {seconds}")
    load.report_line("window-start", 10)
    load.report_line("window-end", seconds + 10)
    extra1 = schedstat_sum(extra_watch)
    wait1 = schedstat_sum(watch, 1)
    line = load.report_line("window-report", 10)
    kv = parse_kv(line)
    m = re.search(r"silent_from=(\S+)", line)
    kv["silent_from"] = m.group(1) if m else "-"
    load.report_line("window-done", 10)
    kv["extra_cpu_ns"] = extra1 - extra0
    kv["wait_ns"] = wait1 - wait0
    return kv


def figures(name, n, kv, setup_s, withheld=None):
    secs = kv["seconds"]
    cpu_s = kv["target_cpu_ns"] / 1e9
    ok = kv["ok_audio"] + kv["ok_video"]
    exp = kv["expected"]
    offered = (kv["sent_audio"] + kv["sent_video"]) * (n - 1)
    r = {"name": name, "n": n, "setup_s": setup_s,
         # forwarded packets out: those the receivers got, verified, of the
         # expected set (an unexpected or corrupt packet is not counted)
         "out_pps": ok / secs,
         "pps_per_cpu": ok / cpu_s if cpu_s > 0 else 0.0,
         "cpu": cpu_s / secs,
         "extra_cpu": kv["extra_cpu_ns"] / 1e9 / secs,
         "loss": (exp - ok) / exp if exp else 1.0,
         "expected_pps": exp / secs, "offered": offered,
         "withheld_exp": offered - exp, "withheld": withheld,
         "unexpected": int(kv["unexpected"]), "bad_content": int(kv["bad_content"]),
         "lat": [kv["lat_p50_us"] / 1000, kv["lat_p95_us"] / 1000, kv["lat_p99_us"] / 1000],
         "lat_n": int(kv["lat_n"]), "silent_legs": int(kv["silent_legs"]),
         "bad": int(kv["bad"]), "replay": int(kv.get("replay", 0)), "in_pps": (kv["sent_audio"] + kv["sent_video"]) / secs,
         "load_cpu": kv["load_cpu_ns"] / 1e9 / secs,
         "wait_ms_ps": kv["wait_ns"] / 1e6 / secs}
    log(f"{name} N={n}: {r['out_pps']:.0f} pkt/s out, {r['pps_per_cpu']:.0f} per CPU-s "
        f"({r['cpu']:.2f} CPU), loss {r['loss']:.3%} of {exp:.0f} expected, "
        f"withheld {offered - exp:.0f} expected / {withheld and [round(x) for x in withheld]} "
        f"counted, unexpected "
        f"{r['unexpected']}, bad content {r['bad_content']}, "
        f"latency {r['lat'][0]:.2f} / {r['lat'][1]:.2f} ms ({r['lat_n']}), "
        f"silent legs {r['silent_legs']} (sender:legs {kv.get('silent_from', '-')}), "
        f"bad {r['bad']}, replayed {r['replay']}")
    return r


# ---------------------------------------------------------------------------
# the baseline
# ---------------------------------------------------------------------------

def forwarder_row(load_exe, fwd_exe, n, seconds, warmup):
    t0 = time.monotonic()
    # the same fan-out as the room's: its expected audio and video senders
    audio, video = expected(n, list(range(n)))
    fwd = subprocess.Popen(["taskset", "-c", "0", str(fwd_exe), "fanout", str(n), "GCM",
                            ",".join(map(str, sorted(audio))) or "-",
                            ",".join(map(str, sorted(video))) or "-"],
                           stdout=subprocess.PIPE, text=True)
    load = None
    try:
        ports = fwd.stdout.readline().split()
        if not ports or ports[0] != "ports" or fwd.stdout.readline().strip() != "ready":
            raise RuntimeError("srtp-forwarder fanout did not start")
        ports = ports[1:]
        load = bench_call.Load(load_exe, "srtp", "1")
        for i in range(n):
            load.send(part_line(i, n))
            load.wait(lambda l, i=i: l.startswith(f"s{i} ready "), 5, f"part {i}")
            load.send(f"s{i} dest 127.0.0.1 {ports[i]}")
        send_expectation(load, n, list(range(n)))
        setup_s = time.monotonic() - t0
        load.send("start")
        load.wait(lambda l: l == "started", 5, "started")
        time.sleep(warmup)
        watch = schedstat_files(fwd.pid)
        kv = run_window(load, watch, watch, seconds)
        load.send("stop")
        return figures("forwarder", n, kv, setup_s, withheld=None)
    finally:
        if load is not None:
            load.close()
        if fwd.poll() is None:
            fwd.terminate()
            try:
                out = fwd.communicate(timeout=5)[0]
                log(f"forwarder N={n}: {out.strip()}")
            except subprocess.TimeoutExpired:
                fwd.kill()
                fwd.wait(5)


# ---------------------------------------------------------------------------
# belfry
# ---------------------------------------------------------------------------

class SfuClient:
    """An XMPP client (alice@localhost/pI) that acknowledges every Jingle
    request at once, hands it to the driver's queue as ("xmpp", I,
    element), and answers disco#info with the XEP-0521 feature."""

    def __init__(self, harness, prosody, i, sink):
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        self.c = harness.Client(f"alice@{harness.DOMAIN}/p{i}",
                                bench_call.bench_users(harness)["alice"], prosody.c2s_port)
        self.full_jid = self.c.full_jid

        def on_jingle(iq):
            if iq["type"] != "set":
                return
            el = ET.fromstring(ET.tostring(iq.xml))
            iq.reply(clear=True).send()
            sink.put((time.monotonic(), ("xmpp", i, el)))

        def on_disco(iq):
            if iq["type"] != "get":
                return
            reply = iq.reply(clear=True)
            qe = ET.SubElement(reply.xml, "{%s}query" % NS_DISCO_INFO)
            ET.SubElement(qe, "{%s}identity" % NS_DISCO_INFO, category="client", type="pc",
                          name="sfu-load")
            for f in (NS_DISCO_INFO, NS_JINGLE, NS_RTP, NS_AV_CONF):
                ET.SubElement(qe, "{%s}feature" % NS_DISCO_INFO, var=f)
            reply.send()

        async def register():
            self.c.xmpp.register_handler(Callback(
                f"sfu jingle {i}", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)),
                on_jingle))
            self.c.xmpp.register_handler(Callback(
                f"sfu disco {i}", MatchXPath("{%s}iq/{%s}query" % (NS_CLIENT, NS_DISCO_INFO)),
                on_disco))

        self.c._call(register(), 5)
        self.c.received = bench_call._Bounded()

    def send(self, xml):
        self.c.send_raw(xml)

    def close(self):
        self.c.close()


class Sink:
    def __init__(self):
        self.queue = None

    def put(self, item):
        self.queue.put(item)


class Belfry:
    name = "belfry"

    def __init__(self, tmp, nmax, shared=False, binary=None):
        import harness
        self.h = harness
        self.prosody = harness.Prosody(users=bench_call.bench_users(harness))
        self.prosody.start()
        self.clients = []
        self.sink = Sink()
        # dtls-timeout: at N = 50 a join starts 2 x 49 handshakes at once on
        # the load's one thread; on a busy VM some took over the default 10 s
        # (the set-up is not measured)
        groups = {"media": {"addresses": "127.0.0.1", "workers": "1", "dtls-timeout": "40",
                            "max-sessions": str(nmax * nmax + 4 * nmax + 10)},
                  "limits": {"max-sessions-per-jid": "0"},
                  "conference": {"rooms": "*", "max-participants": str(max(50, nmax)),
                                 "allow-domains": "*", "last-n": str(LAST_N),
                                 "max-talkers": str(MAX_TALKERS)},
                  "metrics": {"listen": f"127.0.0.1:{harness.free_port()}"}}
        if shared:
            # One UDP port for the worker, belfry's own ICE (relay/media/port-mux.h).
            self.name = "belfry-shared"
            groups["media"]["shared-port"] = "0"
        if binary:
            # Another build (its own modules: belfry loads them from beside
            # its binary in a build tree, relay/modules.c).
            self.name += "-before"
        self.metrics_listen = groups["metrics"]["listen"]
        self.belfry = harness.Belfry(tmp / f"{self.name}-conf", port=self.prosody.component_port,
                                     modules="conference", groups=groups, binary=binary,
                                     verbose=bool(os.environ.get("BENCH_SFU_VERBOSE")))
        self.belfry.start()
        # taskset -a fails when a thread it listed ends before it is moved
        # (belfry's start-up threads come and go): tried again.
        for attempt in range(5):
            r = subprocess.run(["taskset", "-a", "-p", "-c", "0", str(self.belfry.pid)],
                               capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"taskset of belfry {self.belfry.pid}: {r.stderr!r}")
        self.rooms = 0

    def client(self, i, queue):
        self.sink.queue = queue
        while len(self.clients) <= i:
            self.clients.append(SfuClient(self.h, self.prosody, len(self.clients), self.sink))
        return self.clients[i]

    def watch(self):
        return schedstat_files(self.belfry.pid, ["bf-media-0"])

    def withheld(self):
        """The room's counters of packets it chose not to send (audio of
        non-talkers, video outside the last N), per receiver."""
        import urllib.request
        with urllib.request.urlopen(f"http://{self.metrics_listen}/metrics", timeout=5) as r:
            text = r.read().decode()
        vals = {}
        for line in text.splitlines():
            m = re.match(r"^belfry_conference_sfu_(audio|video)_withheld_total\s+([0-9.eE+-]+)$",
                         line)
            if m:
                vals[m.group(1)] = int(float(m.group(2)))
        return [vals.get("audio", 0), vals.get("video", 0)]

    def close(self):
        for c in self.clients:
            c.close()
        if self.belfry and self.belfry.running():
            self.belfry.terminate()
        self.prosody.close()


def sender_contents(tr, i, video):
    audio = (f"<description xmlns='{NS_RTP}' media='audio'>"
             "<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
             "<parameter name='useinbandfec' value='1'/><parameter name='minptime' value='10'/>"
             "</payload-type>"
             f"<rtp-hdrext xmlns='{NS_HDREXT}' id='1' uri='{AUDIO_LEVEL}'/>"
             f"<source xmlns='{NS_SSMA}' ssrc='{0x30000000 + i}'>"
             f"<parameter name='cname' value='p{i}'/></source><rtcp-mux/></description>")
    out = f"<content creator='initiator' name='a0' senders='initiator'>{audio}{tr}</content>"
    if video:
        vd = (f"<description xmlns='{NS_RTP}' media='video'>"
              "<payload-type id='96' name='VP8' clockrate='90000'>"
              f"<rtcp-fb xmlns='{NS_RTCP_FB}' type='nack'/>"
              f"<rtcp-fb xmlns='{NS_RTCP_FB}' type='nack' subtype='pli'/>"
              f"<rtcp-fb xmlns='{NS_RTCP_FB}' type='ccm' subtype='fir'/></payload-type>"
              f"<source xmlns='{NS_SSMA}' ssrc='{0x38000000 + i}'>"
              f"<parameter name='cname' value='p{i}'/></source><rtcp-mux/></description>")
        out += (f"<content creator='initiator' name='v1' senders='initiator'>{vd}{tr}</content>"
                f"<group xmlns='{NS_GROUPING}' semantics='BUNDLE'>"
                "<content name='a0'/><content name='v1'/></group>")
    return out


def accept_contents(offer, tr):
    """The answer to a session the room placed: each offered content taken
    as offered (senders='initiator': the room sends), its codecs, feedback
    and header extensions, our transport."""
    out = ""
    for c in offer.findall(q(NS_JINGLE, "content")):
        d = c.find(q(NS_RTP, "description"))
        if d is None:
            continue
        desc = f"<description xmlns='{NS_RTP}' media={quoteattr(d.get('media'))}>"
        for pt in d.findall(q(NS_RTP, "payload-type")):
            attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in pt.attrib.items())
            inner = "".join(
                f"<rtcp-fb xmlns='{NS_RTCP_FB}' type={quoteattr(fb.get('type'))}"
                + (f" subtype={quoteattr(fb.get('subtype'))}" if fb.get("subtype") else "") + "/>"
                for fb in pt.findall(q(NS_RTCP_FB, "rtcp-fb")))
            desc += f"<payload-type {attrs}>{inner}</payload-type>"
        for he in d.findall(q(NS_HDREXT, "rtp-hdrext")):
            desc += (f"<rtp-hdrext xmlns='{NS_HDREXT}' id={quoteattr(he.get('id'))} "
                     f"uri={quoteattr(he.get('uri'))}/>")
        desc += "<rtcp-mux/></description>"
        out += (f"<content creator='initiator' name={quoteattr(c.get('name'))} "
                f"senders='initiator'>{desc}{tr}</content>")
    g = offer.find(q(NS_GROUPING, "group"))
    if g is not None:
        out += (f"<group xmlns='{NS_GROUPING}' semantics={quoteattr(g.get('semantics'))}>"
                + "".join(f"<content name={quoteattr(x.get('name'))}/>"
                          for x in g.findall(q(NS_GROUPING, "content")))
                + "</group>")
    return out


class BelfryRoom:
    """N participants calling benchN@relay.localhost and accepting the
    N x (N-1) sessions the room places to them; returns when every leg is
    keyed (DTLS-SRTP)."""

    def __init__(self, bf, load, room, n, timeout):
        self.room_jid = f"{room}@relay.localhost"
        self.sids = {}
        clients = [bf.client(i, load.events) for i in range(n)]
        legs = {}          # leg name -> info
        by_sid = {}        # sid -> leg name
        for i in range(n):
            load.send(part_line(i, n))
            legs[f"s{i}"] = {"i": i, "cands": []}
        want = n + n * (n - 1)
        keyed = set()
        next_k = 0
        ready = []         # send legs gathered, their participant not joined yet
        joined = 0

        def join(name):
            st = legs[name]
            c = clients[st["i"]]
            sid = f"sfu{st['i']}-{os.urandom(4).hex()}"
            by_sid[sid] = name
            self.sids[st["i"]] = sid
            tr = bench_call.transport_xml(st["creds"], st["fp"], "actpass", st["cands"])
            j = (f"<jingle xmlns='{NS_JINGLE}' action='session-initiate' "
                 f"sid={quoteattr(sid)} initiator={quoteattr(c.full_jid)}>"
                 f"{sender_contents(tr, st['i'], video_sender(st['i']))}</jingle>")
            c.send(bench_call.iq_set(self.room_jid, j))

        deadline = time.monotonic() + timeout
        while len(keyed) < want:
            # Participants join one after another once the legs of those
            # before are keyed (at most JOIN_GATE legs in set-up): the
            # load's DTLS handshakes (N x N at N = 50, on one shared core)
            # must each finish within belfry's 10 s.
            while ready and joined + next_k - len(keyed) < JOIN_GATE:
                join(ready.pop(0))
                joined += 1
            if time.monotonic() > deadline:
                sends = sum(1 for x in keyed if x[0] == "s")
                raise RuntimeError(f"belfry: {len(keyed)} of {want} legs keyed in {timeout:.0f} s "
                                   f"({sends} of {n} send legs; {next_k} sessions placed "
                                   f"by the room of {n * (n - 1)})")
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
                    if len(parts) < 2 or parts[0] not in legs:
                        continue
                    name, what = parts[0], parts[1]
                    st = legs[name]
                    if what == "credentials":
                        st["creds"] = (parts[2], parts[3])
                    elif what == "fingerprint":
                        st["fp"] = (parts[2], parts[3])
                    elif what == "candidate":
                        st["cands"].append(parts[2:8])
                    elif what == "gathering-done":
                        c = clients[st["i"]]
                        if name[0] == "s":
                            ready.append(name)
                        else:
                            # the room is the initiator (actpass): we answer active
                            tr = bench_call.transport_xml(st["creds"], st["fp"], "active",
                                                          st["cands"])
                            j = (f"<jingle xmlns='{NS_JINGLE}' action='session-accept' "
                                 f"sid={quoteattr(st['sid'])} initiator={quoteattr(st['from'])} "
                                 f"responder={quoteattr(c.full_jid)}>"
                                 f"{accept_contents(st['offer'], tr)}</jingle>")
                            c.send(bench_call.iq_set(st["from"], j))
                            self._remote(load, name, st["offer"], "controlling", "active")
                            st["offer"] = None
                    elif what == "dtls-connected":
                        keyed.add(name)
                    continue
                _, i, el = ev
                j = el.find(q(NS_JINGLE, "jingle"))
                action, sid = j.get("action"), j.get("sid")
                if action == "session-initiate":
                    if not (el.get("from") or "").startswith(self.room_jid + "/"):
                        continue
                    name = f"r{next_k}"
                    load.send(f"recv {next_k} {i}")
                    next_k += 1
                    # whose streams: the room's msid names the sender's join
                    # number (sfu-signal.c build_offer)
                    m = re.search(rf"belfry-{re.escape(room)}-(\d+)",
                                  ET.tostring(j, encoding="unicode"))
                    legs[name] = {"i": i, "cands": [], "sid": sid, "from": el.get("from"),
                                  "offer": j, "number": int(m.group(1)) if m else None}
                    by_sid[sid] = name
                    continue
                name = by_sid.get(sid)
                if name is None:
                    continue
                if action == "session-accept" and name[0] == "s":
                    _, _, fp, _ = bench_call.parse_transport(j)
                    if fp is None:
                        raise RuntimeError(f"participant {i}: no DTLS in session-accept")
                    self._remote(load, name, j, "controlled",
                                 "passive" if fp[2] == "active" else "active")
                elif action == "transport-info":
                    for cand in bench_call.parse_transport(j)[3]:
                        load.send(f"{name} candidate {cand}")
                elif action == "session-terminate":
                    raise RuntimeError(f"{name} (participant {i}): terminated by belfry: "
                                       + ET.tostring(j, encoding="unicode")[:500])
        self.placed = next_k
        # participant -> join number: the one number missing from the
        # sessions placed to it (it gets every other sender's)
        seen = {i: set() for i in range(n)}
        for st in legs.values():
            if st.get("number") is not None:
                seen[st["i"]].add(st["number"])
        self.number = {}
        for i in range(n):
            missing = set(range(1, n + 1)) - seen[i]
            if len(missing) != 1:
                raise RuntimeError(f"participant {i}: join number unknown ({sorted(missing)})")
            self.number[i] = missing.pop()
        by_number = {v: k for k, v in self.number.items()}
        for name, st in legs.items():
            if name[0] == "r":
                load.send(f"{name} sender {by_number[st['number']]}")

    @staticmethod
    def _remote(load, name, j, role, ours):
        ufrag, pwd, fp, cands = bench_call.parse_transport(j)
        if ufrag is None or fp is None:
            raise RuntimeError(f"{name}: no ICE/DTLS in " + ET.tostring(j, encoding="unicode")[:500])
        load.send(f"{name} remote-ice {ufrag} {pwd} {role}")
        load.send(f"{name} remote-dtls {ours} {fp[0]} {fp[1]}")
        for cand in cands:
            load.send(f"{name} candidate {cand}")

    def leave(self, bf, n):
        for i, sid in self.sids.items():
            j = (f"<jingle xmlns='{NS_JINGLE}' action='session-terminate' "
                 f"sid={quoteattr(sid)}><reason><success/></reason></jingle>")
            bf.clients[i].send(bench_call.iq_set(self.room_jid, j))


def sessions_ended(load):
    """Session-terminates from belfry since the set-up (reason -> count):
    a receive leg that got nothing in the window may have been ended."""
    ended = {}
    items = load.pending
    load.pending = []
    while True:
        item = load.next_event(0.001)
        if item is None:
            break
        items.append(item)
    for _, ev in items:
        if isinstance(ev, str):
            continue
        j = ev[2].find(q(NS_JINGLE, "jingle"))
        if j is None or j.get("action") != "session-terminate":
            continue
        r = j.find(q(NS_JINGLE, "reason"))
        why = r[0].tag.split("}")[-1] if r is not None and len(r) else "?"
        ended[why] = ended.get(why, 0) + 1
    return ended


def perf_record(tid, path, seconds):
    """perf record (call graphs, 2,999 Hz) of one thread, outside the
    measured window (its sampling would weigh on the figures)."""
    r = subprocess.run(["perf", "record", "-q", "-g", "-F", "2999", "-t", str(tid), "-o", str(path),
                        "--", "sleep", str(seconds)], capture_output=True, text=True,
                       timeout=seconds + 60)
    log(f"perf of thread {tid}: {path}" if r.returncode == 0
        else f"perf record failed: {r.stderr.strip()[:300]}")


def belfry_row(bf, load_exe, n, seconds, warmup, perf_dir=None):
    load = bench_call.Load(load_exe, "ice", "1")
    room = None
    try:
        t0 = time.monotonic()
        bf.rooms += 1
        room = BelfryRoom(bf, load, f"bench{bf.rooms}", n, timeout=20 + 0.1 * n * n)
        setup_s = time.monotonic() - t0
        log(f"{bf.name} N={n}: {n} participants and {room.placed} forwarded sessions keyed "
            f"in {setup_s:.1f} s")
        audio, video = send_expectation(load, n, room.number)
        log(f"{bf.name} N={n}: join numbers {room.number}; expected audio of {sorted(audio)}, "
            f"video of {sorted(video)}")
        load.send("start")
        load.wait(lambda l: l == "started", 5, "started")
        time.sleep(warmup)
        t0, m0 = time.monotonic(), bf.withheld()
        kv = run_window(load, bf.watch(), schedstat_files(bf.belfry.pid), seconds)
        m1, t1 = bf.withheld(), time.monotonic()
        if perf_dir is not None:
            # The load goes on until "stop": a profile of the same work.
            tid = bf.watch()[0].split("/")[4]
            perf_record(tid, Path(perf_dir) / f"{bf.name}-N{n}-{bf.rooms}.data", 6)
        load.send("stop")
        # the counters' span is the window's and the report's: per second,
        # scaled to the window
        r = figures(bf.name, n, kv, setup_s,
                    withheld=[(b - a) * kv["seconds"] / (t1 - t0) for a, b in zip(m0, m1)])
        r["ended"] = sessions_ended(load)
        if r["ended"]:
            log(f"{bf.name} N={n}: sessions belfry ended after set-up: {r['ended']}")
        return r
    except Exception:
        import tempfile
        path = Path(tempfile.gettempdir()) / "bench-sfu-belfry.log"
        path.write_text(bf.belfry.log())
        log(f"belfry's log: {path}")
        raise
    finally:
        if room is not None:
            try:
                room.leave(bf, n)
            except Exception:
                pass
        load.close()
        time.sleep(1.0)


# ---------------------------------------------------------------------------

PARTS = ("belfry-before", "belfry", "belfry-shared-before", "belfry-shared", "forwarder")
LABELS = {"belfry": "belfry (worker thread)",
          "belfry-shared": "belfry, shared-port (worker thread)",
          "belfry-before": "belfry before (worker thread)",
          "belfry-shared-before": "belfry before, shared-port (worker thread)",
          "forwarder": "srtp-forwarder fanout"}


def median_row(rs):
    """The round with the median figure (per CPU-second; of an even number
    of rounds the lower middle one's other figures, the mean of the middle
    two), with the range."""
    import statistics
    r = dict(sorted(rs, key=lambda r: r["pps_per_cpu"])[(len(rs) - 1) // 2])
    r["pps_per_cpu"] = statistics.median(x["pps_per_cpu"] for x in rs)
    r["lo"] = min(x["pps_per_cpu"] for x in rs)
    r["hi"] = max(x["pps_per_cpu"] for x in rs)
    r["rounds"] = len(rs)
    return r


def same_round_ratio(a_rs, b_rs):
    """Median and range of a / b over the rounds both ran (per CPU-second):
    adjacent windows of one run, the machine's drift mostly cancelled."""
    import statistics
    rs = [a["pps_per_cpu"] / b["pps_per_cpu"] for a, b in zip(a_rs, b_rs)
          if b["pps_per_cpu"] > 0]
    if not rs:
        return None
    return statistics.median(rs), min(rs), max(rs)


def fmt_ratio(r):
    if r is None:
        return "–"
    m, lo, hi = r
    return f"{m:.0%}" + (f" ({lo:.0%}–{hi:.0%})" if hi > lo else "")


def report(res, ns, seconds, rounds):
    print(f"\nSFU fan-out, {seconds:.0f} s windows, {rounds} round(s), forwarder on CPU 0, load on "
          f"CPU 1; every participant sends Opus (50 pkt/s; talkers {MAX_TALKERS}), the first "
          f"{VIDEO_SENDERS} also VP8 (~97 pkt/s, one layer); last-N {LAST_N}; expected and "
          "withheld per the room's rules, every packet verified"
          + ("; figures: the median round (range), ratios: median of same-round ratios (range)"
             if rounds > 1 else ""))
    print("| room | SFU | pkts out/s | pkts out per CPU-second | belfry / baseline | "
          "loss of expected | withheld (expected; room's counters audio + video) | "
          "added latency, video (median / p95 / p99) | "
          "CPU (process) | waited for a CPU (ms/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in ns:
        base = res.get(("forwarder", n))
        for name in PARTS:
            rs = res.get((name, n))
            if not rs:
                continue
            r = median_row(rs)
            mine = name.startswith("belfry")
            ratio = fmt_ratio(same_round_ratio(rs, base)) if mine and base else "–"
            extra = f" ({r['extra_cpu']:.2f})" if mine else ""
            spread = f" ({r['lo']:,.0f}–{r['hi']:,.0f})" if r["hi"] > r["lo"] else ""
            print(f"| N = {n} | {LABELS[name]} | {r['out_pps']:,.0f} | {r['pps_per_cpu']:,.0f}{spread} "
                  f"| {ratio} | {max(x['loss'] for x in rs):.2%} | {r['withheld_exp'] / seconds:,.0f}/s"
                  + (f" ({r['withheld'][0] / seconds:,.0f} + {r['withheld'][1] / seconds:,.0f}/s)"
                     if r.get("withheld") else "") + " | "
                  f"{r['lat'][0]:.2f} / {r['lat'][1]:.2f} / {r['lat'][2]:.2f} ms | "
                  f"{r['cpu']:.2f}{extra} | {r['wait_ms_ps']:.0f} |")
    print(f"Goal (issue 14): >= {GOAL_PPS:,} packets out per CPU-second and >= "
          f"{GOAL_RATIO:.0%} of the forwarder")
    for n in ns:
        for a, b, what in (("belfry", "belfry-before", "belfry / belfry before"),
                           ("belfry-shared", "belfry-shared-before",
                            "belfry shared-port / belfry before shared-port"),
                           ("belfry-shared", "belfry", "belfry shared-port / default")):
            if res.get((a, n)) and res.get((b, n)):
                print(f"N = {n}: {what}: "
                      f"{fmt_ratio(same_round_ratio(res[(a, n)], res[(b, n)]))} per CPU-second")
    for n in ns:
        for name in ("belfry", "belfry-shared"):
            if not res.get((name, n)):
                continue
            a = median_row(res[(name, n)])
            txt = (f"N = {n}: {name} {a['pps_per_cpu']:,.0f} per CPU-second "
                   f"({'meets' if a['pps_per_cpu'] >= GOAL_PPS else 'below'} {GOAL_PPS:,})")
            r = same_round_ratio(res[(name, n)], res.get(("forwarder", n)) or [])
            if r is not None:
                txt += (f", {r[0]:.0%} of the forwarder "
                        f"({'meets' if r[0] >= GOAL_RATIO else 'below'} {GOAL_RATIO:.0%})")
            print(txt)
    for k, rs in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        r = median_row(rs)
        ended = {}
        for x in rs:
            for why, c in (x.get("ended") or {}).items():
                ended[why] = ended.get(why, 0) + c
        print(f"  {k[0]} N={k[1]}: set-up {r['setup_s']:.1f} s; offered {r['in_pps']:.0f} pkt/s "
              f"in; receive legs that got nothing they should {sum(x['silent_legs'] for x in rs)}; "
              f"unexpected packets {sum(x['unexpected'] for x in rs)}, wrong content "
              f"{sum(x['bad_content'] for x in rs)}, unprotect failures {sum(x['bad'] for x in rs)}, "
              f"replays (retransmissions) {sum(x['replay'] for x in rs)}; latency samples "
              f"{r['lat_n']}; load {r['load_cpu']:.2f} CPU"
              + ("; per round: " + ", ".join(f"{x['pps_per_cpu']:,.0f}" for x in rs)
                 if len(rs) > 1 else "")
              + (f"; sessions belfry ended after set-up {ended}" if ended else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="belfry,forwarder")
    ap.add_argument("--rooms", default="10,50")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--before-bin", default=None,
                    help="the belfry binary of the belfry-before and belfry-shared-before parts "
                    "(a build from before a change; it loads the conference module of its own "
                    "build tree)")
    ap.add_argument("--perf", metavar="DIR", default=None,
                    help="after each belfry window, a 6 s perf profile of its worker thread "
                    "into DIR (the load still running)")
    ap.add_argument("--warmup", type=float, default=6.0,
                    help="s between the set-up and the window (a receiver waits for a "
                         "keyframe; belfry's ICE agents keep checking for a few s)")
    a = ap.parse_args()
    only = a.only.split(",")
    unknown = set(only) - set(PARTS)
    if unknown:
        sys.exit(f"--only: unknown parts {sorted(unknown)} (of {', '.join(PARTS)})")
    if any(x.endswith("-before") for x in only) and not a.before_bin:
        sys.exit("--only belfry-before / belfry-shared-before need --before-bin PATH")
    if a.before_bin and not os.access(a.before_bin, os.X_OK):
        sys.exit(f"--before-bin {a.before_bin}: not an executable")
    if a.rounds < 1:
        sys.exit("--rounds: at least 1")
    if a.perf:
        a.perf = os.path.abspath(a.perf)
        os.makedirs(a.perf, exist_ok=True)
    bench_call.enter_private_netns()
    if a.quick:
        a.rooms, a.seconds, a.warmup = "10", 3.0, 3.0
    ns = [int(x) for x in a.rooms.split(",")]
    load_exe, fwd_exe = executables()
    import tempfile
    import shutil
    tmp = Path(tempfile.mkdtemp(prefix="bench-sfu-"))
    os.chmod(tmp, 0o755)
    res = {}
    bfs = {}
    try:
        for name in PARTS:
            if name in only and name != "forwarder":
                bfs[name] = Belfry(tmp, max(ns), shared="shared" in name,
                                   binary=a.before_bin if name.endswith("-before") else None)
        for n in ns:
            order = [x for x in PARTS if x in only]
            for rnd in range(a.rounds):
                # Every other round the other way round: a part is not
                # always the one after the same other (the machine's drift
                # within a round falls on both sides).
                for name in (order if rnd % 2 == 0 else order[::-1]):
                    if name == "forwarder":
                        r = forwarder_row(load_exe, fwd_exe, n, a.seconds, a.warmup)
                    else:
                        r = belfry_row(bfs[name], load_exe, n, a.seconds, a.warmup, a.perf)
                    r["round"] = rnd
                    res.setdefault((name, n), []).append(r)
    finally:
        for bf in bfs.values():
            bf.close()
        shutil.rmtree(tmp, ignore_errors=True)
    report(res, ns, a.seconds, a.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
