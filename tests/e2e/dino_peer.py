#!/usr/bin/python3
"""A Dino-shaped peer: places and takes Jingle A/V calls the way Dino
(github.com/dino/dino) does, built the way Dino is built — GStreamer rtpbin
for RTP, a libnice agent with one ICE-UDP stream per content, one DTLS-SRTP
handshake per content, no BUNDLE — with Dino's signalling rules, each
commented with the Dino source file it comes from (paths relative to the
dino repository). slixmpp does XMPP.

    /usr/bin/python3 dino_peer.py '<json>'     ('-': JSON from stdin)

Input JSON: {"host": "127.0.0.1", "port": C2S_PORT,
             "jid": "carol@localhost/dino", "password": "...",
             "mode": "call" | "answer", "target": "bob@localhost/res",
             "propose": false, "duration": 5, "timeout": 60, "linger": null,
             "audio": true, "video": true,
             "vp9": false,   offer VP9 97 as Dino built with -Dplugin-rtp-vp9
             "answer_sdes": true,  false: answer an offered SDES crypto
                                   without one (not Dino: it always takes it)
             "drop_on_latency": true,  rtpbin's, as Dino sets it; false where
                                   the CPU is too busy for 100 ms of latency
             "foreign_ssrc_every": 0,  N > 0 (a test of the other side, not
                                   Dino): from 1 s after DTLS, every Nth RTP
                                   packet is sent again under a second SSRC
             "audio_codecs": null,  a list of codec names (lower case, e.g.
                                   ["opus"]): offer only these of Dino's
                                   audio codecs, or (answer mode) answer
                                   audio with the first of these offered
                                   (not Dino: a test of the other side's
                                   codec choice)
             "accept_content_add": false}  true (answer mode; a test of the
                                   other side, not Dino): an audio content
                                   the caller adds (content-add) is
                                   accepted with content-accept on a
                                   transport of its own, and decoded apart
                                   (its transport's "audio_freq_hz"); else
                                   content-add is acknowledged and ignored
       Conference tests (tests/e2e/tone_analysis.py; not Dino's): "tone_hz"
             (default 440) and "tone_volume" (0.4) of the sent sine;
             "record_audio": PATH appends the session-initiate's decoded
             audio, as 48 kHz mono S16LE chunks stamped with the wall clock
             (tone_analysis.read); the result adds "connected_wall" and
             "terminate_sent_wall" (time.time()).
Output: JSON lines on stdout: {"event":"ready","jid":FULL} once logged in,
{"event":"connected"} once DTLS is up on every transport of the call,
last {"event":"result", ...} (the fields of webrtcbin_peer.py plus
"transports", "foreign_ssrc_packets", "disco", "sdes", "ringing_sent",
"audio_freq_hz", "jingle_extra": the children of an incoming
session-initiate's <jingle/> other than <content/> and <group/>, as XML,
"contents_added": the names of contents accepted from a content-add).
"audio_freq_hz" and the other audio totals count the contents of the
session-initiate only; an added content's are in its transport's report.
Exit status 0 when the call ran, 1 otherwise.

The media, per content (= per Jingle transport), as Dino wires it:

  nicesrc(stream, component 1) -> dtlssrtpdec -> [first-SSRC lock]
      -> [SDES: libsrtp2 unprotect] -> rtpbin recv_rtp_sink_N / recv_rtcp_sink_N
      -> depayloader -> decoder -> counted
  testsrc -> encoder -> payloader [-> video-orientation extension]
      -> rtpbin send_rtp_sink_N; send_rtp_src_N / send_rtcp_src_N
      -> [SDES: libsrtp2 protect] -> dtlssrtpenc -> nicesink(stream, component 1)
  nicesrc(stream, component 2) -> counted (RTCP is muxed: nothing expected)

Dino does DTLS itself (GnuTLS, plugins/ice/src/dtls_srtp.vala) and SRTP with
libsrtp2 on the datagrams rtpbin hands it through appsink/appsrc
(plugins/rtp/src/stream.vala, crypto-vala/src/srtp.vala). Here GStreamer's
dtlssrtpenc/dtlssrtpdec do DTLS-SRTP (with an ECDSA P-256 certificate like
Dino's), and the SDES layer Dino adds inside it when both sides sent a
<crypto> is libsrtp2 through ctypes on appsink/appsrc. tests/e2e/README.md
("Dino-shaped peer") lists every rule and what differs from real Dino.

Runs only where 127.0.0.1 is the address to use (the e2e network
namespace): ICE gathers on 127.0.0.1 alone.
"""

import asyncio
import base64
import ctypes
import ctypes.util
import hashlib
import json
import os
import random
import ssl
import struct
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstVideo, Nice  # noqa: E402

import sdp_jingle as sj  # noqa: E402
from sdp_jingle import (NS_DTLS, NS_HDREXT, NS_ICE_UDP, NS_JINGLE, NS_JMI,  # noqa: E402
                        NS_RTCP_FB, NS_RTP, q)

NS_CLIENT = "jabber:client"
NS_RTP_INFO = "urn:xmpp:jingle:apps:rtp:info:1"
NS_JINGLE_ERRORS = "urn:xmpp:jingle:errors:1"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_MAM = "urn:xmpp:mam:2"
VIDEO_ORIENTATION = "urn:3gpp:video-orientation"
SRTP_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "F8_128_HMAC_SHA1_80")
T0 = time.monotonic()

# The features Dino's modules add to its disco#info (answered on every
# resource): xmpp-vala/src/module/xep/0166_jingle/jingle_module.vala attach(),
# 0167_jingle_rtp/jingle_rtp_module.vala attach() (rtp:1, rtp:audio,
# rtp:video), 0176_jingle_ice_udp/jingle_ice_udp_module.vala attach()
# (ice-udp:1, dtls:0), 0353_jingle_message_initiation.vala attach().
DINO_FEATURES = ("urn:xmpp:jingle:1", NS_RTP, "urn:xmpp:jingle:apps:rtp:audio",
                 "urn:xmpp:jingle:apps:rtp:video", NS_ICE_UDP, NS_DTLS, NS_JMI)

# plugins/rtp/src/module.vala get_supported_payloads(): offered in this
# order, each only if is_payload_supported() (encoder, decoder, payloader
# and depayloader elements exist). Opus is built with channels = 1 and then
# channels = 2: the second wins.
AUDIO_OFFER = [
    {"id": 111, "name": "opus", "clockrate": 48000, "channels": 2,
     "params": {"useinbandfec": "1"}},
    {"id": 112, "name": "speex", "clockrate": 32000},
    {"id": 113, "name": "speex", "clockrate": 16000},
    {"id": 114, "name": "speex", "clockrate": 8000},
    {"id": 9, "name": "G722", "clockrate": 8000},
    {"id": 0, "name": "PCMU", "clockrate": 8000},
    {"id": 8, "name": "PCMA", "clockrate": 8000},
]
# Same file: every video payload type carries these four feedback types.
VIDEO_FB = [("goog-remb", None), ("ccm", "fir"), ("nack", None), ("nack", "pli")]

# plugins/rtp/src/codec_util.vala get_{encode,pay,depay,decode}_candidates
# (software elements only; H264 decodes only with msdk/vaapi there).
CODECS = {
    "opus": ("opusenc", "rtpopuspay", "rtpopusdepay", "opusdec"),
    "speex": ("speexenc", "rtpspeexpay", "rtpspeexdepay", "speexdec"),
    "g722": ("avenc_g722", "rtpg722pay", "rtpg722depay", "avdec_g722"),
    "pcmu": ("mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec"),
    "pcma": ("alawenc", "rtppcmapay", "rtppcmadepay", "alawdec"),
    "h264": ("x264enc", "rtph264pay", "rtph264depay", None),
    "vp9": ("vp9enc", "rtpvp9pay", "rtpvp9depay", "vp9dec"),
    "vp8": ("vp8enc", "rtpvp8pay", "rtpvp8depay", "vp8dec"),
}


def now_ms():
    return int((time.monotonic() - T0) * 1000)


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def bare(jid):
    return str(jid).split("/", 1)[0]


def xa(v):
    return quoteattr(str(v))


def rid():
    return "%016x" % random.getrandbits(64)


# ---------------------------------------------------------------------------
# Codecs and payload types
# ---------------------------------------------------------------------------

def codec_of(media, pt):
    """plugins/rtp/src/codec_util.vala get_codec_from_payload(): the name in
    lower case; without a name, audio 0 / 8 are PCMU / PCMA."""
    if pt.get("name"):
        return pt["name"].lower()
    if media == "audio":
        return {0: "pcmu", 8: "pcma"}.get(int(pt["id"]))
    return None


_SUPPORTED = {}


def codec_supported(codec):
    """plugins/rtp/src/module.vala is_payload_supported(): the encoder, the
    decoder, the payloader and the depayloader all exist (Dino also runs a
    short test pipeline through them; we only look the elements up)."""
    if codec not in _SUPPORTED:
        els = CODECS.get(codec)
        _SUPPORTED[codec] = bool(els) and all(
            e is not None and Gst.ElementFactory.find(e) is not None for e in els)
    return _SUPPORTED[codec]


def offered_payload_types(media, vp9=False, audio_codecs=None):
    if media == "audio":
        pts = [dict(p) for p in AUDIO_OFFER
               if audio_codecs is None or codec_of(media, p) in audio_codecs]
    else:
        pts = []
        # ENABLE_H264 / ENABLE_VP9 are build options, both off by default
        # (meson_options.txt plugin-rtp-h264 / plugin-rtp-vp9).
        if vp9:
            pts.append({"id": 97, "name": "VP9", "clockrate": 90000})
        pts.append({"id": 98, "name": "VP8", "clockrate": 90000})
        for p in pts:
            p["fbs"] = list(VIDEO_FB)
    return [p for p in pts if codec_supported(codec_of(media, p))]


def payload_type_xml(pt):
    """xmpp-vala/src/module/xep/0167_jingle_rtp/payload_type.vala to_xml():
    id, channels only when not 1, clockrate, name; parameters; rtcp-fb."""
    s = f"<payload-type id='{pt['id']}'"
    if pt.get("channels", 1) != 1:
        s += f" channels='{pt['channels']}'"
    if pt.get("clockrate"):
        s += f" clockrate='{pt['clockrate']}'"
    if pt.get("name"):
        s += f" name={xa(pt['name'])}"
    s += ">"
    for k, v in (pt.get("params") or {}).items():
        s += f"<parameter name={xa(k)} value={xa(v)}/>"
    for t, st in pt.get("fbs") or []:
        s += f"<rtcp-fb xmlns='{NS_RTCP_FB}' type={xa(t)}" + (f" subtype={xa(st)}" if st else "") + "/>"
    return s + "</payload-type>"


def parse_payload_type(el):
    """payload_type.vala parse(): channels default 1."""
    def uint(name, default=0):
        try:
            return int(el.get(name)) if el.get(name) is not None else default
        except ValueError:
            return default
    return {
        "id": uint("id"), "name": el.get("name"), "clockrate": uint("clockrate"),
        "channels": uint("channels", 1),
        "params": {p.get("name"): p.get("value") for p in el.findall(q(NS_RTP, "parameter"))},
        "fbs": [(f.get("type"), f.get("subtype")) for f in el.findall(q(NS_RTCP_FB, "rtcp-fb"))],
    }


def adjust_payload_type(pt):
    """plugins/rtp/src/module.vala adjust_payload_type(): keep only goog-remb
    (no subtype), ccm fir, nack and nack pli."""
    keep = []
    for t, st in pt["fbs"]:
        if (t == "goog-remb" and st is None) or (t == "ccm" and st == "fir") or \
                (t == "nack" and st in (None, "pli")):
            keep.append((t, st))
    return dict(pt, fbs=keep)


def rtp_caps(media, pt):
    """plugins/rtp/src/codec_util.vala get_caps(incoming=true)."""
    s = Gst.Structure.new_empty("application/x-rtp")
    s.set_value("media", media)
    s.set_value("payload", int(pt["id"]))
    if pt.get("clockrate"):
        s.set_value("clock-rate", int(pt["clockrate"]))
    if pt.get("name"):
        s.set_value("encoding-name", pt["name"].upper())
    for t, st in pt.get("fbs") or []:
        s.set_value(f"rtcp-fb-{t}" + (f"-{st}" if st else ""), True)
    caps = Gst.Caps.new_empty()
    caps.append_structure(s)
    return caps


# ---------------------------------------------------------------------------
# DTLS certificate: plugins/ice/src/dtls_srtp.vala generate_credentials() —
# an ECDSA P-256 key, a self-signed certificate valid from a day ago for two
# days, serial 1; one per (local full JID, peer full JID)
# (plugins/ice/src/module.vala get_create_credentials()), shared by every
# content of the call. Made with libcrypto (always present: belfry links it)
# and handed to dtlssrtpdec as PEM.
# ---------------------------------------------------------------------------

def make_certificate():
    lc = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
    P, I, L = ctypes.c_void_p, ctypes.c_int, ctypes.c_long
    for name, res, args in [
            ("EC_KEY_new_by_curve_name", P, [I]), ("EC_KEY_generate_key", I, [P]),
            ("EVP_PKEY_new", P, []), ("EVP_PKEY_assign", I, [P, I, P]),
            ("X509_new", P, []), ("X509_set_version", I, [P, L]),
            ("X509_get_serialNumber", P, [P]), ("ASN1_INTEGER_set", I, [P, L]),
            ("X509_getm_notBefore", P, [P]), ("X509_getm_notAfter", P, [P]),
            ("X509_gmtime_adj", P, [P, L]), ("X509_set_pubkey", I, [P, P]),
            ("X509_get_subject_name", P, [P]), ("X509_set_issuer_name", I, [P, P]),
            ("X509_NAME_add_entry_by_txt", I, [P, ctypes.c_char_p, I, ctypes.c_char_p, I, I, I]),
            ("EVP_sha256", P, []), ("X509_sign", I, [P, P, P]),
            ("BIO_s_mem", P, []), ("BIO_new", P, [P]), ("BIO_ctrl", L, [P, I, L, P]),
            ("PEM_write_bio_X509", I, [P, P]),
            ("PEM_write_bio_PrivateKey", I, [P, P, P, P, I, P, P]),
            ("BIO_free", I, [P]), ("X509_free", None, [P]), ("EVP_PKEY_free", None, [P])]:
        f = getattr(lc, name)
        f.restype, f.argtypes = res, args
    NID_X9_62_PRIME256V1, EVP_PKEY_EC, MBSTRING_ASC, BIO_CTRL_INFO = 415, 408, 0x1001, 3
    ec = lc.EC_KEY_new_by_curve_name(NID_X9_62_PRIME256V1)
    if not ec or lc.EC_KEY_generate_key(ec) != 1:
        raise RuntimeError("libcrypto: EC key generation failed")
    pkey = lc.EVP_PKEY_new()
    if lc.EVP_PKEY_assign(pkey, EVP_PKEY_EC, ec) != 1:
        raise RuntimeError("libcrypto: EVP_PKEY_assign failed")
    x = lc.X509_new()
    try:
        lc.X509_set_version(x, 0)
        lc.ASN1_INTEGER_set(lc.X509_get_serialNumber(x), 1)
        lc.X509_gmtime_adj(lc.X509_getm_notBefore(x), -86400)
        lc.X509_gmtime_adj(lc.X509_getm_notAfter(x), 86400)
        lc.X509_set_pubkey(x, pkey)
        name = lc.X509_get_subject_name(x)
        lc.X509_NAME_add_entry_by_txt(name, b"CN", MBSTRING_ASC, b"dino", -1, -1, 0)
        lc.X509_set_issuer_name(x, name)
        if lc.X509_sign(x, pkey, lc.EVP_sha256()) <= 0:
            raise RuntimeError("libcrypto: X509_sign failed")
        pems = []
        for write in (lambda b: lc.PEM_write_bio_X509(b, x),
                      lambda b: lc.PEM_write_bio_PrivateKey(b, pkey, None, None, 0, None, None)):
            bio = lc.BIO_new(lc.BIO_s_mem())
            if write(bio) != 1:
                raise RuntimeError("libcrypto: PEM write failed")
            ptr = ctypes.c_void_p()
            n = lc.BIO_ctrl(bio, BIO_CTRL_INFO, 0, ctypes.byref(ptr))
            pems.append(ctypes.string_at(ptr, n).decode())
            lc.BIO_free(bio)
    finally:
        lc.X509_free(x)
        lc.EVP_PKEY_free(pkey)
    return pems[0], pems[1]


def sha256_fingerprint(cert_pem):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).digest()


def fingerprint_text(raw):
    """0176_jingle_ice_udp/transport_parameters.vala format_fingerprint()."""
    return ":".join("%02X" % b for b in raw)


def fingerprint_bytes(text):
    """transport_parameters.vala fingerprint_to_bytes()."""
    h = (text or "").replace(":", "").strip().upper()
    try:
        return bytes.fromhex(h)
    except ValueError:
        return b""


# ---------------------------------------------------------------------------
# SDES (XEP-0167 §6) — xmpp-vala/src/module/xep/0167_jingle_rtp/
# jingle_rtp_module.vala class Crypto, plugins/rtp/src/module.vala
# generate_local_crypto() / pick_remote_crypto() / pick_local_crypto()
# ---------------------------------------------------------------------------

def crypto_key(c):
    kp = c.get("key-params") or ""
    if not kp.startswith("inline:"):
        return None
    try:
        return base64.b64decode(kp[7:].split("|", 1)[0])
    except ValueError:
        return None


def crypto_valid(c):
    k = crypto_key(c)
    return c.get("crypto-suite") in SRTP_SUITES and k is not None and len(k) == 30


def new_crypto(suite="AES_CM_128_HMAC_SHA1_80", tag="1", session_params=None):
    c = {"crypto-suite": suite, "key-params": "inline:" + base64.b64encode(os.urandom(30)).decode(),
         "tag": tag}
    if session_params:
        c["session-params"] = session_params
    return c


def crypto_xml(c):
    s = (f"<crypto crypto-suite={xa(c['crypto-suite'])} key-params={xa(c['key-params'])} "
         f"tag={xa(c.get('tag') or '1')}")
    if c.get("session-params"):
        s += f" session-params={xa(c['session-params'])}"
    return s + "/>"


class SrtpSession:
    """crypto-vala/src/srtp.vala Session: one libsrtp2 context per
    direction, any_outbound / any_inbound, AES_CM_128_HMAC_SHA1_80 for RTP
    and RTCP (create_policy() knows no other profile). libsrtp2 is what
    Dino links; here through ctypes."""

    class _Crypto(ctypes.Structure):
        _fields_ = [("cipher_type", ctypes.c_uint32), ("cipher_key_len", ctypes.c_int),
                    ("auth_type", ctypes.c_uint32), ("auth_key_len", ctypes.c_int),
                    ("auth_tag_len", ctypes.c_int), ("sec_serv", ctypes.c_int)]

    class _Ssrc(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("value", ctypes.c_uint)]

    class _Policy(ctypes.Structure):
        pass

    _Policy._fields_ = [
        ("ssrc", _Ssrc), ("rtp", _Crypto), ("rtcp", _Crypto), ("key", ctypes.c_void_p),
        ("keys", ctypes.c_void_p), ("num_master_keys", ctypes.c_ulong),
        ("deprecated_ekt", ctypes.c_void_p), ("window_size", ctypes.c_ulong),
        ("allow_repeat_tx", ctypes.c_int), ("enc_xtn_hdr", ctypes.c_void_p),
        ("enc_xtn_hdr_count", ctypes.c_int), ("next", ctypes.c_void_p)]
    _lib = None
    SSRC_ANY_INBOUND, SSRC_ANY_OUTBOUND, MAX_TRAILER = 2, 3, 144

    @classmethod
    def lib(cls):
        if cls._lib is None:
            lib = ctypes.CDLL(ctypes.util.find_library("srtp2") or "libsrtp2.so.1")
            for name in ("srtp_protect", "srtp_unprotect", "srtp_protect_rtcp",
                         "srtp_unprotect_rtcp"):
                getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                               ctypes.POINTER(ctypes.c_int)]
            lib.srtp_create.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
            # Non-zero when GStreamer's srtp plugin initialised the library
            # first (its cipher already registered): harmless.
            lib.srtp_init()
            cls._lib = lib
        return cls._lib

    def __init__(self, key_salt, outbound):
        lib = self.lib()
        if len(key_salt) != 30:
            raise ValueError("SRTP master key and salt must be 30 bytes")
        pol = self._Policy()
        lib.srtp_crypto_policy_set_rtp_default(ctypes.byref(pol.rtp))
        lib.srtp_crypto_policy_set_rtcp_default(ctypes.byref(pol.rtcp))
        pol.ssrc.type = self.SSRC_ANY_OUTBOUND if outbound else self.SSRC_ANY_INBOUND
        self._key = ctypes.create_string_buffer(key_salt, 30)
        pol.key = ctypes.cast(self._key, ctypes.c_void_p)
        self.ctx = ctypes.c_void_p()
        err = lib.srtp_create(ctypes.byref(self.ctx), ctypes.byref(pol))
        if err != 0:
            raise RuntimeError(f"srtp_create failed: {err}")
        self.lock = threading.Lock()
        self.failures = 0

    def _run(self, fn, data, extra):
        buf = ctypes.create_string_buffer(bytes(data), len(data) + extra)
        n = ctypes.c_int(len(data))
        with self.lock:
            err = getattr(self.lib(), fn)(self.ctx, buf, ctypes.byref(n))
        if err != 0:
            self.failures += 1
            return None
        return buf.raw[:n.value]

    def protect(self, data, rtcp=False):
        return self._run("srtp_protect_rtcp" if rtcp else "srtp_protect", data,
                         self.MAX_TRAILER + (4 if rtcp else 0))

    def unprotect(self, data, rtcp=False):
        return self._run("srtp_unprotect_rtcp" if rtcp else "srtp_unprotect", data, 0)


# ---------------------------------------------------------------------------
# One content: one ICE-UDP transport, one DTLS handshake, one rtpbin session
# ---------------------------------------------------------------------------

class Content:
    def __init__(self, peer, name, media, rtpid, description=None):
        self.peer = peer
        self.name = name
        self.media = media
        self.rtpid = rtpid
        self.senders = "both"
        self.creator = "initiator"   # a content the responder added: "responder"
        self.offered = []            # payload types we offer / were offered
        self.agreed = None           # the one payload type in use
        self.hdrexts = []            # [(id, uri)]
        self.orientation_id = None
        self.rtcp_mux = True         # content_parameters.vala: constructor sets it
        self.local_crypto = None
        self.remote_crypto = None
        self.remote_cryptos = []
        self.description = description
        # transport
        self.stream_id = None
        self.ufrag = self.pwd = None
        self.gathered = False
        self.local_cands = []
        self.seen_lines = set()
        self.unsent = []
        self.remote_ufrag = self.remote_pwd = None
        self.remote_cands = []
        self.remote_creds_set = False
        self.want_connection = False
        self.peer_fp = None
        self.peer_fp_algo = None
        self.peer_setup = None
        self.dtls_client = None
        self.connection_id = None
        # elements
        self.nicesrc = self.nicesrc2 = self.nicesink = None
        self.dtls_dec = self.dtls_enc = None
        self.sdes_enc = self.sdes_dec = None
        self.send_bin = None
        self.send_rtp_pad = self.send_rtcp_pad = None
        self.decode_bin = None
        self.stream_created = False
        self.dtls_started = False
        self.send_linked = False
        # state and counters (touched from GStreamer/ICE threads: peer.lock)
        self.ice_states = {}
        self.dtls_state = None
        self.connected_at = None
        self.fp_ok = None
        self.our_ssrc = random.getrandbits(32) or 1
        self.locked_ssrc = None
        self.rtp_in = 0
        # The locked stream's RTP header as received (a test of the sender):
        # packets with the marker bit, the first packet's marker, and how
        # far the timestamp moved per packet (at most 16 distinct steps).
        self.rtp_markers = 0
        self.first_rtp_marker = None
        self.rtp_last = None
        self.rtp_ts_steps = {}
        self.rtcp_in = 0
        self.foreign = 0
        self.foreign_ssrcs = {}
        self.early_in = 0
        self.comp2_in = 0
        self.rtp_out = 0
        self.rtcp_out = 0
        self.dropped_out = 0
        self.ext_added = 0
        self.sent_count = 0
        self.foreign_sent = 0
        self.unfiltered_lists = 0
        self.ignored_pads = []
        self.lost_events = 0
        self.selected_pair = {}
        self.connected_logged = False
        # A content the other side added (content-add): decoded apart.
        self.added = False
        self.zc_up = self.zc_samples = 0
        self.zc_rate = self.zc_last_neg = None
        self.audio_samples = 0

    # -- reporting ----------------------------------------------------------

    def report(self):
        return {
            "name": self.name, "media": self.media, "stream_id": self.stream_id,
            "ufrag": self.ufrag, "remote_ufrag": self.remote_ufrag,
            "dtls_role": None if self.dtls_client is None else ("client" if self.dtls_client else "server"),
            "dtls_state": self.dtls_state, "fingerprint_ok": self.fp_ok,
            "peer_setup": self.peer_setup, "peer_fingerprint_hash": self.peer_fp_algo,
            "connected_ms": self.connected_at and int((self.connected_at - T0) * 1000),
            "ice_states": dict(self.ice_states), "selected_pair": self.selected_pair,
            "payload_type": self.agreed, "rtcp_mux": self.rtcp_mux,
            "header_extensions": self.hdrexts,
            "sdes": bool(self.local_crypto and self.remote_crypto),
            "sdes_failures": (self.sdes_dec.failures + self.sdes_enc.failures
                              if self.sdes_dec is not None else 0),
            "our_ssrc": self.our_ssrc, "locked_ssrc": self.locked_ssrc,
            "rtp_packets_in": self.rtp_in, "rtcp_packets_in": self.rtcp_in,
            "rtp_markers_in": self.rtp_markers, "first_rtp_marker": self.first_rtp_marker,
            "rtp_ts_steps": dict(self.rtp_ts_steps),
            "foreign_ssrc_packets": self.foreign, "foreign_ssrcs": self.foreign_ssrcs,
            "unfiltered_buffer_lists_in": self.unfiltered_lists,
            "early_packets_dropped": self.early_in, "component2_packets_in": self.comp2_in,
            "rtp_packets_out": self.rtp_out, "rtcp_packets_out": self.rtcp_out,
            "foreign_ssrc_packets_sent": self.foreign_sent,
            "dropped_before_dtls": self.dropped_out, "orientation_ext_added": self.ext_added,
            "ignored_ssrc_pads": self.ignored_pads, "jitterbuffer_lost_events": self.lost_events,
            "local_candidates": len(self.local_cands), "remote_candidates": len(self.remote_cands),
            "added": self.added, "audio_samples_decoded": self.audio_samples,
            "audio_freq_hz": (round(self.zc_up * self.zc_rate / self.zc_samples, 1)
                              if self.zc_rate and self.zc_samples else None),
        }

    # -- Jingle -------------------------------------------------------------

    def description_xml(self, answer):
        """xmpp-vala/.../0167_jingle_rtp/content_parameters.vala
        get_description_node(): the agreed payload type only once there is
        one (an answer: exactly one), else every offered one; header
        extensions; <encryption> with our crypto; <rtcp-mux/>. No <source>:
        Dino never signals SSRCs."""
        s = f"<description xmlns='{NS_RTP}' media='{self.media}'>"
        if answer:
            s += payload_type_xml(self.agreed)
        else:
            s += "".join(payload_type_xml(p) for p in self.offered)
        for i, uri in self.hdrexts:
            s += f"<rtp-hdrext xmlns='{NS_HDREXT}' id='{i}' uri={xa(uri)}/>"
        if self.local_crypto:
            s += f"<encryption>{crypto_xml(self.local_crypto)}</encryption>"
        if self.rtcp_mux:
            s += "<rtcp-mux/>"
        return s + "</description>"

    def transport_xml(self, action):
        """xmpp-vala/.../0176_jingle_ice_udp/transport_parameters.vala
        to_transport_stanza_node(): ufrag and pwd always; the fingerprint
        (sha-256 with setup) except in transport-info; every unsent
        candidate in initiate/accept, exactly one in a transport-info."""
        s = f"<transport xmlns='{NS_ICE_UDP}' ufrag={xa(self.ufrag)} pwd={xa(self.pwd)}>"
        if action != "transport-info":
            setup = "active" if self.peer.mode == "answer" else "actpass"
            s += (f"<fingerprint xmlns='{NS_DTLS}' hash='sha-256' setup='{setup}'>"
                  f"{fingerprint_text(self.peer.fingerprint)}</fingerprint>")
            cands, self.unsent = self.unsent, []
        else:
            cands, self.unsent = self.unsent[:1], self.unsent[1:]
        for c in cands:
            s += sj.to_string(self.candidate_el(c), NS_ICE_UDP)
        return s + "</transport>"

    @staticmethod
    def candidate_el(c):
        """0176_jingle_ice_udp/candidate.vala to_xml(): every attribute,
        generation and network 0, a random 8-hex-digit id
        (plugins/ice/src/transport_parameters.vala candidate_to_jingle())."""
        el = ET.Element(q(NS_ICE_UDP, "candidate"))
        for k in ("component", "foundation", "generation", "id", "ip", "network", "port",
                  "priority", "protocol", "type", "rel-addr", "rel-port"):
            if c.get(k) is not None:
                el.set(k, str(c[k]))
        return el

    def content_xml(self, action, answer=False):
        """session.vala accept() / jingle_module.vala create_session():
        creator='initiator', name, senders; description; transport."""
        return (f"<content creator='{self.creator}' name={xa(self.name)} senders='{self.senders}'>"
                + self.description_xml(answer) + self.transport_xml(action) + "</content>")

    def parse_transport(self, tr, action):
        """transport_parameters.vala (xmpp-vala) constructor /
        handle_transport_accept() / handle_transport_info(): ufrag/pwd when
        present, every candidate (a candidate without a known type is a
        bad-request: candidate.vala Type.parse()), the fingerprint with its
        hash and setup."""
        cands = []
        for cel in tr.findall(q(NS_ICE_UDP, "candidate")):
            typ = cel.get("type")
            if typ not in ("host", "prflx", "relay", "srflx"):
                raise JingleError("bad-request", text="Illegal ICE-UDP candidate type")
            cands.append({k: cel.get(k) for k in (
                "component", "foundation", "generation", "id", "ip", "network", "port",
                "priority", "protocol", "type", "rel-addr", "rel-port")})
        if tr.get("pwd") is not None:
            self.remote_pwd = tr.get("pwd")
        if tr.get("ufrag") is not None:
            self.remote_ufrag = tr.get("ufrag")
        fp = tr.find(q(NS_DTLS, "fingerprint"))
        if fp is not None:
            new = fingerprint_bytes(fp.text)
            if self.peer_fp is not None and new != self.peer_fp and action == "transport-info":
                # plugins/ice/src/transport_parameters.vala
                # handle_transport_info(): "Tried to replace certificate
                # fingerprint mid use. We don't allow that."
                self.peer.log(f"{self.name}: fingerprint change refused")
            else:
                self.peer_fp, self.peer_fp_algo = new, fp.get("hash")
                self.peer_setup = fp.get("setup")
        for c in cands:
            rec = dict({k: v for k, v in c.items() if v is not None}, content=self.name,
                       action=action, t=now_ms())
            for k in ("port", "component"):
                try:
                    rec[k] = int(rec[k])
                except (KeyError, TypeError, ValueError):
                    pass
            self.peer.res["remote_candidates"].append(rec)
        self.remote_cands.extend(cands)
        if self.want_connection:
            self.apply_remote()

    # -- ICE ----------------------------------------------------------------

    def create_transport(self):
        """plugins/ice/src/transport_parameters.vala constructor: a stream
        with two components (0167 content_type.vala required_components:
        RTP + RTCP) on the shared agent, receive attached on both
        components, candidates gathered at once."""
        m = self.peer.media
        self.stream_id = m.agent.add_stream(2)
        m.streams[self.stream_id] = self
        ok, self.ufrag, self.pwd = m.agent.get_local_credentials(self.stream_id)
        if not ok:
            raise RuntimeError("nice_agent_get_local_credentials failed")
        self.connection_id = f"dino-{self.peer.sid}-{self.name}-{random.getrandbits(24)}"
        m.build_receive(self)
        if self.peer.mode == "call":
            # We offer actpass and are DTLS server from the start
            # (transport_parameters.vala: !incoming -> own_setup
            # "actpass", Mode.SERVER, setup_dtls_connection() at once).
            m.build_dtls(self, client=False)
        if not m.agent.gather_candidates(self.stream_id):
            raise RuntimeError("nice_agent_gather_candidates failed")

    def on_local_candidate(self, c):
        """A new local candidate: transport_parameters.vala on_new_candidate()
        (UDP only); add_local_candidate_threadsafe() sends a transport-info
        right away once the session exists (caller) or the connection was
        created (callee); otherwise it goes into the initiate/accept."""
        if c["protocol"] != "udp":
            return
        c = dict(c, generation="0", network="0", id="%08x" % random.getrandbits(32))
        self.local_cands.append(c)
        self.peer.res["local_candidates"].append(dict(c, content=self.name))
        self.unsent.append(c)
        if self.peer.session_sent and (self.want_connection or self.peer.mode == "call"):
            self.peer.send_transport_info(self)

    def apply_remote(self):
        """transport_parameters.vala create_transport_connection() /
        handle_transport_info(): remote credentials once, then every remote
        candidate per component (fe80:: skipped; every candidate is given
        to libnice as UDP: candidate_to_nice())."""
        agent = self.peer.media.agent
        if self.remote_ufrag and self.remote_pwd and not self.remote_creds_set:
            agent.set_remote_credentials(self.stream_id, self.remote_ufrag, self.remote_pwd)
            self.remote_creds_set = True
        for comp in (1, 2):
            nice = []
            for c in self.remote_cands:
                if str(c.get("component")) != str(comp) or (c.get("ip") or "").startswith("fe80::"):
                    continue
                line = "a=" + sj.candidate_line(dict(c, protocol="udp", generation=None))
                nc = agent.parse_remote_candidate_sdp(self.stream_id, line)
                if nc is None:
                    self.peer.log(f"{self.name}: libnice cannot parse {line}")
                    continue
                nice.append(nc)
            if nice:
                agent.set_remote_candidates(self.stream_id, comp, nice)

    def create_connection(self):
        self.want_connection = True
        self.apply_remote()

    def ice_ready(self):
        """plugins/ice/src/util.vala is_component_ready(): CONNECTED or READY."""
        return self.ice_states.get(1) in ("connected", "ready")


class JingleError(Exception):
    def __init__(self, cond, jingle_cond=None, text=None, etype=None):
        super().__init__(text or cond)
        self.cond, self.jingle_cond, self.text = cond, jingle_cond, text
        self.etype = etype or ("modify" if cond in ("bad-request", "unexpected-request") else "cancel")


# ---------------------------------------------------------------------------
# GStreamer and libnice
# ---------------------------------------------------------------------------

def bridge(pipe, src, sink, caps, transform):
    """src -> appsink ... Python transform(bytes) -> appsrc (caps) -> sink:
    how Dino hands datagrams between rtpbin, its libsrtp2 session and its
    transport (stream.vala: appsink/appsrc, crypto_session). transform
    returns the datagram, a list of datagrams, or None (dropped)."""
    asink = Gst.ElementFactory.make("appsink")
    asrc = Gst.ElementFactory.make("appsrc")
    asink.set_property("emit-signals", True)
    asink.set_property("sync", False)
    asink.set_property("async", False)
    asrc.set_property("is-live", True)
    asrc.set_property("format", Gst.Format.TIME)
    asrc.set_property("caps", Gst.Caps.from_string(caps))

    def on_sample(sink_el):
        sample = sink_el.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        buf = sample.get_buffer()
        data = transform(buf.extract_dup(0, buf.get_size()))
        ret = Gst.FlowReturn.OK
        for d in ([] if data is None else data if isinstance(data, list) else [data]):
            ret = asrc.emit("push-buffer", new_buffer(d, buf))
        return ret
    asink.connect("new-sample", on_sample)
    pipe.add(asink)
    pipe.add(asrc)
    link_pads(src, asink.get_static_pad("sink"))
    link_pads(asrc.get_static_pad("src"), sink)
    asink.sync_state_with_parent()
    asrc.sync_state_with_parent()


def new_buffer(data, like=None):
    """A buffer holding a copy of data, its memory writable. Not
    Gst.Buffer.new_wrapped(): under pygobject it ends in double frees."""
    nb = Gst.Buffer.new_allocate(None, len(data), None)
    nb.fill(0, data)
    if like is not None:
        nb.pts, nb.dts, nb.duration = like.pts, like.dts, like.duration
    return nb


def run_steps(steps, data):
    out = [data]
    for step in steps:
        nxt = []
        for d in out:
            r = step(d)
            nxt.extend([] if r is None else r if isinstance(r, list) else [r])
        out = nxt
    return out


def link_pads(src, sink):
    r = src.link(sink)
    if r != Gst.PadLinkReturn.OK:
        raise RuntimeError(f"linking {src.get_parent_element().get_name()}:{src.get_name()} -> "
                           f"{sink.get_parent_element().get_name()}:{sink.get_name()}: {r.value_nick}")


class Media:
    """The call pipeline (plugins/rtp/src/plugin.vala init_call_pipe(): one
    pipeline, one rtpbin with latency 100, do-lost, drop-on-latency) and the
    libnice agent (plugins/ice/src/module.vala get_agent(): RFC 5245, no
    ICE-TCP, software "Dino"), whose signals run on a thread of its own."""

    def __init__(self, peer):
        self.peer = peer
        self.streams = {}
        self.ctx = GLib.MainContext.new()
        self.glib_loop = GLib.MainLoop.new(self.ctx, False)
        self.thread = threading.Thread(target=self.glib_loop.run, name="ice", daemon=True)
        self.thread.start()
        self.agent = Nice.Agent.new(self.ctx, Nice.Compatibility.RFC5245)
        self.agent.set_property("ice-tcp", False)
        self.agent.set_property("upnp", False)
        self.agent.set_software("Dino")
        # transport_parameters.vala: agent.controlling_mode = !incoming
        self.agent.set_property("controlling-mode", peer.mode == "call")
        addr = Nice.Address.new()
        if not addr.set_from_string("127.0.0.1") or not self.agent.add_local_address(addr):
            raise RuntimeError("nice_agent_add_local_address(127.0.0.1) failed")
        self._addr = addr
        self.agent.connect("new-candidate", self.on_new_candidate)
        self.agent.connect("candidate-gathering-done", self.on_gathering_done)
        self.agent.connect("component-state-changed", self.on_component_state)
        self.agent.connect("new-selected-pair-full", self.on_selected_pair)
        self.pipe = Gst.Pipeline.new("dino-call")
        self.rtpbin = Gst.ElementFactory.make("rtpbin", "rtpbin")
        self.rtpbin.set_property("latency", 100)
        self.rtpbin.set_property("do-lost", True)
        self.rtpbin.set_property("drop-on-latency", peer.drop_on_latency)
        self.rtpbin.connect("pad-added", self.on_rtp_pad_added)
        self.rtpbin.connect("request-pt-map", self.on_request_pt_map)
        self.pipe.add(self.rtpbin)
        self.bus = self.pipe.get_bus()
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError("pipeline failed to start")

    def content_by_rtpid(self, rtpid):
        for c in self.peer.contents:
            if c.rtpid == rtpid:
                return c
        return None

    # -- libnice signals (ICE thread) -----------------------------------------

    def on_new_candidate(self, agent, stream_id, component, foundation):
        # "new-candidate" (not -full: pygobject misreads NiceCandidate's
        # stream_id field); the component's candidates not reported yet.
        content = self.streams.get(stream_id)
        if content is None:
            return
        for cand in agent.get_local_candidates(stream_id, component):
            line = agent.generate_local_candidate_sdp(cand)
            with self.peer.lock:
                if line in content.seen_lines:
                    continue
                content.seen_lines.add(line)
            try:
                c = sj.parse_candidate_line(line)
            except ValueError:
                continue
            self.peer.loop.call_soon_threadsafe(content.on_local_candidate, c)

    def on_gathering_done(self, agent, stream_id):
        content = self.streams.get(stream_id)
        if content is not None:
            def done():
                content.gathered = True
                self.peer.poke()
            self.peer.loop.call_soon_threadsafe(done)

    def on_component_state(self, agent, stream_id, component, state):
        content = self.streams.get(stream_id)
        if content is None:
            return
        name = Nice.component_state_to_string(Nice.ComponentState(state)).lower()
        with self.peer.lock:
            content.ice_states[component] = name
        self.peer.loop.call_soon_threadsafe(self.peer.on_ice_state, content, component, name)

    def on_selected_pair(self, agent, stream_id, component, lcand, rcand):
        content = self.streams.get(stream_id)
        if content is not None:
            with self.peer.lock:
                content.selected_pair[str(component)] = [
                    agent.generate_local_candidate_sdp(lcand),
                    agent.generate_local_candidate_sdp(rcand)]

    # -- elements -------------------------------------------------------------

    def add(self, *els):
        for e in els:
            self.pipe.add(e)

    @staticmethod
    def make(factory, name=None, **props):
        e = Gst.ElementFactory.make(factory, name)
        if e is None:
            raise RuntimeError(f"GStreamer element {factory} is missing")
        for k, v in props.items():
            e.set_property(k.replace("_", "-"), v)
        return e

    def build_receive(self, content):
        """Receive on both components from the start (transport_parameters
        .vala: attach_recv for every component before gathering).
        Component 1 carries DTLS, SRTP and muxed SRTCP; component 2 would
        carry SRTCP without rtcp-mux: counted only. Until the DTLS side
        exists, datagrams on component 1 are dropped (Dino's
        process_incoming_data() drops SRTP before keys)."""
        # do-timestamp: arrival times for rtpbin's jitterbuffer (Dino's
        # receive appsrc: do_timestamp = true, stream.vala create()).
        src = self.make("nicesrc", f"nicesrc_{content.rtpid}", agent=self.agent,
                        stream=content.stream_id, component=1, do_timestamp=True)
        src2 = self.make("nicesrc", f"nicesrc2_{content.rtpid}", agent=self.agent,
                         stream=content.stream_id, component=2)
        sink2 = self.make("fakesink", f"comp2_sink_{content.rtpid}", sync=False, **{"async": False})
        self.add(src, src2, sink2)
        src2.link(sink2)

        def comp2(pad, info):
            with self.peer.lock:
                content.comp2_in += 1
            return Gst.PadProbeReturn.OK
        src2.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, comp2)

        def gate(pad, info):
            return Gst.PadProbeReturn.OK if content.dtls_started else Gst.PadProbeReturn.DROP
        src.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, gate)
        content.nicesrc, content.nicesrc2 = src, src2
        self.new_dtls_dec(content)
        for e in (src2, sink2):
            e.sync_state_with_parent()

    def new_dtls_dec(self, content):
        dec = self.make("dtlssrtpdec", f"dtlsdec_{content.rtpid}_{random.getrandbits(16)}",
                        connection_id=content.connection_id,
                        pem=self.peer.cert_pem + self.peer.key_pem)
        self.add(dec)
        content.dtls_dec = dec
        content.nicesrc.link(dec)
        dec.get_static_pad("rtp_src").add_probe(
            Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self.on_rtp_in, content)
        dec.get_static_pad("rtcp_src").add_probe(
            Gst.PadProbeType.BUFFER, self.on_rtcp_in, content)
        dec.sync_state_with_parent()
        content.nicesrc.sync_state_with_parent()

    def build_dtls(self, content, client):
        """The DTLS side of one transport: dtlssrtpenc -> nicesink on
        component 1, paired with the dtlssrtpdec by connection-id. Only
        SRTP_AES128_CM_SHA1_80 is offered (GStreamer 1.22 offers no other:
        Dino's set_srtp_profile_direct("SRTP_AES128_CM_HMAC_SHA1_80"))."""
        if content.dtls_enc is not None:
            raise RuntimeError(f"{content.name}: DTLS already set up")
        content.dtls_client = client
        enc = self.make("dtlssrtpenc", f"dtlsenc_{content.rtpid}",
                        connection_id=content.connection_id, is_client=client)
        sink = self.make("nicesink", f"nicesink_{content.rtpid}", agent=self.agent,
                         stream=content.stream_id, component=1, sync=False, **{"async": False})
        self.add(enc, sink)
        enc.link(sink)
        content.dtls_enc, content.nicesink = enc, sink
        content.enc_rtp_sink = enc.request_pad_simple("rtp_sink_0")
        content.enc_rtcp_sink = enc.request_pad_simple("rtcp_sink_0")
        enc.connect("notify::connection-state", self.on_dtls_state, content)
        content.dtls_started = True
        sink.sync_state_with_parent()
        enc.sync_state_with_parent()
        self.link_send(content)

    def restart_dtls_as_client(self, content):
        """transport_parameters.vala handle_transport_accept(): the answer
        says passive -> stop the server handshake, start as client. A
        started GStreamer DTLS connection cannot change roles: both sides
        are made anew under a fresh connection-id."""
        content.dtls_started = False
        for e in (content.dtls_enc, content.nicesink, content.dtls_dec):
            e.set_locked_state(True)
            e.set_state(Gst.State.NULL)
            self.pipe.remove(e)
        content.dtls_enc = content.nicesink = content.dtls_dec = None
        content.connection_id += "-client"
        self.new_dtls_dec(content)
        self.build_dtls(content, client=True)

    def on_dtls_state(self, enc, pspec, content):
        st = enc.get_property("connection-state").value_nick
        self.peer.loop.call_soon_threadsafe(self.peer.on_dtls_state, content, st)

    def on_rtp_in(self, pad, info, content):
        """What comes out of SRTP on component 1. plugins/rtp/src/stream.vala
        on_ssrc_pad_added(): the first SSRC of a stream is the
        participant's; "Got second ssrc on stream ..., ignoring" for any
        other. Here every packet of another SSRC is dropped and counted
        before rtpbin (Dino lets it into rtpbin and leaves its pad
        unlinked). RTCP muxed on this path passes."""
        if info.type & Gst.PadProbeType.BUFFER_LIST:
            # Not seen from dtlssrtpdec; if it ever comes, it is counted
            # and passes unfiltered (the test asserts there are none).
            with self.peer.lock:
                content.unfiltered_lists += 1
            return Gst.PadProbeReturn.OK
        buf = info.get_buffer()
        if not content.stream_created:
            with self.peer.lock:
                content.early_in += 1
            return Gst.PadProbeReturn.DROP
        hdr = buf.extract_dup(0, 12)
        if len(hdr) < 12:
            return Gst.PadProbeReturn.DROP
        if 192 <= hdr[1] <= 223:
            return Gst.PadProbeReturn.OK
        ssrc = struct.unpack("!I", hdr[8:12])[0]
        with self.peer.lock:
            if content.locked_ssrc is None:
                content.locked_ssrc = ssrc
            if ssrc != content.locked_ssrc:
                content.foreign += 1
                content.foreign_ssrcs[str(ssrc)] = content.foreign_ssrcs.get(str(ssrc), 0) + 1
                return Gst.PadProbeReturn.DROP
            content.rtp_in += 1
            marker = bool(hdr[1] & 0x80)
            seq, ts = struct.unpack("!HI", hdr[2:8])
            content.rtp_markers += marker
            if content.first_rtp_marker is None:
                content.first_rtp_marker = marker
            if content.rtp_last is not None and seq == (content.rtp_last[0] + 1) & 0xffff:
                step = str((ts - content.rtp_last[1]) & 0xffffffff)
                if step in content.rtp_ts_steps or len(content.rtp_ts_steps) < 16:
                    content.rtp_ts_steps[step] = content.rtp_ts_steps.get(step, 0) + 1
            content.rtp_last = (seq, ts)
        return Gst.PadProbeReturn.OK

    def on_rtcp_in(self, pad, info, content):
        if not content.stream_created:
            return Gst.PadProbeReturn.DROP
        with self.peer.lock:
            content.rtcp_in += 1
        return Gst.PadProbeReturn.OK

    def create_stream(self, content):
        """plugins/rtp/src/stream.vala create(): the rtpbin session of this
        content — receive into recv_rtp_sink_N / recv_rtcp_sink_N, send from
        an encoder into send_rtp_sink_N, RTCP out of send_rtcp_src_N; SDES
        SRTP (crypto_session) between rtpbin and the transport when both
        sides sent a crypto (content_parameters.vala accept())."""
        n = content.rtpid
        sdes = bool(content.local_crypto and content.remote_crypto)
        recv_rtp = self.rtpbin.request_pad_simple(f"recv_rtp_sink_{n}")
        recv_rtcp = self.rtpbin.request_pad_simple(f"recv_rtcp_sink_{n}")
        dec = content.dtls_dec
        if sdes:
            # stream.vala prepare_remote_crypto() / on_recv_rtp_data(): what
            # DTLS-SRTP let through is decrypted again with the remote SDES
            # key; prepare_local_crypto() / encrypt_and_send_rtp(): ours is
            # applied before DTLS-SRTP on the way out (link_send()).
            content.sdes_dec = SrtpSession(crypto_key(content.remote_crypto), outbound=False)
            content.sdes_enc = SrtpSession(crypto_key(content.local_crypto), outbound=True)
            sd = content.sdes_dec
            bridge(self.pipe, dec.get_static_pad("rtp_src"), recv_rtp, "application/x-rtp",
                   lambda d: sd.unprotect(d))
            bridge(self.pipe, dec.get_static_pad("rtcp_src"), recv_rtcp, "application/x-rtcp",
                   lambda d: sd.unprotect(d, rtcp=True))
        else:
            link_pads(dec.get_static_pad("rtp_src"), recv_rtp)
            link_pads(dec.get_static_pad("rtcp_src"), recv_rtcp)
        # Outgoing RTCP: dropped until DTLS is up (Dino: process_outgoing_data()
        # returns null before the SRTP session has keys).
        content.send_rtcp_pad = self.rtpbin.request_pad_simple(f"send_rtcp_src_{n}")
        content.send_rtcp_pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST,
                                        self.on_send_out, (content, "rtcp"))
        content.stream_created = True
        if self.peer.senders_include_us(content.senders):
            self.build_sender(content)
        self.link_send(content)

    def build_sender(self, content):
        pt = content.agreed
        codec = codec_of(content.media, pt)
        encoder, pay, _depay, _dec = CODECS[codec]
        n = content.rtpid
        if content.media == "audio":
            src = (f"audiotestsrc is-live=true wave=sine freq={self.peer.tone_hz} "
                   f"volume={self.peer.tone_volume} ! ")
            if codec != "opus":
                src += f"audioconvert ! audioresample ! audio/x-raw,rate={pt['clockrate']},channels=1 ! "
            # codec_util.vala get_encode_bin_without_payloader_description()
            # and get_encode_args(): opusenc audio-type=voice, inband-fec
            # when useinbandfec=1.
            args = ""
            if encoder == "opusenc":
                args = " audio-type=voice" + (
                    " inband-fec=true" if (pt.get("params") or {}).get("useinbandfec") == "1" else "")
            desc = (src + f"audioconvert ! audioresample ! queue ! {encoder}{args} name=enc_{n} ! "
                    f"{pay} pt={pt['id']} ssrc={content.our_ssrc} name=pay_{n}")
        else:
            # get_encode_args() for vp8enc/vp9enc, get_encode_suffix() for
            # vp8enc; target bitrate 256 kbit/s (stream.vala
            # target_send_bitrate default, codec_util.vala update_bitrate()).
            args = (" deadline=1 error-resilient=3 lag-in-frames=0 resize-allowed=true threads=8"
                    " dropframe-threshold=30 end-usage=vbr cpu-used=4 target-bitrate=262144")
            suffix = " ! video/x-vp8,profile=(string)1" if encoder == "vp8enc" else ""
            desc = ("videotestsrc is-live=true pattern=ball ! "
                    "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! videoscale ! "
                    f"queue ! {encoder}{args} name=enc_{n}{suffix} ! "
                    f"{pay} pt={pt['id']} ssrc={content.our_ssrc} name=pay_{n}")
        bin_ = Gst.parse_bin_from_description(desc, True)
        bin_.set_name(f"send_{n}")
        self.add(bin_)
        content.send_bin = bin_
        sink = self.rtpbin.request_pad_simple(f"send_rtp_sink_{n}")
        link_pads(bin_.get_static_pad("src"), sink)
        bin_.sync_state_with_parent()

    def add_orientation(self, content, data):
        if len(data) >= 12 and not data[0] & 0x10:
            hlen = 12 + 4 * (data[0] & 0x0F)
            ext = struct.pack("!HHBBBB", 0xBEDE, 1, (content.orientation_id << 4) | 0, 0, 0, 0)
            data = bytes([data[0] | 0x10]) + data[1:hlen] + ext + data[hlen:]
            with self.peer.lock:
                content.ext_added += 1
        return data

    def on_send_out(self, pad, info, arg):
        """Outgoing RTP/RTCP of a stream, dropped until its DTLS is up
        (Dino: process_outgoing_data() returns null before the SRTP session
        has keys). Payloaders push buffer lists (a video frame's packets)."""
        content, kind = arg
        n = 1
        if info.type & Gst.PadProbeType.BUFFER_LIST:
            n = info.get_buffer_list().length()
        with self.peer.lock:
            if content.connected_at is None or content.fp_ok is not True:
                content.dropped_out += n
                return Gst.PadProbeReturn.DROP
            if kind == "rtp":
                content.rtp_out += n
            else:
                content.rtcp_out += n
        return Gst.PadProbeReturn.OK

    def link_send(self, content):
        """rtpbin's send pads -> [SDES srtpenc] -> dtlssrtpenc, once both the
        stream and the DTLS side exist."""
        if content.send_linked or content.dtls_enc is None or not content.stream_created \
                or content.send_rtp_pad is None and content.send_bin is not None:
            return
        rtp_target, rtcp_target = content.enc_rtp_sink, content.enc_rtcp_sink
        rtp_steps, rtcp_steps = [], []
        if content.orientation_id is not None:
            # plugins/rtp/src/stream.vala on_new_sample() (GST_1_20): every
            # RTP packet out of rtpbin carries the negotiated
            # urn:3gpp:video-orientation one-byte extension (camera 0,
            # flip 0, rotation 0), added before SRTP.
            rtp_steps.append(lambda d: self.add_orientation(content, d))
        if self.peer.foreign_every and content.media in self.peer.foreign_media:
            rtp_steps.append(lambda d: self.add_foreign(content, d))
        if content.sdes_enc is not None:
            se = content.sdes_enc
            rtp_steps.append(lambda d: se.protect(d))
            rtcp_steps.append(lambda d: se.protect(d, rtcp=True))
        for pad, target, steps, caps in (
                (content.send_rtp_pad, rtp_target, rtp_steps, "application/x-rtp"),
                (content.send_rtcp_pad, rtcp_target, rtcp_steps, "application/x-rtcp")):
            if pad is None:
                continue
            if steps:
                bridge(self.pipe, pad, target, caps, lambda d, steps=steps: run_steps(steps, d))
            else:
                link_pads(pad, target)
        content.send_linked = True

    def add_foreign(self, content, data):
        """foreign_ssrc_every (a test of the receiver, not Dino): from 1 s
        after DTLS connected, every Nth RTP packet is sent again under
        another SSRC, which a Dino receiver must ignore."""
        if content.connected_at is None or time.monotonic() < content.connected_at + 1 \
                or len(data) < 12 or 192 <= data[1] <= 223:
            return data
        content.sent_count += 1
        if content.sent_count % self.peer.foreign_every:
            return data
        other = (content.our_ssrc ^ 0x5A5A5A5A) or 1
        content.foreign_sent += 1
        return [data, data[:8] + struct.pack("!I", other) + data[12:]]

    def on_request_pt_map(self, rtpbin, session, pt):
        # Dino sets these caps on its appsrc (stream.vala create():
        # CodecUtil.get_caps(media, payload_type, true)).
        content = self.content_by_rtpid(session)
        if content is not None and content.agreed is not None and int(content.agreed["id"]) == pt:
            return rtp_caps(content.media, content.agreed)
        return None

    def on_rtp_pad_added(self, rtpbin, pad):
        name = pad.get_name()
        parts = name.split("_")
        if name.startswith("send_rtp_src_"):
            content = self.content_by_rtpid(int(parts[3]))
            if content is not None:
                content.send_rtp_pad = pad
                pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST,
                              self.on_send_out, (content, "rtp"))
        elif name.startswith("recv_rtp_src_"):
            content = self.content_by_rtpid(int(parts[3]))
            if content is None:
                return
            ssrc = int(parts[4])
            # stream.vala on_ssrc_pad_added(): only the first SSRC's pad is
            # linked to the decoder.
            if content.decode_bin is not None:
                with self.peer.lock:
                    content.ignored_pads.append(ssrc)
                sink = self.make("fakesink", None, sync=False, **{"async": False})
                self.add(sink)
                sink.sync_state_with_parent()
                pad.link(sink.get_static_pad("sink"))
                return
            self.build_decoder(content, pad)

    def build_decoder(self, content, pad):
        """codec_util.vala get_decode_bin_description(): queue ! depay
        (vp8: wait-for-keyframe=true) ! decoder (opusdec use-inband-fec
        with useinbandfec=1; vp8dec/vp9dec threads=8) ! convert
        (! audioresample); then counted instead of played."""
        pt = content.agreed
        codec = codec_of(content.media, pt)
        _enc, _pay, depay, decoder = CODECS[codec]
        depay_args = " wait-for-keyframe=true" if codec == "vp8" else ""
        dec_args = ""
        if decoder == "opusdec" and (pt.get("params") or {}).get("useinbandfec") == "1":
            dec_args = " use-inband-fec=true"
        if decoder in ("vp8dec", "vp9dec"):
            dec_args = " threads=8"
        if content.media == "audio" and self.peer.record is not None and not content.added:
            tail = ("audioconvert ! audioresample ! audioconvert ! "
                    "audio/x-raw,format=S16LE,rate=48000,channels=1")
        elif content.media == "audio":
            tail = "audioconvert ! audioresample ! audioconvert ! audio/x-raw,format=S16LE"
        else:
            tail = "videoconvert"
        desc = (f"queue ! {depay}{depay_args} ! {decoder}{dec_args} ! {tail} ! "
                f"fakesink name=decoded_{content.rtpid} sync=false async=false")
        bin_ = Gst.parse_bin_from_description(desc, True)
        bin_.set_name(f"decode_{content.rtpid}")
        self.add(bin_)
        content.decode_bin = bin_
        bin_.sync_state_with_parent()
        link_pads(pad, bin_.get_static_pad("sink"))

        def lost(p, info):
            ev = info.get_event()
            st = ev.get_structure()
            if st is not None and st.get_name() == "GstRTPPacketLost":
                with self.peer.lock:
                    content.lost_events += 1
            return Gst.PadProbeReturn.OK
        pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, lost)
        sinkpad = bin_.get_by_name(f"decoded_{content.rtpid}").get_static_pad("sink")
        if content.media == "audio":
            sinkpad.add_probe(Gst.PadProbeType.BUFFER, self.peer.on_audio_buffer, content)
        else:
            sinkpad.add_probe(Gst.PadProbeType.BUFFER, self.peer.on_video_frame)

    def force_keyframe(self, content):
        """stream.vala on_rtp_ready(): a full frame as soon as the
        connection is ready (GstForceKeyUnit upstream)."""
        if content.send_bin is None or content.media != "video":
            return
        enc = content.send_bin.get_by_name(f"enc_{content.rtpid}")
        if enc is not None:
            enc.get_static_pad("src").send_event(
                GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0))

    def drain_bus(self, into):
        while True:
            msg = self.bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.WARNING)
            if msg is None:
                return
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
            else:
                err, dbg = msg.parse_warning()
            if len(into) < 30:
                into.append(f"{msg.type.first_value_nick} from {msg.src.get_name()}: "
                            f"{err.message} ({dbg})"[:800])

    def stop(self):
        self.pipe.set_state(Gst.State.NULL)
        for sid in list(self.streams):
            self.agent.remove_stream(sid)
        self.glib_loop.quit()


# ---------------------------------------------------------------------------
# The peer
# ---------------------------------------------------------------------------

class Peer:
    def __init__(self, cfg):
        self.cfg = cfg
        self.mode = cfg["mode"]
        self.duration = float(cfg.get("duration", 5))
        self.timeout = float(cfg.get("timeout", 60))
        self.want_audio = cfg.get("audio", True) is not False
        self.want_video = cfg.get("video", True) is not False
        self.tone_hz = float(cfg.get("tone_hz", 440))
        self.tone_volume = float(cfg.get("tone_volume", 0.4))
        self.record = open(cfg["record_audio"], "wb") if cfg.get("record_audio") else None
        self.record_lock = threading.Lock()
        self.vp9 = bool(cfg.get("vp9"))
        self.answer_sdes = cfg.get("answer_sdes", True) is not False
        self.drop_on_latency = cfg.get("drop_on_latency", True) is not False
        self.foreign_every = int(cfg.get("foreign_ssrc_every") or 0)
        codecs = cfg.get("audio_codecs")
        self.audio_codecs = None if codecs is None else {str(c).lower() for c in codecs}
        self.accept_content_add = bool(cfg.get("accept_content_add"))
        # Zero crossings of the decoded audio (first channel): the upward
        # ones, the samples they were counted over, and the last sample's
        # sign, carried from one buffer to the next.
        self.zc_up = 0
        self.zc_samples = 0
        self.zc_rate = None
        self.zc_last_neg = None
        # Not Dino's: a callee whose network is slow to come up (a phone
        # waking its radio): ICE starts this many seconds after the accept.
        self.connect_delay = float(cfg.get("connect_delay") or 0)
        self.foreign_media = set(cfg.get("foreign_ssrc_media") or ("audio", "video"))
        linger = cfg.get("linger")
        self.linger = float(linger if linger is not None else (1.5 if self.mode == "call" else 4))
        self.res = {
            "ok": False, "error": None, "peer": "dino", "mode": self.mode, "jid": None,
            "remote_jid": None, "sid": None, "propose": bool(cfg.get("propose")),
            "timings_ms": {}, "states": [], "connected": False, "terminated_by": None,
            "terminate_reason": None, "remote_terminate": None,
            "audio_buffers_decoded": 0, "audio_samples_decoded": 0, "audio_peak": 0.0,
            "audio_energy": 0.0, "video_frames_decoded": 0, "video_width": None,
            "video_height": None, "remote_candidates": [], "local_candidates": [],
            "timeline": [], "jingle": [], "jmi": [], "local_sdp": None, "remote_sdp": None,
            "log": [], "gst_errors": [], "gstreamer_version": Gst.version_string(),
            "session_info_sent": [], "session_info_received": [], "iq_errors": [],
            "transports": {}, "foreign_ssrc_packets": 0, "disco": None, "sdes": {},
            "ringing_sent": 0, "fingerprint": None, "group_received": False,
            "first_video_frame_ms": None, "audio_freq_hz": None,
            "jingle_extra": [], "contents_added": [],
        }
        self.loop = asyncio.get_event_loop()
        self.lock = threading.Lock()
        self.changed = asyncio.Event()
        self.tasks = set()
        self.contents = []
        self.media = None
        self.sid = None
        self.remote_jid = None
        self.session_sent = False
        self.ended = False
        self.accept = None
        self.initiate = None
        self.initiate_iq_from = None
        self.proceed_from = None
        self.rejected = None
        self.proposals = {}          # sid -> proposer full JID (answer mode)
        self.connected_at = None
        self.failure = None
        self.cert_pem = self.key_pem = None
        self.fingerprint = None

    # -- bookkeeping ---------------------------------------------------------

    def log(self, *parts):
        line = f"{now_ms()} " + " ".join(p if isinstance(p, str) else repr(p) for p in parts)
        self.res["log"].append(line[:2000])

    def poke(self):
        self.changed.set()

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
                await asyncio.wait_for(self.changed.wait(), min(left, 0.25))
            except asyncio.TimeoutError:
                pass

    def spawn(self, coro):
        t = self.loop.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    def left(self):
        return max(0.1, self.deadline - time.monotonic())

    def senders_include_us(self, senders):
        """xmpp-vala/.../0166_jingle/session.vala senders_include_us()."""
        we_initiated = self.mode == "call"
        return senders == "both" or (senders == "initiator" and we_initiated) or \
            (senders == "responder" and not we_initiated)

    # -- XMPP ----------------------------------------------------------------

    async def login(self):
        import slixmpp
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        x = slixmpp.ClientXMPP(self.cfg["jid"], self.cfg["password"])
        x.loop = self.loop
        x["feature_mechanisms"].unencrypted_plain = True
        x.register_plugin("xep_0030")
        # Answered on every resource: Dino's features (see DINO_FEATURES).
        x["xep_0030"].add_identity(category="client", itype="pc", name="Dino")
        for f in DINO_FEATURES:
            x["xep_0030"].add_feature(f)
        started = self.loop.create_future()

        def done(v):
            if not started.done():
                started.set_result(v)

        x.add_event_handler("session_start", lambda _e: done("ok"))
        x.add_event_handler("failed_auth", lambda _e: done("authentication failed"))
        x.add_event_handler("connection_failed", lambda e: done(f"connection failed: {e}"))
        x.add_event_handler("disconnected", lambda e: done(f"disconnected: {e}"))
        x.register_handler(Callback(
            "dino jingle", MatchXPath("{%s}iq/{%s}jingle" % (NS_CLIENT, NS_JINGLE)),
            self.on_jingle_iq))
        x.add_filter("in", self.on_incoming)
        self.xmpp = x
        x.connect((self.cfg.get("host", "127.0.0.1"), int(self.cfg["port"])),
                  force_starttls=False, disable_starttls=True)
        result = await asyncio.wait_for(started, 15)
        if result != "ok":
            raise RuntimeError(f"login failed: {result}")
        self.res["jid"] = str(x.boundjid.full)
        x.send_presence()

    def send_raw(self, xml, record=None):
        if record is not None:
            record.append({"dir": "out", "t": now_ms(), "xml": xml})
        self.xmpp.send_raw(xml)

    def on_incoming(self, stanza):
        el = stanza.xml
        if el.tag == q(NS_CLIENT, "message"):
            jmi = [c for c in el if c.tag.startswith("{%s}" % NS_JMI)]
            if jmi:
                self.res["jmi"].append({"dir": "in", "t": now_ms(), "xml": str(stanza)})
                self.on_jmi(el, jmi[-1])
        elif el.tag == q(NS_CLIENT, "iq") and el.find(q(NS_JINGLE, "jingle")) is not None:
            self.res["jingle"].append({"dir": "in", "t": now_ms(), "xml": str(stanza)})
        return stanza

    def send_jmi(self, name, to, sid):
        """xmpp-vala/src/module/xep/0353_jingle_message_initiation.vala
        send_jmi_message(): type=chat, nothing but the JMI element."""
        self.send_raw(f"<message to={xa(to)} type='chat' id={xa(str(uuid.uuid4()))}>"
                      f"<{name} xmlns='{NS_JMI}' id={xa(sid)}/></message>", self.res["jmi"])

    def on_jmi(self, msg, el):
        """0353_jingle_message_initiation.vala on_received_message(): not
        groupchat, not from MAM; the last JMI child counts. ringing and
        finish are not handled at all."""
        if msg.get("type") == "groupchat" or msg.find(q(NS_MAM, "result")) is not None:
            return
        local = el.tag.split("}", 1)[1]
        sid, sender, to = el.get("id"), msg.get("from") or "", msg.get("to") or ""
        if local == "propose":
            descs = [d for d in el if d.tag.split("}", 1)[-1] == "description"]
            media = {d.get("media") for d in descs if d.tag == q(NS_RTP, "description")}
            # libdino/src/service/calls.vala session_proposed: neither audio
            # nor video requested -> ignored.
            if self.mode != "answer" or not ({"audio", "video"} & media):
                return
            self.log("JMI propose from", sender, sid)
            # call_peer_state.vala accept() (the user accepts at once):
            # <accept/> to our own bare JID, <proceed/> to the proposer.
            # Never <ringing/> (there is no code for it in 0353).
            self.proposals[sid] = sender
            self.send_jmi("accept", bare(self.res["jid"]), sid)
            self.send_jmi("proceed", sender, sid)
        elif local in ("accept", "proceed") and self.mode == "call" and sid == self.sid:
            # calls.vala session_accepted: only from the called bare JID and
            # to our own full JID; then call_resource(from).
            if bare(sender) == bare(self.cfg["target"]) and to == self.res["jid"]:
                self.proceed_from = self.proceed_from or sender
            else:
                self.log(f"JMI {local} from {sender} to {to} ignored")
            self.poke()
        elif local == "reject" and self.mode == "call" and sid == self.sid:
            if bare(sender) == bare(self.cfg["target"]):
                self.rejected = f"JMI reject from {sender}"
                self.poke()
        elif local == "retract" and self.mode == "answer" and sid in self.proposals:
            if bare(sender) == bare(self.proposals[sid]):
                self.rejected = f"JMI retract from {sender}"
                self.poke()

    def reply_ok(self, iq):
        self.send_raw(f"<iq type='result' to={xa(iq.get('from'))} id={xa(iq.get('id'))}/>")

    def reply_error(self, iq, err):
        """jingle_module.vala send_iq_error()."""
        extra = f"<{err.jingle_cond} xmlns='{NS_JINGLE_ERRORS}'/>" if err.jingle_cond else ""
        text = (f"<text xmlns='{NS_STANZAS}'>{sj_escape(err.text)}</text>" if err.text else "")
        self.send_raw(f"<iq type='error' to={xa(iq.get('from'))} id={xa(iq.get('id'))}>"
                      f"<error type='{err.etype}'><{err.cond} xmlns='{NS_STANZAS}'/>{text}{extra}"
                      f"</error></iq>")

    def on_jingle_iq(self, iq):
        el = iq.xml
        if el.get("type") != "set":
            return
        try:
            self.handle_jingle(el)
        except JingleError as e:
            self.log("jingle error reply:", e.cond, e.text or "")
            self.reply_error(el, e)
        self.poke()

    def handle_jingle(self, iq):
        """xmpp-vala/src/module/xep/0166_jingle/jingle_module.vala
        handle_iq_set() and session.vala handle_iq_set()."""
        jingle = iq.find(q(NS_JINGLE, "jingle"))
        sender = iq.get("from")
        sid, action = jingle.get("sid"), jingle.get("action")
        if sid is None or action is None:
            raise JingleError("bad-request", text="missing jingle node, sid or action")
        known = self.sid is not None and sid == self.sid
        if action == "session-initiate":
            if known:
                raise JingleError("conflict", text="session ID already in use")
            if self.mode != "answer" or self.initiate is not None:
                # We take one call per run: a second one is what Dino calls
                # a busy user — it would ring; here it is refused.
                raise JingleError("resource-constraint", text="one call per run")
            self.handle_session_initiate(iq, jingle)
            return
        if not known or sender != self.remote_jid:
            raise JingleError("item-not-found", "unknown-session")
        if action == "session-accept":
            if self.mode != "call" or self.accept is not None:
                raise JingleError("unexpected-request", "out-of-order",
                                  "got session-accept while not waiting for one")
            self.handle_session_accept(iq, jingle)
        elif action == "session-info":
            info = [c for c in jingle if c.tag != q(NS_JINGLE, "reason")]
            if info and not info[0].tag.startswith("{%s}" % NS_RTP_INFO):
                raise JingleError("feature-not-implemented", "unsupported-info",
                                  "unknown session-info namespace")
            for child in info:
                self.res["session_info_received"].append({
                    "t": now_ms(), "info": child.tag.split("}", 1)[1],
                    "name": child.get("name"), "creator": child.get("creator")})
            self.reply_ok(iq)
        elif action == "session-terminate":
            reason = jingle.find(q(NS_JINGLE, "reason"))
            conds = [c.tag.split("}", 1)[1] for c in (reason if reason is not None else [])
                     if c.tag != q(NS_JINGLE, "text")]
            text = reason.find(q(NS_JINGLE, "text")) if reason is not None else None
            self.res["terminate_reason"] = conds[0] if conds else None
            self.res["remote_terminate"] = {"t": now_ms(), "reason": conds[0] if conds else None,
                                            "text": text.text if text is not None else None}
            self.ended = True
            if not self.res["terminated_by"]:
                self.res["terminated_by"] = "remote"
            self.reply_ok(iq)
        elif action.startswith("transport-"):
            contents = jingle.findall(q(NS_JINGLE, "content"))
            # session.vala: get_single_content_node() — one content only.
            if not contents:
                raise JingleError("bad-request", text="missing content node")
            if len(contents) > 1:
                raise JingleError("feature-not-implemented",
                                  text="can't process multiple content nodes")
            content = self.content_named(contents[0].get("name"))
            if content is None:
                raise JingleError("bad-request", text="unknown content")
            tr = contents[0].find(q(NS_ICE_UDP, "transport"))
            if tr is None:
                raise JingleError("bad-request", text="missing transport node")
            if action != "transport-info":
                # transport-replace/accept/reject: not implemented here.
                raise JingleError("feature-not-implemented", text=f"{action} not implemented")
            content.parse_transport(tr, action)
            self.reply_ok(iq)
        elif action in ("content-reject", "content-remove", "security-info"):
            raise JingleError("feature-not-implemented", text=f"{action} is not implemented")
        elif action == "content-add" and self.accept_content_add and self.mode == "answer":
            self.handle_content_add(iq, jingle)
        elif action in ("content-add", "content-accept", "content-modify", "description-info"):
            self.log("ignored jingle action", action)
            self.reply_ok(iq)
        else:
            raise JingleError("bad-request", text="invalid action")

    def may_answer_with(self, media, pt):
        """audio_codecs in answer mode (not Dino): only these for audio."""
        return self.audio_codecs is None or media != "audio" or \
            codec_of(media, pt) in self.audio_codecs

    def handle_content_add(self, iq, jingle):
        """accept_content_add (not Dino): audio contents the initiator adds
        to the running call are taken as an offer is in answer(): a
        transport of their own (no BUNDLE), the first codec we support, no
        SDES; content-accept once gathered, then ICE and DTLS as client."""
        nodes = jingle.findall(q(NS_JINGLE, "content"))
        if not nodes or len(self.contents) + len(nodes) > 8:
            raise JingleError("bad-request", text="no content, or too many")
        parsed = []
        for node in nodes:
            desc = node.find(q(NS_RTP, "description"))
            tr = node.find(q(NS_ICE_UDP, "transport"))
            if desc is None or tr is None or desc.get("media") != "audio":
                raise JingleError("feature-not-implemented", text="audio contents only")
            if self.content_named(node.get("name")) is not None or not node.get("name"):
                raise JingleError("bad-request", text="content name in use")
            offered = [parse_payload_type(p) for p in desc.findall(q(NS_RTP, "payload-type"))]
            pick = next((p for p in offered if codec_supported(codec_of("audio", p))), None)
            if pick is None or desc.find(q(NS_RTP, "rtcp-mux")) is None:
                raise JingleError("not-acceptable", text="no usable codec or no rtcp-mux")
            parsed.append((node, tr, offered, pick))
        self.reply_ok(iq)
        added = []
        for node, tr, offered, pick in parsed:
            c = Content(self, node.get("name"), "audio", len(self.contents))
            c.added = True
            c.creator = "responder" if node.get("creator") == "responder" else "initiator"
            c.senders = node.get("senders") or "both"
            c.offered, c.agreed = offered, adjust_payload_type(pick)
            self.contents.append(c)
            c.create_transport()
            c.parse_transport(tr, "content-add")
            if c.peer_fp is None:
                self.failure = self.failure or f"{c.name}: content-add without a fingerprint"
            added.append(c)
        self.spawn(self.accept_added(added))

    async def accept_added(self, added):
        try:
            await self.until(lambda: all(c.gathered for c in added), 3, "candidate gathering")
        except TimeoutError:
            self.log("gathering for content-add not done in 3 s")
        payload = "".join(c.content_xml("content-accept", answer=True) for c in added)
        try:
            await self.send_jingle("content-accept", payload)
        except RuntimeError as e:
            self.failure = self.failure or str(e)
            return
        for c in added:
            self.res["contents_added"].append(c.name)
            c.create_connection()
            self.media.create_stream(c)
            self.send_transport_info(c)
            if c.ice_ready() and c.dtls_enc is None:
                self.media.build_dtls(c, client=True)
        self.poke()

    def content_named(self, name):
        for c in self.contents:
            if c.name == name:
                return c
        return None

    async def send_jingle(self, action, payload, timeout=10):
        """A Jingle iq set; raises on an error reply or a timeout.
        session.vala build_outer_session_node(): action, initiator, sid
        (session-initiate: jingle_module.vala create_session(); the accept
        carries no initiator and no responder: session.vala accept())."""
        from slixmpp.exceptions import IqError, IqTimeout
        initiator = self.res["jid"] if self.mode == "call" else self.remote_jid
        attrs = f"action='{action}'"
        if action != "session-accept" and action != "session-terminate":
            attrs += f" initiator={xa(initiator)}"
        jingle_xml = f"<jingle xmlns='{NS_JINGLE}' {attrs} sid={xa(self.sid)}>{payload}</jingle>"
        iq = self.xmpp.Iq()
        iq["type"] = "set"
        iq["to"] = self.remote_jid
        iq["id"] = rid()
        iq.xml.append(ET.fromstring(jingle_xml))
        self.res["jingle"].append({"dir": "out", "t": now_ms(), "xml": str(iq)})
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            raise RuntimeError(f"{action} got an error: {str(e.iq)[:800]}") from None
        except IqTimeout:
            raise RuntimeError(f"{action}: no reply within {timeout} s") from None

    def send_jingle_bg(self, action, payload):
        async def go():
            try:
                await self.send_jingle(action, payload)
            except Exception as e:  # noqa: BLE001
                self.res["iq_errors"].append(f"{action}: {e}")
                self.log("iq error", action, str(e))
        self.spawn(go())

    def send_transport_info(self, content):
        """transport_parameters.vala check_send_transport_info(): one
        candidate per transport-info, content with creator and name only."""
        while content.unsent and not self.ended:
            payload = (f"<content creator='{content.creator}' name={xa(content.name)}>"
                       f"{content.transport_xml('transport-info')}</content>")
            self.send_jingle_bg("transport-info", payload)

    # -- media events --------------------------------------------------------

    def on_ice_state(self, content, component, state):
        self.res["states"].append({"t": now_ms(), "content": content.name,
                                   "component": component, "ice": state})
        if state == "failed" and component == 1:
            self.failure = self.failure or f"ICE failed on content {content.name}"
        # transport_parameters.vala on_component_state_changed(): the
        # answerer (DTLS client) starts its handshake once component 1 is
        # ready, and only then.
        if self.mode == "answer" and component == 1 and content.ice_ready() \
                and content.dtls_enc is None and content.want_connection:
            self.log(f"{content.name}: ICE ready, starting DTLS as client")
            self.media.build_dtls(content, client=True)
        self.poke()

    def on_dtls_state(self, content, state):
        if state == content.dtls_state:
            return
        content.dtls_state = state
        self.res["states"].append({"t": now_ms(), "content": content.name, "dtls": state})
        if state == "connected" and content.connected_at is None:
            # dtls_srtp.vala verify_peer_cert(): only sha-256 is known, and
            # the certificate's digest must equal the signalled one.
            peer_pem = content.dtls_dec.get_property("peer-pem")
            ok = False
            why = ""
            if content.peer_fp_algo != "sha-256":
                why = f"unknown peer fingerprint algorithm {content.peer_fp_algo}"
            elif not peer_pem:
                why = "no peer certificate"
            else:
                real = sha256_fingerprint(peer_pem)
                ok = real == content.peer_fp
                if not ok:
                    why = (f"certificate {fingerprint_text(real)} is not the signalled "
                           f"{fingerprint_text(content.peer_fp or b'')}")
            with self.lock:
                content.fp_ok = ok
                if ok:
                    content.connected_at = time.monotonic()
            if not ok:
                self.failure = self.failure or f"DTLS on {content.name}: {why}"
            else:
                self.log(f"{content.name}: DTLS connected, peer certificate verified")
                self.media.force_keyframe(content)
        elif state == "failed":
            self.failure = self.failure or f"DTLS failed on content {content.name}"
        if all(c.connected_at for c in self.contents) and self.connected_at is None:
            self.connected_at = time.monotonic()
            self.res["connected"] = True
            self.res["connected_wall"] = time.time()
            self.res["timings_ms"]["connected"] = now_ms()
            out({"event": "connected"})
        self.poke()

    @staticmethod
    def upward_crossings(vals, ch, neg):
        """Upward zero crossings of the first channel (a pure tone of f Hz
        crosses upward f times a second), and the last sample's sign."""
        up = 0
        for v in vals[::max(1, ch or 1)]:
            if neg and v >= 0:
                up += 1
            neg = v < 0
        return up, neg

    def on_audio_buffer(self, pad, info, content=None):
        buf = info.get_buffer()
        data = buf.extract_dup(0, buf.get_size())
        n = len(data) // 2
        if self.record is not None and n and not (content is not None and content.added):
            with self.record_lock:
                if self.record is not None:
                    self.record.write(struct.pack("<dI", time.time(), n) + data[:n * 2])
        peak, energy = 0, 0.0
        if n:
            vals = struct.unpack("<%dh" % n, data[:n * 2])
            peak = max(max(vals), -min(vals))
            energy = sum(v * v for v in vals) / (32768.0 * 32768.0)
        caps = pad.get_current_caps()
        ch = caps.get_structure(0).get_value("channels") if caps else 1
        rate = caps.get_structure(0).get_value("rate") if caps else None
        if content is not None and n:
            # Each content's own frequency (its transport's report).
            cup, content.zc_last_neg = self.upward_crossings(vals, ch, content.zc_last_neg)
            with self.lock:
                content.zc_up += cup
                content.zc_samples += n // max(1, ch or 1)
                content.zc_rate = rate or content.zc_rate
                content.audio_samples += n // max(1, ch or 1)
        if content is not None and content.added:
            return Gst.PadProbeReturn.OK
        up = 0
        if n:
            # audio_freq_hz: over the session-initiate's contents.
            up, self.zc_last_neg = self.upward_crossings(vals, ch, self.zc_last_neg)
        with self.lock:
            self.zc_up += up
            self.zc_samples += n // max(1, ch or 1)
            self.zc_rate = rate or self.zc_rate
            if self.zc_rate and self.zc_samples:
                self.res["audio_freq_hz"] = round(self.zc_up * self.zc_rate / self.zc_samples, 1)
            self.res["audio_buffers_decoded"] += 1
            self.res["audio_samples_decoded"] += n // max(1, ch or 1)
            self.res["audio_peak"] = max(self.res["audio_peak"], peak / 32768.0)
            self.res["audio_energy"] += energy
        return Gst.PadProbeReturn.OK

    def on_video_frame(self, pad, info):
        with self.lock:
            self.res["video_frames_decoded"] += 1
            if self.res["first_video_frame_ms"] is None:
                self.res["first_video_frame_ms"] = now_ms()
            if self.res["video_width"] is None:
                caps = pad.get_current_caps()
                if caps:
                    s = caps.get_structure(0)
                    self.res["video_width"] = s.get_value("width")
                    self.res["video_height"] = s.get_value("height")
        return Gst.PadProbeReturn.OK

    # -- the call ------------------------------------------------------------

    def setup_media(self):
        self.cert_pem, self.key_pem = make_certificate()
        self.fingerprint = sha256_fingerprint(self.cert_pem)
        self.res["fingerprint"] = fingerprint_text(self.fingerprint)
        self.media = Media(self)

    async def gathered(self):
        # The initiate/accept carries what was gathered by then (here: all
        # host candidates on 127.0.0.1, which libnice finds at once).
        try:
            await self.until(lambda: all(c.gathered for c in self.contents), 3,
                             "candidate gathering")
        except TimeoutError:
            self.log("gathering not done in 3 s; later candidates go by transport-info")

    async def disco_check(self, jid):
        """After <proceed/> (or before a direct call) Dino creates the
        session only if the full JID supports Jingle and ICE-UDP:
        xmpp-vala/.../0166_jingle/jingle_module.vala create_session()
        (is_jingle_available: urn:xmpp:jingle:1) and select_transport()
        (0176 is_transport_available: ice-udp:1). Otherwise start_call()
        throws and libdino/src/service/call_peer_state.vala call_resource()
        drops the call without a word to the peer."""
        from slixmpp.exceptions import IqError, IqTimeout
        rec = {"jid": jid, "features": None, "ok": False, "error": None}
        self.res["disco"] = rec
        try:
            info = await self.xmpp["xep_0030"].get_info(jid=jid, timeout=10)
            rec["features"] = sorted(info["disco_info"]["features"])
        except (IqError, IqTimeout) as e:
            rec["error"] = str(getattr(e, "iq", e))[:500]
            rec["features"] = []
        missing = [f for f in ("urn:xmpp:jingle:1", NS_ICE_UDP) if f not in rec["features"]]
        rec["ok"] = not missing
        if missing:
            raise RuntimeError(f"disco#info of {jid} lacks {missing}: Dino drops the call "
                               "silently (no session-initiate)")

    async def call(self):
        target = self.cfg["target"]
        # libdino/src/service/call_peer_state.vala: sid = random_uuid()
        self.sid = str(uuid.uuid4())
        self.res["sid"] = self.sid
        if self.cfg.get("propose"):
            # call_peer_state.vala initiate_call() -> 0353 send_session_
            # propose_to_peer(): to the bare JID, type=chat, a description
            # per medium; no <store/> hint, no receipt request.
            desc = f"<description xmlns='{NS_RTP}' media='audio'/>"
            if self.want_video:
                desc += f"<description xmlns='{NS_RTP}' media='video'/>"
            self.send_raw(f"<message to={xa(bare(target))} type='chat' id={xa(str(uuid.uuid4()))}>"
                          f"<propose xmlns='{NS_JMI}' id={xa(self.sid)}>{desc}</propose></message>",
                          self.res["jmi"])
            await self.until(lambda: self.proceed_from or self.rejected, min(45, self.left()),
                             "JMI proceed")
            if not self.proceed_from:
                raise RuntimeError(self.rejected)
            target = self.proceed_from
            self.res["timings_ms"]["proceed"] = now_ms()
        self.remote_jid = target
        self.res["remote_jid"] = target
        await self.disco_check(target)
        self.setup_media()
        # jingle_rtp_module.vala start_call(): content "audio" (always) and
        # "video" when video is wanted, senders both, each with its own
        # transport (select_transport + create_transport_parameters per
        # content) and its own SDES crypto (generate_local_crypto()).
        names = ["audio"] + (["video"] if self.want_video else [])
        for i, media in enumerate(names):
            c = Content(self, media, media, i)
            c.offered = offered_payload_types(media, self.vp9, self.audio_codecs)
            if not c.offered:
                raise RuntimeError(f"no usable {media} codec")
            c.local_crypto = new_crypto()
            if media == "video":
                # plugins/rtp/src/module.vala get_suggested_header_extensions()
                c.hdrexts = [(1, VIDEO_ORIENTATION)]
            self.contents.append(c)
            c.create_transport()
        await self.gathered()
        payload = "".join(c.content_xml("session-initiate") for c in self.contents)
        self.res["timings_ms"]["initiate"] = now_ms()
        send = self.spawn(self.send_jingle("session-initiate", payload))
        self.session_sent = True
        for c in self.contents:
            # transport_parameters.vala: the caller wants the connection
            # from the start (we_want_connection = node == null).
            c.want_connection = True
            self.send_transport_info(c)
        try:
            await send
        except RuntimeError:
            # Dino only logs an error reply to its session-initiate
            # (jingle_module.vala create_session()); we end the call at once.
            self.ended = True
            raise
        await self.until(lambda: self.accept is not None or self.ended or self.failure,
                         self.left(), "session-accept")
        if self.accept is None:
            raise RuntimeError(self.failure or "call ended before session-accept")

    def handle_session_accept(self, iq, jingle):
        """session.vala handle_session_accept() -> content.vala
        handle_accept() for every content: transport accept (ufrag, pwd,
        candidates, fingerprint), then content_parameters.vala
        handle_accept(): rtcp-mux from the answer, the answer's first
        payload type is the agreed one, its first crypto the remote one."""
        nodes = jingle.findall(q(NS_JINGLE, "content"))
        if not nodes:
            raise JingleError("bad-request", text="missing content node")
        parsed = []
        for node in nodes:
            content = self.content_named(node.get("name"))
            if content is None:
                raise JingleError("bad-request", text="unknown content")
            desc = node.find(q(NS_RTP, "description"))
            tr = node.find(q(NS_ICE_UDP, "transport"))
            if desc is None or tr is None:
                raise JingleError("bad-request", text="missing description or transport node")
            parsed.append((content, node, desc, tr))
        if jingle.find("{urn:xmpp:jingle:apps:grouping:0}group") is not None:
            # Dino never reads <group>: noted, ignored.
            self.res["group_received"] = True
        self.reply_ok(iq)
        self.accept = jingle
        self.res["timings_ms"]["accepted"] = now_ms()
        try:
            for content, node, desc, tr in parsed:
                content.parse_transport(tr, "session-accept")
                content.rtcp_mux = desc.find(q(NS_RTP, "rtcp-mux")) is not None
                pts = desc.findall(q(NS_RTP, "payload-type"))
                if not pts:
                    raise RuntimeError(f"{content.name}: counterpart didn't include any payload types")
                content.agreed = parse_payload_type(pts[0])
                if not codec_supported(codec_of(content.media, content.agreed)):
                    raise RuntimeError(f"{content.name}: answered codec {content.agreed} unusable")
                exts = [(int(h.get("id")), h.get("uri"))
                        for h in desc.findall(q(NS_HDREXT, "rtp-hdrext"))
                        if h.get("id", "").isdigit()]
                content.hdrexts = [(i, u) for i, u in exts if u == VIDEO_ORIENTATION
                                   and content.media == "video"]
                content.orientation_id = content.hdrexts[0][0] if content.hdrexts else None
                cryptos = desc.findall(f"{{{NS_RTP}}}encryption/{{{NS_RTP}}}crypto")
                content.remote_crypto = dict(cryptos[0].attrib) if cryptos else None
                if content.remote_crypto and not crypto_valid(content.remote_crypto):
                    raise RuntimeError(f"{content.name}: unusable crypto {content.remote_crypto}")
                if not content.remote_crypto:
                    # content_parameters.vala accept(): one side without a
                    # crypto -> no SDES at all, DTLS-SRTP alone.
                    content.local_crypto = None
                elif content.remote_crypto["crypto-suite"] != "AES_CM_128_HMAC_SHA1_80":
                    raise RuntimeError(f"{content.name}: SDES suite "
                                       f"{content.remote_crypto['crypto-suite']}: Dino's "
                                       "srtp.vala create_policy() knows only "
                                       "AES_CM_128_HMAC_SHA1_80")
                self.res["sdes"][content.name] = bool(content.remote_crypto)
                if not content.rtcp_mux:
                    raise RuntimeError(f"{content.name}: answer without <rtcp-mux/>; RTCP on "
                                       "component 2 is not implemented by this peer")
                if content.peer_fp is None:
                    raise RuntimeError(f"{content.name}: answer without a DTLS fingerprint; "
                                       "Dino would send unencrypted (or SDES-only) RTP")
                if content.peer_setup == "passive":
                    self.media.restart_dtls_as_client(content)
                content.create_connection()
                self.media.create_stream(content)
        except RuntimeError as e:
            self.failure = self.failure or str(e)

    def handle_session_initiate(self, iq, jingle):
        """jingle_module.vala handle_session_initiate() -> session.vala
        insert_content_node() for every content: description and transport
        required; an unknown transport ends the session with
        <unsupported-transports/> (and the iq gets feature-not-implemented);
        candidates without a type are a bad-request. Then the iq result."""
        nodes = jingle.findall(q(NS_JINGLE, "content"))
        if not nodes:
            raise JingleError("bad-request", text="missing content node")
        for node in nodes:
            desc = next((d for d in node if d.tag.split("}", 1)[-1] == "description"), None)
            tr = next((t for t in node if t.tag.split("}", 1)[-1] == "transport"), None)
            if desc is None or tr is None:
                raise JingleError("bad-request", text="missing description or transport node")
            if desc.tag != q(NS_RTP, "description"):
                raise JingleError("feature-not-implemented", text="unknown content type")
            if tr.tag != q(NS_ICE_UDP, "transport"):
                self.sid, self.remote_jid = jingle.get("sid"), iq.get("from")
                self.spawn(self.terminate("unsupported-transports", "unsupported transports"))
                raise JingleError("feature-not-implemented", text="unsupported transports")
            for cel in tr.findall(q(NS_ICE_UDP, "candidate")):
                if cel.get("type") not in ("host", "prflx", "relay", "srflx"):
                    raise JingleError("bad-request", text="Illegal ICE-UDP candidate type")
        self.sid = jingle.get("sid")
        self.remote_jid = iq.get("from")
        self.res["sid"], self.res["remote_jid"] = self.sid, self.remote_jid
        self.res["timings_ms"]["incoming"] = now_ms()
        if jingle.find("{urn:xmpp:jingle:apps:grouping:0}group") is not None:
            self.res["group_received"] = True
        # Dino ignores any other child of <jingle/> (e.g. XEP-0298
        # <conference-info/>); reported for the test of the sender.
        self.res["jingle_extra"] = [
            ET.tostring(c, encoding="unicode")[:4000] for c in jingle
            if c.tag not in (q(NS_JINGLE, "content"), "{urn:xmpp:jingle:apps:grouping:0}group")][:8]
        self.initiate = jingle
        self.reply_ok(iq)

    async def answer(self):
        await self.until(lambda: self.initiate is not None or self.rejected, self.left(),
                         "an incoming call")
        if self.initiate is None:
            raise RuntimeError(self.rejected)
        jingle = self.initiate
        self.setup_media()
        for i, node in enumerate(jingle.findall(q(NS_JINGLE, "content"))):
            desc = node.find(q(NS_RTP, "description"))
            tr = node.find(q(NS_ICE_UDP, "transport"))
            c = Content(self, node.get("name"), desc.get("media"), i)
            c.senders = node.get("senders") or "both"
            self.contents.append(c)
            # 0176 transport_parameters.vala (parse_transport_parameters):
            # the stream is created and gathers as the offer is parsed.
            c.create_transport()
            c.parse_transport(tr, "session-initiate")
            c.offered = [parse_payload_type(p) for p in desc.findall(q(NS_RTP, "payload-type"))]
            c.rtcp_mux = desc.find(q(NS_RTP, "rtcp-mux")) is not None
            exts = [(int(h.get("id")), h.get("uri")) for h in desc.findall(q(NS_HDREXT, "rtp-hdrext"))
                    if (h.get("id") or "").isdigit()]
            # content_parameters.vala handle_proposed_content(): drop the
            # header extensions we do not support (module.vala
            # is_header_extension_supported(): video orientation on video).
            c.hdrexts = [(i2, u) for i2, u in exts if u == VIDEO_ORIENTATION and c.media == "video"]
            c.orientation_id = c.hdrexts[0][0] if c.hdrexts else None
            c.remote_cryptos = [dict(x.attrib) for x in
                                desc.findall(f"{{{NS_RTP}}}encryption/{{{NS_RTP}}}crypto")]
        # libdino/src/service/calls.vala on_incoming_call(): a session that
        # follows our <proceed/> (same sid, same bare JID) is accepted at
        # once; any other is a direct call: session-info <ringing/>, then
        # the user (here: at once) accepts.
        proposer = self.proposals.get(self.sid)
        if proposer is None or bare(proposer) != bare(self.remote_jid):
            self.res["ringing_sent"] += 1
            self.send_jingle_bg("session-info", f"<ringing xmlns='{NS_RTP_INFO}'/>")
        rejected = []
        for c in self.contents:
            # content_parameters.vala handle_proposed_content() via
            # module.vala pick_payload_type(): the first offered payload
            # type we support, its rtcp-fb filtered (adjust_payload_type()).
            pick = next((p for p in c.offered if codec_supported(codec_of(c.media, p))
                         and self.may_answer_with(c.media, p)), None)
            if pick is None:
                rejected.append(c.name)
                continue
            c.agreed = adjust_payload_type(pick)
            # pick_remote_crypto(): the first valid one; pick_local_crypto():
            # ours with the same suite, tag and session params, a new key.
            c.remote_crypto = next((x for x in c.remote_cryptos if crypto_valid(x)), None)
            if not self.answer_sdes:
                c.remote_crypto = None
            if c.remote_crypto and c.remote_crypto["crypto-suite"] != "AES_CM_128_HMAC_SHA1_80":
                raise RuntimeError(f"{c.name}: SDES suite {c.remote_crypto['crypto-suite']}: "
                                   "Dino's srtp.vala create_policy() knows only "
                                   "AES_CM_128_HMAC_SHA1_80")
            if c.remote_crypto:
                c.local_crypto = new_crypto(c.remote_crypto["crypto-suite"],
                                            c.remote_crypto.get("tag") or "1",
                                            c.remote_crypto.get("session-params"))
            self.res["sdes"][c.name] = bool(c.remote_crypto)
            if c.peer_fp is None:
                raise RuntimeError(f"{c.name}: offer without a DTLS fingerprint; Dino would run "
                                   "unencrypted (or SDES-only) RTP, not implemented here")
            if not c.rtcp_mux:
                raise RuntimeError(f"{c.name}: offer without <rtcp-mux/>; RTCP on component 2 "
                                   "is not implemented by this peer")
        if rejected:
            # content.vala reject() in INITIATE_RECEIVED -> session.vala
            # reject(): session-terminate <decline/> "declined".
            await self.terminate("decline", "declined")
            raise RuntimeError(f"no usable codec for {rejected}")
        await self.gathered()
        payload = "".join(c.content_xml("session-accept", answer=True) for c in self.contents)
        self.res["timings_ms"]["accept"] = now_ms()
        send = self.spawn(self.send_jingle("session-accept", payload))
        self.session_sent = True
        if self.connect_delay:
            await asyncio.sleep(self.connect_delay)
        # session.vala accept(): after sending, every content's on_accept():
        # create_transport_connection() (remote candidates, ICE checks) and
        # content_parameters.vala accept() (the stream).
        for c in self.contents:
            c.create_connection()
            self.media.create_stream(c)
            self.send_transport_info(c)
            if c.ice_ready() and c.dtls_enc is None:
                self.media.build_dtls(c, client=True)
        await send

    async def terminate(self, reason, text=None):
        """session.vala terminate(): <reason><cond/>[<text/>]</reason>."""
        if self.ended or not self.remote_jid or not self.sid:
            return
        self.ended = True
        self.res["terminate_sent_wall"] = time.time()
        body = f"<{reason}/>" + (f"<text>{sj_escape(text)}</text>" if text else "")
        try:
            await self.send_jingle("session-terminate", f"<reason>{body}</reason>", timeout=3)
        except Exception as e:  # noqa: BLE001
            self.log("session-terminate:", str(e))

    def sample(self):
        with self.lock:
            self.res["timeline"].append({
                "t": now_ms(), "audio_buffers": self.res["audio_buffers_decoded"],
                "video_frames": self.res["video_frames_decoded"],
                "rtp_in": {c.name: c.rtp_in for c in self.contents},
                "foreign": {c.name: c.foreign for c in self.contents},
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
            await self.until(lambda: self.connected_at is not None or self.ended or self.failure,
                             self.left(), "media connection (DTLS connected on every transport)")
            if self.failure:
                raise RuntimeError(self.failure)
            if self.connected_at is None:
                raise RuntimeError(f"call ended before media connected "
                                   f"({self.res['terminate_reason']})")
            end_at = self.connected_at + self.duration
            next_sample = self.connected_at
            while not self.ended and not self.failure and time.monotonic() < end_at:
                self.media.drain_bus(self.res["gst_errors"])
                if time.monotonic() >= next_sample:
                    self.sample()
                    next_sample += 1.0
                await asyncio.sleep(min(0.25, max(0.01, end_at - time.monotonic())))
            self.sample()
            if self.failure:
                raise RuntimeError(self.failure)
            self.res["terminated_early"] = self.ended
            self.res["timings_ms"]["measured"] = now_ms()
            with self.lock:
                self.final_counts = (self.res["audio_buffers_decoded"],
                                     self.res["video_frames_decoded"])
            if not self.ended:
                try:
                    await self.until(lambda: self.ended, min(self.linger, self.left()),
                                     "remote hang-up")
                except TimeoutError:
                    pass
            if not self.ended:
                self.res["terminated_by"] = "local"
                # call_peer_state.vala end(SUCCESS): <success/>, no text.
                await self.terminate("success")
            self.res["ok"] = True
        except Exception as e:  # noqa: BLE001
            self.res["error"] = f"{type(e).__name__}: {e}"
            self.log("error", self.res["error"])
            if self.session_sent and not self.ended and getattr(self, "xmpp", None):
                await self.terminate("failed-application", "application error")
        finally:
            if self.media is not None:
                self.media.drain_bus(self.res["gst_errors"])
            if getattr(self, "final_counts", None):
                self.res["audio_buffers_decoded"], self.res["video_frames_decoded"] = \
                    self.final_counts
            with self.lock:
                self.res["transports"] = {c.name: c.report() for c in self.contents}
                self.res["foreign_ssrc_packets"] = sum(c.foreign for c in self.contents)
            self.res["timings_ms"]["end"] = now_ms()
            if self.media is not None:
                self.media.stop()
            if getattr(self, "xmpp", None) is not None:
                try:
                    await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), 3)
                except Exception:  # noqa: BLE001
                    pass
        return self.res


def sj_escape(text):
    from xml.sax.saxutils import escape
    return escape(str(text))


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        if not arg:
            raise ValueError("usage: dino_peer.py <json>|-")
        cfg = json.loads(sys.stdin.read() if arg == "-" else arg)
        for k in ("port", "jid", "password", "mode"):
            if not cfg.get(k):
                raise ValueError(f'missing "{k}"')
        if cfg["mode"] not in ("call", "answer"):
            raise ValueError("mode must be call or answer")
        if cfg["mode"] == "call" and not cfg.get("target"):
            raise ValueError('missing "target"')
    except ValueError as e:
        out({"event": "result", "ok": False, "peer": "dino", "error": f"bad input: {e}"})
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
        if peer.media is not None:
            peer.media.pipe.set_state(Gst.State.NULL)
    if peer.record is not None:
        # os._exit below skips the file's own flush.
        with peer.record_lock:
            peer.record.close()
            peer.record = None
    res["wall_ms"] = now_ms()
    out({"event": "result", **res})
    sys.stdout.flush()
    # GStreamer, libnice and slixmpp threads must not keep the process alive.
    os._exit(0 if res.get("ok") else 1)


if __name__ == "__main__":
    main()
