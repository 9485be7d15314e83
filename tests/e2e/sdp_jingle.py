"""SDP <-> Jingle RTP conversion for the webrtcbin peer.

Covers what a WebRTC A/V call needs: XEP-0166 contents and senders,
XEP-0167 payload types and parameters, XEP-0176 ICE-UDP transports and
candidates, XEP-0320 DTLS fingerprints (with setup), XEP-0338 BUNDLE groups,
XEP-0339 sources and source groups, XEP-0293 RTCP feedback and XEP-0294
header extensions (incl. extmap-allow-mixed). Namespace-aware both ways:
incoming Jingle may use prefixes (as StanzaJS's does).

webrtcbin's SDP has quirks handled here: upper-case codec names (kept as
they are: codec names are case-insensitive), rtcp-mux-only and bundle-only
m-lines with port 0 (Jingle has no such thing: every content gets the
shared transport), no candidates in the SDP (trickle only: they travel in
transport-info), OPUS without a channel count unless the caps say so.
"""

import random
import xml.etree.ElementTree as ET

NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_RTCP_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_ICE_UDP = "urn:xmpp:jingle:transports:ice-udp:1"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_GROUPING = "urn:xmpp:jingle:apps:grouping:0"
NS_JMI = "urn:xmpp:jingle-message:0"


def q(ns, tag):
    return f"{{{ns}}}{tag}"


# ---------------------------------------------------------------------------
# SDP parsing
# ---------------------------------------------------------------------------

class Media:
    def __init__(self, mline):
        parts = mline.split()
        self.kind = parts[0]
        self.port = int(parts[1])
        self.proto = parts[2]
        self.fmts = parts[3:]
        self.attrs = []          # (name, value or None), in order

    def get(self, name):
        for n, v in self.attrs:
            if n == name:
                return v
        return None

    def all(self, name):
        return [v for n, v in self.attrs if n == name]

    def has(self, name):
        return any(n == name for n, _ in self.attrs)


class Sdp:
    def __init__(self, text):
        self.session_attrs = []
        self.media = []
        for raw in text.replace("\r\n", "\n").split("\n"):
            line = raw.strip()
            if len(line) < 2 or line[1] != "=":
                continue
            t, v = line[0], line[2:]
            if t == "m":
                self.media.append(Media(v))
            elif t == "a":
                name, _, value = v.partition(":")
                attr = (name, value if _ else None)
                (self.media[-1].attrs if self.media else self.session_attrs).append(attr)

    def session_get(self, name):
        for n, v in self.session_attrs:
            if n == name:
                return v
        return None

    def mids(self):
        return [m.get("mid") for m in self.media]


def parse_candidate_line(line):
    """'candidate:F C PROTO PRIO IP PORT typ T [raddr A rport P] [tcptype X] ...'
    -> dict of Jingle candidate attributes."""
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    parts = line.split()
    if len(parts) < 8 or parts[6] != "typ":
        raise ValueError(f"bad candidate line: {line!r}")
    c = {
        "foundation": parts[0], "component": parts[1], "protocol": parts[2].lower(),
        "priority": parts[3], "ip": parts[4], "port": parts[5], "type": parts[7],
    }
    rest = parts[8:]
    for i in range(0, len(rest) - 1, 2):
        k, v = rest[i], rest[i + 1]
        if k == "raddr":
            c["rel-addr"] = v
        elif k == "rport":
            c["rel-port"] = v
        elif k == "tcptype":
            c["tcptype"] = v
        elif k == "generation":
            c["generation"] = v
        elif k == "network-id":
            c["network"] = v
    return c


def candidate_line(c):
    """Jingle candidate attributes (dict) -> 'candidate:...' (no 'a=')."""
    s = (f"candidate:{c.get('foundation', '1')} {c.get('component', '1')} "
         f"{c.get('protocol', 'udp').upper()} {c.get('priority', '1')} {c['ip']} {c['port']} "
         f"typ {c.get('type', 'host')}")
    if c.get("rel-addr") and c.get("rel-port"):
        s += f" raddr {c['rel-addr']} rport {c['rel-port']}"
    if c.get("tcptype"):
        s += f" tcptype {c['tcptype']}"
    if c.get("generation"):
        s += f" generation {c['generation']}"
    return s


def candidate_element(c, cid=None):
    el = ET.Element(q(NS_ICE_UDP, "candidate"))
    attrs = dict(c)
    attrs.setdefault("generation", "0")
    attrs.setdefault("network", "0")
    attrs["id"] = cid or "c" + "%08x" % random.getrandbits(32)
    for k in ("component", "foundation", "generation", "id", "ip", "network", "port",
              "priority", "protocol", "type", "rel-addr", "rel-port", "tcptype"):
        if attrs.get(k) is not None:
            el.set(k, str(attrs[k]))
    return el


# ---------------------------------------------------------------------------
# SDP -> Jingle
# ---------------------------------------------------------------------------

_SENDERS = {  # (direction, author is initiator?) -> senders
    ("sendrecv", True): "both", ("sendrecv", False): "both",
    ("inactive", True): "none", ("inactive", False): "none",
    ("sendonly", True): "initiator", ("sendonly", False): "responder",
    ("recvonly", True): "responder", ("recvonly", False): "initiator",
}


def sdp_to_jingle_contents(sdp_text, initiator=True):
    """SDP (offer or answer) -> (list of <content> elements, <group> element
    or None). Contents carry no candidates unless the SDP had some."""
    sdp = Sdp(sdp_text)
    s_ufrag = sdp.session_get("ice-ufrag")
    s_pwd = sdp.session_get("ice-pwd")
    s_fp = sdp.session_get("fingerprint")
    s_setup = sdp.session_get("setup")
    s_dir = next((n for n, _ in sdp.session_attrs
                  if n in ("sendrecv", "sendonly", "recvonly", "inactive")), "sendrecv")
    contents = []
    for m in sdp.media:
        if m.kind not in ("audio", "video"):
            continue
        mid = m.get("mid")
        direction = next((n for n, _ in m.attrs
                          if n in ("sendrecv", "sendonly", "recvonly", "inactive")), s_dir)
        content = ET.Element(q(NS_JINGLE, "content"), {
            "creator": "initiator", "name": mid,
            "senders": _SENDERS[(direction, initiator)]})
        desc = ET.SubElement(content, q(NS_RTP, "description"), {"media": m.kind})
        rtpmaps, fmtps, fbs = {}, {}, {}
        for v in m.all("rtpmap"):
            pt, _, enc = v.partition(" ")
            rtpmaps[pt] = enc.split("/")
        for v in m.all("fmtp"):
            pt, _, params = v.partition(" ")
            fmtps[pt] = params
        for v in m.all("rtcp-fb"):
            pt, _, fb = v.partition(" ")
            fbs.setdefault(pt, []).append(fb.split())
        for pt in m.fmts:
            enc = rtpmaps.get(pt)
            if not enc:
                continue
            attrs = {"id": pt, "name": enc[0], "clockrate": enc[1] if len(enc) > 1 else ""}
            if len(enc) > 2:
                attrs["channels"] = enc[2]
            attrs = {k: v for k, v in attrs.items() if v != ""}
            ptel = ET.SubElement(desc, q(NS_RTP, "payload-type"), attrs)
            for kv in (fmtps.get(pt) or "").split(";"):
                k, eq, v = kv.strip().partition("=")
                if k and eq:
                    ET.SubElement(ptel, q(NS_RTP, "parameter"), {"name": k, "value": v})
            for fb in fbs.get(pt, []):
                fba = {"type": fb[0]}
                if len(fb) > 1:
                    fba["subtype"] = fb[1]
                ET.SubElement(ptel, q(NS_RTCP_FB, "rtcp-fb"), fba)
        for fb in fbs.get("*", []):
            fba = {"type": fb[0]}
            if len(fb) > 1:
                fba["subtype"] = fb[1]
            ET.SubElement(desc, q(NS_RTCP_FB, "rtcp-fb"), fba)
        for v in m.all("extmap"):
            idd, _, uri = v.partition(" ")
            ida, _, dirn = idd.partition("/")
            hattrs = {"id": ida, "uri": uri.split()[0]}
            if dirn and dirn != "sendrecv":
                hattrs["senders"] = _SENDERS[(dirn, initiator)]
            ET.SubElement(desc, q(NS_HDREXT, "rtp-hdrext"), hattrs)
        if m.has("extmap-allow-mixed") or any(n == "extmap-allow-mixed" for n, _ in sdp.session_attrs):
            ET.SubElement(desc, q(NS_HDREXT, "extmap-allow-mixed"))
        sources = {}
        for v in m.all("ssrc"):
            ssrc, _, rest = v.partition(" ")
            name, _, value = rest.partition(":")
            src = sources.get(ssrc)
            if src is None:
                src = sources[ssrc] = ET.SubElement(desc, q(NS_SSMA, "source"), {"ssrc": ssrc})
            if name:
                ET.SubElement(src, q(NS_SSMA, "parameter"), {"name": name, "value": value})
        for v in m.all("ssrc-group"):
            parts = v.split()
            grp = ET.SubElement(desc, q(NS_SSMA, "ssrc-group"), {"semantics": parts[0]})
            for ssrc in parts[1:]:
                ET.SubElement(grp, q(NS_SSMA, "source"), {"ssrc": ssrc})
        if m.has("rtcp-mux") or m.has("rtcp-mux-only"):
            ET.SubElement(desc, q(NS_RTP, "rtcp-mux"))
        if m.has("rtcp-rsize"):
            # Not in XEP-0167; StanzaJS reads and writes it (a=rtcp-rsize).
            ET.SubElement(desc, q(NS_RTP, "rtcp-reduced-size"))
        tr = ET.SubElement(content, q(NS_ICE_UDP, "transport"))
        ufrag, pwd = m.get("ice-ufrag") or s_ufrag, m.get("ice-pwd") or s_pwd
        if ufrag:
            tr.set("ufrag", ufrag)
        if pwd:
            tr.set("pwd", pwd)
        fp = m.get("fingerprint") or s_fp
        if fp:
            algo, _, value = fp.partition(" ")
            fpel = ET.SubElement(tr, q(NS_DTLS, "fingerprint"),
                                 {"hash": algo, "setup": m.get("setup") or s_setup or "actpass"})
            fpel.text = value.strip()
        for v in m.all("candidate"):
            tr.append(candidate_element(parse_candidate_line(v)))
        contents.append(content)
    group = None
    for v in (val for n, val in sdp.session_attrs if n == "group"):
        parts = v.split()
        if parts and parts[0] == "BUNDLE":
            group = ET.Element(q(NS_GROUPING, "group"), {"semantics": "BUNDLE"})
            for mid in parts[1:]:
                ET.SubElement(group, q(NS_GROUPING, "content"), {"name": mid})
    return contents, group


# ---------------------------------------------------------------------------
# Jingle -> SDP
# ---------------------------------------------------------------------------

_DIRECTION = {  # (senders, reader is initiator?) -> SDP direction of the SDP's author
    # The SDP we produce describes the remote side (the author of the Jingle).
    ("both", True): "sendrecv", ("both", False): "sendrecv",
    ("none", True): "inactive", ("none", False): "inactive",
    # author = responder (we are the initiator reading an answer)
    ("initiator", True): "recvonly", ("responder", True): "sendonly",
    # author = initiator (we are the responder reading an offer)
    ("initiator", False): "sendonly", ("responder", False): "recvonly",
}


def jingle_contents(jingle):
    return jingle.findall(q(NS_JINGLE, "content"))


def jingle_bundle(jingle):
    for g in jingle.findall(q(NS_GROUPING, "group")):
        if g.get("semantics") == "BUNDLE":
            return [c.get("name") for c in g.findall(q(NS_GROUPING, "content"))]
    return None


def jingle_to_sdp(jingle, reader_is_initiator, with_candidates=True):
    """A session-initiate (read by the responder) or session-accept (read by
    the initiator) -> SDP text describing the remote side."""
    lines = ["v=0", f"o=- {random.getrandbits(62)} 2 IN IP4 0.0.0.0", "s=-", "t=0 0"]
    bundle = jingle_bundle(jingle)
    if bundle:
        lines.append("a=group:BUNDLE " + " ".join(bundle))
    lines.append("a=ice-options:trickle")
    lines.append("a=msid-semantic: WMS *")
    for content in jingle_contents(jingle):
        desc = content.find(q(NS_RTP, "description"))
        tr = content.find(q(NS_ICE_UDP, "transport"))
        if desc is None:
            continue
        pts = desc.findall(q(NS_RTP, "payload-type"))
        lines.append(f"m={desc.get('media')} 9 UDP/TLS/RTP/SAVPF "
                     + " ".join(p.get("id") for p in pts))
        lines.append("c=IN IP4 0.0.0.0")
        lines.append("a=rtcp:9 IN IP4 0.0.0.0")
        if tr is not None:
            if tr.get("ufrag"):
                lines.append(f"a=ice-ufrag:{tr.get('ufrag')}")
            if tr.get("pwd"):
                lines.append(f"a=ice-pwd:{tr.get('pwd')}")
            fp = tr.find(q(NS_DTLS, "fingerprint"))
            if fp is not None:
                lines.append(f"a=fingerprint:{fp.get('hash')} {(fp.text or '').strip()}")
                setup = fp.get("setup") or ("actpass" if not reader_is_initiator else "active")
                lines.append(f"a=setup:{setup}")
        lines.append(f"a=mid:{content.get('name')}")
        for h in desc.findall(q(NS_HDREXT, "rtp-hdrext")):
            d = ""
            if h.get("senders") and h.get("senders") != "both":
                d = "/" + _DIRECTION[(h.get("senders"), reader_is_initiator)]
            lines.append(f"a=extmap:{h.get('id')}{d} {h.get('uri')}")
        if desc.find(q(NS_HDREXT, "extmap-allow-mixed")) is not None:
            lines.append("a=extmap-allow-mixed")
        lines.append("a=" + _DIRECTION[(content.get("senders") or "both", reader_is_initiator)])
        if desc.find(q(NS_RTP, "rtcp-mux")) is not None:
            lines.append("a=rtcp-mux")
        if desc.find(q(NS_RTP, "rtcp-reduced-size")) is not None:
            lines.append("a=rtcp-rsize")
        for fb in desc.findall(q(NS_RTCP_FB, "rtcp-fb")):
            lines.append(f"a=rtcp-fb:* {fb.get('type')}"
                         + (f" {fb.get('subtype')}" if fb.get("subtype") else ""))
        for p in pts:
            enc = f"{p.get('name')}/{p.get('clockrate') or ('90000' if desc.get('media') == 'video' else '8000')}"
            if p.get("channels") and p.get("channels") != "1":
                enc += f"/{p.get('channels')}"
            lines.append(f"a=rtpmap:{p.get('id')} {enc}")
            params = [f"{x.get('name')}={x.get('value')}" for x in p.findall(q(NS_RTP, "parameter"))
                      if x.get("name") and x.get("value") is not None]
            if params:
                lines.append(f"a=fmtp:{p.get('id')} " + ";".join(params))
            for fb in p.findall(q(NS_RTCP_FB, "rtcp-fb")):
                lines.append(f"a=rtcp-fb:{p.get('id')} {fb.get('type')}"
                             + (f" {fb.get('subtype')}" if fb.get("subtype") else ""))
        for g in desc.findall(q(NS_SSMA, "ssrc-group")):
            ssrcs = [s.get("ssrc") for s in g.findall(q(NS_SSMA, "source"))]
            lines.append(f"a=ssrc-group:{g.get('semantics')} " + " ".join(ssrcs))
        for s in desc.findall(q(NS_SSMA, "source")):
            params = s.findall(q(NS_SSMA, "parameter"))
            if not params:
                lines.append(f"a=ssrc:{s.get('ssrc')} cname:belfry-e2e")
            for x in params:
                v = x.get("value")
                lines.append(f"a=ssrc:{s.get('ssrc')} {x.get('name')}" + (f":{v}" if v else ""))
        if with_candidates and tr is not None:
            for c in tr.findall(q(NS_ICE_UDP, "candidate")):
                lines.append("a=" + candidate_line(dict(c.attrib)))
    return "\r\n".join(lines) + "\r\n"


def payload_types(content):
    """[(id, name, clockrate, channels)] of a Jingle content."""
    desc = content.find(q(NS_RTP, "description"))
    if desc is None:
        return []
    return [(p.get("id"), p.get("name") or "", p.get("clockrate"), p.get("channels"))
            for p in desc.findall(q(NS_RTP, "payload-type"))]


def content_media(content):
    desc = content.find(q(NS_RTP, "description"))
    return desc.get("media") if desc is not None else None


def transport_candidates(content):
    tr = content.find(q(NS_ICE_UDP, "transport"))
    if tr is None:
        return []
    return [dict(c.attrib) for c in tr.findall(q(NS_ICE_UDP, "candidate"))]


def to_string(el, parent_ns=None):
    """Serialise with a default-namespace declaration wherever the namespace
    changes (as most clients write it), never ns0: prefixes."""
    from xml.sax.saxutils import escape, quoteattr
    ns, _, local = el.tag[1:].partition("}") if el.tag.startswith("{") else ("", "", el.tag)
    out = "<" + local
    if ns != parent_ns:
        out += f" xmlns={quoteattr(ns)}"
    for k, v in el.attrib.items():
        out += f" {k}={quoteattr(str(v))}"
    children = list(el)
    if not children and not el.text:
        return out + "/>"
    out += ">" + escape(el.text or "")
    for c in children:
        out += to_string(c, ns) + escape(c.tail or "")
    return out + f"</{local}>"
