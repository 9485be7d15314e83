#!/usr/bin/python3
"""Interop check: GStreamer's webrtcbin (offerer, DTLS actpass -> passive)
against belfry's media transport (media-peer helper: answerer, DTLS active,
ICE controlled).  webrtcbin sends Opus; belfry unprotects it and echoes it
back under its own SSRC; webrtcbin must receive the echo.

    /usr/bin/python3 tests/media/interop_webrtcbin.py build/tests/media/media-peer

Runs itself inside a private network namespace (unshare -n, only lo up;
root needed), gathering on 127.0.0.1 only.  Exit status 0 on success.
"""
import os
import re
import subprocess
import sys
import threading

NETNS_ENV = "BF_MEDIA_TEST_NETNS"

if os.environ.get(NETNS_ENV) is None:
    os.environ[NETNS_ENV] = "1"
    script = os.path.abspath(__file__)
    os.execvp("unshare", ["unshare", "-n", "--", "sh", "-c",
                          'ip link set lo up && exec "$0" "$@"',
                          "/usr/bin/python3", script] + sys.argv[1:])

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    gi.require_version("GstSdp", "1.0")
    gi.require_version("Nice", "0.1")
    from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice
except (ImportError, ValueError) as e:
    # scripts/setup.sh installs them: missing is a failure, never a skip.
    print("FAIL: GStreamer/libnice introspection missing (%s)" % e)
    sys.exit(1)

ECHO_SSRC = 0x4E11B0B0
RUN_SECONDS = 6


def main():
    helper = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BELFRY_MEDIA_PEER")
    if not helper:
        print("usage: interop_webrtcbin.py PATH/TO/media-peer", file=sys.stderr)
        return 2
    Gst.init(None)
    loop = GLib.MainLoop()
    state = {"creds": None, "fp": None, "cands": [], "answered": False, "rx": 0,
             "profile": None, "failed": None, "stats": None, "gst_cands": 0,
             "dtls_at": None}

    peer = subprocess.Popen([helper], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1)

    def tell(line):
        peer.stdin.write(line + "\n")
        peer.stdin.flush()

    pipe = Gst.parse_launch(
        "webrtcbin name=w bundle-policy=max-bundle "
        "audiotestsrc is-live=true wave=ticks ! audioconvert ! audioresample ! "
        "opusenc ! rtpopuspay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! w.")
    w = pipe.get_by_name("w")
    ice = w.get_property("ice-agent")
    agent = ice.get_property("agent")      # keep the reference alive
    addr = Nice.Address.new()
    addr.set_from_string("127.0.0.1")
    agent.add_local_address(addr)

    offer_box = {}

    def on_rx(pad, info):
        state["rx"] += 1
        return Gst.PadProbeReturn.OK

    def on_pad_added(_w, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("async", False)
        pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        pad.add_probe(Gst.PadProbeType.BUFFER, on_rx)

    def on_candidate(_w, mline, cand):
        # candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY IP PORT typ TYPE ...
        m = re.match(r"candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)", cand)
        if not m or m.group(3).lower() != "udp" or m.group(2) != "1":
            return
        state["gst_cands"] += 1
        tell("candidate %s %s %s %s %s %s" % (m.group(1), m.group(2), m.group(7), m.group(5),
                                              m.group(6), m.group(4)))

    def maybe_answer():
        if state["answered"] or not state["creds"] or not state["fp"] or "offer" not in offer_box:
            return
        offer = offer_box["offer"]
        mid = re.search(r"^a=mid:(\S+)", offer, re.M).group(1)
        ufrag, pwd = state["creds"]
        sdp = "\r\n".join([
            "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
            "a=group:BUNDLE " + mid,
            "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0",
            "a=mid:" + mid, "a=ice-ufrag:" + ufrag, "a=ice-pwd:" + pwd,
            "a=fingerprint:sha-256 " + state["fp"], "a=setup:active",
            "a=rtcp-mux", "a=sendrecv", "a=rtpmap:111 OPUS/48000/2",
            "a=ssrc:%d cname:belfry" % ECHO_SSRC, ""])
        _, msg = GstSdp.SDPMessage.new_from_text(sdp)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        p = Gst.Promise.new()
        w.emit("set-remote-description", answer, p)
        p.wait()
        state["answered"] = True
        for c in state["cands"]:
            add_remote(c)

    def add_remote(c):
        f, comp, typ, ip, port, prio = c
        w.emit("add-ice-candidate", 0,
               "candidate:%s %s UDP %s %s %s typ %s" % (f, comp, prio, ip, port, typ))

    def on_offer_created(promise, _data):
        # On webrtcbin's own thread: never block here (set-local-description
        # is queued to this very thread).  The reply and the offer in it die
        # with the promise: take the SDP text now, rebuild it on the main
        # loop.
        promise.wait()
        reply = promise.get_reply()     # owned by the promise: keep both alive
        offer = reply.get_value("offer")
        text = offer.sdp.as_text()
        GLib.idle_add(apply_offer, text)

    def apply_offer(text):
        _, msg = GstSdp.SDPMessage.new_from_text(text)
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, msg)
        w.emit("set-local-description", offer, None)
        offer_box["offer"] = text
        ufrag = re.search(r"^a=ice-ufrag:(\S+)", text, re.M).group(1)
        pwd = re.search(r"^a=ice-pwd:(\S+)", text, re.M).group(1)
        fp = re.search(r"^a=fingerprint:sha-256 (\S+)", text, re.M).group(1)
        setup = re.search(r"^a=setup:(\S+)", text, re.M).group(1)
        print("webrtcbin offer: setup=%s fingerprint sha-256 %s..." % (setup, fp[:23]))
        # RFC 5763 §5: answering actpass, we are active (the DTLS client).
        tell("remote-credentials %s %s" % (ufrag, pwd))
        tell("remote-dtls %s sha-256 %s" % ("active" if setup in ("actpass", "passive")
                                             else "passive", fp))
        maybe_answer()
        return False

    def on_negotiation_needed(_w):
        w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer_created, None))

    def handle_line(line):
        parts = line.split()
        if not parts:
            return False
        kind = parts[0]
        if kind == "credentials":
            state["creds"] = (parts[1], parts[2])
            maybe_answer()
        elif kind == "fingerprint":
            state["fp"] = parts[2]
            maybe_answer()
        elif kind == "candidate":
            c = tuple(parts[1:7])
            state["cands"].append(c)
            if state["answered"]:
                add_remote(c)
        elif kind == "dtls-connected":
            state["profile"] = parts[1]
            state["dtls_at"] = GLib.get_monotonic_time()
            tell("echo %d" % ECHO_SSRC)
        elif kind == "failed" or kind == "error":
            state["failed"] = line
            loop.quit()
        elif kind == "stats":
            state["stats"] = dict(kv.split("=") for kv in parts[1:])
            loop.quit()
        print("belfry:", line)
        return False

    def reader():
        for line in peer.stdout:
            GLib.idle_add(handle_line, line.strip())

    threading.Thread(target=reader, daemon=True).start()
    w.connect("on-negotiation-needed", on_negotiation_needed)
    w.connect("on-ice-candidate", on_candidate)
    w.connect("pad-added", on_pad_added)
    start = GLib.get_monotonic_time()
    pipe.set_state(Gst.State.PLAYING)

    def finish():
        tell("stats")
        GLib.timeout_add_seconds(2, loop.quit)
        return False

    GLib.timeout_add_seconds(RUN_SECONDS, finish)
    loop.run()

    pipe.set_state(Gst.State.NULL)
    try:
        tell("quit")
    except BrokenPipeError:
        pass
    peer.wait(timeout=10)

    stats = state["stats"] or {}
    ok = (state["failed"] is None and state["profile"] is not None
          and int(stats.get("rtp_in", 0)) >= 50 and int(stats.get("dropped_unprotect", 1)) == 0
          and state["rx"] >= 50)
    setup_ms = (state["dtls_at"] - start) / 1000 if state["dtls_at"] else -1
    print("webrtcbin <-> belfry: profile %s, DTLS up %.0f ms after PLAYING, belfry got %s RTP "
          "(unprotect failures %s), webrtcbin got %d echoed RTP buffers: %s"
          % (state["profile"], setup_ms, stats.get("rtp_in"), stats.get("dropped_unprotect"),
             state["rx"], "OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
