// The media half of the Chromium XEP-0521 driver (xep0521_chromium.py does
// XMPP and the SDP <-> Jingle mapping, sdp_jingle.py): one
// RTCPeerConnection per Jingle session, keyed by the session's sid.
//   - our own call to the room: sendonly audio (a WebAudio sine of tone_hz)
//     and sendonly video (a canvas of one solid colour, redrawn at 30 fps),
//     optionally with legacy SSRC simulcast munged into the offer
//     (a=ssrc-group:SIM, three SSRCs, FID groups for their RTX);
//   - each session the room places: recvonly; its decoded audio is sent
//     back in chunks (window.x0521Audio) for tone analysis, its decoded
//     video counted frame by frame (requestVideoFrameCallback: times and
//     sizes) and its mean colour measured by drawing the <video> into a
//     small canvas.
//     With cfg.view ([w, h] or [[t_s, w, h], ...]) the <video> element is
//     given that CSS size (on that schedule from the answer) and its
//     displayed size (clientWidth x clientHeight) reported on each change
//     (ResizeObserver): the driver tells the room (XEP-0167 §9).
// Events (window.x0521Event): {event:"ice", key, mline, candidate} and
// {event:"state", key, state, local} and {event:"size", key, size, wall}
// (a received video's decoded size changed) and {event:"display", key,
// size, wall} (its element's displayed size changed, with cfg.view).
// Single-threaded page: no locking.
'use strict';
(function () {
  const pcs = new Map();   // key -> {pc, recv: {...}}
  let media = null;        // our own stream: {stream, audioCtx, timer}
  const wall = () => (performance.timeOrigin + performance.now()) / 1000;
  const emit = ev => { if (window.x0521Event) window.x0521Event(ev).catch(() => {}); };

  function ownMedia(cfg) {
    if (media) return media;
    const ctx = new AudioContext({ sampleRate: 48000 });
    const osc = ctx.createOscillator();
    osc.frequency.value = cfg.tone_hz || 600;
    const gain = ctx.createGain();
    gain.gain.value = cfg.tone_volume === undefined ? 0.15 : cfg.tone_volume;
    const dest = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    const canvas = document.createElement('canvas');
    canvas.width = cfg.width || 640;
    canvas.height = cfg.height || 480;
    const g = canvas.getContext('2d');
    // A solid colour (the receivers' check) with a small moving square of
    // noise-like stripes so the encoder has something to spend bits on
    // when "busy" (simulcast: each layer near its target rate).
    let n = 0;
    const draw = () => {
      g.fillStyle = cfg.colour || 'red';
      g.fillRect(0, 0, canvas.width, canvas.height);
      if (cfg.busy) {
        // 8-pixel grey blocks, new each frame, in a band of 1/16 the height.
        const band = Math.max(8, canvas.height >> 4);
        let s = (n * 2654435761 + 1) >>> 0;
        for (let y = canvas.height - band; y < canvas.height; y += 8) {
          for (let x = 0; x < canvas.width; x += 8) {
            s = (s * 1103515245 + 12345) >>> 0;
            const v = s >>> 24;
            g.fillStyle = `rgb(${v},${v},${v})`;
            g.fillRect(x, y, 8, 8);
          }
        }
      }
      n++;
    };
    draw();
    const timer = setInterval(draw, 33);
    const vstream = canvas.captureStream(30);
    media = { stream: new MediaStream([...dest.stream.getAudioTracks(), ...vstream.getVideoTracks()]),
              ctx, timer };
    return media;
  }

  // Legacy simulcast (what Jitsi and Janus munged for years): the video
  // m-section gets layers-1 more SSRCs with the first's cname/msid, an
  // a=ssrc-group:SIM over them, and each an RTX SSRC in an FID group.
  function mungeSimulcast(sdp, layers) {
    const secs = sdp.split(/(?=\r\nm=)/);
    const rnd = () => (crypto.getRandomValues(new Uint32Array(1))[0] >>> 1) || 1;
    return secs.map(sec => {
      if (!sec.startsWith('\r\nm=video') && !sec.startsWith('m=video')) return sec;
      const lines = sec.split('\r\n');
      const fid = lines.find(l => l.startsWith('a=ssrc-group:FID '));
      const ssrcLines = lines.filter(l => l.startsWith('a=ssrc:'));
      if (!ssrcLines.length) return sec;
      const primary = fid ? fid.split(' ')[1] : ssrcLines[0].slice(7).split(' ')[0];
      const rtx = fid ? fid.split(' ')[2] : null;
      const attrsOf = ss => ssrcLines.filter(l => l.startsWith(`a=ssrc:${ss} `)).map(l => l.slice(8 + ss.length));
      const attrs = attrsOf(primary);
      const sims = [primary], fids = [];
      if (rtx) fids.push([primary, rtx]);
      const add = [];
      for (let i = 1; i < layers; i++) {
        const s = String(rnd());
        sims.push(s);
        for (const a of attrs) add.push(`a=ssrc:${s} ${a}`);
        if (rtx) {
          const r = String(rnd());
          fids.push([s, r]);
          for (const a of attrs) add.push(`a=ssrc:${r} ${a}`);
        }
      }
      const kept = lines.filter(l => !l.startsWith('a=ssrc-group:'));
      const groups = [`a=ssrc-group:SIM ${sims.join(' ')}`, ...fids.map(f => `a=ssrc-group:FID ${f.join(' ')}`)];
      // After the last a=ssrc line (the section may end with an empty line).
      let last = -1;
      kept.forEach((l, i) => { if (l.startsWith('a=ssrc:')) last = i; });
      kept.splice(last + 1, 0, ...add, ...groups);
      return kept.join('\r\n');
    }).join('');
  }

  function startRecorder(key, track, rec) {
    const el = document.createElement('audio');   // Chromium decodes remote audio only with a sink
    el.autoplay = true;
    el.srcObject = new MediaStream([track]);
    document.body.appendChild(el);
    const ctx = new AudioContext({ sampleRate: 48000 });
    const src = ctx.createMediaStreamSource(new MediaStream([track]));
    const proc = ctx.createScriptProcessor(1024, 1, 1);
    let pending = [];
    proc.onaudioprocess = ev => {
      const f = ev.inputBuffer.getChannelData(0);
      const pcm = new Int16Array(f.length);
      for (let i = 0; i < f.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(f[i] * 32768)));
      pending.push({ wall: wall(), pcm });
      rec.audio_samples += f.length;
    };
    src.connect(proc);
    proc.connect(ctx.destination);
    const flush = () => {
      if (!pending.length || !window.x0521Audio) return;
      const chunks = pending.map(c => {
        let bin = '';
        const bytes = new Uint8Array(c.pcm.buffer);
        for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
        return { wall: c.wall, b64: btoa(bin) };
      });
      pending = [];
      window.x0521Audio(key, chunks).catch(() => {});
    };
    rec.timers.push(setInterval(flush, 250));
  }

  // cfg.view: the element's CSS size on its schedule, and every change of
  // its displayed size reported.  Runs once both the element (ontrack) and
  // the view (create's cfg, which comes after setRemote) are known.
  function applyView(key, e) {
    if (!e.view || !e.videoEl || e.viewStarted) return;
    e.viewStarted = true;
    const v = e.videoEl;
    const plan = Array.isArray(e.view[0]) ? e.view : [[0, e.view[0], e.view[1]]];
    const size = (w, h) => { v.style.width = `${w}px`; v.style.height = `${h}px`; };
    // The first size before observing: the element's own default (300x150
    // before any frame) is no size anybody chose to show.
    size(plan[0][1], plan[0][2]);
    let last = null;
    new ResizeObserver(() => {
      const size = [v.clientWidth, v.clientHeight];
      if (!size[0] || !size[1] || (last && last[0] === size[0] && last[1] === size[1])) return;
      last = size;
      emit({ event: 'display', key, size, wall: wall() });
    }).observe(v);
    for (const [t, w, h] of plan.slice(1)) setTimeout(() => size(w, h), t * 1000);
  }

  function startVideo(key, track, rec, e) {
    const v = document.createElement('video');
    v.autoplay = true; v.muted = true; v.playsInline = true;
    v.srcObject = new MediaStream([track]);
    document.body.appendChild(v);
    e.videoEl = v;
    applyView(key, e);
    const c = document.createElement('canvas');
    c.width = 16; c.height = 12;
    const g = c.getContext('2d', { willReadFrequently: true });
    let first = null;
    const onFrame = (_now, meta) => {
      const t = wall();
      if (first === null) first = t;
      rec.video_frames++;
      if (rec.frame_wall.length < 6000) rec.frame_wall.push(Math.round(t * 1000) / 1000);
      const size = [meta.width, meta.height];
      if (!rec.video_size || rec.video_size[0] !== size[0] || rec.video_size[1] !== size[1]) {
        rec.video_size = size;
        if (rec.size_changes.length < 200) {
          rec.size_changes.push([Math.round(t * 1000) / 1000, size]);
          emit({ event: 'size', key, size, wall: t });
        }
      }
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
    rec.timers.push(setInterval(() => {
      if (first === null || wall() - first < 1 || !v.videoWidth) return;
      g.drawImage(v, 0, 0, c.width, c.height);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const s = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; }
      const px = d.length / 4;
      for (let k = 0; k < 3; k++) rec.rgb_sum[k] += s[k] / px;
      rec.rgb_n++;
    }, 200));
  }

  function entry(key, cfg) {
    let e = pcs.get(key);
    if (e) return e;
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    e = { pc, rec: { audio_samples: 0, video_frames: 0, frame_wall: [], video_size: null,
                     size_changes: [], rgb_sum: [0, 0, 0], rgb_n: 0, timers: [] } };
    pcs.set(key, e);
    pc.onicecandidate = ev => {
      if (ev.candidate && ev.candidate.candidate) {
        emit({ event: 'ice', key, mline: ev.candidate.sdpMLineIndex, candidate: ev.candidate.candidate });
      }
    };
    pc.onconnectionstatechange = async () => {
      const state = pc.connectionState;
      let local = null;
      if (state === 'connected') {
        // Our end of the selected pair: a test shapes traffic to this port.
        try {
          const st = await pc.getStats();
          st.forEach(r => {
            if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
            const pair = st.get(r.selectedCandidatePairId);
            const lc = pair && st.get(pair.localCandidateId);
            if (lc) local = [lc.address || lc.ip, lc.port];
          });
        } catch (_) { /* reported without it */ }
      }
      emit({ event: 'state', key, state, local });
    };
    pc.ontrack = ev => {
      if (ev.track.kind === 'audio') startRecorder(key, ev.track, e.rec);
      else startVideo(key, ev.track, e.rec, e);
    };
    if (cfg && cfg.send) {
      const m = ownMedia(cfg);
      for (const t of m.stream.getTracks()) {
        pc.addTransceiver(t, { direction: 'sendonly', streams: [m.stream] });
      }
    }
    return e;
  }

  // Chromium 156 takes the munged SSRCs as that many encodings, but all at
  // full size and the same rate (legacy simulcast used to scale them):
  // scale them down by 2 per layer below the top and cap their rates.
  const LAYER_MAX_BPS = [120000, 250000, 600000];
  async function scaleLayers(pc, layers) {
    const t = pc.getTransceivers().find(x => x.sender.track && x.sender.track.kind === 'video');
    const p = t.sender.getParameters();
    if (p.encodings.length !== layers) {
      throw new Error(`simulcast munging gave ${p.encodings.length} encodings, not ${layers}`);
    }
    p.encodings.forEach((enc, i) => {
      enc.scaleResolutionDownBy = 2 ** (layers - 1 - i);
      enc.maxBitrate = LAYER_MAX_BPS[LAYER_MAX_BPS.length - layers + i];
    });
    await t.sender.setParameters(p);
  }

  async function create(key, kind, cfg) {
    const e = entry(key, cfg);
    if (cfg && cfg.view && !e.view) {
      e.view = cfg.view;
      applyView(key, e);
    }
    let desc = kind === 'offer' ? await e.pc.createOffer() : await e.pc.createAnswer();
    if (kind === 'offer' && cfg && cfg.simulcast) {
      desc = { type: 'offer', sdp: mungeSimulcast(desc.sdp, cfg.simulcast) };
    }
    await e.pc.setLocalDescription(desc);
    if (kind === 'offer' && cfg && cfg.simulcast) await scaleLayers(e.pc, cfg.simulcast);
    return e.pc.localDescription.sdp;
  }

  async function setRemote(key, kind, sdp) {
    const e = entry(key, null);
    await e.pc.setRemoteDescription({ type: kind, sdp });
    return true;
  }

  async function addCandidate(key, mline, line) {
    const e = pcs.get(key);
    if (!e) return false;
    const c = line.startsWith('a=') ? line.slice(2) : line;
    await e.pc.addIceCandidate({ candidate: c, sdpMLineIndex: mline });
    return true;
  }

  async function stats(key) {
    const e = pcs.get(key);
    if (!e) return null;
    const out = [];
    (await e.pc.getStats()).forEach(r => {
      if (r.type === 'inbound-rtp' || r.type === 'outbound-rtp') {
        out.push({ type: r.type, kind: r.kind, ssrc: r.ssrc, rid: r.rid, packets: r.packetsSent ?? r.packetsReceived,
                   bytes: r.bytesSent ?? r.bytesReceived, frameWidth: r.frameWidth, frameHeight: r.frameHeight,
                   framesEncoded: r.framesEncoded, framesDecoded: r.framesDecoded,
                   firCount: r.firCount, pliCount: r.pliCount, nackCount: r.nackCount,
                   qualityLimitationReason: r.qualityLimitationReason, encoderImplementation: r.encoderImplementation,
                   scalabilityMode: r.scalabilityMode, active: r.active, targetBitrate: r.targetBitrate,
                   framesPerSecond: r.framesPerSecond, packetsLost: r.packetsLost,
                   framesDropped: r.framesDropped, freezeCount: r.freezeCount,
                   totalFreezesDuration: r.totalFreezesDuration,
                   retransmittedPackets: r.retransmittedPacketsSent ?? r.retransmittedPacketsReceived });
      }
    });
    return out;
  }

  async function summary(key) {
    const e = pcs.get(key);
    if (!e) return null;
    const r = e.rec;
    return { audio_samples: r.audio_samples, video_frames: r.video_frames, frame_wall: r.frame_wall,
             video_size: r.video_size, size_changes: r.size_changes,
             video_rgb: r.rgb_n ? r.rgb_sum.map(v => Math.round(v / r.rgb_n * 10) / 10) : null,
             stats: await stats(key), local_sdp: e.pc.localDescription && e.pc.localDescription.sdp,
             remote_sdp: e.pc.remoteDescription && e.pc.remoteDescription.sdp };
  }

  window.x0521 = { create, setRemote, addCandidate, stats, summary, mungeSimulcast };
})();
