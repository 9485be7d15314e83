#!/usr/bin/python3
"""A real WebRTC peer: GStreamer's webrtcbin, with slixmpp for XMPP and our
own SDP <-> Jingle conversion (sdp_jingle.py). Sends Opus (audiotestsrc) and
VP8 (videotestsrc; calling with "video_codec": "h264": H.264 only, as
Chromium offers it); decodes what it receives (decodebin) and counts it.

    /usr/bin/python3 webrtcbin_peer.py '<json>'     ('-': JSON from stdin)

Input JSON: {"host": "127.0.0.1", "port": C2S_PORT,
             "jid": "carol@localhost/webrtcbin", "password": "...",
             "mode": "call" | "answer", "target": "bob@localhost/res",
             "propose": false, "duration": 5, "timeout": 60, "linger": null,
             "audio": true, "video": true}
       Opt-in hostile behaviour (all off by default):
             "tamper_fingerprint": true  signal a wrong DTLS fingerprint (our
                 real one with its bytes inverted); the real certificate is
                 still used, so the other side's fingerprint check must fail;
             "expect_terminate": true    do not hang up: wait (up to
                 "timeout") for the remote's session-terminate, ok when one
                 came; its reason is reported as "remote_terminate";
             "vanish_after": N           N s after media connected, vanish
                 without a session-terminate: the ICE streams are removed
                 (no STUN, no media, its UDP sockets closed), then the
                 pipeline is stopped; XMPP stays up and quiet apart from
                 answering iqs; then as expect_terminate.
       Scripted session-info (XEP-0167 §7), off by default:
             "session_info": [{"after": S, "info": "hold" | "unhold" |
                 "active" | "mute" | "unmute" | "ringing", "media": "audio"}]
                 each sent S s after media connected (mute/unmute name the
                 content of that media, creator='initiator'); reported as
                 "session_info_sent", what the remote sent as
                 "session_info_received" ({t, info, name, creator}).
       Audio for the conference tests (tests/e2e/tone_analysis.py), off by
       default:
             "tone_hz": F, "tone_volume": V  the sent sine (default 440 Hz,
                 0.4 of full scale);
             "audio_wave": "silence"  send digital silence instead;
             "opus_dtx": true  opusenc and rtpopuspay with DTX (silence goes
                 out as no packets but the encoder's periodic DTX frames);
             "mute_silences": true  a scripted mute sets the sent audio's
                 volume to 0 (silence, as a muted client sends), unmute
                 back, at the moment the session-info goes out;
             "record_audio": PATH  every decoded audio buffer, as 48 kHz
                 mono S16LE, appended to PATH as a chunk (tone_analysis.py
                 reads it): header <d wall-clock arrival time, I samples>;
             "ice_address": "127.0.0.2"  ICE gathers on this loopback
                 address instead of 127.0.0.1 (a test can match this peer's
                 media by address, e.g. to drop its packets);
             "session_info" items may name "on_file": PATH instead of
                 "after": sent once PATH exists (polled every 10 ms);
             "end_file": PATH  the measurement ends early once PATH exists;
             "announce_connected": true  print {"event": "connected"} at DTLS
                 connected (as "reconnect" does);
             "send_jitter_ms": J  each sent audio RTP packet is held a
                 random 0..J ms before webrtcbin (sender-side jitter).
       RTCP as it leaves and arrives, plain (test_call_rtcp.py), off by
       default:
             "rtcp_probe": true  from DTLS connected, every RTCP compound
                 webrtcbin sends gets an APP packet (name "BFTS") added, and
                 the SDES items and APP packets of every compound sent and
                 received are counted; reported as "rtcp": {"out": ...,
                 "in": ...}, each {"compounds", "cnames": {ssrc: cname},
                 "sdes_items": {item type: count}, "app"}.
             The result adds the wall-clock (time.time()) "connected_wall",
             "terminate_sent_wall" and "remote_terminate_wall", and
             "wall" on each session_info_sent entry.
Output: JSON lines on stdout: {"event":"ready","jid":FULL} once logged in,
last {"event":"result", ...}. Exit status 0 when the call ran, 1 otherwise.

Runs only where 127.0.0.1 is the address to use (the e2e network
namespace): ICE gathers on 127.0.0.1 alone.
"""

import asyncio
import json
import os
import random
import re
import struct
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstRtp", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import Gst, GstRtp, GstSdp, GstWebRTC, Nice  # noqa: E402

import sdp_jingle as sj  # noqa: E402
from sdp_jingle import NS_JINGLE, NS_JMI, q  # noqa: E402

NS_CLIENT = "jabber:client"
NS_RTP_INFO = "urn:xmpp:jingle:apps:rtp:info:1"
SESSION_INFOS = ("hold", "unhold", "active", "mute", "unmute", "ringing")
T0 = time.monotonic()


def rtcp_contents(data, into):
    """Counts what an RTCP compound (RFC 3550 §6) carries into `into`:
    SDES items by type (CNAME kept by SSRC) and APP packets."""
    into["compounds"] += 1
    pos = 0
    while pos + 4 <= len(data):
        count, pt = data[pos] & 0x1f, data[pos + 1]
        end = pos + 4 * (struct.unpack_from("!H", data, pos + 2)[0] + 1)
        if end > len(data):
            into["malformed"] += 1
            return
        if pt == 204:
            into["app"] += 1
        elif pt == 202:
            c = pos + 4
            for _ in range(count):
                if c + 4 > end:
                    break
                ssrc = struct.unpack_from("!I", data, c)[0]
                c += 4
                while c < end and data[c] != 0:
                    kind, n = data[c], data[c + 1]
                    item = bytes(data[c + 2:c + 2 + n]).decode("utf-8", "replace")
                    into["sdes_items"][str(kind)] = into["sdes_items"].get(str(kind), 0) + 1
                    if kind == 1:
                        into["cnames"][str(ssrc)] = item
                    c += 2 + n
                c = (c + 4) & ~3     # the null item(s) up to the next 32-bit boundary
        pos = end


def new_rtcp_counts():
    return {"compounds": 0, "cnames": {}, "sdes_items": {}, "app": 0, "malformed": 0}


def now_ms():
    return int((time.monotonic() - T0) * 1000)


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def bare(jid):
    return str(jid).split("/", 1)[0]


def rid():
    return "%016x" % random.getrandbits(64)


def xml_attr(v):
    from xml.sax.saxutils import quoteattr
    return quoteattr(str(v))


# Decoded video kept for a test (record_video): RGB frames this small (a
# 640x360 composite scaled by 10: a tile of a 2x2 grid is 32x18).
VIDEO_SNAP = (64, 36)

class Peer:
    def __init__(self, cfg):
        self.cfg = cfg
        self.mode = cfg["mode"]
        self.duration = float(cfg.get("duration", 5))
        self.timeout = float(cfg.get("timeout", 60))
        self.want_audio = cfg.get("audio", True) is not False
        self.want_video = cfg.get("video", True) is not False
        linger = cfg.get("linger")
        self.linger = float(linger if linger is not None else (1.5 if self.mode == "call" else 4))
        self.res = {
            "ok": False, "error": None, "peer": "webrtcbin", "mode": self.mode, "jid": None,
            "remote_jid": None, "sid": None, "propose": bool(cfg.get("propose")),
            "timings_ms": {}, "states": [], "connected": False, "terminated_by": None,
            "terminate_reason": None, "remote_terminate": None,
            "audio_buffers_decoded": 0, "audio_samples_decoded": 0, "audio_peak": 0.0,
            "video_frames_decoded": 0, "video_width": None, "video_height": None,
            "decoded_caps": [], "remote_candidates": [], "local_candidates": [],
            "timeline": [], "jingle": [], "jmi": [], "chat": [], "local_sdp": None,
            "remote_sdp": None, "log": [], "gst_errors": [], "gstreamer_version": Gst.version_string(),
            "session_info_sent": [], "session_info_received": [],
        }
        self.loop = asyncio.get_event_loop()
        self.lock = threading.Lock()
        self.changed = asyncio.Event()
        self.pipe = None
        self.webrtc = None
        self.ice = None          # keep the Python references to the ICE
        self.nice_agent = None   # objects alive (see test-servers.md)
        self.session_sent = False
        self.remote_set = False
        self.pending_remote = []     # (mline, candidate line) before remote SDP
        self.pending_local = []      # (mline, candidate) before our jingle went out
        self.mids = []               # m-line order of the negotiated session
        self.bundle = None
        self.remote_jid = None
        self.sid = None
        self.ended = False
        self.connected_at = None
        self.proceed_from = None
        self.rejected = None
        self.initiate = None         # incoming session-initiate <jingle>
        self.accept = None           # incoming session-accept <jingle>
        self.iq_errors = []
        self.tasks = set()
        self.tamper_fingerprint = bool(cfg.get("tamper_fingerprint"))
        vanish = cfg.get("vanish_after")
        self.vanish_after = float(vanish) if vanish is not None else None
        self.expect_terminate = bool(cfg.get("expect_terminate")) or self.vanish_after is not None
        self.vanished = False
        self.session_info = list(cfg.get("session_info") or [])
        self.content_media = {}      # content name -> "audio" | "video"
        # "reconnect": when the XMPP connection drops (the server restarts),
        # log in again as the same full JID, as Conversations does with a
        # stable resource; the call goes on meanwhile.
        self.reconnect = bool(cfg.get("reconnect"))
        self.finishing = False
        self.logged_in = False
        self.res.update({"xmpp_disconnects_ms": [], "xmpp_reconnects_ms": [], "presence_in": []})
        # "subscribe": a bare JID to subscribe to at the first login; the
        # presence stanzas from it are recorded (presence_in).
        self.subscribe = cfg.get("subscribe")
        self.rtp_times = {"audio": [], "video": []}   # monotonic s of each RTP packet out of webrtcbin
        self.tone_hz = float(cfg.get("tone_hz", 440))
        self.tone_volume = float(cfg.get("tone_volume", 0.4))
        self.audio_wave = cfg.get("audio_wave", "sine")
        if self.audio_wave not in ("sine", "silence"):
            raise ValueError(f"audio_wave: {self.audio_wave!r}")
        self.opus_dtx = bool(cfg.get("opus_dtx"))
        self.mute_silences = bool(cfg.get("mute_silences"))
        self.ice_address = cfg.get("ice_address", "127.0.0.1")
        self.send_jitter = float(cfg.get("send_jitter_ms", 0)) / 1000.0
        self.rtcp_probe = bool(cfg.get("rtcp_probe"))
        if self.rtcp_probe:
            self.res["rtcp"] = {"out": new_rtcp_counts(), "in": new_rtcp_counts()}
        self.record = None
        if cfg.get("record_audio"):
            self.record = open(cfg["record_audio"], "wb")
        # The video it sends (a videotestsrc pattern), and the decoded video
        # it receives, kept as small RGB frames (VIDEO_SNAP) with their wall
        # time: "<dII" (time, width, height) + width*height*3 bytes.
        self.video_pattern = cfg.get("video_pattern", "ball")
        # "vp8" (the default), or "h264": H.264 only, offered as Chromium and
        # Conversations do (packetization-mode=1, profile-level-id 42e01f).
        self.video_codec = cfg.get("video_codec", "vp8")
        if self.video_codec not in ("vp8", "h264"):
            raise ValueError(f"video_codec {self.video_codec!r}: vp8 or h264")
        self.record_video = open(cfg["record_video"], "wb") if cfg.get("record_video") else None
        self.record_lock = threading.Lock()
        self.res.update({"connected_wall": None, "terminate_sent_wall": None,
                         "remote_terminate_wall": None, "recorded_samples": 0})

    # -- bookkeeping ---------------------------------------------------------

    def log(self, *parts):
        line = f"{now_ms()} " + " ".join(p if isinstance(p, str) else repr(p) for p in parts)
        self.res["log"].append(line[:2000])

    def poke(self):
        self.changed.set()

    def poke_threadsafe(self):
        self.loop.call_soon_threadsafe(self.changed.set)

    async def until(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timeout ({timeout:.0f} s) waiting for {what}")
            self.changed.clear()
            if pred():
                break
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    def spawn(self, coro):
        t = self.loop.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    # -- XMPP ----------------------------------------------------------------

    async def login(self):
        import slixmpp
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        jid = self.cfg["jid"]
        x = slixmpp.ClientXMPP(jid, self.cfg["password"])
        x.loop = self.loop
        x["feature_mechanisms"].unencrypted_plain = True
        started = self.loop.create_future()

        def done(v):
            if not started.done():
                started.set_result(v)

        x.add_event_handler("session_start", lambda _e: done("ok"))
        x.add_event_handler("failed_auth", lambda _e: done("authentication failed"))
        x.add_event_handler("connection_failed", lambda e: done(f"connection failed: {e}"))
        x.add_event_handler("disconnected", lambda e: done(f"disconnected: {e}"))
        if self.reconnect:
            x.add_event_handler("session_start", self.on_session_restart)
            x.add_event_handler("disconnected", self.on_xmpp_lost)
            x.add_event_handler("connection_failed", self.on_xmpp_lost)
        x.register_handler(Callback(
            "belfry-e2e jingle",
            MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), self.on_jingle_iq))
        x.add_filter("in", self.on_incoming)
        self.xmpp = x
        x.connect((self.cfg.get("host", "127.0.0.1"), int(self.cfg["port"])),
                  force_starttls=False, disable_starttls=True)
        result = await asyncio.wait_for(started, 15)
        if result != "ok":
            raise RuntimeError(f"login failed: {result}")
        self.res["jid"] = str(x.boundjid.full)
        x.send_presence()
        if self.subscribe:
            x.send_presence(pto=self.subscribe, ptype="subscribe")
        self.logged_in = True

    # -- reconnecting (cfg "reconnect") ----------------------------------------

    def on_xmpp_lost(self, _e):
        if self.finishing or not self.logged_in or time.monotonic() > self.deadline:
            return
        if self.xmpp.transport is None:
            self.res["xmpp_disconnects_ms"].append(now_ms())
            self.log("XMPP connection lost; reconnecting as", self.res["jid"])
            # slixmpp's own retry backs off to 1, 3, 7 s: retry every 0.3 s.
            self.xmpp.cancel_connection_attempt()
            self.loop.call_later(0.3, self.xmpp_connect_again)

    def xmpp_connect_again(self):
        if self.finishing or self.xmpp.transport is not None:
            return
        self.xmpp.connect((self.cfg.get("host", "127.0.0.1"), int(self.cfg["port"])),
                          force_starttls=False, disable_starttls=True)

    def on_session_restart(self, _e):
        if not self.logged_in:
            return
        self.res["xmpp_reconnects_ms"].append(now_ms())
        self.log("logged in again as", str(self.xmpp.boundjid.full))
        self.xmpp.send_presence()
        out({"event": "reconnected", "jid": str(self.xmpp.boundjid.full)})

    def on_rtp(self, kind):
        times = self.rtp_times[kind]

        def probe(pad, info):
            if len(times) < 100000:
                times.append(time.monotonic())
            return Gst.PadProbeReturn.OK
        return probe

    def rtp_continuity(self, start, end):
        """Per media: RTP packets out of webrtcbin per 500 ms window from
        `start` to `end` (monotonic s), and the longest gap between two."""
        out_ = {}
        for kind, times in self.rtp_times.items():
            ts = [t for t in list(times) if start <= t <= end]
            n = max(0, int((end - start) / 0.5))
            windows = [0] * n
            for t in ts:
                i = int((t - start) / 0.5)
                if i < n:
                    windows[i] += 1
            edges = [start] + ts + [end]
            gap = max((b - a for a, b in zip(edges, edges[1:])), default=end - start)
            out_[kind] = {"windows": windows, "max_gap_ms": int(gap * 1000),
                          "packets": len(ts), "start_ms": int((start - T0) * 1000),
                          "end_ms": int((end - T0) * 1000)}
        return out_

    def send_raw(self, xml, record=None):
        """Send an XML string, queued in order with stanzas sent by send()."""
        if record is not None:
            record.append({"dir": "out", "t": now_ms(), "xml": xml})
        self.xmpp.send(xml)

    def on_incoming(self, stanza):
        el = stanza.xml
        if (self.subscribe and el.tag == q(NS_CLIENT, "presence")
                and (el.get("from") or "").split("/")[0] == self.subscribe):
            self.res["presence_in"].append({"t": now_ms(), "from": el.get("from"),
                                            "type": el.get("type")})
        if el.tag == q(NS_CLIENT, "message"):
            jmi = [c for c in el if c.tag.startswith("{%s}" % NS_JMI)]
            if jmi:
                self.res["jmi"].append({"dir": "in", "t": now_ms(), "xml": str(stanza)})
                self.on_jmi(el.get("from"), jmi[0])
            body = el.find(q(NS_CLIENT, "body"))
            if body is not None and body.text and len(self.res["chat"]) < 50:
                self.res["chat"].append({"t": now_ms(), "from": el.get("from"),
                                         "body": body.text[:500]})
        elif el.tag == q(NS_CLIENT, "iq") and el.find(q(NS_JINGLE, "jingle")) is not None:
            self.res["jingle"].append({"dir": "in", "t": now_ms(), "xml": str(stanza)})
        return stanza

    def on_jmi(self, sender, el):
        local = el.tag.split("}", 1)[1]
        sid = el.get("id")
        if self.mode == "answer" and local == "propose":
            self.log("JMI propose from", sender, sid)
            self.send_raw(f"<message to={xml_attr(sender)} id={xml_attr(rid())}>"
                          f"<proceed xmlns='{NS_JMI}' id={xml_attr(sid)}/></message>",
                          self.res["jmi"])
        elif self.mode == "call" and sid == self.sid:
            if local == "proceed":
                self.proceed_from = sender
            elif local in ("reject", "retract"):
                self.rejected = f"JMI {local} from {sender}"
            self.poke()

    def on_jingle_iq(self, iq):
        el = iq.xml
        jingle = el.find(q(NS_JINGLE, "jingle"))
        sender, iq_id = el.get("from"), el.get("id")
        action, sid = jingle.get("action"), jingle.get("sid")
        if el.get("type") != "set":
            return

        def reply_ok():
            self.send_raw(f"<iq type='result' to={xml_attr(sender)} id={xml_attr(iq_id)}/>")

        def reply_err(cond, jerr=None):
            extra = f"<{jerr} xmlns='urn:xmpp:jingle:errors:1'/>" if jerr else ""
            self.send_raw(f"<iq type='error' to={xml_attr(sender)} id={xml_attr(iq_id)}>"
                          f"<error type='cancel'><{cond} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                          f"{extra}</error></iq>")

        if action == "session-initiate":
            if self.mode != "answer" or self.initiate is not None:
                reply_err("service-unavailable")
                return
            reply_ok()
            self.initiate = jingle
            self.sid = sid
            self.remote_jid = sender
            self.res["sid"], self.res["remote_jid"] = sid, sender
            self.res["timings_ms"]["incoming"] = now_ms()
            self.poke()
            return
        if sid != self.sid or sender != self.remote_jid:
            reply_err("item-not-found", "unknown-session")
            return
        reply_ok()
        if action == "session-accept":
            self.accept = jingle
            self.res["timings_ms"]["accepted"] = now_ms()
        elif action == "transport-info":
            for content in sj.jingle_contents(jingle):
                self.remote_candidates(content, action)
        elif action == "session-info":
            for child in jingle:
                if child.tag.startswith("{%s}" % NS_RTP_INFO):
                    self.res["session_info_received"].append({
                        "t": now_ms(), "info": child.tag.split("}", 1)[1],
                        "name": child.get("name"), "creator": child.get("creator")})
        elif action == "session-terminate":
            reason = jingle.find(q(NS_JINGLE, "reason"))
            if reason is not None and len(reason):
                self.res["terminate_reason"] = reason[0].tag.split("}", 1)[1]
            if self.res["remote_terminate"] is None:
                conds = [c.tag.split("}", 1)[1] for c in (reason if reason is not None else [])
                         if c.tag != q(NS_JINGLE, "text")]
                text = reason.find(q(NS_JINGLE, "text")) if reason is not None else None
                self.res["remote_terminate_wall"] = time.time()
                self.res["remote_terminate"] = {
                    "t": now_ms(), "reason": conds[0] if conds else None,
                    "text": text.text if text is not None else None}
            self.ended = True
            if not self.res["terminated_by"]:
                self.res["terminated_by"] = "remote"
        else:
            self.log("ignored jingle action", action)
        self.poke()

    async def send_jingle(self, action, payload, timeout=10):
        """Send a Jingle iq set; raise on an error reply or a timeout."""
        from slixmpp.exceptions import IqError, IqTimeout
        jingle_xml = (f"<jingle xmlns='{NS_JINGLE}' action='{action}' "
                      + (f"initiator={xml_attr(self.res['jid'])} "
                         if action == "session-initiate" else "")
                      + (f"responder={xml_attr(self.res['jid'])} "
                         if action == "session-accept" else "")
                      + f"sid={xml_attr(self.sid)}>{payload}</jingle>")
        iq = self.xmpp.Iq()
        iq["type"] = "set"
        iq["to"] = self.remote_jid
        iq["id"] = rid()
        iq.xml.append(ET.fromstring(jingle_xml))
        self.res["jingle"].append({"dir": "out", "t": now_ms(), "xml": str(iq)})
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            raise RuntimeError(f"{action} got an error: {str(e.iq)[:600]}") from None
        except IqTimeout:
            raise RuntimeError(f"{action}: no reply within {timeout} s") from None

    def send_jingle_bg(self, action, payload):
        async def go():
            try:
                await self.send_jingle(action, payload)
            except Exception as e:  # noqa: BLE001
                self.iq_errors.append(f"{action}: {e}")
                self.log("iq error", action, str(e))
        self.spawn(go())

    # -- GStreamer -----------------------------------------------------------

    def build_pipeline(self, opus_pt=111, vp8_pt=96):
        Gst.init(None)
        parts = ["webrtcbin name=webrtc bundle-policy=max-bundle"]
        if self.want_audio:
            dtx = " dtx=true" if self.opus_dtx else ""
            parts.append(
                f"audiotestsrc name=tone is-live=true wave={self.audio_wave} freq={self.tone_hz} "
                f"volume={self.tone_volume} ! audioconvert ! "
                f"audioresample ! audio/x-raw,channels=2,rate=48000 ! opusenc{dtx} ! "
                f"rtpopuspay pt={opus_pt}{dtx} ! application/x-rtp,media=audio,encoding-name=OPUS,"
                f"payload={opus_pt},clock-rate=48000,encoding-params=(string)2 ! "
                "queue name=audioq ! webrtc.")
        if self.want_video and self.video_codec == "h264":
            parts.append(
                f"videotestsrc is-live=true pattern={self.video_pattern} ! "
                "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue ! "
                "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate=300 ! "
                "video/x-h264,profile=constrained-baseline ! "
                f"rtph264pay pt={vp8_pt} config-interval=-1 ! application/x-rtp,media=video,"
                f"encoding-name=H264,payload={vp8_pt},clock-rate=90000,"
                "packetization-mode=(string)1 ! queue ! webrtc.")
        elif self.want_video:
            parts.append(
                f"videotestsrc is-live=true pattern={self.video_pattern} ! "
                "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue ! "
                "vp8enc deadline=1 cpu-used=8 keyframe-max-dist=60 target-bitrate=300000 ! "
                f"rtpvp8pay pt={vp8_pt} picture-id-mode=15-bit ! application/x-rtp,media=video,"
                f"encoding-name=VP8,payload={vp8_pt},clock-rate=90000 ! queue ! webrtc.")
        self.pipe = Gst.parse_launch(" ".join(parts))
        self.webrtc = self.pipe.get_by_name("webrtc")
        self.ice = self.webrtc.get_property("ice-agent")
        self.ice.set_property("ice-tcp", False)
        self.nice_agent = self.ice.get_property("agent")
        if self.want_audio and self.send_jitter > 0:
            q = self.pipe.get_by_name("audioq")
            q.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_jitter)
        if self.vanish_after is not None:
            # No UPnP discovery (SSDP sockets): after vanishing, no UDP
            # socket of ours may stay open.
            self.nice_agent.set_property("upnp", False)
        addr = Nice.Address.new()
        if not addr.set_from_string(self.ice_address):
            raise RuntimeError(f"Nice.Address.set_from_string({self.ice_address}) failed")
        if not self.nice_agent.add_local_address(addr):
            raise RuntimeError(f"nice_agent_add_local_address({self.ice_address}) failed")
        self._addr = addr
        self.webrtc.connect("on-ice-candidate", self.on_ice_candidate)
        self.webrtc.connect("pad-added", self.on_pad_added)
        for prop in ("ice-connection-state", "connection-state", "ice-gathering-state",
                     "signaling-state"):
            self.webrtc.connect("notify::" + prop, self.on_state)
        bus = self.pipe.get_bus()
        self.bus = bus
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError("pipeline failed to start")

    async def sinks_negotiated(self, timeout=3.0):
        """Wait until every sending branch has caps with an SSRC on webrtcbin:
        only then does the offer announce a source for each m-line."""
        def ready():
            for pad in self.webrtc.sinkpads:
                caps = pad.get_current_caps()
                if caps is None or not caps.get_structure(0).has_field("ssrc"):
                    return False
            return True
        deadline = time.monotonic() + timeout
        while not ready() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.log("sink pads negotiated" if ready() else "sink pads not negotiated in time")

    def on_state(self, webrtc, pspec):
        st = {
            "t": now_ms(),
            "ice": webrtc.get_property("ice-connection-state").value_nick,
            "pc": webrtc.get_property("connection-state").value_nick,
            "gathering": webrtc.get_property("ice-gathering-state").value_nick,
            "signaling": webrtc.get_property("signaling-state").value_nick,
        }
        with self.lock:
            self.res["states"].append(st)
            if st["pc"] == "connected" and self.connected_at is None:
                if self.rtcp_probe:
                    self.watch_rtcp()
                self.connected_at = time.monotonic()
                self.res["connected_wall"] = time.time()
                self.res["connected"] = True
                self.res["timings_ms"]["connected"] = st["t"]
            if st["pc"] == "failed" or st["ice"] == "failed":
                self.ended = True
                self.res["terminate_reason"] = "ice/dtls failed"
        self.poke_threadsafe()

    def watch_rtcp(self):
        """rtcp_probe: webrtcbin's RTP session 0 (max-bundle: the only one),
        where RTCP is plain (before SRTP out, after it in)."""
        rtpbin = self.webrtc.get_by_name("rtpbin")
        sess = rtpbin.emit("get-internal-session", 0)
        sess.connect("on-sending-rtcp", self.on_sending_rtcp)
        sess.connect("on-receiving-rtcp", self.on_receiving_rtcp)
        self.log("watching RTCP of session 0")

    def on_sending_rtcp(self, sess, buf, early):
        # An APP packet (RFC 3550 §6.7) in every compound we send: the relay
        # must drop it.  Then what leaves, counted.
        rtcp = GstRtp.RTCPBuffer()
        if GstRtp.RTCPBuffer.map(buf, Gst.MapFlags.READ | Gst.MapFlags.WRITE, rtcp):
            pkt = GstRtp.RTCPPacket()
            if rtcp.add_packet(GstRtp.RTCPType.APP, pkt):
                pkt.app_set_subtype(1)
                pkt.app_set_ssrc(0x42465453)
                pkt.app_set_name("BFTS")
                pkt.app_set_data_length(1)
            rtcp.unmap()
        data = buf.extract_dup(0, buf.get_size())
        with self.lock:
            rtcp_contents(data, self.res["rtcp"]["out"])
        return False

    def on_receiving_rtcp(self, sess, buf):
        data = buf.extract_dup(0, buf.get_size())
        with self.lock:
            rtcp_contents(data, self.res["rtcp"]["in"])

    def on_ice_candidate(self, webrtc, mline, candidate):
        self.loop.call_soon_threadsafe(self.local_candidate, int(mline), candidate)

    def local_candidate(self, mline, candidate):
        if not candidate or not candidate.strip():
            return
        if not self.session_sent:
            self.pending_local.append((mline, candidate))
            return
        try:
            c = sj.parse_candidate_line(candidate)
        except ValueError as e:
            self.log("unparsable local candidate", candidate, str(e))
            return
        if c["protocol"] != "udp":
            return
        mid = self.mids[mline] if mline < len(self.mids) else str(mline)
        self.res["local_candidates"].append(dict(c, content=mid))
        el = sj.candidate_element(c)
        tr = (f"<transport xmlns='{sj.NS_ICE_UDP}' ufrag={xml_attr(self.ufrag)} "
              f"pwd={xml_attr(self.pwd)}>{sj.to_string(el, sj.NS_ICE_UDP)}</transport>")
        self.send_jingle_bg("transport-info",
                            f"<content creator='initiator' name={xml_attr(mid)}>{tr}</content>")

    def flush_local(self):
        pending, self.pending_local = self.pending_local, []
        for mline, cand in pending:
            self.local_candidate(mline, cand)

    def remote_candidates(self, content, action):
        name = content.get("name")
        for c in sj.transport_candidates(content):
            rec = dict(c, content=name, action=action, t=now_ms())
            for k in ("port", "component"):
                if k in rec:
                    try:
                        rec[k] = int(rec[k])
                    except ValueError:
                        pass
            self.res["remote_candidates"].append(rec)
            if (c.get("protocol") or "udp").lower() != "udp":
                continue
            if name not in self.mids:
                self.log("candidate for unknown content", name)
                continue
            mline = self.mids.index(name)
            if self.bundle and name in self.bundle and name != self.bundle[0]:
                # Bundled away: the first content's transport carries all.
                continue
            line = sj.candidate_line(c)
            if self.remote_set:
                self.webrtc.emit("add-ice-candidate", mline, line)
            else:
                self.pending_remote.append((mline, line))

    def flush_remote(self):
        pending, self.pending_remote = self.pending_remote, []
        for mline, line in pending:
            self.webrtc.emit("add-ice-candidate", mline, line)

    async def remote_outbound(self):
        """What webrtcbin learnt from the sender reports it received: one
        entry per remote SSRC that sent an SR (its remote-outbound-rtp
        stats: the SSRC and the packet count the SR carried)."""
        try:
            reply = await self.promise("get-stats", None)
        except Exception as e:  # noqa: BLE001
            self.log("get-stats:", str(e))
            return []
        found = []
        if reply is None:
            return found

        def each(_field, value, _data):
            if isinstance(value, Gst.Structure):
                ok, t = value.get_enum("type", GstWebRTC.WebRTCStatsType)
                if ok and t == GstWebRTC.WebRTCStatsType.REMOTE_OUTBOUND_RTP:
                    _, ssrc = value.get_uint("ssrc")
                    _, sent = value.get_uint("packets-sent")
                    found.append({"ssrc": ssrc, "packets_sent": sent})
            return True
        reply.foreach(each, None)
        return found

    async def promise(self, signal, *args):
        p = Gst.Promise.new()
        self.webrtc.emit(signal, *args, p)
        await self.loop.run_in_executor(None, p.wait)
        reply = p.get_reply()
        self._keep = (p, reply)  # pygobject: keep the reply alive with its promise
        return reply

    async def create(self, kind):
        reply = await self.promise("create-" + kind, None)
        if reply is None:
            raise RuntimeError(f"create-{kind}: no reply")
        desc = reply.get_value(kind)
        if desc is None:
            err = reply.get_value("error") if reply.has_field("error") else None
            raise RuntimeError(f"create-{kind} failed: {err}")
        await self.promise("set-local-description", desc)
        text = desc.sdp.as_text()
        self.res["local_sdp"] = text
        return text

    async def set_remote(self, sdp_text, kind):
        ok, msg = GstSdp.SDPMessage.new_from_text(sdp_text)
        if ok != GstSdp.SDPResult.OK:
            raise RuntimeError(f"remote SDP does not parse ({ok}):\n{sdp_text}")
        typ = GstWebRTC.WebRTCSDPType.OFFER if kind == "offer" else GstWebRTC.WebRTCSDPType.ANSWER
        desc = GstWebRTC.WebRTCSessionDescription.new(typ, msg)
        reply = await self.promise("set-remote-description", desc)
        if reply is not None and reply.has_field("error"):
            raise RuntimeError(f"set-remote-description: {reply.get_value('error')}\n{sdp_text}")
        self.res["remote_sdp"] = sdp_text
        self.remote_set = True
        self.flush_remote()

    def on_pad_added(self, element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        dec = Gst.ElementFactory.make("decodebin")
        dec.connect("pad-added", self.on_decoded_pad)
        dec.connect("deep-element-added", self.on_deep_element)
        self.pipe.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad("sink"))
        caps = pad.get_current_caps()
        media = caps.get_structure(0).get_string("media") if caps and caps.get_size() else None
        if caps and caps.get_size():
            # What the far end sends, as negotiated (VP8, H264, OPUS).
            self.res.setdefault("received_encodings", []).append(
                caps.get_structure(0).get_string("encoding-name"))
        if media in self.rtp_times:
            pad.add_probe(Gst.PadProbeType.BUFFER, self.on_rtp(media))
        self.loop.call_soon_threadsafe(self.log, "webrtcbin pad", pad.get_name(),
                                       pad.get_current_caps().to_string()[:300]
                                       if pad.get_current_caps() else "")

    def on_deep_element(self, bin_, sub, element):
        factory = element.get_factory()
        name = factory.get_name() if factory else ""
        if name.startswith("rtp") and name.endswith("depay"):
            for prop, val in (("request-keyframe", True), ("wait-for-keyframe", True)):
                if element.find_property(prop) is not None:
                    element.set_property(prop, val)
        if element.find_property("automatic-request-sync-points") is not None:
            element.set_property("automatic-request-sync-points", True)

    def on_decoded_pad(self, dec, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name() if caps and caps.get_size() else ""
        self.res["decoded_caps"].append(caps.to_string()[:300] if caps else "")
        if name.startswith("audio/"):
            chain = ["audioconvert", "capsfilter", "fakesink"]
        elif name.startswith("video/") and self.record_video is not None:
            chain = ["videoconvert", "videoscale", "capsfilter", "fakesink"]
        elif name.startswith("video/"):
            chain = ["fakesink"]
        else:
            chain = ["fakesink"]
        if chain[0] == "audioconvert" and self.record is not None:
            chain = ["audioconvert", "audioresample", "capsfilter", "fakesink"]
        els = [Gst.ElementFactory.make(n) for n in chain]
        if chain[0] == "audioconvert" and self.record is not None:
            els[2].set_property("caps", Gst.Caps.from_string(
                "audio/x-raw,format=S16LE,rate=48000,channels=1"))
        elif chain[0] == "audioconvert":
            els[1].set_property("caps", Gst.Caps.from_string("audio/x-raw,format=S16LE"))
        elif chain[0] == "videoconvert":
            els[2].set_property("caps", Gst.Caps.from_string(
                "video/x-raw,format=RGB,width=%d,height=%d" % VIDEO_SNAP))
        els[-1].set_property("sync", False)
        els[-1].set_property("async", False)
        for e in els:
            self.pipe.add(e)
        for a, b in zip(els, els[1:]):
            a.link(b)
        for e in els:
            e.sync_state_with_parent()
        pad.link(els[0].get_static_pad("sink"))
        sinkpad = els[-1].get_static_pad("sink")
        if name.startswith("audio/"):
            sinkpad.add_probe(Gst.PadProbeType.BUFFER, self.on_audio_buffer)
        elif name.startswith("video/"):
            sinkpad.add_probe(Gst.PadProbeType.BUFFER, self.on_video_frame)

    def on_audio_buffer(self, pad, info):
        buf = info.get_buffer()
        ok, m = buf.map(Gst.MapFlags.READ)
        if ok:
            try:
                data = bytes(m.data)
            finally:
                buf.unmap(m)
            n = len(data) // 2
            if self.record is not None and n:
                with self.record_lock:
                    if self.record is not None:
                        self.record.write(struct.pack("<dI", time.time(), n) + data[:n * 2])
                        self.res["recorded_samples"] += n
            peak = 0
            if n:
                vals = struct.unpack("<%dh" % n, data[:n * 2])
                peak = max(max(vals), -min(vals))
            with self.lock:
                self.res["audio_buffers_decoded"] += 1
                caps = pad.get_current_caps()
                ch = caps.get_structure(0).get_value("channels") if caps else 1
                self.res["audio_samples_decoded"] += n // max(1, ch or 1)
                self.res["audio_peak"] = max(self.res["audio_peak"], peak / 32768.0)
        return Gst.PadProbeReturn.OK

    def on_jitter(self, pad, info):
        # Streaming thread of the audio queue: holding it delays this packet
        # and those behind it, which then leave in a burst (jitter, no loss).
        time.sleep(random.uniform(0.0, self.send_jitter))
        return Gst.PadProbeReturn.OK

    def set_send_silence(self, silent):
        src = self.pipe.get_by_name("tone") if self.pipe is not None else None
        if src is not None:
            src.set_property("volume", 0.0 if silent else self.tone_volume)

    def on_video_frame(self, pad, info):
        if self.record_video is not None:
            buf = info.get_buffer()
            ok, m = buf.map(Gst.MapFlags.READ)
            if ok:
                try:
                    data = bytes(m.data)
                finally:
                    buf.unmap(m)
                w, h = VIDEO_SNAP
                if len(data) >= w * h * 3:
                    with self.record_lock:
                        if self.record_video is not None:
                            self.record_video.write(struct.pack("<dII", time.time(), w, h)
                                                    + data[:w * h * 3])
        with self.lock:
            self.res["video_frames_decoded"] += 1
            if self.res["video_width"] is None:
                caps = pad.get_current_caps()
                if caps:
                    s = caps.get_structure(0)
                    self.res["video_width"] = s.get_value("width")
                    self.res["video_height"] = s.get_value("height")
        return Gst.PadProbeReturn.OK

    def drain_bus(self):
        if self.pipe is None:
            return
        while True:
            msg = self.bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.WARNING)
            if msg is None:
                return
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
            else:
                err, dbg = msg.parse_warning()
            text = f"{msg.type.first_value_nick} from {msg.src.get_name()}: {err.message} ({dbg})"
            if len(self.res["gst_errors"]) < 30:
                self.res["gst_errors"].append(text[:800])

    # -- the call ------------------------------------------------------------

    def local_ice(self, sdp_text):
        sdp = sj.Sdp(sdp_text)
        m = sdp.media[0]
        self.ufrag = m.get("ice-ufrag") or sdp.session_get("ice-ufrag")
        self.pwd = m.get("ice-pwd") or sdp.session_get("ice-pwd")

    async def call(self):
        target = self.cfg["target"]
        self.sid = rid()
        self.res["sid"] = self.sid
        if self.cfg.get("propose"):
            desc = "".join(f"<description xmlns='{sj.NS_RTP}' media='{m}'/>"
                           for m, want in (("audio", self.want_audio), ("video", self.want_video))
                           if want)
            self.send_raw(f"<message type='chat' to={xml_attr(bare(target))} id={xml_attr(rid())}>"
                          f"<propose xmlns='{NS_JMI}' id={xml_attr(self.sid)}>{desc}</propose>"
                          f"<store xmlns='urn:xmpp:hints'/></message>", self.res["jmi"])
            await self.until(lambda: self.proceed_from or self.rejected,
                             min(20, self.left()), "JMI proceed")
            if not self.proceed_from:
                raise RuntimeError(self.rejected)
            target = self.proceed_from
            self.res["timings_ms"]["proceed"] = now_ms()
        self.remote_jid = target
        self.res["remote_jid"] = target
        self.build_pipeline()
        await self.sinks_negotiated()
        offer = await self.create("offer")
        if self.video_codec == "h264":
            # rtph264pay names the SPS's profile (42c0xx: constrained
            # baseline); Chromium offers 42e01f, which the stream also is
            # (constraint_set2 adds nothing a baseline stream breaks).
            offer = re.sub(r"profile-level-id=[0-9a-fA-F]{6}", "profile-level-id=42e01f", offer)
        self.local_ice(offer)
        contents, group = sj.sdp_to_jingle_contents(offer, initiator=True)
        self.maybe_tamper(contents)
        self.mids = [c.get("name") for c in contents]
        self.content_media = {c.get("name"): sj.content_media(c) for c in contents}
        self.bundle = [c.get("name") for c in group] if group is not None else None
        payload = "".join(sj.to_string(c, NS_JINGLE) for c in contents)
        if group is not None:
            payload += sj.to_string(group, NS_JINGLE)
        self.res["timings_ms"]["initiate"] = now_ms()
        send = self.spawn(self.send_jingle("session-initiate", payload))
        self.session_sent = True
        self.flush_local()
        await send
        await self.until(lambda: self.accept is not None or self.ended, self.left(),
                         "session-accept")
        if self.accept is None:
            raise RuntimeError("call ended before session-accept")
        answer = sj.jingle_to_sdp(self.accept, reader_is_initiator=True, with_candidates=False)
        await self.set_remote(answer, "answer")
        for content in sj.jingle_contents(self.accept):
            self.remote_candidates(content, "session-accept")

    async def answer(self):
        await self.until(lambda: self.initiate is not None, self.left(), "an incoming call")
        jingle = self.initiate
        contents = sj.jingle_contents(jingle)
        self.mids = [c.get("name") for c in contents]
        self.content_media = {c.get("name"): sj.content_media(c) for c in contents}
        self.bundle = sj.jingle_bundle(jingle)
        opus_pt = vp8_pt = None
        kinds = set()
        for c in contents:
            kinds.add(sj.content_media(c))
            for pid, name, _clock, _ch in sj.payload_types(c):
                if name.lower() == "opus" and opus_pt is None:
                    opus_pt = int(pid)
                if name.lower() == "vp8" and vp8_pt is None:
                    vp8_pt = int(pid)
        self.want_audio = self.want_audio and "audio" in kinds and opus_pt is not None
        self.want_video = self.want_video and "video" in kinds and vp8_pt is not None
        self.log("offer codecs: opus", opus_pt, "vp8", vp8_pt)
        self.build_pipeline(opus_pt or 111, vp8_pt or 96)
        await self.sinks_negotiated()
        offer = sj.jingle_to_sdp(jingle, reader_is_initiator=False, with_candidates=False)
        await self.set_remote(offer, "offer")
        for content in contents:
            self.remote_candidates(content, "session-initiate")
        answer = await self.create("answer")
        self.local_ice(answer)
        acontents, group = sj.sdp_to_jingle_contents(answer, initiator=False)
        self.maybe_tamper(acontents)
        payload = "".join(sj.to_string(c, NS_JINGLE) for c in acontents)
        if group is not None:
            payload += sj.to_string(group, NS_JINGLE)
        self.res["timings_ms"]["accept"] = now_ms()
        send = self.spawn(self.send_jingle("session-accept", payload))
        self.session_sent = True
        self.flush_local()
        await send

    def maybe_tamper(self, contents):
        """tamper_fingerprint: invert every byte of the fingerprints we signal."""
        if not self.tamper_fingerprint:
            return
        for c in contents:
            for fp in c.iter(q(sj.NS_DTLS, "fingerprint")):
                real = (fp.text or "").strip()
                fake = ":".join("%02X" % (0xFF ^ int(b, 16)) for b in real.split(":"))
                fp.text = fake
                self.res["real_fingerprint"] = real
                self.res["signalled_fingerprint"] = fake
        if not self.res.get("signalled_fingerprint"):
            raise RuntimeError("tamper_fingerprint: no fingerprint to tamper with")
        self.log("signalling a tampered DTLS fingerprint")

    def udp_sockets(self):
        """Our own open UDP sockets, as "local -> remote" in /proc's hex
        notation (inodes of our socket fds that /proc/net/udp, udp6 list)."""
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        found = []
        for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        fields = line.split()
                        if fields[9] in inodes:
                            found.append(f"{fields[1]} -> {fields[2]}")
            except OSError:
                pass
        return found

    def vanish(self):
        """Stop dead, as if killed, but keep XMPP: the ICE streams go first
        (no STUN answered or sent, no DTLS close_notify can leave, sockets
        closed), then the pipeline."""
        self.vanished = True
        self.res["udp_sockets_before_vanish"] = self.udp_sockets()
        for stream_id in range(1, 9):
            self.nice_agent.remove_stream(stream_id)
        self.pipe.set_state(Gst.State.NULL)
        self.res["timings_ms"]["vanished"] = now_ms()
        self.res["udp_sockets_after_vanish"] = self.udp_sockets()
        self.log("vanished: ICE streams removed, pipeline stopped")

    async def wait_remote_terminate(self):
        await self.until(lambda: self.res["remote_terminate"] is not None, self.left(),
                         "session-terminate from the remote")
        self.ended = True

    def schedule_session_info(self):
        """The scripted session-info actions, timed from media connected."""
        for item in self.session_info:
            info = item.get("info")
            if info not in SESSION_INFOS:
                raise ValueError(f"session_info: unknown info {info!r}")
            if item.get("on_file"):
                self.spawn(self.session_info_on_file(item))
                continue
            delay = max(0.0, self.connected_at + float(item.get("after", 0)) - time.monotonic())
            self.loop.call_later(delay, self.send_session_info, item)

    async def session_info_on_file(self, item):
        """Sent as soon as the file item["on_file"] exists (the test times
        it against other peers' events); checked every 10 ms."""
        while not self.ended and time.monotonic() < self.deadline:
            if os.path.exists(item["on_file"]):
                self.send_session_info(item)
                return
            await asyncio.sleep(0.01)

    def send_session_info(self, item):
        if self.ended:
            self.log("session-info", item.get("info"), "not sent: the session ended")
            return
        info, attrs = item["info"], ""
        rec = {"t": now_ms(), "wall": time.time(), "info": info, "name": None, "creator": None}
        if self.mute_silences and info in ("mute", "unmute") and item.get("media") == "audio":
            self.set_send_silence(info == "mute")
        if info in ("mute", "unmute"):
            names = [n for n, m in self.content_media.items() if m == item.get("media")]
            if item.get("media") and not names:
                self.log("session-info: no content with media", item.get("media"))
            if names:
                rec["name"], rec["creator"] = names[0], "initiator"
                attrs = f" creator='initiator' name={xml_attr(names[0])}"
        self.res["session_info_sent"].append(rec)
        self.send_jingle_bg("session-info", f"<{info} xmlns='{NS_RTP_INFO}'{attrs}/>")

    def left(self):
        return max(0.1, self.deadline - time.monotonic())

    def sample(self):
        with self.lock:
            self.res["timeline"].append({
                "t": now_ms(),
                "audio_buffers": self.res["audio_buffers_decoded"],
                "video_frames": self.res["video_frames_decoded"],
            })

    async def run(self):
        self.deadline = time.monotonic() + self.timeout
        try:
            await self.login()
            self.res["timings_ms"]["login"] = now_ms()
            out({"event": "ready", "jid": self.res["jid"]})
            if self.mode == "call":
                await self.call()
            else:
                await self.answer()
            if self.expect_terminate and self.vanish_after is None:
                # Whatever happens to the media: the remote ends the session.
                await self.wait_remote_terminate()
                self.res["ok"] = True
                return self.res
            await self.until(lambda: self.connected_at is not None or self.ended, self.left(),
                             "media connection (DTLS connected)")
            if self.connected_at is None:
                raise RuntimeError(f"call ended before media connected "
                                   f"({self.res['terminate_reason']})")
            end_at = self.connected_at + (self.duration if self.vanish_after is None
                                          else self.vanish_after)
            if self.reconnect or self.cfg.get("announce_connected"):
                out({"event": "connected", "t": now_ms()})
            self.schedule_session_info()
            next_sample = self.connected_at
            end_file = self.cfg.get("end_file")
            while not self.ended and time.monotonic() < end_at:
                if end_file and os.path.exists(end_file):
                    break
                self.drain_bus()
                if time.monotonic() >= next_sample:
                    self.sample()
                    next_sample += 1.0
                await asyncio.sleep(min(0.05 if end_file else 0.25,
                                        max(0.01, end_at - time.monotonic())))
            self.sample()
            if not self.ended:
                self.res["remote_outbound"] = await self.remote_outbound()
            self.res["terminated_early"] = self.ended
            self.res["timings_ms"]["measured"] = now_ms()
            with self.lock:
                self.final_counts = (self.res["audio_buffers_decoded"],
                                     self.res["video_frames_decoded"])
            # From 1 s after connected (jitter buffers filled) to the end.
            self.res["rtp_continuity"] = self.rtp_continuity(self.connected_at + 1.0,
                                                             time.monotonic())
            if self.vanish_after is not None:
                if self.ended:
                    raise RuntimeError("the session ended before we vanished")
                self.vanish()
                await self.wait_remote_terminate()
                self.res["ok"] = True
                return self.res
            if not self.ended:
                try:
                    await self.until(lambda: self.ended, min(self.linger, self.left()),
                                     "remote hang-up")
                except TimeoutError:
                    pass
            if not self.ended:
                self.res["terminated_by"] = "local"
                self.res["terminate_sent_wall"] = time.time()
                try:
                    await self.send_jingle(
                        "session-terminate", "<reason><success/></reason>", timeout=3)
                    self.res["terminate_answer"] = "result"
                except Exception as e:  # noqa: BLE001
                    self.log("session-terminate:", str(e))
                    self.res["terminate_answer"] = str(e)
                self.ended = True
            self.res["ok"] = True
        except Exception as e:  # noqa: BLE001
            self.res["error"] = f"{type(e).__name__}: {e}"
            self.log("error", self.res["error"])
            if self.remote_jid and self.sid and not self.ended and getattr(self, "xmpp", None):
                try:
                    await self.send_jingle("session-terminate",
                                           "<reason><failed-application/></reason>", timeout=2)
                except Exception:  # noqa: BLE001
                    pass
        finally:
            self.drain_bus()
            if getattr(self, "final_counts", None):
                # Report what was decoded within the measured window.
                self.res["audio_buffers_decoded"], self.res["video_frames_decoded"] = \
                    self.final_counts
            self.res["iq_errors"] = self.iq_errors
            self.res["timings_ms"]["end"] = now_ms()
            if self.pipe is not None:
                self.pipe.set_state(Gst.State.NULL)
            if self.record is not None:
                with self.record_lock:
                    self.record.close()
                    self.record = None
            if self.record_video is not None:
                with self.record_lock:
                    self.record_video.close()
                    self.record_video = None
            self.finishing = True
            if getattr(self, "xmpp", None) is not None:
                try:
                    await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), 3)
                except Exception:  # noqa: BLE001
                    pass
        return self.res


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        if not arg:
            raise ValueError("usage: webrtcbin_peer.py <json>|-")
        cfg = json.loads(sys.stdin.read() if arg == "-" else arg)
        for k in ("port", "jid", "password", "mode"):
            if not cfg.get(k):
                raise ValueError(f'missing "{k}"')
        if cfg["mode"] not in ("call", "answer"):
            raise ValueError("mode must be call or answer")
        if cfg["mode"] == "call" and not cfg.get("target"):
            raise ValueError('missing "target"')
    except ValueError as e:
        out({"event": "result", "ok": False, "peer": "webrtcbin", "error": f"bad input: {e}"})
        return 1
    Gst.init(None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    peer = Peer(cfg)
    hard = float(cfg.get("timeout", 60)) + 10
    try:
        res = loop.run_until_complete(asyncio.wait_for(peer.run(), hard))
    except asyncio.TimeoutError:
        res = peer.res
        res["error"] = res["error"] or f"no result within {hard:.0f} s"
        res["ok"] = False
        if peer.pipe is not None:
            peer.pipe.set_state(Gst.State.NULL)
    res["wall_ms"] = now_ms()
    out({"event": "result", **res})
    sys.stdout.flush()
    # GStreamer and slixmpp threads must not keep the process alive.
    os._exit(0 if res.get("ok") else 1)


if __name__ == "__main__":
    main()
