#!/usr/bin/python3
"""A client of XEP-0521 (audio/video conferences through an SFU), written
from the XEP's text (/work/shared/specs/xep/xep-0521-av-conferences-
protoxep.txt is the project's copy): GStreamer webrtcbin for media, slixmpp
for XMPP, sdp_jingle.py for SDP <-> Jingle.

  - It advertises urn:xmpp:jingle:av-conferences:0 in its disco#info
    (§"Discovering support").
  - It calls the room with its own streams, each content senders=
    'initiator' (§"Joining"): audio (audiotestsrc, a sine of "tone_hz") and
    video (videotestsrc of one colour, "pattern": red, green, blue...).
  - It accepts every session the room calls it with (one per other
    participant's streams, senders='initiator' from the room), each on a
    webrtcbin of its own, and reads whose streams they are from the XEP-0298
    <conference-info xmlns='urn:xmpp:coin:1'><users><user entity=.../>.
    Each such session's decoded audio is recorded (tone_analysis.py's
    format) and its decoded video's mean colour measured.

    /usr/bin/python3 xep0521_peer.py '<json>'

Input JSON: {"host": "127.0.0.1", "port": C2S_PORT, "jid": "alice@localhost/x",
             "password": "...", "room": "team@relay.localhost",
             "tone_hz": 600, "tone_volume": 0.15, "pattern": "red",
             "ice_address": "127.0.0.1" (every session gathers on this loopback
                 address: a test drops packets to it to make losses),
             "keyframe_max_dist": 60 (frames between the encoder's own keyframes;
                 large: only the first and those the room asks for, PLI/FIR),
             "offer_h264": false (true: its call also lists H.264, packetization-
                 mode 1, after its VP8, as libwebrtc lists every codec it has: the
                 room then forwards H.264 senders' video to it, which its
                 decodebin decodes; what it sends is "video_codec"'s),
             "video_codec": "vp8" (or "h264": it sends H.264 alone, x264enc
                 constrained baseline, packetization-mode 1, offered with
                 profile-level-id 42e01f as libwebrtc offers it; simulcast
                 layers too),
             "display": [w, h] or [[t_s, w, h], ...] (a XEP-0167 §9 description-
                 info with the video's 'width' and 'height', the size a real
                 client would say it displays the stream at, on each session the
                 room placed, t_s seconds after our session-accept of it (0 for
                 the [w, h] form): the room caps the simulcast layer by it),
             "duration": 8, "timeout": 60, "record_dir": DIR}
Output: JSON lines: {"event":"ready"} once logged in, {"event":"connected"}
when its own call's media is up, last {"event":"result", "ok", "error",
"connected_wall", "sessions": [{"sid", "from", "entity", "connected",
"audio_record", "audio_samples", "video_frames", "video_rgb": [r, g, b]
(mean of the frames decoded after the first second), "video_size",
"depayloaders": the RTP depayloaders decodebin chose (e.g. rtph264depay),
"display_sent": [[ms, w, h, wall], ...] each description-info acked, ms
on the "frame_ms" clock, wall the wall clock}]}.
Exit status 0 when its call ran, 1 otherwise.

Runs only where 127.0.0.1 is the address to use (the e2e network
namespace): ICE gathers on 127.0.0.1 alone.
"""

import asyncio
import json
import os
import random
import struct
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

import sdp_jingle as sj  # noqa: E402
from sdp_jingle import NS_JINGLE, q  # noqa: E402

NS_CLIENT = "jabber:client"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_AV_CONF = "urn:xmpp:jingle:av-conferences:0"
NS_COIN = "urn:xmpp:coin:1"
FEATURES = [NS_DISCO_INFO, NS_JINGLE, "urn:xmpp:jingle:apps:rtp:1",
            "urn:xmpp:jingle:apps:rtp:audio", "urn:xmpp:jingle:apps:rtp:video",
            "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0",
            NS_AV_CONF]
# videotestsrc patterns of one colour.
PATTERNS = {"red": 4, "green": 5, "blue": 6, "white": 3, "black": 2}
T0 = time.monotonic()
RECORD_HEADER = struct.Struct("<dI")   # tone_analysis.py's chunk header


def now_ms():
    return int((time.monotonic() - T0) * 1000)


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def rid():
    return "%016x" % random.getrandbits(64)


def xml_attr(v):
    from xml.sax.saxutils import quoteattr
    return quoteattr(str(v))


def video_description(contents):
    """The room's video content in its offer: (name, creator, its first
    payload type's id/name/clockrate), or (None, None, None) without one."""
    for c in contents:
        d = c.find(q(sj.NS_RTP, "description"))
        pt = d.find(q(sj.NS_RTP, "payload-type")) if d is not None else None
        if d is not None and d.get("media") == "video" and pt is not None:
            return (c.get("name"), c.get("creator") or "initiator",
                    {"id": pt.get("id"), "name": pt.get("name"),
                     "clockrate": pt.get("clockrate") or "90000"})
    return (None, None, None)


class Session:
    """One Jingle session on a webrtcbin of its own: our call to the room
    (we send) or one the room placed (we receive)."""

    def __init__(self, drv, sid, remote, outgoing, entity=None):
        self.drv, self.sid, self.remote, self.outgoing = drv, sid, remote, outgoing
        self.loop = drv.loop
        self.entity = entity
        self.lock = threading.Lock()
        self.mids, self.bundle = [], None
        self.sent = False
        self.remote_set = False
        self.pending_local, self.pending_remote = [], []
        self.accept = None
        self.connected_at = None
        self.connected_wall = None
        self.ended = None
        self.rec_path = None
        self.record = None
        self.audio_samples = 0
        self.video_frames = 0
        self.rgb_sum = [0.0, 0.0, 0.0]
        self.rgb_n = 0
        self.video_size = None
        self.frame_ms = []
        self.size_changes = []
        self.errors = []
        self.depayloaders = []
        self.display_sent = []
        self.video_desc = None     # (content, creator, payload type) once answered

    # -- GStreamer -------------------------------------------------------------

    # Simulcast (cfg "simulcast": [[width, height, bit/s], ...], lowest
    # first): one VP8 encoder per layer from one noise picture (noise keeps
    # each encoder at its target rate), each with its SSRC, funnelled into
    # the one video transceiver; the offer announces them as XEP-0339
    # sources in <ssrc-group semantics='SIM'> (what Chromium's legacy
    # simulcast signals), so the room learns the layers from it.
    def video_encoder(self, cfg, bps, ssrc=None, cbr=False):
        """Encoder and payloader of our video ("video_codec"), @bps bit/s
        (@cbr: held there, VP8; x264enc is CBR already), and the RTP caps
        webrtcbin gets from them."""
        kmax = int(cfg.get("keyframe_max_dist", 60))
        ssrc = f" ssrc={ssrc}" if ssrc is not None else ""
        if cfg.get("video_codec", "vp8") == "h264":
            # A VBV of 200 ms (x264enc's default 600): a keyframe is a burst
            # of at most 200 ms of the rate, as a real-time encoder keeps
            # it, not one a bandwidth-limited link drops whole.
            return (f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={kmax} "
                    f"bitrate={max(bps // 1000, 1)} vbv-buf-capacity=200 ! "
                    "video/x-h264,profile=constrained-baseline ! "
                    f"rtph264pay pt=102 config-interval=-1{ssrc}",
                    "application/x-rtp,media=video,encoding-name=H264,payload=102,"
                    "clock-rate=90000,packetization-mode=(string)1")
        cbr = " end-usage=cbr" if cbr else ""
        return (f"vp8enc deadline=1 cpu-used=8{cbr} target-bitrate={bps} "
                f"keyframe-max-dist={kmax} ! rtpvp8pay pt=96 picture-id-mode=15-bit{ssrc}",
                "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000")

    def h264_profile(self, contents):
        """rtph264pay names its SPS's profile (42c0xx, constrained
        baseline); libwebrtc offers 42e01f, which the stream also is."""
        for pt in (p for c in contents for p in c.iter("{%s}payload-type" % sj.NS_RTP)
                   if (p.get("name") or "").upper() == "H264"):
            for par in pt.findall("{%s}parameter" % sj.NS_RTP):
                if par.get("name") == "profile-level-id":
                    par.set("value", "42e01f")

    def simulcast_branch(self, cfg):
        self.sim_ssrcs = [0x51000000 + 0x1000 * i + (os.getpid() & 0xfff)
                          for i in range(len(cfg["simulcast"]))]
        caps = self.video_encoder(cfg, 0)[1]
        if cfg.get("video_codec") == "h264":
            # capssetter drops what rtph264pay found in the SPS.
            caps += ",profile-level-id=(string)42e01f"
        out = [f"funnel name=simf ! {caps} ! queue ! webrtc.",
               "videotestsrc is-live=true pattern=snow ! "
               "video/x-raw,width=640,height=480,framerate=15/1 ! tee name=simt"]
        for (w, h, bps), ssrc in zip(cfg["simulcast"], self.sim_ssrcs):
            enc, _ = self.video_encoder(cfg, bps, ssrc, cbr=True)
            out.append(
                f"simt. ! queue ! videoscale ! video/x-raw,width={w},height={h} ! videoconvert ! "
                f"{enc} ! capssetter replace=true caps=\"{caps}\" ! simf.")
        return " ".join(out)

    def simulcast_sources(self, contents):
        """Our layers' SSRCs in place of webrtcbin's one, grouped SIM."""
        for c in contents:
            desc = c.find("{%s}description" % sj.NS_RTP)
            if desc is None or desc.get("media") != "video":
                continue
            for old in desc.findall("{%s}source" % sj.NS_SSMA) + \
                    desc.findall("{%s}ssrc-group" % sj.NS_SSMA):
                desc.remove(old)
            for ssrc in self.sim_ssrcs:
                src = ET.SubElement(desc, "{%s}source" % sj.NS_SSMA, {"ssrc": str(ssrc)})
                ET.SubElement(src, "{%s}parameter" % sj.NS_SSMA,
                              {"name": "cname", "value": "xep0521-sim"})
            grp = ET.SubElement(desc, "{%s}ssrc-group" % sj.NS_SSMA, {"semantics": "SIM"})
            for ssrc in self.sim_ssrcs:
                ET.SubElement(grp, "{%s}source" % sj.NS_SSMA, {"ssrc": str(ssrc)})

    def list_h264(self, contents):
        """H.264 (mode 1, constrained baseline) listed after our VP8: what
        a client that decodes H.264 offers (the room answers our VP8, the
        first it takes, and sends us H.264 only on the sessions it
        places)."""
        for c in contents:
            desc = c.find("{%s}description" % sj.NS_RTP)
            if desc is None or desc.get("media") != "video":
                continue
            used = {int(p.get("id")) for p in desc.findall("{%s}payload-type" % sj.NS_RTP)}
            pt = next(n for n in range(102, 128) if n not in used)
            el = ET.Element("{%s}payload-type" % sj.NS_RTP,
                            {"id": str(pt), "name": "H264", "clockrate": "90000"})
            for k, v in (("packetization-mode", "1"), ("profile-level-id", "42e01f")):
                ET.SubElement(el, "{%s}parameter" % sj.NS_RTP, {"name": k, "value": v})
            # After the payload types, before sources and the rest.
            kids = list(desc)
            last = max(i for i, k in enumerate(kids) if k.tag == "{%s}payload-type" % sj.NS_RTP)
            desc.insert(last + 1, el)

    def build(self):
        parts = ["webrtcbin name=webrtc bundle-policy=max-bundle"]
        cfg = self.drv.cfg
        if self.outgoing:
            pattern = PATTERNS[cfg.get("pattern", "red")]
            parts.append(
                f"audiotestsrc is-live=true wave=sine freq={float(cfg.get('tone_hz', 600))} "
                f"volume={float(cfg.get('tone_volume', 0.15))} ! audioconvert ! audioresample ! "
                "audio/x-raw,channels=2,rate=48000 ! opusenc ! rtpopuspay pt=111 ! "
                "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
                "encoding-params=(string)2 ! queue ! webrtc.")
            if cfg.get("simulcast"):
                parts.append(self.simulcast_branch(cfg))
            else:
                enc, caps = self.video_encoder(cfg, 300000)
                parts.append(
                    f"videotestsrc is-live=true pattern={pattern} ! "
                    "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue ! "
                    f"{enc} ! {caps} ! queue ! webrtc.")
        else:
            self.rec_path = os.path.join(cfg["record_dir"], f"{self.drv.name}-{self.sid}.pcm")
            self.record = open(self.rec_path, "wb")
        if len(parts) == 1:
            # parse_launch of one element is that element, not a pipeline.
            self.pipe = Gst.Pipeline.new(None)
            self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
            self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
            self.pipe.add(self.webrtc)
        else:
            self.pipe = Gst.parse_launch(" ".join(parts))
            self.webrtc = self.pipe.get_by_name("webrtc")
        self.ice = self.webrtc.get_property("ice-agent")
        self.ice.set_property("ice-tcp", False)
        self.nice_agent = self.ice.get_property("agent")
        self.addr = Nice.Address.new()
        self.addr.set_from_string(cfg.get("ice_address", "127.0.0.1"))
        self.nice_agent.add_local_address(self.addr)
        self.webrtc.connect("on-ice-candidate", self.on_ice_candidate)
        self.webrtc.connect("pad-added", self.on_pad_added)
        self.webrtc.connect("notify::connection-state", self.on_state)
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError("pipeline failed to start")
        if self.outgoing:
            # XEP-0521 §"Joining": our own streams only, senders='initiator'.
            for i in range(8):
                t = self.webrtc.emit("get-transceiver", i)
                if t is None:
                    break
                t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)

    def on_state(self, webrtc, _pspec):
        st = webrtc.get_property("connection-state").value_nick
        if st == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
            self.connected_wall = time.time()
        if st == "failed":
            self.ended = self.ended or "dtls/ice failed"
        self.loop.call_soon_threadsafe(self.drv.poke)

    def on_pad_added(self, _el, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        dec = Gst.ElementFactory.make("decodebin")
        dec.connect("pad-added", self.on_decoded_pad)
        dec.connect("deep-element-added", self.on_deep_element)
        self.pipe.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad("sink"))

    def on_deep_element(self, _bin, _sub, element):
        """Depayloaders wait for a keyframe and ask for one (PLI) when the
        stream starts without it or breaks, as a WebRTC client does."""
        factory = element.get_factory()
        name = factory.get_name() if factory else ""
        if name.startswith("rtp") and name.endswith("depay"):
            with self.lock:
                self.depayloaders.append(name)
            for prop in ("request-keyframe", "wait-for-keyframe"):
                if element.find_property(prop) is not None:
                    element.set_property(prop, True)

    def on_decoded_pad(self, _dec, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name() if caps and caps.get_size() else ""
        if name.startswith("audio/"):
            chain, fmt = ["audioconvert", "audioresample", "capsfilter", "fakesink"], \
                "audio/x-raw,format=S16LE,rate=48000,channels=1"
        elif name.startswith("video/"):
            chain, fmt = ["videoconvert", "capsfilter", "fakesink"], "video/x-raw,format=RGB"
        else:
            chain, fmt = ["fakesink"], None
        els = [Gst.ElementFactory.make(n) for n in chain]
        if fmt:
            els[-2].set_property("caps", Gst.Caps.from_string(fmt))
        els[-1].set_property("sync", False)
        els[-1].set_property("async", False)
        for e in els:
            self.pipe.add(e)
        for a, b in zip(els, els[1:]):
            a.link(b)
        for e in els:
            e.sync_state_with_parent()
        pad.link(els[0].get_static_pad("sink"))
        sink = els[-1].get_static_pad("sink")
        if name.startswith("audio/"):
            sink.add_probe(Gst.PadProbeType.BUFFER, self.on_audio)
        elif name.startswith("video/"):
            sink.add_probe(Gst.PadProbeType.BUFFER, self.on_video)

    def on_audio(self, _pad, info):
        buf = info.get_buffer()
        ok, m = buf.map(Gst.MapFlags.READ)
        if ok:
            try:
                data = bytes(m.data)
            finally:
                buf.unmap(m)
            n = len(data) // 2
            with self.lock:
                if self.record is not None and n:
                    self.record.write(RECORD_HEADER.pack(time.time(), n) + data[:n * 2])
                    self.audio_samples += n
        return Gst.PadProbeReturn.OK

    def on_video(self, pad, info):
        caps = pad.get_current_caps()
        size = None
        if caps is not None and caps.get_size():
            st = caps.get_structure(0)
            size = [st.get_value("width"), st.get_value("height")]
        with self.lock:
            self.video_frames += 1
            # When each frame was decoded (ms of the driver's clock) and
            # when the decoded size changed: a simulcast switch, and any
            # freeze around it.
            if len(self.frame_ms) < 20000:
                self.frame_ms.append(now_ms())
            if size is not None and (not self.size_changes or self.size_changes[-1][1:] != size):
                self.size_changes.append([now_ms()] + size)
            # The mean colour of every 5th frame after the first second
            # (the first frames may be a decoder's grey before a keyframe).
            if (self.connected_at is None or time.monotonic() - self.connected_at < 1.0
                    or self.video_frames % 5):
                return Gst.PadProbeReturn.OK
        caps = pad.get_current_caps()
        s = caps.get_structure(0)
        w, h = s.get_value("width"), s.get_value("height")
        buf = info.get_buffer()
        ok, m = buf.map(Gst.MapFlags.READ)
        if not ok:
            return Gst.PadProbeReturn.OK
        try:
            data = bytes(m.data)
        finally:
            buf.unmap(m)
        stride = (w * 3 + 3) & ~3
        sums = [0, 0, 0]
        count = 0
        # Every 8th pixel of every 8th row: enough for a mean colour.
        for y in range(0, h, 8):
            row = data[y * stride:y * stride + w * 3]
            for c in range(3):
                sums[c] += sum(row[c::24])
            count += len(row[0::24])
        with self.lock:
            self.video_size = [w, h]
            if count:
                for c in range(3):
                    self.rgb_sum[c] += sums[c] / count
                self.rgb_n += 1
        return Gst.PadProbeReturn.OK

    # -- ICE candidates ----------------------------------------------------------

    def on_ice_candidate(self, _webrtc, mline, candidate):
        self.loop.call_soon_threadsafe(self.local_candidate, int(mline), candidate)

    def local_candidate(self, mline, candidate):
        if not candidate or not candidate.strip():
            return
        if not self.sent:
            self.pending_local.append((mline, candidate))
            return
        try:
            c = sj.parse_candidate_line(candidate)
        except ValueError:
            return
        if c["protocol"] != "udp":
            return
        mid = self.mids[mline] if mline < len(self.mids) else str(mline)
        el = sj.candidate_element(c)
        tr = (f"<transport xmlns='{sj.NS_ICE_UDP}' ufrag={xml_attr(self.ufrag)} "
              f"pwd={xml_attr(self.pwd)}>{sj.to_string(el, sj.NS_ICE_UDP)}</transport>")
        creator = "initiator"
        self.drv.send_jingle_bg(self, "transport-info",
                                f"<content creator='{creator}' name={xml_attr(mid)}>{tr}</content>")

    def flush_local(self):
        pending, self.pending_local = self.pending_local, []
        for mline, cand in pending:
            self.local_candidate(mline, cand)

    def remote_candidates(self, content):
        name = content.get("name")
        for c in sj.transport_candidates(content):
            if (c.get("protocol") or "udp").lower() != "udp" or name not in self.mids:
                continue
            if self.bundle and name in self.bundle and name != self.bundle[0]:
                continue
            line = sj.candidate_line(c)
            mline = self.mids.index(name)
            if self.remote_set:
                self.webrtc.emit("add-ice-candidate", mline, line)
            else:
                self.pending_remote.append((mline, line))

    # -- SDP ------------------------------------------------------------------------

    async def promise(self, signal, *args):
        p = Gst.Promise.new()
        self.webrtc.emit(signal, *args, p)
        await self.loop.run_in_executor(None, p.wait)
        reply = p.get_reply()
        self._keep = (p, reply)
        return reply

    async def create(self, kind):
        reply = await self.promise("create-" + kind, None)
        desc = reply.get_value(kind) if reply is not None else None
        if desc is None:
            raise RuntimeError(f"create-{kind} failed")
        await self.promise("set-local-description", desc)
        text = desc.sdp.as_text()
        sdp = sj.Sdp(text)
        m = sdp.media[0]
        self.ufrag = m.get("ice-ufrag") or sdp.session_get("ice-ufrag")
        self.pwd = m.get("ice-pwd") or sdp.session_get("ice-pwd")
        return text

    async def set_remote(self, text, kind):
        ok, msg = GstSdp.SDPMessage.new_from_text(text)
        if ok != GstSdp.SDPResult.OK:
            raise RuntimeError("remote SDP does not parse")
        typ = GstWebRTC.WebRTCSDPType.OFFER if kind == "offer" else GstWebRTC.WebRTCSDPType.ANSWER
        reply = await self.promise("set-remote-description",
                                   GstWebRTC.WebRTCSessionDescription.new(typ, msg))
        if reply is not None and reply.has_field("error"):
            raise RuntimeError(f"set-remote-description: {reply.get_value('error')}")
        self.remote_set = True
        pending, self.pending_remote = self.pending_remote, []
        for mline, line in pending:
            self.webrtc.emit("add-ice-candidate", mline, line)

    async def wait_sinks(self):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if all(p.get_current_caps() is not None
                   and p.get_current_caps().get_structure(0).has_field("ssrc")
                   for p in self.webrtc.sinkpads):
                return
            await asyncio.sleep(0.02)

    async def call(self):
        self.build()
        await self.wait_sinks()
        offer = await self.create("offer")
        contents, group = sj.sdp_to_jingle_contents(offer, initiator=True)
        if self.drv.cfg.get("simulcast"):
            self.simulcast_sources(contents)
        self.h264_profile(contents)
        if self.drv.cfg.get("offer_h264"):
            self.list_h264(contents)
        self.mids = [c.get("name") for c in contents]
        self.bundle = [c.get("name") for c in group] if group is not None else None
        payload = "".join(sj.to_string(c, NS_JINGLE) for c in contents)
        if group is not None:
            payload += sj.to_string(group, NS_JINGLE)
        send = self.drv.spawn(self.drv.send_jingle(self, "session-initiate", payload))
        self.sent = True
        self.flush_local()
        await send
        await self.drv.until(lambda: self.accept is not None or self.ended, 20,
                             "the room's session-accept")
        if self.accept is None:
            raise RuntimeError(f"our call ended before it was accepted: {self.ended}")
        await self.set_remote(sj.jingle_to_sdp(self.accept, reader_is_initiator=True,
                                               with_candidates=False), "answer")
        for c in sj.jingle_contents(self.accept):
            self.remote_candidates(c)

    async def answer(self, jingle):
        contents = sj.jingle_contents(jingle)
        self.mids = [c.get("name") for c in contents]
        self.bundle = sj.jingle_bundle(jingle)
        self.build()
        await self.set_remote(sj.jingle_to_sdp(jingle, reader_is_initiator=False,
                                               with_candidates=False), "offer")
        for c in contents:
            self.remote_candidates(c)
        answer = await self.create("answer")
        acontents, group = sj.sdp_to_jingle_contents(answer, initiator=False)
        payload = "".join(sj.to_string(c, NS_JINGLE) for c in acontents)
        if group is not None:
            payload += sj.to_string(group, NS_JINGLE)
        send = self.drv.spawn(self.drv.send_jingle(self, "session-accept", payload))
        self.sent = True
        self.flush_local()
        await send
        self.video_desc = video_description(contents)
        self.drv.poke()
        if self.drv.cfg.get("display"):
            self.drv.spawn(self.send_display())

    async def send_display(self):
        """The cfg "display" schedule: [w, h] at once, or [[t_s, w, h], ...]
        t_s after our session-accept."""
        plan = self.drv.cfg["display"]
        if not isinstance(plan[0], list):
            plan = [[0, plan[0], plan[1]]]
        start = time.monotonic()
        for t_s, w, h in plan:
            await asyncio.sleep(max(0.0, start + float(t_s) - time.monotonic()))
            if self.ended or not await self.say_display(w, h):
                return

    async def say_display(self, w, h):
        """XEP-0167 §9 (Example 52): the size we display the room's video
        at, as 'width' and 'height' parameters of its payload type in a
        description-info (after our session-accept; nothing without
        video).  FALSE when it was refused."""
        try:
            await self.drv.until(lambda: self.video_desc is not None or self.ended, 20,
                                 "our session-accept")
        except TimeoutError:
            return False
        if self.video_desc is None or not self.video_desc[2]:
            return True
        name, creator, pt = self.video_desc
        payload = (f"<content creator={xml_attr(creator)} name={xml_attr(name)}>"
                   f"<description xmlns='{sj.NS_RTP}' media='video'>"
                   f"<payload-type id={xml_attr(pt['id'])} name={xml_attr(pt['name'])}"
                   f" clockrate={xml_attr(pt['clockrate'])}>"
                   f"<parameter name='width' value='{int(w)}'/>"
                   f"<parameter name='height' value='{int(h)}'/>"
                   "</payload-type></description></content>")
        try:
            await self.drv.send_jingle(self, "description-info", payload)
        except Exception as e:  # noqa: BLE001
            self.drv.res["iq_errors"].append(f"description-info: {e}")
            return False
        with self.lock:
            self.display_sent.append([now_ms(), int(w), int(h), time.time()])
        return True

    def stop(self):
        if getattr(self, "pipe", None) is not None:
            self.pipe.set_state(Gst.State.NULL)
        with self.lock:
            if self.record is not None:
                self.record.close()
                self.record = None

    def summary(self):
        with self.lock:
            rgb = [round(v / self.rgb_n, 1) for v in self.rgb_sum] if self.rgb_n else None
            return {"sid": self.sid, "from": self.remote, "entity": self.entity,
                    "connected": self.connected_at is not None, "ended": self.ended,
                    "audio_record": self.rec_path, "audio_samples": self.audio_samples,
                    "video_frames": self.video_frames, "video_rgb": rgb,
                    "video_size": self.video_size, "errors": self.errors,
                    "frame_ms": self.frame_ms, "size_changes": self.size_changes,
                    "depayloaders": list(self.depayloaders),
                    "display_sent": list(self.display_sent),
                    "t0_monotonic": T0}


class Driver:
    def __init__(self, cfg):
        self.cfg = cfg
        self.name = cfg["jid"].split("/", 1)[-1]
        self.loop = asyncio.get_event_loop()
        self.changed = asyncio.Event()
        self.sessions = {}     # sid -> Session (ours and the room's)
        self.own = None
        self.tasks = set()
        self.res = {"ok": False, "error": None, "jid": None, "connected_wall": None,
                    "sessions": [], "rejected": [], "iq_errors": []}

    def poke(self):
        self.changed.set()

    def spawn(self, coro):
        t = self.loop.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

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

    async def login(self):
        import slixmpp
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        x = slixmpp.ClientXMPP(self.cfg["jid"], self.cfg["password"])
        x.loop = self.loop
        x["feature_mechanisms"].unencrypted_plain = True
        started = self.loop.create_future()

        def done(v):
            if not started.done():
                started.set_result(v)
        x.add_event_handler("session_start", lambda _e: done("ok"))
        x.add_event_handler("failed_auth", lambda _e: done("authentication failed"))
        x.add_event_handler("connection_failed", lambda e: done(f"connection failed: {e}"))
        x.register_handler(Callback("xep0521 jingle", MatchXPath(
            "{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)), self.on_jingle))
        x.register_handler(Callback("xep0521 disco", MatchXPath(
            "{%s}iq/{%s}query" % (NS_CLIENT, NS_DISCO_INFO)), self.on_disco))
        self.xmpp = x
        x.connect((self.cfg.get("host", "127.0.0.1"), int(self.cfg["port"])),
                  force_starttls=False, disable_starttls=True)
        r = await asyncio.wait_for(started, 15)
        if r != "ok":
            raise RuntimeError(f"login failed: {r}")
        self.res["jid"] = str(x.boundjid.full)
        x.send_presence()

    def on_disco(self, iq):
        """XEP-0521 §"Discovering support": we list its feature."""
        if iq["type"] != "get":
            return
        reply = iq.reply(clear=True)
        qel = ET.SubElement(reply.xml, "{%s}query" % NS_DISCO_INFO)
        ET.SubElement(qel, "{%s}identity" % NS_DISCO_INFO, category="client", type="pc",
                      name="xep0521_peer")
        for f in FEATURES:
            ET.SubElement(qel, "{%s}feature" % NS_DISCO_INFO, var=f)
        reply.send()

    def send_raw(self, xml):
        self.xmpp.send_raw(xml)

    def on_jingle(self, iq):
        el = iq.xml
        jingle = el.find(q(NS_JINGLE, "jingle"))
        sender, iq_id = el.get("from"), el.get("id")
        action, sid = jingle.get("action"), jingle.get("sid")
        if el.get("type") != "set":
            return
        ok = f"<iq type='result' to={xml_attr(sender)} id={xml_attr(iq_id)}/>"
        if action == "session-initiate":
            self.send_raw(ok)
            # XEP-0521 §"Joining": the room calls us once per stream it
            # forwards; the XEP-0298 user names whose it is.
            room = self.cfg["room"]
            entity = None
            ci = jingle.find(q(NS_COIN, "conference-info"))
            if ci is not None:
                u = ci.find(f"{q(NS_COIN, 'users')}/{q(NS_COIN, 'user')}")
                entity = u.get("entity") if u is not None else None
            if not sender.startswith(room + "/") or ci is None or ci.get("isfocus") != "true":
                self.res["rejected"].append({"sid": sid, "from": sender})
                self.spawn(self.send_jingle(Session(self, sid, sender, False), "session-terminate",
                                            "<reason><decline/></reason>"))
                return
            s = Session(self, sid, sender, False, entity)
            self.sessions[sid] = s
            self.spawn(self.answer(s, jingle))
            return
        s = self.sessions.get(sid)
        if s is None or s.remote != sender:
            self.send_raw(f"<iq type='error' to={xml_attr(sender)} id={xml_attr(iq_id)}>"
                          "<error type='cancel'><item-not-found xmlns="
                          "'urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
            return
        self.send_raw(ok)
        if action == "session-accept":
            s.accept = jingle
        elif action == "transport-info":
            for c in sj.jingle_contents(jingle):
                s.remote_candidates(c)
        elif action == "session-terminate":
            r = jingle.find(q(NS_JINGLE, "reason"))
            s.ended = r[0].tag.split("}", 1)[1] if r is not None and len(r) else "terminated"
        self.poke()

    async def answer(self, s, jingle):
        try:
            await s.answer(jingle)
        except Exception as e:  # noqa: BLE001
            s.errors.append(f"{type(e).__name__}: {e}")

    async def send_jingle(self, s, action, payload, timeout=10):
        from slixmpp.exceptions import IqError, IqTimeout
        me = self.res["jid"]
        attrs = (f" initiator={xml_attr(me)}" if action == "session-initiate" else "") + \
                (f" responder={xml_attr(me)}" if action == "session-accept" else "")
        iq = self.xmpp.Iq()
        iq["type"] = "set"
        iq["to"] = s.remote
        iq["id"] = rid()
        iq.xml.append(ET.fromstring(f"<jingle xmlns='{NS_JINGLE}' action='{action}'{attrs} "
                                    f"sid={xml_attr(s.sid)}>{payload}</jingle>"))
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            raise RuntimeError(f"{action} got an error: {str(e.iq)[:600]}") from None
        except IqTimeout:
            raise RuntimeError(f"{action}: no reply within {timeout} s") from None

    def send_jingle_bg(self, s, action, payload):
        async def go():
            try:
                await self.send_jingle(s, action, payload)
            except Exception as e:  # noqa: BLE001
                self.res["iq_errors"].append(f"{action}: {e}")
        self.spawn(go())

    async def run(self):
        timeout = float(self.cfg.get("timeout", 60))
        deadline = time.monotonic() + timeout
        try:
            await self.login()
            out({"event": "ready", "jid": self.res["jid"]})
            own = Session(self, rid(), self.cfg["room"], True)
            self.own = own
            self.sessions[own.sid] = own
            await own.call()
            await self.until(lambda: own.connected_at is not None or own.ended,
                             max(1, deadline - time.monotonic()), "our call's media")
            if own.connected_at is None:
                raise RuntimeError(f"our call ended before media connected: {own.ended}")
            self.res["connected_wall"] = own.connected_wall
            out({"event": "connected", "t": now_ms()})
            end = min(deadline, own.connected_at + float(self.cfg.get("duration", 8)))
            end_file = self.cfg.get("end_file")
            while time.monotonic() < end and not own.ended:
                if end_file and os.path.exists(end_file):
                    break
                await asyncio.sleep(0.1)
            if not own.ended:
                try:
                    await self.send_jingle(own, "session-terminate",
                                           "<reason><success/></reason>", timeout=3)
                except Exception as e:  # noqa: BLE001
                    self.res["iq_errors"].append(f"session-terminate: {e}")
            self.res["ok"] = True
        except Exception as e:  # noqa: BLE001
            self.res["error"] = f"{type(e).__name__}: {e}"
        finally:
            for s in self.sessions.values():
                s.stop()
            self.res["sessions"] = [s.summary() for s in self.sessions.values()
                                    if not s.outgoing]
            try:
                await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), 3)
            except Exception:  # noqa: BLE001
                pass
        return self.res


def main():
    try:
        cfg = json.loads(sys.argv[1])
        for k in ("port", "jid", "password", "room", "record_dir"):
            if not cfg.get(k):
                raise ValueError(f'missing "{k}"')
        if cfg.get("pattern", "red") not in PATTERNS:
            raise ValueError(f"pattern: one of {sorted(PATTERNS)}")
        if cfg.get("video_codec", "vp8") not in ("vp8", "h264"):
            raise ValueError("video_codec: vp8 or h264")
        d = cfg.get("display")
        if d is not None and not (
                isinstance(d, list) and d
                and (all(isinstance(v, int) for v in d) and len(d) == 2
                     or all(isinstance(e, list) and len(e) == 3 for e in d))):
            raise ValueError('display: [w, h] or [[t_s, w, h], ...]')
    except (ValueError, IndexError) as e:
        out({"event": "result", "ok": False, "error": f"bad input: {e}"})
        return 1
    Gst.init(None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    drv = Driver(cfg)
    try:
        res = loop.run_until_complete(asyncio.wait_for(drv.run(), float(cfg.get("timeout", 60)) + 10))
    except asyncio.TimeoutError:
        res = drv.res
        res["error"] = res["error"] or "no result in time"
    res["peer"] = "xep0521"
    out({"event": "result", **res})
    sys.stdout.flush()
    os._exit(0 if res.get("ok") else 1)


if __name__ == "__main__":
    main()
