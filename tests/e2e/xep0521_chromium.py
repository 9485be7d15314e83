#!/usr/bin/python3
"""A Chromium client of XEP-0521 (audio/video conferences through an SFU):
the same XMPP and Jingle behaviour as xep0521_peer.py (whose Driver and
Session it reuses: slixmpp, sdp_jingle.py for SDP <-> Jingle, written from
the XEP's text), with headless Chromium (libwebrtc) doing the media instead
of webrtcbin, through xep0521-chromium.mjs and page/xep0521.js:

  - it advertises urn:xmpp:jingle:av-conferences:0 in its disco#info;
  - it calls the room with its own streams, senders='initiator' (sendonly
    transceivers): a WebAudio sine of "tone_hz" and a canvas of one solid
    "colour" (CSS colour name), "width" x "height"; "sim_layers": 3 munges
    the offer into legacy SSRC simulcast (a=ssrc-group:SIM, which
    sdp_jingle.py carries as <ssrc-group semantics='SIM'>); "busy": true
    adds a band of changing noise so the encoder spends bits;
  - it accepts every session the room places (a new RTCPeerConnection
    each, recvonly) and labels it with the XEP-0298 <user entity>; each
    session's decoded audio is recorded (tone_analysis.py's format) and
    its decoded video counted (frame times and sizes, wall clock) and its
    mean colour measured.

    /usr/bin/python3 xep0521_chromium.py '<json>'

Input JSON: xep0521_peer.py's (host, port, jid, password, room, tone_hz,
tone_volume, duration, timeout, record_dir, end_file) plus "colour",
"width", "height", "sim_layers", "busy", and "view": [w, h] or
[[t_s, w, h], ...], the CSS size of each received <video> element (the
first at once, the others t_s after our answer to its session): with it,
the element's displayed size
(clientWidth x clientHeight, on every change: a ResizeObserver) goes to the
room as a XEP-0167 §9 description-info, as a real client would say what
it displays (without it nothing is sent: the element would take the
decoded size, and saying that would pin the layer it happens to get).
Output: xep0521_peer.py's JSON lines, plus {"event": "session_connected",
"sid", "entity", "local": [address, port]} when a session the room placed
connects (our end of its selected ICE pair) and {"event": "video_size", "sid",
"entity", "size": [w, h], "wall"} when its decoded video's size changes;
each session also has "frame_wall"
(wall-clock time of each decoded frame), "size_changes" ([wall, [w, h]]),
"stats" (its RTP stats); the result has "own_stats" and "own_local_sdp"
(our call's) and "chromium_version".

Thread rule: one asyncio loop (xep0521_peer.py's); the bridge's replies
and events are read on it.
"""

import asyncio
import itertools
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xep0521_peer as xp  # noqa: E402
import sdp_jingle as sj  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which("node") or "/usr/bin/node"


class Bridge:
    """xep0521-chromium.mjs: requests by id, events to the driver."""

    def __init__(self, drv):
        self.drv = drv
        self.ids = itertools.count(1)
        self.waiting = {}
        self.ready = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            NODE, os.path.join(HERE, "xep0521-chromium.mjs"), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=32 * 1024 * 1024, cwd=HERE)
        self.ready = asyncio.get_event_loop().create_future()
        self.reader = asyncio.get_event_loop().create_task(self.read())
        ev = await asyncio.wait_for(self.ready, 40)
        if ev.get("event") != "ready":
            raise RuntimeError(f"Chromium did not start: {ev}")
        return ev

    async def read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if "id" in m:
                f = self.waiting.pop(m["id"], None)
                if f is not None and not f.done():
                    f.set_result(m)
            elif m.get("event") in ("ready", "fatal"):
                if not self.ready.done():
                    self.ready.set_result(m)
            else:
                self.drv.on_bridge(m)
        for f in self.waiting.values():
            if not f.done():
                f.set_result({"ok": False, "error": "Chromium bridge ended"})
        if not self.ready.done():
            self.ready.set_result({"event": "fatal", "error": "Chromium bridge ended"})

    async def call(self, fn, *args, timeout=20):
        i = next(self.ids)
        f = asyncio.get_event_loop().create_future()
        self.waiting[i] = f
        self.proc.stdin.write((json.dumps({"id": i, "fn": fn, "args": list(args)}) + "\n").encode())
        await self.proc.stdin.drain()
        r = await asyncio.wait_for(f, timeout)
        if not r.get("ok"):
            raise RuntimeError(f"{fn}: {r.get('error')}")
        return r.get("value")

    async def close(self):
        try:
            self.proc.stdin.close()
            await asyncio.wait_for(self.proc.wait(), 10)
        except Exception:  # noqa: BLE001
            if self.proc.returncode is None:
                self.proc.kill()


class _Candidates:
    """What xep0521_peer.Session.remote_candidates calls on its webrtcbin."""

    def __init__(self, s):
        self.s = s

    def emit(self, signal, mline, line):
        assert signal == "add-ice-candidate"
        s = self.s

        async def go():
            try:
                await s.drv.bridge.call("addCandidate", s.sid, mline, line)
            except Exception as e:  # noqa: BLE001
                s.errors.append(f"addCandidate: {e}")
        s.drv.spawn(go())


class ChromiumSession(xp.Session):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.webrtc = _Candidates(self)
        self.page = {}

    def build(self):
        if not self.outgoing:
            self.rec_path = os.path.join(self.drv.cfg["record_dir"],
                                         f"{self.drv.name}-{self.sid}.pcm")
            self.record = open(self.rec_path, "wb")

    async def wait_sinks(self):
        pass

    async def create(self, kind):
        c = self.drv.cfg
        opts = {"send": self.outgoing, "tone_hz": c.get("tone_hz", 600),
                "tone_volume": c.get("tone_volume", 0.15), "colour": c.get("colour", "red"),
                "width": c.get("width", 640), "height": c.get("height", 480),
                "simulcast": c.get("sim_layers"), "busy": bool(c.get("busy")),
                "view": None if self.outgoing else c.get("view")}
        text = await self.drv.bridge.call("create", self.sid, kind, opts)
        sdp = sj.Sdp(text)
        m = sdp.media[0]
        self.ufrag = m.get("ice-ufrag") or sdp.session_get("ice-ufrag")
        self.pwd = m.get("ice-pwd") or sdp.session_get("ice-pwd")
        return text

    async def set_remote(self, text, kind):
        await self.drv.bridge.call("setRemote", self.sid, kind, text)
        self.remote_set = True
        pending, self.pending_remote = self.pending_remote, []
        for mline, line in pending:
            self.webrtc.emit("add-ice-candidate", mline, line)

    def displayed(self, size):
        """The page's <video> is shown at @size now: said to the room, in
        the order the page saw the changes."""
        async def go(prev):
            if prev is not None:
                await prev
            await self.say_display(int(size[0]), int(size[1]))
        self.display_task = self.drv.spawn(go(getattr(self, "display_task", None)))

    def audio(self, chunks):
        import base64
        with self.lock:
            if self.record is None:
                return
            for c in chunks:
                pcm = base64.b64decode(c["b64"])
                self.record.write(xp.RECORD_HEADER.pack(c["wall"], len(pcm) // 2))
                self.record.write(pcm)
                self.audio_samples += len(pcm) // 2

    def summary(self):
        d = super().summary()
        d.update({k: v for k, v in self.page.items() if k not in ("audio_samples",)})
        return d


xp.Session = ChromiumSession   # xep0521_peer.Driver makes its sessions by this name


class ChromiumDriver(xp.Driver):
    def on_bridge(self, m):
        s = self.sessions.get(m.get("key"))
        ev = m.get("event")
        if ev == "console":
            self.res.setdefault("console", []).append(m.get("text"))
            return
        if s is None:
            return
        if ev == "ice":
            s.local_candidate(int(m.get("mline") or 0), m.get("candidate"))
        elif ev == "state":
            if m.get("state") == "connected" and s.connected_at is None:
                s.connected_at = time.monotonic()
                s.connected_wall = time.time()
                if not s.outgoing:
                    # Where the room's stream to us arrives (a test shapes it).
                    xp.out({"event": "session_connected", "sid": s.sid, "entity": s.entity,
                            "local": m.get("local"), "t": xp.now_ms()})
            elif m.get("state") == "failed":
                s.errors.append("connection failed")
            self.poke()
        elif ev == "size" and not s.outgoing:
            xp.out({"event": "video_size", "sid": s.sid, "entity": s.entity,
                    "size": m.get("size"), "wall": m.get("wall")})
        elif ev == "display" and not s.outgoing:
            size = m.get("size") or [0, 0]
            if size[0] > 0 and size[1] > 0:
                s.displayed(size)
        elif ev == "audio":
            s.audio(m.get("chunks") or [])

    async def run(self):
        self.bridge = Bridge(self)
        try:
            ready = await self.bridge.start()
            self.res["chromium_version"] = ready.get("chromium_version")
        except Exception as e:  # noqa: BLE001
            self.res["error"] = f"{type(e).__name__}: {e}"
            return self.res
        try:
            res = await super().run()
            for s in self.sessions.values():
                try:
                    s.page = await self.bridge.call("summary", s.sid) or {}
                except Exception as e:  # noqa: BLE001
                    s.errors.append(f"summary: {e}")
            res["sessions"] = [s.summary() for s in self.sessions.values() if not s.outgoing]
            if self.own is not None:
                res["own_stats"] = self.own.page.get("stats")
                res["own_local_sdp"] = self.own.page.get("local_sdp")
        finally:
            await self.bridge.close()
        return res


def main():
    try:
        cfg = json.loads(sys.argv[1])
        for k in ("port", "jid", "password", "room", "record_dir"):
            if not cfg.get(k):
                raise ValueError(f'missing "{k}"')
    except (ValueError, IndexError) as e:
        xp.out({"event": "result", "ok": False, "error": f"bad input: {e}"})
        return 1
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    drv = ChromiumDriver(cfg)
    try:
        res = loop.run_until_complete(
            asyncio.wait_for(drv.run(), float(cfg.get("timeout", 60)) + 30))
    except asyncio.TimeoutError:
        res = drv.res
        res["error"] = res["error"] or "no result in time"
    res["peer"] = "xep0521-chromium"
    xp.out({"event": "result", **res})
    sys.stdout.flush()
    os._exit(0 if res.get("ok") else 1)


if __name__ == "__main__":
    main()
