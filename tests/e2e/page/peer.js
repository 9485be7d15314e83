// The Chromium peer: StanzaJS over Prosody's WebSocket, libwebrtc for media.
// Bundled by build.mjs; driven by chromium-peer.mjs through
// window.belfryPeer.run(cfg), which resolves to the result object.
// With cfg.conversations the call is signalled the way Conversations does
// (runConversations()), with cfg.monal the way Monal places a call
// (runMonal(), at the end of this file); otherwise StanzaJS's own Jingle
// sessions do it.
import { createClient } from 'stanza';

const NS_JINGLE = 'urn:xmpp:jingle:1';
const NS_JMI = 'urn:xmpp:jingle-message:0';
const NS_ICE_UDP = 'urn:xmpp:jingle:transports:ice-udp:1';
const NS_RTP_INFO = 'urn:xmpp:jingle:apps:rtp:info:1';
const SESSION_INFOS = ['hold', 'unhold', 'active', 'mute', 'unmute', 'ringing'];

const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const sleep = ms => new Promise(r => setTimeout(r, ms));

function emit(ev) {
  if (typeof window.belfryEvent === 'function') {
    window.belfryEvent(ev).catch(() => {});
  }
}

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, c => ({
    '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;'
  })[c]);
}

function bareJid(jid) {
  return String(jid).split('/')[0];
}

function randomId() {
  const a = new Uint8Array(9);
  crypto.getRandomValues(a);
  return Array.from(a, b => b.toString(16).padStart(2, '0')).join('');
}

// Candidates the remote side signalled (session-initiate/accept and
// transport-info), read from the raw XML so nothing StanzaJS drops is lost.
function candidatesOf(doc) {
  const out = [];
  const jingle = doc.getElementsByTagNameNS(NS_JINGLE, 'jingle')[0];
  if (!jingle) return out;
  for (const content of jingle.getElementsByTagNameNS(NS_JINGLE, 'content')) {
    for (const c of content.getElementsByTagNameNS(NS_ICE_UDP, 'candidate')) {
      const o = { content: content.getAttribute('name'), action: jingle.getAttribute('action') };
      for (const a of c.attributes) o[a.name] = a.value;
      if (o.port !== undefined) o.port = Number(o.port);
      if (o.component !== undefined) o.component = Number(o.component);
      out.push(o);
    }
  }
  return out;
}

function summariseStats(report) {
  const s = {
    audio: null, video: null, outbound_audio: null, outbound_video: null,
    selected_pair: null, remote_candidate_stats: [], local_candidate_stats: [],
    codecs: {}, transport: null,
  };
  const byId = new Map();
  report.forEach(r => byId.set(r.id, r));
  report.forEach(r => {
    if (r.type === 'codec') s.codecs[r.id] = { mimeType: r.mimeType, payloadType: r.payloadType };
  });
  const codecOf = r => (r.codecId && s.codecs[r.codecId]) ? s.codecs[r.codecId].mimeType : null;
  report.forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      s.audio = {
        ssrc: r.ssrc, codec: codecOf(r), packetsReceived: r.packetsReceived,
        packetsLost: r.packetsLost, bytesReceived: r.bytesReceived,
        totalSamplesReceived: r.totalSamplesReceived, totalAudioEnergy: r.totalAudioEnergy,
        audioLevel: r.audioLevel, concealedSamples: r.concealedSamples,
        jitter: r.jitter,
      };
    } else if (r.type === 'inbound-rtp' && r.kind === 'video') {
      s.video = {
        ssrc: r.ssrc, codec: codecOf(r), packetsReceived: r.packetsReceived,
        packetsLost: r.packetsLost, bytesReceived: r.bytesReceived,
        framesReceived: r.framesReceived, framesDecoded: r.framesDecoded,
        keyFramesDecoded: r.keyFramesDecoded, framesDropped: r.framesDropped,
        frameWidth: r.frameWidth, frameHeight: r.frameHeight,
        pliCount: r.pliCount, firCount: r.firCount, nackCount: r.nackCount,
      };
    } else if (r.type === 'outbound-rtp') {
      const o = {
        ssrc: r.ssrc, codec: codecOf(r), packetsSent: r.packetsSent, bytesSent: r.bytesSent,
      };
      if (r.kind === 'video') {
        Object.assign(o, { framesEncoded: r.framesEncoded, keyFramesEncoded: r.keyFramesEncoded,
          pliCount: r.pliCount, firCount: r.firCount, nackCount: r.nackCount });
      }
      if (r.rtxSsrc) o.rtxSsrc = r.rtxSsrc;
      s[r.kind === 'audio' ? 'outbound_audio' : 'outbound_video'] = o;
    } else if (r.type === 'remote-candidate' || r.type === 'local-candidate') {
      (r.type === 'remote-candidate' ? s.remote_candidate_stats : s.local_candidate_stats).push({
        address: r.address, port: r.port, protocol: r.protocol, candidateType: r.candidateType,
      });
    } else if (r.type === 'transport') {
      s.transport = { dtlsState: r.dtlsState, iceState: r.iceState, srtpCipher: r.srtpCipher,
        tlsVersion: r.tlsVersion, dtlsRole: r.dtlsRole, dtlsCipher: r.dtlsCipher };
      const pair = byId.get(r.selectedCandidatePairId);
      if (pair) {
        const l = byId.get(pair.localCandidateId) || {};
        const rm = byId.get(pair.remoteCandidateId) || {};
        s.selected_pair = {
          local: { address: l.address, port: l.port, protocol: l.protocol },
          remote: { address: rm.address, port: rm.port, protocol: rm.protocol },
        };
      }
    }
  });
  return s;
}

// The totals a result reports, from the last stats summary.
function applyMediaTotals(res, stats) {
  if (!stats) return;
  if (stats.audio) {
    res.audio_total_samples_received = stats.audio.totalSamplesReceived || 0;
    res.audio_total_energy = stats.audio.totalAudioEnergy || 0;
    res.audio_packets_received = stats.audio.packetsReceived || 0;
  }
  if (stats.video) {
    res.video_frames_decoded = stats.video.framesDecoded || 0;
    res.video_packets_received = stats.video.packetsReceived || 0;
  }
}

// From packetsReceived samples ([t ms, audio, video]): per media, packets per
// 500 ms window from `start` to `end` (attributed to the window of the
// sample that saw them) and the longest time without a new packet (from the
// last sample before a stall to the first that counted more; resolution:
// the 100 ms sampling).
function rtpContinuity(samples, start, end) {
  const out = {};
  ['audio', 'video'].forEach((kind, k) => {
    const inWin = samples.filter(s => s[0] >= start && s[0] <= end);
    const n = Math.max(0, Math.floor((end - start) / 500));
    const windows = new Array(n).fill(0);
    let maxGap = 0;
    let lastChange = inWin.length ? inWin[0][0] : start;
    for (let i = 1; i < inWin.length; i++) {
      const d = inWin[i][k + 1] - inWin[i - 1][k + 1];
      const w = Math.floor((inWin[i][0] - start) / 500);
      if (w < n) windows[w] += d;
      if (d > 0) {
        maxGap = Math.max(maxGap, inWin[i][0] - lastChange);
        lastChange = inWin[i][0];
      }
    }
    maxGap = Math.max(maxGap, end - lastChange);
    out[kind] = { windows, max_gap_ms: Math.round(maxGap), samples: inWin.length,
                  packets: inWin.length ? inWin[inWin.length - 1][k + 1] - inWin[0][k + 1] : 0,
                  start_ms: Math.round(start - t0), end_ms: Math.round(end - t0) };
  });
  return out;
}

// Conference tests (tests/e2e/tone_analysis.py), basic mode only:
// cfg.tone_hz sends a sine of that frequency (cfg.tone_volume of full scale,
// default 0.25) from WebAudio instead of the fake microphone;
// cfg.record_audio (a path chromium-peer.mjs writes) records the remote
// audio as decoded, 48 kHz mono S16LE, in chunks stamped with the wall
// clock, sent to Node through window.belfryAudio every 250 ms.
const wallNow = () => (performance.timeOrigin + performance.now()) / 1000;

function toneStream(cfg, videoStream) {
  const ctx = new AudioContext({ sampleRate: 48000 });
  const osc = ctx.createOscillator();
  osc.frequency.value = cfg.tone_hz;
  const gain = ctx.createGain();
  gain.gain.value = cfg.tone_volume === undefined ? 0.25 : cfg.tone_volume;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  const tracks = dest.stream.getAudioTracks();
  if (videoStream) tracks.push(...videoStream.getVideoTracks());
  return { stream: new MediaStream(tracks), ctx };
}

function startRecorder(track, res) {
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const proc = ctx.createScriptProcessor(1024, 1, 1);
  let pending = [];
  proc.onaudioprocess = ev => {
    const f = ev.inputBuffer.getChannelData(0);
    const pcm = new Int16Array(f.length);
    for (let i = 0; i < f.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(f[i] * 32768)));
    pending.push({ wall: wallNow(), pcm });
    res.recorded_samples += f.length;
  };
  src.connect(proc);
  // A ScriptProcessor runs only while connected to the destination; it
  // outputs silence (nothing is written to its output buffer).
  proc.connect(ctx.destination);
  const flush = () => {
    if (!pending.length) return;
    const chunks = pending.map(c => {
      let bin = '';
      const bytes = new Uint8Array(c.pcm.buffer);
      for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
      return { wall: c.wall, b64: btoa(bin) };
    });
    pending = [];
    window.belfryAudio(chunks);
  };
  const timer = setInterval(flush, 250);
  return { stop: () => { clearInterval(timer); flush(); proc.disconnect(); src.disconnect(); ctx.close(); } };
}

async function run(cfg) {
  if (cfg.conversations) return runConversations(cfg);
  if (cfg.monal) return runMonal(cfg);
  const res = {
    ok: false, error: null, peer: 'chromium', mode: cfg.mode, jid: null, remote_jid: null,
    sid: null, propose: !!cfg.propose,
    timings_ms: {}, states: [], connected: false, terminated_by: null, terminate_reason: null,
    audio_total_samples_received: 0, audio_total_energy: 0, audio_packets_received: 0,
    video_frames_decoded: 0, video_packets_received: 0,
    remote_candidates: [], stats: null, timeline: [], jingle: [], jmi: [], iq_errors: [],
    local_sdp: null, remote_sdp: null, log: [],
    session_info_sent: [], session_info_received: [],
    xmpp_disconnects_ms: [], xmpp_reconnects_ms: [],
    connected_wall: null, terminate_sent_wall: null, remote_terminate_wall: null,
    recorded_samples: 0,
  };
  let recorder = null;
  let toneCtx = null;
  const log = (...a) => {
    const line = `${now()} ` + a.map(x => typeof x === 'string' ? x : JSON.stringify(x)).join(' ');
    res.log.push(line.slice(0, 2000));
  };
  // cfg.reconnect: packetsReceived sampled every 100 ms for the continuity
  // figures (rtpContinuity), bounded.
  const packetSamples = [];   // [performance.now(), audio packets, video packets]
  const timeoutMs = (cfg.timeout || 60) * 1000;
  const durationMs = (cfg.duration || 5) * 1000;
  let client = null;
  let session = null;
  const waiters = [];   // {pred, resolve}
  const wake = () => {
    for (const w of waiters.slice()) {
      if (w.pred()) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    }
  };
  const until = (pred, ms, what) => new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const w = { pred, resolve: () => { clearTimeout(timer); resolve(); } };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      reject(new Error(`timeout (${ms} ms) waiting for ${what}`));
    }, ms);
    waiters.push(w);
  });
  const deadline = performance.now() + timeoutMs;
  const left = () => Math.max(1, deadline - performance.now());

  let loggedIn = false, authFailed = null, proceedFrom = null, rejected = null;
  let ended = false, connectedAt = null;
  let lastStats = null;

  try {
    // Local media from the fake capture devices.
    const constraints = { audio: cfg.audio !== false, video: cfg.video !== false };
    let stream;
    if (cfg.tone_hz && constraints.audio) {
      const video = constraints.video ? await navigator.mediaDevices.getUserMedia({ video: true }) : null;
      ({ stream, ctx: toneCtx } = toneStream(cfg, video));
      await toneCtx.resume();
    } else {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    }
    res.timings_ms.media = now();

    const [user, resource] = [bareJid(cfg.jid), String(cfg.jid).split('/').slice(1).join('/')];
    client = createClient({
      jid: user,
      password: cfg.password,
      resource: resource || undefined,
      transports: { websocket: cfg.ws, bosh: false },
      useStreamManagement: false,
      autoReconnect: false,
      jingle: { iceServers: [] },
    });
    client.on('raw:incoming', xml => onRaw('in', xml));
    client.on('raw:outgoing', xml => onRaw('out', xml));
    client.on('session:started', () => {
      loggedIn = true;
      res.jid = client.jid;
      client.sendPresence();
      wake();
    });
    client.on('auth:failed', () => { authFailed = 'authentication failed'; wake(); });
    client.on('disconnected', () => { if (!loggedIn) { authFailed = 'disconnected'; wake(); } });
    // cfg.reconnect: when the server goes away (it restarts), log in again
    // with the same resource every 0.5 s until it is back, as a client with
    // a stable resource does; the call's media goes on meanwhile.
    let finishing = false;
    if (cfg.reconnect) {
      client.on('disconnected', () => {
        if (!loggedIn || finishing || performance.now() > deadline) return;
        res.xmpp_disconnects_ms.push(now());
        setTimeout(() => {
          if (finishing) return;
          client.connect().catch(e => log('reconnect failed', String(e)));
        }, 500);
      });
      client.on('session:started', () => {
        if (res.xmpp_disconnects_ms.length === 0) return;
        res.xmpp_reconnects_ms.push(now());
        log('logged in again as', client.jid);
        emit({ event: 'reconnected', jid: client.jid, t: now() });
      });
    }
    client.jingle.on('log', (level, msg, ...args) => {
      if (level === 'error' || level === 'info') log('jingle', level, msg, ...args.map(a => String(a && a.message || a).slice(0, 300)));
    });
    client.jingle.on('peerTrackAdded', (sess, track) => {
      log('remote track', track.kind);
      if (track.kind === 'audio') {
        const el = document.getElementById('remote-audio');
        el.srcObject = new MediaStream([track]);
        el.play().catch(e => log('audio play failed', String(e)));
        if (cfg.record_audio && !recorder) recorder = startRecorder(track, res);
      } else if (track.kind === 'video') {
        const el = document.getElementById('remote-video');
        el.srcObject = new MediaStream([track]);
        el.play().catch(e => log('video play failed', String(e)));
      }
    });
    client.on('jingle:terminated', (sess, reason) => {
      if (session && sess !== session) return;
      ended = true;
      res.terminate_reason = reason ? (reason.condition || String(reason)) : null;
      if (!res.terminated_by) { res.terminated_by = 'remote'; res.remote_terminate_wall = wallNow(); }
      log('session terminated', res.terminate_reason);
      wake();
    });

    const sentActions = new Map();   // iq id -> jingle action we sent
    function onRaw(dir, xml) {
      if (dir === 'in' && /^<iq\b[^>]*\btype=["']error["']/.test(xml)) onIqError(xml);
      const interesting = xml.includes(NS_JINGLE) || xml.includes(NS_JMI);
      if (!interesting) return;
      if (dir === 'out') {
        const m = /^<iq\b[^>]*\bid=["']([^"']+)["'][^>]*>\s*<jingle\b[^>]*\baction=["']([^"']+)["']/.exec(xml);
        if (m) sentActions.set(m[1], m[2]);
      }
      const entry = { dir, t: now(), xml };
      let doc = null;
      try { doc = new DOMParser().parseFromString(xml, 'application/xml'); } catch { doc = null; }
      if (xml.includes(NS_JMI)) {
        res.jmi.push(entry);
        if (dir === 'in' && doc) onJmi(doc);
      } else {
        res.jingle.push(entry);
        // Only requests carry the remote's candidates: an error reply echoes
        // our own request (with our candidates) back.
        const isSet = doc && doc.documentElement.getAttribute('type') === 'set';
        if (dir === 'in' && isSet) {
          for (const c of candidatesOf(doc)) {
            c.t = entry.t;
            res.remote_candidates.push(c);
          }
          const jingle = doc.getElementsByTagNameNS(NS_JINGLE, 'jingle')[0];
          if (jingle && jingle.getAttribute('action') === 'session-info') {
            for (const el of jingle.children) {
              if (el.namespaceURI !== NS_RTP_INFO) continue;
              res.session_info_received.push({ t: entry.t, info: el.localName,
                name: el.getAttribute('name'), creator: el.getAttribute('creator') });
            }
          }
        }
      }
    }

    // An error reply to one of our Jingle requests: recorded; fatal for
    // session-initiate/session-accept (StanzaJS itself would just wait).
    function onIqError(xml) {
      const m = /\bid=["']([^"']+)["']/.exec(xml);
      const action = m ? sentActions.get(m[1]) : undefined;
      if (!action) return;
      res.iq_errors.push({ t: now(), action, xml: xml.slice(0, 2000) });
      if ((action === 'session-initiate' || action === 'session-accept') && connectedAt === null) {
        ended = true;
        res.terminate_reason = `error reply to ${action}`;
        wake();
      }
    }

    function sendRaw(xml) {
      client.transport.write(xml);
    }

    function onJmi(doc) {
      const msg = doc.documentElement;
      const from = msg.getAttribute('from');
      const el = msg.getElementsByTagNameNS(NS_JMI, '*')[0];
      if (!el) return;
      const id = el.getAttribute('id');
      if (cfg.mode === 'answer' && el.localName === 'propose') {
        log('JMI propose from', from, id);
        // Ringing is optional; proceed at once (XEP-0353).
        sendRaw(`<message xmlns='jabber:client' to='${xmlEscape(from)}' id='${randomId()}'>` +
                `<proceed xmlns='${NS_JMI}' id='${xmlEscape(id)}'/></message>`);
      } else if (cfg.mode === 'call' && id === res.sid) {
        if (el.localName === 'proceed') { proceedFrom = from; wake(); }
        if (el.localName === 'reject' || el.localName === 'retract') {
          rejected = `JMI ${el.localName} from ${from}`; wake();
        }
      }
    }

    client.connect();
    await until(() => loggedIn || authFailed, Math.min(left(), 15000), 'login');
    if (!loggedIn) throw new Error(`login failed: ${authFailed}`);
    res.timings_ms.login = now();
    emit({ event: 'ready', jid: res.jid });

    if (cfg.mode === 'call') {
      let target = cfg.target;
      res.sid = randomId();
      if (cfg.propose) {
        const desc = ['audio', 'video'].filter(k => constraints[k]).map(
          m => `<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='${m}'/>`).join('');
        sendRaw(`<message xmlns='jabber:client' type='chat' to='${xmlEscape(bareJid(target))}' ` +
                `id='${randomId()}'><propose xmlns='${NS_JMI}' id='${res.sid}'>${desc}</propose>` +
                `<store xmlns='urn:xmpp:hints'/></message>`);
        await until(() => proceedFrom || rejected, Math.min(left(), 20000), 'JMI proceed');
        if (!proceedFrom) throw new Error(rejected);
        target = proceedFrom;
        res.timings_ms.proceed = now();
      }
      res.remote_jid = target;
      session = client.jingle.createMediaSession(target, res.sid, stream);
      hookSession(session);
      res.timings_ms.initiate = now();
      await session.start();
    } else {
      client.on('jingle:incoming', sess => {
        if (session) {
          sess.end('busy');
          return;
        }
        session = sess;
        res.sid = sess.sid;
        res.remote_jid = sess.peerID;
        res.timings_ms.incoming = now();
        hookSession(sess);
        for (const track of stream.getTracks()) sess.addTrack(track, stream);
        sess.accept();
        wake();
      });
      await until(() => session, left(), 'an incoming call');
    }

    function hookSession(sess) {
      const pc = sess.pc;
      const note = () => {
        res.states.push({ t: now(), ice: pc.iceConnectionState, pc: pc.connectionState,
          signaling: pc.signalingState });
        if (pc.connectionState === 'connected' && connectedAt === null) {
          connectedAt = performance.now();
          res.connected_wall = wallNow();
          res.connected = true;
          res.timings_ms.connected = now();
        }
        if (pc.connectionState === 'failed') ended = true;
        wake();
      };
      pc.addEventListener('iceconnectionstatechange', note);
      pc.addEventListener('connectionstatechange', note);
      pc.addEventListener('signalingstatechange', note);
    }

    await until(() => connectedAt !== null || ended, left(), 'media connection (DTLS connected)');
    if (connectedAt === null) {
      throw new Error(`call ended before media connected (${res.terminate_reason || 'no reason'})`);
    }

    // Scripted session-info (cfg.session_info), timed from media connected.
    for (const item of cfg.session_info || []) {
      if (!SESSION_INFOS.includes(item.info)) throw new Error(`session_info: unknown info ${item.info}`);
      const delay = Math.max(0, connectedAt + (item.after || 0) * 1000 - performance.now());
      setTimeout(() => sendSessionInfo(item), delay);
    }
    function sendSessionInfo(item) {
      if (ended) { log('session-info', item.info, 'not sent: the session ended'); return; }
      const rec = { t: now(), wall: wallNow(), info: item.info, name: null, creator: null };
      // cfg.mute_silences: the microphone track disabled on mute (libwebrtc
      // then sends silence), as Conversations does (setEnabled(false)).
      if (cfg.mute_silences && item.media === 'audio' && (item.info === 'mute' || item.info === 'unmute')) {
        for (const t of stream.getAudioTracks()) t.enabled = item.info === 'unmute';
      }
      const info = { infoType: `{${NS_RTP_INFO}}${item.info}` };
      if ((item.info === 'mute' || item.info === 'unmute') && item.media) {
        const tr = session.pc.getTransceivers().find(
          t => t.mid !== null && t.receiver.track && t.receiver.track.kind === item.media);
        if (tr) {
          rec.name = info.name = tr.mid;
          rec.creator = info.creator = 'initiator';
        } else {
          log('session-info: no content with media', item.media);
        }
      }
      res.session_info_sent.push(rec);
      session.send('session-info', { info });
    }

    // Measure for `duration` from the moment media connected.
    const endAt = connectedAt + durationMs;
    let nextTimeline = connectedAt;
    if (cfg.reconnect || cfg.announce_connected) emit({ event: 'connected', t: now() });
    while (!ended && performance.now() < endAt) {
      try {
        lastStats = summariseStats(await session.pc.getStats());
        if (cfg.reconnect && packetSamples.length < 100000) {
          packetSamples.push([performance.now(),
            lastStats.audio ? lastStats.audio.packetsReceived || 0 : 0,
            lastStats.video ? lastStats.video.packetsReceived || 0 : 0]);
        }
      } catch (e) {
        log('getStats failed', String(e));
      }
      if (lastStats && performance.now() >= nextTimeline) {
        nextTimeline += 1000;
        res.timeline.push({
          t: now(),
          audio_samples: lastStats.audio ? lastStats.audio.totalSamplesReceived : 0,
          audio_energy: lastStats.audio ? lastStats.audio.totalAudioEnergy : 0,
          video_frames: lastStats.video ? lastStats.video.framesDecoded : 0,
        });
      }
      await sleep(Math.min(cfg.reconnect ? 100 : 250, Math.max(1, endAt - performance.now())));
    }
    if (!ended) {
      try { lastStats = summariseStats(await session.pc.getStats()); } catch (e) { log('getStats failed', String(e)); }
    }
    if (cfg.reconnect) res.rtp_continuity = rtpContinuity(packetSamples, connectedAt + 1000, performance.now());
    res.timings_ms.measured = now();
    res.terminated_early = ended;
    res.local_sdp = session.pc.localDescription ? session.pc.localDescription.sdp : null;
    res.remote_sdp = session.pc.remoteDescription ? session.pc.remoteDescription.sdp : null;

    // Give the other side time to take its own measurement, then hang up
    // (unless it hung up first).
    const linger = (cfg.linger === undefined ? (cfg.mode === 'call' ? 1.5 : 4) : cfg.linger) * 1000;
    if (!ended) {
      try { await until(() => ended, Math.min(linger, left()), 'remote hang-up'); } catch { /* ours */ }
    }
    if (!ended) {
      res.terminated_by = 'local';
      res.terminate_sent_wall = wallNow();
      session.end('success');
      await sleep(200);
    }
    res.ok = true;
  } catch (e) {
    res.error = String(e && e.message || e);
    log('error', res.error);
    if (session && !ended) {
      try { session.end('failed-application'); } catch { /* ignore */ }
    }
  } finally {
    if (recorder) { try { recorder.stop(); } catch (e) { log('recorder stop', String(e)); } }
    if (toneCtx) toneCtx.close().catch(() => {});
    res.stats = lastStats;
    applyMediaTotals(res, lastStats);
    res.timings_ms.end = now();
    finishing = true;
    if (client) {
      // Let queued stanzas (the reply to a session-terminate) go out first.
      await sleep(300);
      try { await Promise.race([client.disconnect(), sleep(1000)]); } catch { /* ignore */ }
    }
  }
  return res;
}

// ===========================================================================
// Conversations mode (cfg.conversations: true)
// ===========================================================================
// Signals the way Conversations (Android, libwebrtc) does. Every rule below
// was read from Conversations' source and names the file it comes from
// (paths under src/main/java/eu/siacs/conversations/ unless they start with
// im/): iNPUTmice/Conversations 2.12.8, and upstream 2.19.5+ as merged into
// snikket-im/snikket-android master (2025-12), which adds the
// urn:ietf:rfc:3264 rule. StanzaJS is only the XMPP connection here: its
// Jingle module is unhooked and every Jingle/JMI stanza is built and read as
// raw XML, with Conversations' own SDP <-> Jingle mapping.
//
// Not reproduced: OMEMO-verified DTLS fingerprints, XEP-0215 ICE servers
// (Prosody here offers none, Conversations then uses none), the Android
// audio routing, and libwebrtc settings a web page cannot set
// (continualGatheringPolicy, RtcpMuxPolicy.NEGOTIATE); TcpCandidatePolicy
// .DISABLED is reproduced by never signalling TCP candidates.

const NS_RTP = 'urn:xmpp:jingle:apps:rtp:1';
const NS_DTLS = 'urn:xmpp:jingle:apps:dtls:0';
const NS_GROUPING = 'urn:xmpp:jingle:apps:grouping:0';
const NS_RTCP_FB = 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0';
const NS_HDREXT = 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0';
const NS_SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';
const NS_ICE_OPTION = 'http://gultsch.de/xmpp/drafts/jingle/transports/ice-udp/option';
const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DATA = 'jabber:x:data';
const NS_RECEIPTS = 'urn:xmpp:receipts';
const NS_HINTS = 'urn:xmpp:hints';
const NS_JINGLE_ERRORS = 'urn:xmpp:jingle:errors:1';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_SDP_OFFER_ANSWER = 'urn:ietf:rfc:3264';
// xml/Namespace.java + xmpp/jingle/RtpCapability.java (BASIC_RTP_REQUIREMENTS,
// VIDEO_REQUIREMENTS).
const RTP_BASIC = ['urn:xmpp:jingle:1', NS_ICE_UDP, NS_RTP, NS_DTLS];
const RTP_AUDIO = 'urn:xmpp:jingle:apps:rtp:audio';
const RTP_VIDEO = 'urn:xmpp:jingle:apps:rtp:video';
// xmpp/manager/DiscoManager.java (STATIC_FEATURES with Jingle, VOIP_NAMESPACES,
// message confirmation): what a Conversations client itself advertises.
// Not urn:ietf:rfc:3264: peers trickle candidates to Conversations.
const CONVERSATIONS_FEATURES = [
  'urn:xmpp:jingle:1', 'urn:xmpp:jingle:apps:file-transfer:5', 'urn:xmpp:jingle:transports:s5b:1',
  'urn:xmpp:jingle:transports:ibb:1', 'http://jabber.org/protocol/caps', NS_DISCO_INFO,
  'urn:xmpp:ping', 'jabber:iq:version', 'http://jabber.org/protocol/chatstates',
  'urn:xmpp:chat-markers:0', NS_RECEIPTS,
  NS_ICE_UDP, RTP_AUDIO, RTP_VIDEO, NS_RTP, NS_DTLS, NS_JMI,
];
const CAPS_NODE = 'http://conversations.im';   // xmpp/manager/DiscoManager.java
// AbstractJingleConnection.java: JINGLE_MESSAGE_PROPOSE_ID_PREFIX / _PROCEED_
const PROPOSE_ID_PREFIX = 'jm-propose-';
const PROCEED_ID_PREFIX = 'jm-proceed-';

// --- SDP, as xmpp/jingle/SessionDescription.java reads and writes it -------

// SessionDescription.parse(): lines split on CRLF, 'a=' split at the first
// ':' into a multimap (kept as [key, value] pairs, in order).
function convSdpParse(text) {
  const sd = { attributes: [], media: [] };
  let cur = null;
  let attrs = [];
  for (const line of String(text).split('\r\n')) {
    const t = line.trim();
    if (t.length < 2 || t[1] !== '=') continue;
    const key = t[0], value = t.slice(2);
    if (key === 'a') {
      const i = value.indexOf(':');
      attrs.push(i < 0 ? [value, ''] : [value.slice(0, i), value.slice(i + 1)]);
    } else if (key === 'm') {
      if (cur === null) sd.attributes = attrs; else { cur.attributes = attrs; sd.media.push(cur); }
      attrs = [];
      const parts = value.split(' ');
      cur = { media: parts[0], port: Number(parts[1]) || 0, protocol: parts[2],
        formats: parts.slice(3), attributes: [] };
    }
  }
  if (cur) { cur.attributes = attrs; sd.media.push(cur); } else sd.attributes = attrs;
  return sd;
}
const sdpAll = (attrs, k) => attrs.filter(a => a[0] === k).map(a => a[1]);
const sdpFirst = (attrs, k) => { const v = sdpAll(attrs, k); return v.length ? v[0] : null; };
const sdpHas = (attrs, k) => attrs.some(a => a[0] === k);

function convNoWhitespace(s, what) {
  if (/\s/.test(s)) throw new Error(what);
  return s;
}

// xmpp/jingle/stanzas/Content.java: Senders.of(media, initiator).
function convSendersOf(attrs, initiator) {
  if (sdpHas(attrs, 'sendrecv')) return 'both';
  if (sdpHas(attrs, 'inactive')) return 'none';
  if (sdpHas(attrs, 'sendonly')) return initiator ? 'initiator' : 'responder';
  if (sdpHas(attrs, 'recvonly')) return initiator ? 'responder' : 'initiator';
  return 'both';
}

// Content.Senders.asMediaAttribute(initiator).
function convSendersAttribute(senders, initiator) {
  if (senders === 'both') return 'sendrecv';
  if (senders === 'none') return 'inactive';
  if ((initiator && senders === 'initiator') || (!initiator && senders === 'responder')) return 'sendonly';
  return 'recvonly';
}

// xmpp/jingle/stanzas/RtpDescription.java: RtpDescription.of(sdp, media).
function convDescriptionFromSdp(sd, m) {
  const fbById = new Map();   // payload id or '*' -> [{type, subtype} | {trrInt}]
  const pushFb = (id, v) => { if (!fbById.has(id)) fbById.set(id, []); fbById.get(id).push(v); };
  for (const fb of sdpAll(m.attributes, 'rtcp-fb')) {
    const parts = fb.split(' ');
    if (parts.length < 2) continue;
    const [id, type] = parts;
    const subtype = parts.length >= 3 ? parts[2] : null;
    if (type === 'trr-int') {
      if (subtype !== null) pushFb(id, { trrInt: parseInt(subtype, 10) || 0 });
    } else {
      pushFb(id, { type, subtype });
    }
  }
  const sources = new Map();   // ssrc -> [{name, value}]
  for (const ssrc of sdpAll(m.attributes, 'ssrc')) {
    const sp = ssrc.indexOf(' ');
    if (sp < 0) continue;
    const id = ssrc.slice(0, sp), rest = ssrc.slice(sp + 1);
    const c = rest.indexOf(':');
    if (!sources.has(id)) sources.set(id, []);
    sources.get(id).push(c < 0 ? { name: rest, value: null } : { name: rest.slice(0, c), value: rest.slice(c + 1) });
  }
  // Parameter.ofSdpString: exactly "<id> <k=v;k=v>"; entries without '='
  // (red's "111/111") are dropped.
  const params = new Map();
  for (const fmtp of sdpAll(m.attributes, 'fmtp')) {
    const pair = fmtp.split(' ');
    if (pair.length !== 2) continue;
    const list = [];
    for (const p of pair[1].split(';')) {
      const i = p.indexOf('=');
      if (i >= 0) list.push({ name: p.slice(0, i), value: p.slice(i + 1) });
    }
    params.set(pair[0], list);
  }
  const d = { media: m.media, fb: fbById.get('*') || [], payloadTypes: [], hdrexts: [],
    extmapAllowMixed: false, ssrcGroups: [], sources: [], rtcpMux: false };
  for (const rtpmap of sdpAll(m.attributes, 'rtpmap')) {
    const sp = rtpmap.indexOf(' ');
    if (sp < 0) continue;
    const id = rtpmap.slice(0, sp);
    const parts = rtpmap.slice(sp + 1).split('/');
    if (parts.length < 2) continue;
    d.payloadTypes.push({ id, name: parts[0], clockrate: parseInt(parts[1], 10) || 0,
      channels: parts.length >= 3 ? (parseInt(parts[2], 10) || 0) : 1,
      parameters: params.get(id) || [], fb: fbById.get(id) || [] });
  }
  for (const extmap of sdpAll(m.attributes, 'extmap')) {
    const sp = extmap.indexOf(' ');
    if (sp >= 0) d.hdrexts.push({ id: extmap.slice(0, sp), uri: extmap.slice(sp + 1) });
  }
  d.extmapAllowMixed = sdpHas(sd.attributes, 'extmap-allow-mixed') || sdpHas(m.attributes, 'extmap-allow-mixed');
  for (const g of sdpAll(m.attributes, 'ssrc-group')) {
    const parts = g.split(' ');
    if (parts.length >= 2) d.ssrcGroups.push({ semantics: parts[0], ssrcs: parts.slice(1) });
  }
  for (const [ssrc, ps] of sources) d.sources.push({ ssrc, parameters: ps });
  d.rtcpMux = sdpHas(m.attributes, 'rtcp-mux');
  return d;
}

// xmpp/jingle/stanzas/IceUdpTransportInfo.java: IceUdpTransportInfo.of(sdp,
// media), Fingerprint.of (media level, else session level; needs both
// fingerprint and setup), IceOption.of (only "trickle" and "renomination").
function convTransportFromSdp(sd, m) {
  const fpOf = attrs => {
    const fp = sdpFirst(attrs, 'fingerprint'), setup = sdpFirst(attrs, 'setup');
    if (fp === null || setup === null) return null;
    const sp = fp.indexOf(' ');
    return sp < 0 ? null : { hash: fp.slice(0, sp), value: fp.slice(sp + 1), setup };
  };
  const opts = sdpFirst(m.attributes, 'ice-options');
  return {
    ufrag: sdpFirst(m.attributes, 'ice-ufrag'), pwd: sdpFirst(m.attributes, 'ice-pwd'),
    fingerprint: fpOf(m.attributes) || fpOf(sd.attributes),
    iceOptions: opts ? opts.split(' ').filter(o => o === 'trickle' || o === 'renomination') : [],
    candidates: [],
  };
}

// xmpp/jingle/RtpContentMap.java: RtpContentMap.of(sessionDescription,
// isInitiator): one content per m-line, named by its mid.
function convContentMapFromSdp(sd, isInitiator) {
  const contents = new Map();
  for (const m of sd.media) {
    const mid = sdpFirst(m.attributes, 'mid');
    if (mid === null) throw new Error('media has no mid');
    contents.set(mid, { senders: convSendersOf(m.attributes, isInitiator),
      description: convDescriptionFromSdp(sd, m), transport: convTransportFromSdp(sd, m) });
  }
  const g = sdpFirst(sd.attributes, 'group');
  let group = null;
  if (g) {
    const parts = g.split(' ');
    if (parts.length >= 2) group = { semantics: parts[0], tags: parts.slice(1) };
  }
  return { group, contents };
}

// IceUdpTransportInfo.Candidate.fromSdpAttributeValue(): null for another
// ICE generation's ufrag.
function convCandidateFromSdp(attribute, currentUfrag) {
  const s = String(attribute).replace(/^a=/, '');
  if (!s.startsWith('candidate:')) return null;
  const seg = s.slice('candidate:'.length).split(' ');
  if (seg.length < 6) return null;
  const extra = {};
  for (let i = 6; i < seg.length - 1; i += 2) extra[seg[i]] = seg[i + 1];
  if (currentUfrag && extra.ufrag && extra.ufrag !== currentUfrag) return null;
  const c = { component: seg[1], foundation: seg[0], generation: extra.generation,
    'rel-addr': extra.raddr, 'rel-port': extra.rport, id: crypto.randomUUID(), ip: seg[4],
    port: seg[5], priority: seg[3], protocol: seg[2].toLowerCase(), type: extra.typ };
  for (const k of Object.keys(c)) if (c[k] === undefined || c[k] === null) delete c[k];
  return c;
}

// Candidate.toSdpAttribute(ufrag): UDP only; anything missing throws (the
// candidate is then ignored, JingleRtpConnection.processCandidate).
function convCandidateToSdp(c, ufrag) {
  for (const k of ['foundation', 'component', 'protocol', 'priority', 'ip', 'port']) {
    if (!c[k]) throw new Error(`Parameter ${k} is missing or empty`);
    convNoWhitespace(c[k], `Parameter ${k} contains white spaces`);
  }
  const transport = c.protocol.toLowerCase();
  if (transport !== 'udp') throw new Error(`'${transport}' is not a supported protocol`);
  let extra = '';
  if (c.type != null) extra += ` typ ${c.type}`;
  if (c['rel-addr'] != null) extra += ` raddr ${c['rel-addr']}`;
  if (c['rel-port'] != null) extra += ` rport ${c['rel-port']}`;
  if (c.generation != null) extra += ` generation ${c.generation}`;
  if (ufrag != null) extra += ` ufrag ${ufrag}`;
  return `candidate:${c.foundation} ${c.component} ${transport} ${c.priority} ${c.ip} ${c.port}${extra}`;
}

// SessionDescription.of(rtpContentMap, isInitiatorContentMap): the SDP
// Conversations hands to libwebrtc for the peer's offer or answer. No
// candidates: those are added one by one (processCandidates).
function convSdpFromContentMap(map, isInitiatorContentMap) {
  const L = '\r\n';
  let s = `v=0${L}o=- 8770656990916039506 2 IN IP4 127.0.0.1${L}s=-${L}t=0 0${L}`;
  if (map.group) {
    convNoWhitespace(map.group.semantics, 'group semantics value must not contain any whitespace');
    s += `a=group:${map.group.semantics} ${map.group.tags.join(' ')}${L}`;
  }
  s += `a=msid-semantic: WMS my-media-stream${L}`;
  for (const [name, dt] of map.contents) {
    convNoWhitespace(name, 'content name must not contain any whitespace');
    if (name.length > 16) throw new Error('mid should not be longer than 16 chars');
    const d = dt.description;
    if (!d) throw new Error(`${name} is lacking content description`);
    const t = dt.transport || {};
    // Multimap order: keys grouped in the order they were first put.
    const attrs = new Map();
    const put = (k, v) => { if (!attrs.has(k)) attrs.set(k, []); attrs.get(k).push(v); };
    if (!t.ufrag) throw new Error('Transport element is missing required ufrag attribute');
    put('ice-ufrag', convNoWhitespace(t.ufrag, 'ufrag value must not contain any whitespaces'));
    if (!t.pwd) throw new Error('Transport element is missing required pwd attribute');
    put('ice-pwd', convNoWhitespace(t.pwd, 'pwd value must not contain any whitespaces'));
    put('ice-options', (t.iceOptions && t.iceOptions.length ? t.iceOptions : ['trickle']).join(' '));
    if (t.fingerprint) {
      if (!t.fingerprint.hash || !t.fingerprint.value) throw new Error('DTLS-SRTP missing hash');
      put('fingerprint', `${t.fingerprint.hash} ${t.fingerprint.value}`);
      if (t.fingerprint.setup) put('setup', t.fingerprint.setup);
    }
    const formats = [];
    for (const pt of d.payloadTypes) {
      if (!pt.id || !/^-?\d+$/.test(pt.id)) throw new Error('Payload id is not numeric');
      formats.push(parseInt(pt.id, 10));
      if (!pt.name) throw new Error('Payload-type name must not be empty');
      put('rtpmap', `${pt.id} ${pt.name}/${pt.clockrate}${pt.channels === 1 ? '' : '/' + pt.channels}`);
      if (pt.parameters.length === 1) {
        const p = pt.parameters[0];
        if (p.value == null) throw new Error(`parameter for ${pt.id} must have a value`);
        put('fmtp', p.name ? `${pt.id} ${p.name}=${p.value}` : `${pt.id} ${p.value}`);
      } else if (pt.parameters.length > 1) {
        put('fmtp', `${pt.id} ` + pt.parameters.map(p => {
          if (!p.name || p.value == null) throw new Error(`parameter for ${pt.id} must have a name and value`);
          return `${p.name}=${p.value}`;
        }).join(';'));
      }
      for (const fb of pt.fb) {
        if (fb.trrInt !== undefined) { put('rtcp-fb', `${pt.id} trr-int ${fb.trrInt}`); continue; }
        if (!fb.type) throw new Error(`a feedback for payload-type ${pt.id} negotiation is missing type`);
        put('rtcp-fb', fb.subtype ? `${pt.id} ${fb.type} ${fb.subtype}` : `${pt.id} ${fb.type}`);
      }
    }
    for (const fb of d.fb) {
      if (fb.trrInt !== undefined) { put('rtcp-fb', `* trr-int ${fb.trrInt}`); continue; }
      if (!fb.type) throw new Error('a feedback negotiation is missing type');
      put('rtcp-fb', fb.subtype ? `* ${fb.type} ${fb.subtype}` : `* ${fb.type}`);
    }
    for (const h of d.hdrexts) {
      if (!h.id || !h.uri) throw new Error('A header extension is missing id or uri');
      put('extmap', `${h.id} ${h.uri}`);
    }
    if (d.extmapAllowMixed) put('extmap-allow-mixed', '');
    for (const g of d.ssrcGroups) {
      if (!g.semantics || !g.ssrcs.length) throw new Error('A SSRC group is missing semantics or SSRCs');
      put('ssrc-group', `${g.semantics} ${g.ssrcs.join(' ')}`);
    }
    for (const src of d.sources) {
      for (const p of src.parameters) {
        if (!src.ssrc || !p.name || !p.value) throw new Error('A source specific media attribute is incomplete');
        put('ssrc', `${src.ssrc} ${p.name}:${String(p.value).trim()}`);
      }
    }
    put('mid', name);
    put(convSendersAttribute(dt.senders, isInitiatorContentMap), '');
    if (d.rtcpMux || map.group) put('rtcp-mux', '');
    put('rtcp', '9 IN IP4 0.0.0.0');
    s += `m=${String(d.media).toLowerCase()} 9 UDP/TLS/RTP/SAVPF ${formats.join(' ')}${L}`;
    s += `c=IN IP4 0.0.0.0${L}`;
    for (const [k, vs] of attrs) for (const v of vs) s += v ? `a=${k}:${v}${L}` : `a=${k}${L}`;
  }
  return s;
}

// --- Jingle XML, as xmpp/jingle/AbstractContentMap.toJinglePacket() and the
// stanzas/ classes write it ------------------------------------------------

function convAttrs(obj) {
  return Object.entries(obj).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => ` ${k}='${xmlEscape(v)}'`).join('');
}

function convFbXml(list) {
  return list.map(fb => fb.trrInt !== undefined
    ? `<rtcp-fb-trr-int xmlns='${NS_RTCP_FB}' value='${fb.trrInt}'/>`
    : `<rtcp-fb xmlns='${NS_RTCP_FB}'${convAttrs({ type: fb.type, subtype: fb.subtype })}/>`).join('');
}

function convDescriptionXml(d) {
  let x = `<description xmlns='${NS_RTP}' media='${xmlEscape(d.media)}'>` + convFbXml(d.fb);
  for (const pt of d.payloadTypes) {
    x += `<payload-type${convAttrs({ id: pt.id, name: pt.name, clockrate: pt.clockrate,
      channels: pt.channels === 1 ? null : pt.channels })}>`;
    for (const p of pt.parameters) x += `<parameter${convAttrs({ name: p.name, value: p.value })}/>`;
    x += convFbXml(pt.fb) + '</payload-type>';
  }
  for (const h of d.hdrexts) x += `<rtp-hdrext xmlns='${NS_HDREXT}'${convAttrs({ id: h.id, uri: h.uri })}/>`;
  if (d.extmapAllowMixed) x += `<extmap-allow-mixed xmlns='${NS_HDREXT}'/>`;
  for (const g of d.ssrcGroups) {
    x += `<ssrc-group xmlns='${NS_SSMA}' semantics='${xmlEscape(g.semantics)}'>` +
      g.ssrcs.map(s => `<source ssrc='${xmlEscape(s)}'/>`).join('') + '</ssrc-group>';
  }
  for (const src of d.sources) {
    x += `<source xmlns='${NS_SSMA}' ssrc='${xmlEscape(src.ssrc)}'>` +
      src.parameters.map(p => `<parameter${convAttrs({ name: p.name, value: p.value })}/>`).join('') +
      '</source>';
  }
  if (d.rtcpMux) x += '<rtcp-mux/>';
  return x + '</description>';
}

function convTransportXml(t) {
  let x = `<transport xmlns='${NS_ICE_UDP}'${convAttrs({ ufrag: t.ufrag, pwd: t.pwd })}>`;
  if (t.fingerprint) {
    x += `<fingerprint xmlns='${NS_DTLS}'${convAttrs({ hash: t.fingerprint.hash,
      setup: t.fingerprint.setup })}>${xmlEscape(t.fingerprint.value)}</fingerprint>`;
  }
  for (const o of t.iceOptions || []) x += `<${o} xmlns='${NS_ICE_OPTION}'/>`;
  for (const c of t.candidates || []) x += `<candidate${convAttrs(c)}/>`;
  return x + '</transport>';
}

// AbstractContentMap.toJinglePacket(): creator='initiator' on every content,
// senders only when not 'both' (stanzas/Content.java), the BUNDLE group
// after the contents; no initiator/responder attributes.
function convJingleXml(action, sid, map, reason, text) {
  let x = `<jingle xmlns='urn:xmpp:jingle:1' action='${action}' sid='${xmlEscape(sid)}'>`;
  if (map) {
    for (const [name, dt] of map.contents) {
      x += `<content${convAttrs({ creator: 'initiator', name,
        senders: dt.senders && dt.senders !== 'both' ? dt.senders : null })}>`;
      if (dt.description) x += convDescriptionXml(dt.description);
      x += convTransportXml(dt.transport);
      x += '</content>';
    }
    if (map.group) {
      x += `<group xmlns='${NS_GROUPING}' semantics='${xmlEscape(map.group.semantics)}'>` +
        map.group.tags.map(t => `<content name='${xmlEscape(t)}'/>`).join('') + '</group>';
    }
  }
  if (reason) x += `<reason><${reason}/>${text ? `<text>${xmlEscape(text)}</text>` : ''}</reason>`;
  return x + '</jingle>';
}

const convChildren = (el, name, ns) => Array.from(el.children).filter(
  c => c.localName === name && (ns === undefined || c.namespaceURI === ns));
const convChild = (el, name, ns) => convChildren(el, name, ns)[0] || null;

// RtpContentMap.of(jingle) with RtpDescription/IceUdpTransportInfo
// upgrade(): a content without an ICE-UDP transport is an
// UnsupportedTransportException, a non-RTP description an
// UnsupportedApplicationException.
function convContentMapFromJingle(jingle) {
  const contents = new Map();
  for (const c of convChildren(jingle, 'content', 'urn:xmpp:jingle:1')) {
    const name = c.getAttribute('name');
    const dEl = convChild(c, 'description');
    let description = null;
    if (dEl) {
      if (dEl.namespaceURI !== NS_RTP) {
        const e = new Error('Content does not contain rtp description');
        e.reason = 'unsupported-applications';
        throw e;
      }
      description = convDescriptionFromJingle(dEl);
    }
    const tEl = convChild(c, 'transport');
    if (!tEl || tEl.namespaceURI !== NS_ICE_UDP) {
      const e = new Error('Content does not contain ICE-UDP transport');
      e.reason = 'unsupported-transports';
      throw e;
    }
    const fpEl = convChild(tEl, 'fingerprint', NS_DTLS);
    contents.set(name, {
      senders: c.getAttribute('senders') || 'both', description,
      transport: {
        ufrag: tEl.getAttribute('ufrag'), pwd: tEl.getAttribute('pwd'),
        fingerprint: fpEl ? { hash: fpEl.getAttribute('hash'), setup: fpEl.getAttribute('setup'),
          value: fpEl.textContent } : null,
        iceOptions: Array.from(tEl.children).filter(o => o.namespaceURI === NS_ICE_OPTION &&
          (o.localName === 'trickle' || o.localName === 'renomination')).map(o => o.localName),
        candidates: convChildren(tEl, 'candidate').map(
          el => Object.fromEntries(Array.from(el.attributes, a => [a.name, a.value]))),
      },
    });
  }
  const gEl = convChild(jingle, 'group', NS_GROUPING);
  const group = gEl ? { semantics: gEl.getAttribute('semantics'),
    tags: convChildren(gEl, 'content').map(e => e.getAttribute('name')).filter(n => n !== null) } : null;
  return { group, contents };
}

function convFbFromJingle(el) {
  const out = [];
  for (const c of el.children) {
    if (c.namespaceURI !== NS_RTCP_FB) continue;
    if (c.localName === 'rtcp-fb') out.push({ type: c.getAttribute('type'), subtype: c.getAttribute('subtype') });
    if (c.localName === 'rtcp-fb-trr-int') out.push({ trrInt: parseInt(c.getAttribute('value'), 10) || 0 });
  }
  return out;
}

function convDescriptionFromJingle(dEl) {
  const ch = (n) => {
    const v = dEl.getAttribute(n);
    return v === null ? null : v;
  };
  return {
    media: ch('media'), fb: convFbFromJingle(dEl),
    payloadTypes: convChildren(dEl, 'payload-type').map(p => ({
      id: p.getAttribute('id'), name: p.getAttribute('name'),
      clockrate: parseInt(p.getAttribute('clockrate'), 10) || 0,
      channels: p.getAttribute('channels') === null ? 1 : (parseInt(p.getAttribute('channels'), 10) || 1),
      parameters: convChildren(p, 'parameter').map(e => ({ name: e.getAttribute('name'), value: e.getAttribute('value') })),
      fb: convFbFromJingle(p),
    })),
    hdrexts: convChildren(dEl, 'rtp-hdrext', NS_HDREXT).map(e => ({ id: e.getAttribute('id'), uri: e.getAttribute('uri') })),
    extmapAllowMixed: convChildren(dEl, 'extmap-allow-mixed', NS_HDREXT).length > 0,
    ssrcGroups: convChildren(dEl, 'ssrc-group', NS_SSMA).map(g => ({ semantics: g.getAttribute('semantics'),
      ssrcs: convChildren(g, 'source').map(s => s.getAttribute('ssrc')).filter(Boolean) })),
    sources: convChildren(dEl, 'source', NS_SSMA).map(s => ({ ssrc: s.getAttribute('ssrc'),
      parameters: convChildren(s, 'parameter').map(e => ({ name: e.getAttribute('name'), value: e.getAttribute('value') })) })),
    rtcpMux: convChildren(dEl, 'rtcp-mux', NS_RTP).length > 0,
  };
}

function convMediaOf(map) {
  return new Set(Array.from(map.contents.values(), dt => dt.description ? dt.description.media : 'unknown'));
}
const convSetEq = (a, b) => a.size === b.size && [...a].every(x => b.has(x));

// RtpContentMap.getCredentials() / getDistinctCredentials().
function convCredentials(map) {
  return Array.from(map.contents.values(), dt => `${dt.transport.ufrag}\n${dt.transport.pwd}`);
}
function convDistinctCredentials(map) {
  const set = new Set(convCredentials(map));
  if (set.size !== 1) throw new Error('Content map does not have distinct credentials');
  const [ufrag, pwd] = [...set][0].split('\n');
  if (!ufrag || ufrag === 'null' || !pwd || pwd === 'null') throw new Error('Credentials are missing password or ufrag');
  return { ufrag, pwd };
}

// RtpContentMap.requireDTLSFingerprint(requireActPass): SecurityException.
function convRequireFingerprint(map, requireActPass) {
  if (map.contents.size === 0) throw new Error('No contents available');
  for (const [name, dt] of map.contents) {
    const fp = dt.transport.fingerprint;
    const fail = msg => { const e = new Error(msg); e.reason = 'security-error'; throw e; };
    if (!fp || !fp.value || !fp.hash) fail(`Use of DTLS-SRTP (XEP-0320) is required for content ${name}`);
    if (!fp.setup) fail(`Use of DTLS-SRTP (XEP-0320) is required for content ${name} but missing setup attribute`);
    if (requireActPass && fp.setup !== 'actpass') fail('Initiator needs to offer ACTPASS as setup for DTLS-SRTP (XEP-0320)');
  }
}

// AbstractContentMap.requireContentDescriptions().
function convRequireDescriptions(map) {
  if (map.contents.size === 0) throw new Error('No contents available');
  for (const [name, dt] of map.contents) if (!dt.description) throw new Error(`${name} is lacking content description`);
}

// RtpContentMap.getDtlsSetup(): the same setup on every content.
function convDtlsSetup(map) {
  const set = new Set(Array.from(map.contents.values(), dt => dt.transport.fingerprint && dt.transport.fingerprint.setup));
  if (set.size !== 1 || [...set][0] == null) throw new Error("Content map doesn't have distinct DTLS setup");
  return [...set][0];
}

// RtpContentMap.modifiedCredentials(credentials, setup): the transport
// rebuilt with new ufrag/pwd and the fingerprint's setup rewritten.
function convModifiedCredentials(map, cred, setup) {
  const contents = new Map();
  for (const [name, dt] of map.contents) {
    const fp = dt.transport.fingerprint;
    contents.set(name, { senders: dt.senders, description: dt.description,
      transport: { ufrag: cred.ufrag, pwd: cred.pwd, fingerprint: fp ? { ...fp, setup } : null,
        iceOptions: dt.transport.iceOptions || [], candidates: [] } });
  }
  return { group: map.group, contents };
}

// RtpContentMap.transportInfo(): every content, transport = cloneWrapper()
// (ufrag and pwd attributes only: no fingerprint, no candidates).
function convRestartTransportInfo(map) {
  const contents = new Map();
  for (const [name, dt] of map.contents) {
    contents.set(name, { senders: dt.senders, description: null,
      transport: { ufrag: dt.transport.ufrag, pwd: dt.transport.pwd } });
  }
  return { group: null, contents };
}

// RtpContentMap.transportInfo(contentName, candidate): one content, its
// transport's attributes (ufrag, pwd) and the candidate.
function convCandidateTransportInfo(map, name, candidate) {
  const dt = map.contents.get(name);
  if (!dt) throw new Error(`Unable to find transport info for content name ${name}`);
  return { group: null, contents: new Map([[name, { senders: dt.senders, description: null,
    transport: { ufrag: dt.transport.ufrag, pwd: dt.transport.pwd, candidates: [candidate] } }]]) };
}

// XEP-0115 'ver' as im/conversations/android/xmpp/EntityCapabilities.hash()
// computes it: identities sorted by category/type/lang/name, features, then
// forms by FORM_TYPE with their fields (FORM_TYPE excluded) by var; '<' in a
// value is written '&lt;'; SHA-1, base64.
async function convCapsVer(query) {
  const clean = s => (s == null ? '' : String(s).replace(/</g, '&lt;'));
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const ids = convChildren(query, 'identity', NS_DISCO_INFO).map(i => ({
    category: i.getAttribute('category'), type: i.getAttribute('type'),
    lang: i.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang') || i.getAttribute('xml:lang'),
    name: i.getAttribute('name') }));
  ids.sort((a, b) => cmp(clean(a.category), clean(b.category)) || cmp(clean(a.type), clean(b.type)) ||
    cmp(clean(a.lang), clean(b.lang)) || cmp(clean(a.name), clean(b.name)));
  let s = '';
  for (const i of ids) s += `${clean(i.category)}/${clean(i.type)}/${clean(i.lang)}/${clean(i.name)}<`;
  const features = convChildren(query, 'feature', NS_DISCO_INFO).map(f => f.getAttribute('var')).sort(cmp);
  for (const f of features) s += `${clean(f)}<`;
  const forms = convChildren(query, 'x', NS_DATA).map(x => {
    const fields = convChildren(x, 'field', NS_DATA);
    const ft = fields.find(f => f.getAttribute('var') === 'FORM_TYPE');
    const ftValue = ft ? (convChild(ft, 'value', NS_DATA) || {}).textContent : null;
    return { formType: ftValue == null ? null : ftValue, fields: fields.filter(f => f !== ft) };
  });
  forms.sort((a, b) => cmp(a.formType || '', b.formType || ''));
  for (const form of forms) {
    s += `${clean(form.formType)}<`;
    const fields = form.fields.slice().sort((a, b) => cmp(a.getAttribute('var') || '', b.getAttribute('var') || ''));
    for (const f of fields) {
      s += `${f.getAttribute('var') || ''}<`;
      const values = convChildren(f, 'value', NS_DATA).map(v => v.textContent).sort(cmp);
      for (const v of values) s += `${clean(v)}<`;
    }
  }
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(s));
  return { ver: btoa(String.fromCharCode(...new Uint8Array(digest))), s };
}

// --- What the client-shaped drivers share (runConversations, runMonal) ----
// The XMPP plumbing around a call: log, waiting, IQs and their replies, the
// raw stanza dispatch, and the callee's presence and XEP-0115 caps. Each
// client's own rules (what it asks for, what counts as verified) come in as
// options: Conversations (capsQueryNode, capsFromBareJid) asks node#ver and
// takes caps from any presence; Monal asks without a node and only for
// presence from a full JID (see runMonal).
function makeDriverKit(cfg, res, opts) {
  const kit = { client: null, presences: new Map() };   // full (or bare) JID -> {caps, features|null}
  const presences = kit.presences;
  const log = kit.log = (...a) => {
    const line = `${now()} ` + a.map(x => typeof x === 'string' ? x : JSON.stringify(x)).join(' ');
    if (res.log.length < 600) res.log.push(line.slice(0, 2000));
  };
  const timeoutMs = (cfg.timeout || 60) * 1000;
  const deadline = performance.now() + timeoutMs;
  kit.left = () => Math.max(1, deadline - performance.now());
  const waiters = [];
  const wake = kit.wake = () => {
    for (const w of waiters.slice()) if (w.pred()) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  };
  kit.until = (pred, ms, what) => new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const w = { pred, resolve: () => { clearTimeout(timer); resolve(); } };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      reject(new Error(`timeout (${ms} ms) waiting for ${what}`));
    }, ms);
    waiters.push(w);
  });

  const sendRaw = kit.sendRaw = xml => { kit.client.transport.write(xml); };

  const iqWaiters = new Map();   // our iq id -> {resolve}
  // (id: Monal's are UUIDs, XMPPIQ.m initWithType:; a random hex one else)
  const sendIq = kit.sendIq = (to, type, inner, iqId) => {
    const id = iqId || randomId();
    const p = new Promise(resolve => {
      const timer = setTimeout(() => {
        iqWaiters.delete(id);
        resolve({ type: 'timeout', doc: null, xml: '' });
      }, 30000);
      iqWaiters.set(id, r => { clearTimeout(timer); resolve(r); });
    });
    sendRaw(`<iq xmlns='jabber:client' type='${type}' to='${xmlEscape(to)}' id='${id}'>${inner}</iq>`);
    return { id, reply: p };
  };
  // The reply to one of our IQs goes to whoever waits for it (true).
  kit.takeIqReply = (type, id, doc, xml) => {
    if ((type === 'result' || type === 'error') && iqWaiters.has(id)) {
      const cb = iqWaiters.get(id);
      iqWaiters.delete(id);
      cb({ type, doc, xml });
      return true;
    }
    return false;
  };

  const respond = kit.respond = (doc, errorXml) => {
    const iq = doc.documentElement;
    const to = iq.getAttribute('from'), id = iq.getAttribute('id');
    sendRaw(`<iq xmlns='jabber:client' type='${errorXml ? 'error' : 'result'}' to='${xmlEscape(to)}' ` +
            `id='${xmlEscape(id)}'>${errorXml || ''}</iq>`);
  };
  // JingleConnectionManager.respondWithJingleError().
  kit.respondOk = doc => respond(doc, null);
  kit.respondJingleError = (doc, jingleCondition, condition, type) => respond(doc,
    `<error type='${type}'><${condition} xmlns='${NS_STANZAS}'/>` +
    (jingleCondition ? `<${jingleCondition} xmlns='${NS_JINGLE_ERRORS}'/>` : '') + '</error>');

  const iqErrorCondition = kit.iqErrorCondition = doc => {
    if (!doc) return null;
    const err = doc.getElementsByTagName('error')[0];
    if (!err) return null;
    const names = Array.from(err.children).map(c => c.localName).filter(n => n !== 'text');
    return names.join('+') || null;
  };

  // --- raw stanza dispatch ----------------------------------------------
  // Every Jingle / JMI stanza recorded (res.jingle, res.jmi); incoming ones
  // parsed and handed on.
  kit.dispatchRaw = (dir, xml, handlers) => {
    let doc = null;
    const interesting = xml.includes('urn:xmpp:jingle:1') || xml.includes(NS_JMI);
    if (interesting) {
      const entry = { dir, t: now(), xml };
      (xml.includes(NS_JMI) ? res.jmi : res.jingle).push(entry);
    }
    if (dir !== 'in') return;
    try { doc = new DOMParser().parseFromString(xml, 'application/xml'); } catch { return; }
    const el = doc.documentElement;
    if (!el || el.localName === 'parsererror') return;
    try {
      if (el.localName === 'iq') handlers.onIq(doc, xml);
      else if (el.localName === 'message') handlers.onMessage(doc);
      else if (el.localName === 'presence') onPresence(doc);
    } catch (e) {
      log('error handling stanza', String(e && e.stack || e));
    }
  };

  // --- presence and caps (Conversations: xmpp/manager/PresenceManager.java,
  // xmpp/manager/DiscoManager.java, model/capabilties/LegacyCapabilities;
  // Monal: xmpp.m, MLIQProcessor.m handleEntityCapsDisco) -------------------
  function onPresence(doc) {
    const p = doc.documentElement;
    const from = p.getAttribute('from');
    const type = p.getAttribute('type');
    if (!from || from === res.jid) return;
    res.presences.push({ t: now(), from, type, xml: new XMLSerializer().serializeToString(p).slice(0, 1500) });
    if (type === 'unavailable') { presences.delete(from); wake(); return; }
    if (type !== null) return;   // subscribed, subscribe, error...
    const c = convChild(p, 'c', NS_CAPS);
    const entry = { from, caps: null, features: null, t: now() };
    presences.set(from, entry);
    // Monal (xmpp.m): caps only of presence from a full JID (fromResource).
    if (c && !opts.capsFromBareJid && !from.includes('/')) {
      res.caps.push({ from, t: now(), verified: false,
        why: 'presence from a bare JID: caps are only read from a full JID\'s presence' });
      wake();
      return;
    }
    // LegacyCapabilities.getHash() / xmpp.m: only hash='sha-1' with a ver
    // (Conversations also needs the node).
    if (c && c.getAttribute('hash') === 'sha-1' && c.getAttribute('ver') &&
        (c.getAttribute('node') || !opts.capsQueryNode)) {
      entry.caps = { node: c.getAttribute('node'), ver: c.getAttribute('ver') };
      fetchCaps(entry);
    } else {
      res.caps.push({ from, t: now(), verified: false,
        why: c ? `caps hash '${c.getAttribute('hash')}' is not sha-1` : 'presence without XEP-0115 caps' });
    }
    wake();
  }

  // Conversations, DiscoManager.info(entity, node, hash): disco#info to the
  // presence's sender at node#ver; the reply's node must be the one asked
  // for. Monal (xmpp.m setDiscoInfoNode): disco#info without a node. Both:
  // the ver recomputed from the reply must match, else the result is
  // discarded (Monal stores the features under the recomputed ver, which
  // the resource's ver then does not name: DataLayer.m checkCap).
  async function fetchCaps(entry) {
    const node = opts.capsQueryNode ? `${entry.caps.node}#${entry.caps.ver}` : null;
    const rec = { from: entry.from, t: now(), node, ver: entry.caps.ver, verified: false };
    res.caps.push(rec);
    const { reply } = sendIq(entry.from, 'get', node
      ? `<query xmlns='${NS_DISCO_INFO}' node='${xmlEscape(node)}'/>` : `<query xmlns='${NS_DISCO_INFO}'/>`);
    const r = await reply;
    rec.t_reply = now();
    if (r.type !== 'result') { rec.why = `disco#info ${r.type}: ${iqErrorCondition(r.doc)}`; wake(); return; }
    const q = r.doc.getElementsByTagNameNS(NS_DISCO_INFO, 'query')[0];
    if (!q) { rec.why = 'Response did not have query child'; wake(); return; }
    if (node !== null && q.getAttribute('node') !== node) {
      rec.why = `Node in response did not match node in request (${q.getAttribute('node')})`;
      wake();
      return;
    }
    const { ver, s } = await convCapsVer(q);
    rec.recomputed_ver = ver;
    rec.verification_string = s.slice(0, 3000);
    rec.features = convChildren(q, 'feature', NS_DISCO_INFO).map(f => f.getAttribute('var'));
    if (ver !== entry.caps.ver) {
      rec.why = `EntityCapsHash mismatch. Expected ${entry.caps.ver} was ${ver}`;
    } else if (presences.get(entry.from) === entry) {
      rec.verified = true;
      entry.features = new Set(rec.features);
    }
    wake();
  }

  // RtpCapability.check(infoQuery).
  kit.capabilityOf = features => {
    if (!features || !RTP_BASIC.every(f => features.has(f))) return 'none';
    if (features.has(RTP_AUDIO) && features.has(RTP_VIDEO)) return 'video';
    if (features.has(RTP_AUDIO)) return 'audio';
    return 'none';
  };

  // AbstractJingleConnection.remoteHasFeature(): the disco#info known for
  // exactly id.with (from its caps).
  kit.remoteHasFeature = (jid, feature) => {
    const e = presences.get(jid);
    return !!(e && e.features && e.features.has(feature));
  };
  return kit;
}

async function runConversations(cfg) {
  const res = {
    ok: false, error: null, peer: 'chromium', conversations: true, mode: cfg.mode, jid: null,
    remote_jid: null, sid: null, propose: null,
    timings_ms: {}, states: [], connected: false, terminated_by: null, terminate_reason: null,
    audio_total_samples_received: 0, audio_total_energy: 0, audio_packets_received: 0,
    video_frames_decoded: 0, video_packets_received: 0,
    remote_candidates: [], stats: null, timeline: [], jingle: [], jmi: [], iq_errors: [],
    local_sdp: null, remote_sdp: null, log: [], session_info_sent: [], session_info_received: [],
    // Conversations-specific
    presences: [], caps: [], call_button: 'none', ringing: [], proceed_from: null,
    include_candidates: null, candidates_sent: 0, candidates_in_initiate_or_accept: 0,
    candidates_backlogged: 0, candidates_ignored: [], ended_by: null, ended_by_iq_error: null,
    ice_restarts: [], local_candidates: [], jmi_sent: [],
  };
  const kit = makeDriverKit(cfg, res, { capsQueryNode: true, capsFromBareJid: true });
  const { log, left, wake, until, sendRaw, sendIq, respond, respondOk, respondJingleError,
    iqErrorCondition, presences, capabilityOf, remoteHasFeature } = kit;
  const durationMs = (cfg.duration || 5) * 1000;

  const wantAudio = cfg.audio !== false, wantVideo = cfg.video !== false;
  let client = null, pc = null, loggedIn = false, authFailed = null;
  // The session (xmpp/jingle/JingleRtpConnection.java): id.with, sid, the
  // two content maps, the peer's DTLS setup, the state.
  const S = {
    with: null, sid: null, initiator: cfg.mode === 'call', state: 'null', proposedMedia: null,
    initiatorMap: null, responderMap: null, peerSetup: null, ended: false, connectedAt: null,
    everConnected: false, readyForCandidates: false, queuedCandidates: [], backlog: [],
    proceed: null, rejected: null, incomingPropose: null, initiate: null,
  };
  const localMap = () => (S.initiator ? S.initiatorMap : S.responderMap);
  const remoteMap = () => (S.initiator ? S.responderMap : S.initiatorMap);
  const setLocalMap = m => { if (S.initiator) S.initiatorMap = m; else S.responderMap = m; };
  const setRemoteMap = m => { if (S.initiator) S.responderMap = m; else S.initiatorMap = m; };
  let lastStats = null;

  // The end of a call: close the PeerConnection; record why.
  function endCall(by, reason, detail) {
    if (S.ended) return;
    S.ended = true;
    res.ended_by = by;
    res.terminate_reason = reason;
    if (detail) log('call ended:', by, reason, detail);
    try { if (pc) pc.close(); } catch { /* ignore */ }
    wake();
  }

  // sendSessionTerminate(reason, text) also sends a JMI <finish/> (2.16+:
  // sendJingleMessageFinish / generator/MessageGenerator.sessionFinish()).
  function sendSessionTerminate(reason, text) {
    if (S.ended || !S.with) return;
    res.terminated_by = 'local';
    sendJingle('session-terminate', convJingleXml('session-terminate', S.sid, null, reason, text));
    sendRaw(`<message xmlns='jabber:client' type='chat' to='${xmlEscape(S.with)}' id='${randomId()}'>` +
            `<finish xmlns='${NS_JMI}' id='${xmlEscape(S.sid)}'><reason xmlns='urn:xmpp:jingle:1'>` +
            `<${reason}/></reason></finish><store xmlns='${NS_HINTS}'/></message>`);
    endCall('local', reason, text);
  }

  // AbstractJingleConnection.send() / handleIqResponse(): ANY error reply to
  // a Jingle IQ we sent ends the call (no session-terminate is sent:
  // terminateTransport() and finish()); a timeout does too. The ICE-restart
  // transport-info has its own callback (onReply).
  const sentActions = new Map();
  function sendJingle(action, jingleXml, onReply) {
    const { id, reply } = sendIq(S.with, 'set', jingleXml);
    sentActions.set(id, action);
    reply.then(r => {
      if (onReply && onReply(r)) return;
      if (r.type === 'error') {
        const cond = iqErrorCondition(r.doc);
        res.iq_errors.push({ t: now(), action, condition: cond, xml: r.xml.slice(0, 2000) });
        if (action === 'session-terminate' || S.ended) return;   // "already terminated"
        res.ended_by_iq_error = { t: now(), action, condition: cond };
        res.error = `call ended: IQ error (${cond}) to our ${action}`;
        endCall('iq-error', ['service-unavailable', 'recipient-unavailable', 'remote-server-not-found',
          'remote-server-timeout'].includes(cond) ? 'connectivity-error' : 'application-failure', res.error);
      } else if (r.type === 'timeout' && !S.ended && action !== 'session-terminate') {
        res.error = `call ended: IQ timeout to our ${action}`;
        endCall('iq-timeout', 'connectivity-error', res.error);
      }
    });
    return id;
  }

  // --- raw stanza dispatch ----------------------------------------------
  function onRaw(dir, xml) { kit.dispatchRaw(dir, xml, { onIq, onMessage }); }

  function onIq(doc, xml) {
    const iq = doc.documentElement;
    const type = iq.getAttribute('type'), id = iq.getAttribute('id');
    if (kit.takeIqReply(type, id, doc, xml)) return;
    const jingle = doc.getElementsByTagNameNS('urn:xmpp:jingle:1', 'jingle')[0];
    if (type === 'set' && jingle && jingle.parentNode === iq) onJingle(doc, jingle);
  }

  // --- JMI (XEP-0353) -----------------------------------------------------
  function onMessage(doc) {
    const msg = doc.documentElement;
    const from = msg.getAttribute('from'), to = msg.getAttribute('to');
    const type = msg.getAttribute('type');
    // XEP-0184 receipt for our propose: Conversations shows "ringing"
    // (parser/MessageParser.java: <received id='jm-propose-SID'/>).
    const received = convChild(msg, 'received', NS_RECEIPTS);
    if (received && S.sid && received.getAttribute('id') === PROPOSE_ID_PREFIX + S.sid) {
      res.ringing.push({ t: now(), via: 'receipt', from });
      log('ringing (receipt) from', from);
    }
    if (type === 'error') {
      if (S.sid && msg.getAttribute('id') === PROPOSE_ID_PREFIX + S.sid) {
        S.rejected = `propose bounced: ${new XMLSerializer().serializeToString(msg).slice(0, 500)}`;
        wake();
      }
      return;
    }
    const el = Array.from(msg.children).find(c => c.namespaceURI === NS_JMI);
    if (!el) return;
    const sid = el.getAttribute('id');
    if (!sid) return;
    const fromSelf = bareJid(from) === bareJid(res.jid);
    // JingleConnectionManager.deliverMessage(): proceed/reject/ringing count
    // only when addressed to our own full JID, and (proposal lookup by
    // from.asBareJid()) from the bare JID we proposed to.
    const addressedDirectly = to === res.jid;
    if (cfg.mode === 'call' && sid === S.sid && S.state === 'proposed') {
      if (fromSelf) { log('ignored JMI', el.localName, 'from self'); return; }
      if (!addressedDirectly || bareJid(from) !== bareJid(cfg.target)) {
        log('ignored JMI', el.localName, 'from', from, 'to', to);
        return;
      }
      if (el.localName === 'proceed') { S.proceed = from; wake(); }
      else if (el.localName === 'ringing') { res.ringing.push({ t: now(), via: 'jmi', from }); }
      else if (el.localName === 'reject') { S.rejected = `JMI reject from ${from}`; wake(); }
      return;
    }
    if (cfg.mode === 'answer' && el.localName === 'propose' && !fromSelf) {
      receivePropose(from, el, sid);
      return;
    }
    if (sid === S.sid && (el.localName === 'retract' || el.localName === 'finish') && from === S.with) {
      log('JMI', el.localName, 'from', from);
      if (el.localName === 'retract' && !S.initiate) { S.rejected = 'retracted'; wake(); }
    }
  }

  // JingleConnectionManager.deliverMessage() (Propose) and
  // JingleRtpConnection.receivePropose(): only RTP descriptions of known
  // media; we are the callee (id.with = the proposer's full JID).
  function receivePropose(from, el, sid) {
    if (S.state !== 'null' || S.incomingPropose) { log('busy: ignored propose from', from); return; }
    const descs = Array.from(el.children).filter(c => c.localName === 'description');
    const media = new Set(descs.filter(d => d.namespaceURI === NS_RTP).map(d => d.getAttribute('media')));
    if (!descs.length || descs.some(d => d.namespaceURI !== NS_RTP) ||
        [...media].some(m => m !== 'audio' && m !== 'video')) {
      log('unable to react to proposed session', new XMLSerializer().serializeToString(el).slice(0, 500));
      return;
    }
    S.incomingPropose = { from, sid, media };
    S.with = from; S.sid = sid; S.state = 'proposed'; S.proposedMedia = media;
    res.sid = sid; res.remote_jid = from; res.propose = true;
    res.timings_ms.propose = now();
    log('received session proposal from', from, [...media]);
    // receivePropose() sends <ringing/> only for a contact shown in the
    // contact list (or JINGLE_MESSAGE_INIT_STRICT_DEVICE_TIMEOUT); we are
    // not subscribed to whoever calls us here, so no ringing.
    setTimeout(acceptCallFromProposed, (cfg.answer_delay === undefined ? 0.3 : cfg.answer_delay) * 1000);
    wake();
  }

  // acceptCallFromProposed(): <accept/> to our own bare JID, <proceed/> (id
  // jm-proceed-SID) to the proposer's full JID (sendJingleMessage()).
  function acceptCallFromProposed() {
    if (S.state !== 'proposed' || S.ended) return;
    S.state = 'proceed';
    sendJmi('accept', bareJid(res.jid));
    sendJmi('proceed', S.with, PROCEED_ID_PREFIX + S.sid);
    wake();
  }

  function sendJmi(action, to, id) {
    res.jmi_sent.push({ t: now(), action, to });
    sendRaw(`<message xmlns='jabber:client' type='chat' to='${xmlEscape(to)}' id='${xmlEscape(id || randomId())}'>` +
            `<${action} xmlns='${NS_JMI}' id='${xmlEscape(S.sid)}'/><store xmlns='${NS_HINTS}'/></message>`);
  }

  // --- Jingle IQs (JingleRtpConnection.deliverPacket and receive*()) ------
  // One at a time, each to its end (Conversations' handlers are
  // synchronized and wait for libwebrtc): a transport-info right behind a
  // restart answer must see the credentials that answer brought.
  let jingleChain = Promise.resolve();
  function onJingle(doc, jingle) {
    jingleChain = jingleChain.then(() => handleJingle(doc, jingle))
      .catch(e => log('error handling jingle', String(e && e.stack || e)));
  }
  async function handleJingle(doc, jingle) {
    const from = doc.documentElement.getAttribute('from');
    const action = jingle.getAttribute('action'), sid = jingle.getAttribute('sid');
    // Only requests carry the peer's candidates (an error reply echoes ours).
    for (const c of candidatesOf(doc)) { c.t = now(); res.remote_candidates.push(c); }
    if (action === 'session-initiate' && cfg.mode === 'answer' && !S.initiate &&
        (S.state === 'null' || (S.state === 'proceed' && from === S.with && sid === S.sid))) {
      receiveSessionInitiate(doc, jingle, from, sid);
      return;
    }
    // Connections are keyed by (account, with, sid): anything else is an
    // unknown session (JingleConnectionManager: item-not-found/unknown-session).
    if (from !== S.with || sid !== S.sid || S.ended) {
      respondJingleError(doc, 'unknown-session', 'item-not-found', 'cancel');
      return;
    }
    switch (action) {
      case 'session-accept': await receiveSessionAccept(doc, jingle); break;
      case 'transport-info': await receiveTransportInfo(doc, jingle); break;
      case 'session-terminate': {
        respondOk(doc);
        const r = convChild(jingle, 'reason');
        const cond = r ? (Array.from(r.children).map(c => c.localName).find(n => n !== 'text') || null) : null;
        res.terminated_by = 'remote';
        endCall('remote', cond);
        break;
      }
      case 'session-info': {
        respondOk(doc);
        for (const el of jingle.children) {
          if (el.namespaceURI !== NS_RTP_INFO) continue;
          res.session_info_received.push({ t: now(), info: el.localName,
            name: el.getAttribute('name'), creator: el.getAttribute('creator') });
        }
        break;
      }
      default:
        // content-add etc.: out of scope here; Conversations answers
        // out-of-order / acknowledges, we acknowledge and record.
        log('unhandled jingle action', action);
        respondOk(doc);
    }
  }

  function terminateWith(e) {
    const reason = e.reason || 'failed-application';
    log('terminate', reason, String(e && e.message || e));
    res.error = `${reason}: ${e && e.message || e}`;
    sendSessionTerminate(reason, String(e && e.message || e));
  }

  // receiveSessionInitiate(): descriptions and DTLS with setup actpass
  // required, media must equal the proposal's (else security-error).
  function receiveSessionInitiate(doc, jingle, from, sid) {
    let map;
    try {
      map = convContentMapFromJingle(jingle);
    } catch (e) {
      S.with = from; S.sid = sid;
      respondOk(doc);
      terminateWith(e);
      return;
    }
    S.with = from; S.sid = sid; res.sid = sid; res.remote_jid = from;
    S.initiate = { map };
    try {
      convRequireDescriptions(map);
      convRequireFingerprint(map, true);
    } catch (e) {
      respondOk(doc);
      terminateWith(e);
      return;
    }
    if (S.state === 'proceed') {
      if (!convSetEq(S.proposedMedia, convMediaOf(map))) {
        const e = new Error(`Your session proposal (Jingle Message Initiation) included media ` +
          `${[...S.proposedMedia]} but your session-initiate was ${[...convMediaOf(map)]}`);
        e.reason = 'security-error';
        terminateWith(e);   // (no IQ reply: receiveSessionInitiate returns first)
        return;
      }
    } else {
      S.proposedMedia = convMediaOf(map);
    }
    S.initiatorMap = map;
    S.state = 'session-initialized';
    respondOk(doc);
    res.timings_ms.incoming = now();
    S.backlog.push(...map.contents.entries());
    // Pre-approved (after proceed) → accept at once; otherwise "ringing"
    // (startRinging()) and the user accepts.
    const delay = S.incomingPropose ? 0 : (cfg.answer_delay === undefined ? 0.3 : cfg.answer_delay) * 1000;
    setTimeout(() => sendSessionAccept().catch(e => terminateWith(e)), delay);
    wake();
  }

  // sendSessionAccept(): offer applied, backlog candidates added, answer
  // with all candidates when the initiator advertises urn:ietf:rfc:3264,
  // else trickled; our setup flipped is the peer's.
  async function sendSessionAccept() {
    if (S.ended) return;
    const includeCandidates = remoteHasFeature(S.with, NS_SDP_OFFER_ANSWER);
    res.include_candidates = includeCandidates;
    await setupWebRTC();
    await pc.setRemoteDescription({ type: 'offer', sdp: convSdpFromContentMap(S.initiatorMap, true) });
    addBacklog();
    await pc.setLocalDescription();
    if (includeCandidates) await gatheringCompleteOrTimeout();
    const sd = convSdpParse(pc.localDescription.sdp);
    const map = convContentMapFromSdp(sd, false);
    S.responderMap = map;
    S.peerSetup = flipSetup(convDtlsSetup(map));
    const out = includeCandidates ? withCandidates(map, sd) : map;
    S.state = 'session-accepted';
    sendJingle('session-accept', convJingleXml('session-accept', S.sid, out));
    res.timings_ms.accept = now();
    setReadyForCandidates(true);
  }

  const flipSetup = s => {
    if (s === 'passive') return 'active';
    if (s === 'active') return 'passive';
    throw new Error(`${s} can not be flipped`);
  };

  // receiveSessionAccept(): descriptions and fingerprints (with setup)
  // required, same media as our session-initiate, setup must be active or
  // passive and the same on every content (storePeerDtlsSetup()).
  async function receiveSessionAccept(doc, jingle) {
    if (!S.initiator) { respondJingleError(doc, 'out-of-order', 'unexpected-request', 'wait'); return; }
    let map;
    try {
      map = convContentMapFromJingle(jingle);
      convRequireDescriptions(map);
      convRequireFingerprint(map, false);
    } catch (e) {
      respondOk(doc);
      if (!e.reason) e.reason = 'failed-application';
      terminateWith(e);
      return;
    }
    if (!convSetEq(convMediaOf(S.initiatorMap), convMediaOf(map))) {
      const e = new Error(`Your session-included included media ${[...S.proposedMedia]} but our ` +
        `session-initiate was ${[...convMediaOf(map)]}`);
      e.reason = 'security-error';
      terminateWith(e);
      return;
    }
    if (S.state !== 'session-initialized') { respondOk(doc); return; }
    S.state = 'session-accepted';
    respondOk(doc);
    res.timings_ms.accepted = now();
    S.responderMap = map;
    try {
      const setup = convDtlsSetup(map);
      if (setup === 'actpass') {
        const e = new Error('Trying to store invalid peer dtls setup (actpass in an answer)');
        e.reason = 'security-error';
        throw e;
      }
      S.peerSetup = setup;
    } catch (e) {
      if (!e.reason) e.reason = 'security-error';
      terminateWith(e);
      return;
    }
    let sdp;
    try {
      sdp = convSdpFromContentMap(map, false);
    } catch (e) {
      terminateWith(Object.assign(e, { reason: 'failed-application' }));
      return;
    }
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (e) {
      terminateWith(Object.assign(new Error(String(e && e.message || e)), { reason: 'failed-application' }));
      return;
    }
    processCandidates(map.contents.entries());
  }

  // receiveTransportInfo(): before session-accept (or for unknown contents)
  // the candidates go to a backlog that, for the initiator, nothing ever
  // drains; new credentials are an ICE restart (checkForIceRestart()).
  async function receiveTransportInfo(doc, jingle) {
    let map;
    try {
      map = convContentMapFromJingle(jingle);
    } catch (e) {
      log('improperly formatted contents; ignoring', String(e.message));
      respondOk(doc);
      return;
    }
    const remote = remoteMap();
    const known = remote ? [...remote.contents.keys()] : [];
    if (![...map.contents.keys()].some(k => known.includes(k)) || S.state !== 'session-accepted') {
      respondOk(doc);
      const n = [...map.contents.values()].reduce((a, dt) => a + dt.transport.candidates.length, 0);
      S.backlog.push(...map.contents.entries());
      if (S.initiator) {
        res.candidates_backlogged += n;
        log(`transport-info before session-accept: ${n} candidate(s) to a backlog`);
      }
      return;
    }
    if (await checkForIceRestart(doc, map)) return;
    respondOk(doc);
    processCandidates(map.contents.entries());
  }

  // processCandidate(): Candidate.toSdpAttribute(ufrag of that transport),
  // mLineIndex from the BUNDLE group's order (or the content names).
  function processCandidates(entries) {
    const remote = remoteMap();
    const tags = remote && remote.group ? remote.group.tags : (remote ? [...remote.contents.keys()] : []);
    for (const [name, dt] of entries) {
      for (const c of dt.transport.candidates || []) {
        let sdp;
        try {
          sdp = convCandidateToSdp(c, dt.transport.ufrag);
        } catch (e) {
          res.candidates_ignored.push({ t: now(), candidate: c, why: String(e.message) });
          continue;
        }
        const idx = tags.indexOf(name);
        pc.addIceCandidate({ candidate: sdp, sdpMid: name, sdpMLineIndex: idx < 0 ? null : idx })
          .catch(e => res.candidates_ignored.push({ t: now(), candidate: c, why: `addIceCandidate: ${e}` }));
      }
    }
  }

  function addBacklog() {
    const entries = S.backlog.splice(0);
    processCandidates(entries);
  }

  // checkForIceRestart(): credentials not among the peer's current ones.
  // No candidates = the peer offers a restart (we answer: setup actpass in
  // its SDP, our answer's candidates trickle after our IQ result); with
  // candidates = the peer's answer to our restart (its SDP built from its
  // previous description, the new credentials and the setup it already has:
  // the fingerprint/setup in the transport-info are not read). A restart
  // offer while we (the initiator) are not stable → tie-break.
  async function checkForIceRestart(doc, map) {
    const existing = remoteMap();
    let newCred;
    try {
      newCred = convDistinctCredentials(map);
    } catch (e) {
      return false;
    }
    if (convCredentials(existing).includes(`${newCred.ufrag}\n${newCred.pwd}`)) return false;
    const isOffer = [...map.contents.values()].every(dt => !(dt.transport.candidates || []).length);
    const rec = currentRestart() || { t: now(), trigger: 'peer', by: 'peer' };
    if (!currentRestart()) res.ice_restarts.push(rec);
    rec.remote_credentials = { t: now(), ufrag: newCred.ufrag, isOffer };
    log('ICE restart from peer', isOffer ? 'offer' : 'answer', newCred.ufrag);
    try {
      let restartMap;
      if (isOffer) {
        restartMap = convModifiedCredentials(existing, newCred, 'actpass');
        if (pc.signalingState !== 'stable' && S.initiator) {
          rec.tie_break_sent = now();
          respondJingleError(doc, 'tie-break', 'conflict', 'cancel');
          return true;
        }
      } else {
        if (!S.peerSetup || S.peerSetup === 'actpass') throw new Error('Invalid peer setup');
        restartMap = convModifiedCredentials(existing, newCred, S.peerSetup);
      }
      await pc.setRemoteDescription({ type: isOffer ? 'offer' : 'answer',
        sdp: convSdpFromContentMap(restartMap, !S.initiator) });
      setRemoteMap(restartMap);
      if (isOffer) {
        await pc.setLocalDescription();
        setLocalMap(convContentMapFromSdp(convSdpParse(pc.localDescription.sdp), S.initiator));
        respondOk(doc);
        setReadyForCandidates(true);
      } else {
        respondOk(doc);
        rec.answer_applied = now();
        processCandidates(map.contents.entries());
      }
    } catch (e) {
      respondOk(doc);
      rec.failed = String(e && e.message || e);
      terminateWith(Object.assign(e, { reason: e.reason || 'failed-application' }));
    }
    return true;
  }

  const currentRestart = () => {
    const r = res.ice_restarts[res.ice_restarts.length - 1];
    return r && !r.remote_credentials && r.by === 'us' ? r : null;
  };

  // --- WebRTC (xmpp/jingle/WebRTCWrapper.java) ------------------------------
  let localStream = null;
  async function setupWebRTC() {
    // buildConfiguration(): no ICE servers here, unified plan, bundle and
    // rtcp-mux policies left at libwebrtc's defaults (balanced / the web's
    // 'require' for NEGOTIATE), no TCP candidates (not signalled below).
    pc = new RTCPeerConnection({ iceServers: [] });
    // initializePeerConnection(): the video track is added before the audio
    // track, so video is m-line 0 when both are there.
    if (localStream) {
      for (const kind of ['video', 'audio']) {
        for (const track of localStream.getTracks().filter(t => t.kind === kind)) {
          pc.addTrack(track, localStream);
        }
      }
    }
    pc.addEventListener('track', ev => {
      log('remote track', ev.track.kind);
      const el = document.getElementById(ev.track.kind === 'audio' ? 'remote-audio' : 'remote-video');
      if (el) {
        el.srcObject = new MediaStream([ev.track]);
        el.play().catch(e => log('play failed', String(e)));
      }
    });
    pc.addEventListener('icecandidate', ev => onLocalCandidate(ev.candidate));
    pc.addEventListener('icegatheringstatechange', () => { wake(); });
    const note = () => {
      res.states.push({ t: now(), ice: pc.iceConnectionState, pc: pc.connectionState,
        signaling: pc.signalingState });
      onConnectionChange(pc.connectionState);
      wake();
    };
    pc.addEventListener('iceconnectionstatechange', note);
    pc.addEventListener('connectionstatechange', note);
    pc.addEventListener('signalingstatechange', note);
    pc.addEventListener('negotiationneeded', () => { renegotiate().catch(e => log('renegotiate', String(e))); });
  }

  // WebRTCWrapper.setIsReadyToReceiveIceCandidates() + onIceCandidate():
  // candidates wait while a description is being set, then go one per
  // transport-info with the current local credentials of their content.
  function setReadyForCandidates(ready) {
    S.readyForCandidates = ready;
    while (ready && S.queuedCandidates.length) sendCandidate(S.queuedCandidates.shift());
  }
  function onLocalCandidate(c) {
    if (!c || !c.candidate) return;
    const f = c.candidate.split(' ');
    res.local_candidates.push({ t: now(), ip: f[4], port: Number(f[5]), protocol: f[2],
      mid: c.sdpMid, candidate: c.candidate });
    if (S.readyForCandidates) sendCandidate(c); else S.queuedCandidates.push(c);
  }
  function sendCandidate(c) {
    if (S.ended) return;
    const map = localMap();
    const dt = map && map.contents.get(c.sdpMid);
    if (!dt) { log('ignoring (not sending) candidate', c.candidate); return; }
    const cand = convCandidateFromSdp(c.candidate, dt.transport.ufrag);
    // TcpCandidatePolicy.DISABLED: libwebrtc gathers no TCP candidates.
    if (!cand || cand.protocol !== 'udp') return;
    res.candidates_sent++;
    const r = currentRestartForCandidates();
    if (r) r.candidates_sent = (r.candidates_sent || 0) + 1;
    sendJingle('transport-info', convJingleXml('transport-info', S.sid,
      convCandidateTransportInfo(map, c.sdpMid, cand)));
  }
  const currentRestartForCandidates = () => {
    const r = res.ice_restarts[res.ice_restarts.length - 1];
    return r && r.result_t ? r : null;
  };

  // WebRTCWrapper.getIceGatheringCompleteOrTimeout(): at most 2 s.
  async function gatheringCompleteOrTimeout() {
    try { await until(() => pc.iceGatheringState === 'complete', 2000, 'ICE gathering'); } catch { /* timeout */ }
    S.queuedCandidates = [];   // iceCandidates.clear(): they are in the description
  }

  // parseCandidates() + withCandidates(): the description's own a=candidate
  // lines, per content.
  function withCandidates(map, sd) {
    const contents = new Map();
    for (const m of sd.media) {
      const mid = sdpFirst(m.attributes, 'mid');
      const dt = map.contents.get(mid);
      const cands = sdpAll(m.attributes, 'candidate').map(v => convCandidateFromSdp(`candidate:${v}`, dt.transport.ufrag))
        .filter(c => c && c.protocol === 'udp');
      res.candidates_in_initiate_or_accept += cands.length;
      contents.set(mid, { ...dt, transport: { ...dt.transport, candidates: cands } });
    }
    return { group: map.group, contents };
  }

  // onConnectionChange(): FAILED after having been CONNECTED → restartIce();
  // FAILED without ever connecting → session-terminate connectivity-error.
  function onConnectionChange(state) {
    if (state === S.lastConnState) return;   // one call per transition
    S.lastConnState = state;
    if (state === 'connected') {
      if (S.connectedAt === null) {
        S.connectedAt = performance.now();
        res.connected = true;
        res.timings_ms.connected = now();
        emit({ event: 'connected', t: now(), sid: S.sid });
      }
      S.everConnected = true;
      const r = res.ice_restarts[res.ice_restarts.length - 1];
      if (r && !r.reconnected) { r.reconnected = now(); emit({ event: 'ice_restart_connected', t: now() }); }
    }
    if (state === 'failed' && !S.ended) {
      if (!S.everConnected) {
        res.error = 'connectivity error (never connected)';
        sendSessionTerminate('connectivity-error');
      } else {
        restartIce('connection failed');
      }
    }
  }

  // restartIce(): stateHistory cleared, candidates held back, then
  // libwebrtc's restartIce() → onRenegotiationNeeded → renegotiate().
  function restartIce(trigger) {
    if (S.ended) return;
    S.everConnected = false;
    const rec = { t: now(), trigger, by: 'us', stats_before: statsPoint() };
    res.ice_restarts.push(rec);
    log('restartIce', trigger);
    emit({ event: 'ice_restart', t: now(), trigger });
    setReadyForCandidates(false);
    pc.restartIce();
  }

  // renegotiate(): a new local offer; changed credentials → ICE restart:
  // transport-info with every content's new ufrag/pwd only; on its result
  // our candidates follow (one per transport-info); a tie-break error is
  // ignored, any other error ends the call (handleIqErrorResponse).
  async function renegotiate() {
    if (S.state !== 'session-accepted' || S.ended || pc.signalingState !== 'stable') return;
    await pc.setLocalDescription();
    const map = convContentMapFromSdp(convSdpParse(pc.localDescription.sdp), S.initiator);
    const current = localMap();
    let iceRestart = false;
    try {
      iceRestart = JSON.stringify(convDistinctCredentials(current)) !== JSON.stringify(convDistinctCredentials(map));
    } catch { iceRestart = false; }
    const added = [...map.contents.keys()].filter(k => !current.contents.has(k));
    const removed = [...current.contents.keys()].filter(k => !map.contents.has(k));
    log('renegotiate. iceRestart=' + iceRestart, 'added', added, 'removed', removed);
    if ((added.length || removed.length) && iceRestart) {
      sendSessionTerminate('failed-application', 'WebRTC unexpectedly tried to modify content and transport at once');
      return;
    }
    if (!iceRestart) return;
    let rec = res.ice_restarts[res.ice_restarts.length - 1];
    if (!rec || rec.local_credentials) { rec = { t: now(), trigger: 'renegotiation', by: 'us' }; res.ice_restarts.push(rec); }
    rec.local_credentials = { t: now(), ufrag: convDistinctCredentials(map).ufrag };
    rec.transport_info_t = now();
    sendJingle('transport-info', convJingleXml('transport-info', S.sid, convRestartTransportInfo(map)), r => {
      rec.reply = r.type;
      if (r.type === 'result') {
        rec.result_t = now();
        setLocalMap(map);
        setReadyForCandidates(true);
        return true;
      }
      if (r.type === 'error') {
        rec.error = iqErrorCondition(r.doc);
        rec.error_xml = r.xml.slice(0, 2000);
        if (rec.error && rec.error.split('+').includes('tie-break')) return true;
      }
      return false;   // the generic handling: the call ends
    });
  }

  // A restart is through when media flows on another pair: libwebrtc
  // switches pairs without leaving 'connected' when the old one was still
  // deemed alive.
  function noteNewPair() {
    const r = res.ice_restarts[res.ice_restarts.length - 1];
    const pair = lastStats && lastStats.selected_pair;
    if (!r || r.by !== 'us' || r.pair_changed || !pair || !r.stats_before) return;
    if (JSON.stringify(pair) === JSON.stringify(r.stats_before.selected_pair)) return;
    r.pair_changed = now();
    r.new_pair = pair;
    if (!r.reconnected) {
      r.reconnected = now();
      emit({ event: 'ice_restart_connected', t: now() });
    }
  }

  function statsPoint() {
    const s = lastStats || {};
    return {
      t: now(),
      audio_packets: s.audio ? s.audio.packetsReceived || 0 : 0,
      audio_energy: s.audio ? s.audio.totalAudioEnergy || 0 : 0,
      audio_samples: s.audio ? s.audio.totalSamplesReceived || 0 : 0,
      video_frames: s.video ? s.video.framesDecoded || 0 : 0,
      selected_pair: s.selected_pair || null,
    };
  }

  // --- the call -------------------------------------------------------------
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ audio: wantAudio, video: wantVideo });
    res.timings_ms.media = now();
    const [user, resource] = [bareJid(cfg.jid), String(cfg.jid).split('/').slice(1).join('/')];
    client = createClient({
      jid: user, password: cfg.password, resource: resource || undefined,
      transports: { websocket: cfg.ws, bosh: false },
      useStreamManagement: false, autoReconnect: false,
      jingle: { iceServers: [] }, capsNode: CAPS_NODE,
    });
    kit.client = client;
    // StanzaJS's Jingle module must not answer Jingle IQs (it would reply
    // unknown-session to ours): a listener of our own keeps StanzaJS from
    // answering service-unavailable; onRaw() does the work.
    client.removeAllListeners('iq:set:jingle');
    client.on('iq:set:jingle', () => {});
    const features = client.disco.features.get('');
    features.clear();
    for (const f of CONVERSATIONS_FEATURES) features.add(f);
    client.on('raw:incoming', xml => onRaw('in', xml));
    client.on('raw:outgoing', xml => onRaw('out', xml));
    client.on('session:started', () => {
      loggedIn = true;
      res.jid = client.jid;
      let caps = null;
      try { client.updateCaps(); caps = client.getCurrentCaps(); } catch (e) { log('caps', String(e)); }
      client.sendPresence(caps ? { legacyCapabilities: caps.legacyCapabilities } : {});
      wake();
    });
    client.on('auth:failed', () => { authFailed = 'authentication failed'; wake(); });
    client.on('disconnected', () => { if (!loggedIn) { authFailed = 'disconnected'; wake(); } });
    client.connect();
    await until(() => loggedIn || authFailed, Math.min(left(), 15000), 'login');
    if (!loggedIn) throw new Error(`login failed: ${authFailed}`);
    res.timings_ms.login = now();
    emit({ event: 'ready', jid: res.jid });

    if (cfg.mode === 'call') {
      const target = bareJid(cfg.target);
      // The contact's presence: subscribe (what adding the contact does);
      // a contact we already had is probed by the server after our initial
      // presence. Either way its available presence arrives.
      sendRaw(`<presence xmlns='jabber:client' type='subscribe' to='${xmlEscape(target)}'/>`);
      const capsWaitMs = (cfg.caps_timeout || 8) * 1000;
      const verifiedOf = () => [...presences.values()].filter(e => bareJid(e.from) === target && e.features);
      const pending = () => [...presences.values()].some(e => bareJid(e.from) === target && e.caps && !e.features &&
        !res.caps.some(c => c.from === e.from && c.why));
      if (cfg.caps_check === false) {
        // Not Conversations: for diagnosing what follows against an address
        // that sends no presence. The call goes ahead as if its caps had
        // named Jingle RTP audio+video and JMI.
        presences.set(target, { from: target, caps: null, t: now(),
          features: new Set([...RTP_BASIC, RTP_AUDIO, RTP_VIDEO, NS_JMI]) });
        res.caps_check_skipped = true;
      }
      try {
        await until(() => verifiedOf().length > 0 && !pending(), Math.min(left(), capsWaitMs), 'the callee\'s caps');
      } catch { /* judged below */ }
      res.timings_ms.caps = now();
      // RtpCapability.check(contact, presences): the best capability among
      // the contact's presences; the call button needs VIDEO for a video call.
      const capable = verifiedOf().map(e => ({ e, cap: capabilityOf(e.features) })).filter(x => x.cap !== 'none');
      res.call_button = capable.some(x => x.cap === 'video') ? 'video' : capable.length ? 'audio' : 'none';
      const needed = wantVideo ? 'video' : 'audio';
      if (res.call_button === 'none' || (needed === 'video' && res.call_button !== 'video')) {
        const seen = [...presences.values()].filter(e => bareJid(e.from) === target).map(e => e.from);
        throw new Error(`no call button (${needed} call): ` + (seen.length
          ? `presence from ${seen.join(', ')} without verified caps naming Jingle RTP ${needed}`
          : `no presence from ${target} within ${capsWaitMs / 1000} s`));
      }
      // ConversationFragment.triggerRtpSession() / RtpCapability.jmiSupport():
      // propose to the bare JID when every RTP-capable resource supports JMI,
      // else session-initiate to a resource.
      const eligible = capable.filter(x => needed === 'audio' || x.cap === 'video');
      const jmi = capable.every(x => x.e.features.has(NS_JMI));
      res.propose = jmi;
      S.sid = randomId();
      res.sid = S.sid;
      S.proposedMedia = new Set([wantAudio && 'audio', wantVideo && 'video'].filter(Boolean));
      if (jmi) {
        // MessageGenerator.sessionProposal(): type chat, id jm-propose-SID, a
        // description per medium, a receipt request, <store/>.
        S.state = 'proposed';
        const desc = [...S.proposedMedia].map(m => `<description xmlns='${NS_RTP}' media='${m}'/>`).join('');
        sendRaw(`<message xmlns='jabber:client' type='chat' to='${xmlEscape(target)}' id='${PROPOSE_ID_PREFIX}${S.sid}'>` +
                `<propose xmlns='${NS_JMI}' id='${S.sid}'>${desc}</propose>` +
                `<request xmlns='${NS_RECEIPTS}'/><store xmlns='${NS_HINTS}'/></message>`);
        res.timings_ms.propose = now();
        await until(() => S.proceed || S.rejected, Math.min(left(), (cfg.ring_timeout || 30) * 1000), 'JMI proceed');
        if (!S.proceed) throw new Error(S.rejected);
        res.proceed_from = S.proceed;
        res.timings_ms.proceed = now();
        S.with = S.proceed;   // Id.of(account, from, sid)
      } else {
        S.with = eligible[0].e.from;
      }
      res.remote_jid = S.with;
      S.state = 'session-initialized';
      // sendSessionInitiate(): all candidates in the initiate when the
      // callee's caps list urn:ietf:rfc:3264, else trickled.
      const includeCandidates = remoteHasFeature(S.with, NS_SDP_OFFER_ANSWER);
      res.include_candidates = includeCandidates;
      await setupWebRTC();
      await pc.setLocalDescription();
      if (includeCandidates) await gatheringCompleteOrTimeout();
      const sd = convSdpParse(pc.localDescription.sdp);
      const map = convContentMapFromSdp(sd, true);
      S.initiatorMap = map;
      res.timings_ms.initiate = now();
      sendJingle('session-initiate', convJingleXml('session-initiate', S.sid,
        includeCandidates ? withCandidates(map, sd) : map));
      setReadyForCandidates(true);
    } else {
      await until(() => S.initiate || S.ended, left(), 'an incoming call');
    }

    await until(() => S.connectedAt !== null || S.ended, left(), 'media connection (connected)');
    if (S.connectedAt === null) throw new Error(res.error || `call ended before media connected (${res.terminate_reason})`);

    if (cfg.ice_restart_after !== undefined && cfg.ice_restart_after !== null) {
      const delay = Math.max(0, S.connectedAt + cfg.ice_restart_after * 1000 - performance.now());
      setTimeout(() => {
        if (!S.ended && !res.ice_restarts.some(r => r.by === 'us')) restartIce('scheduled');
      }, delay);
    }

    const endAt = S.connectedAt + durationMs;
    let nextTimeline = S.connectedAt;
    while (!S.ended && performance.now() < endAt) {
      try { lastStats = summariseStats(await pc.getStats()); } catch (e) { log('getStats failed', String(e)); }
      noteNewPair();
      if (lastStats && performance.now() >= nextTimeline) {
        nextTimeline += 1000;
        res.timeline.push({
          t: now(), pc: pc.connectionState, ice: pc.iceConnectionState,
          audio_packets: lastStats.audio ? lastStats.audio.packetsReceived : 0,
          audio_samples: lastStats.audio ? lastStats.audio.totalSamplesReceived : 0,
          audio_energy: lastStats.audio ? lastStats.audio.totalAudioEnergy : 0,
          video_frames: lastStats.video ? lastStats.video.framesDecoded : 0,
          pair: lastStats.selected_pair,
        });
      }
      await sleep(Math.min(250, Math.max(1, endAt - performance.now())));
    }
    if (!S.ended) {
      try { lastStats = summariseStats(await pc.getStats()); } catch (e) { log('getStats failed', String(e)); }
    }
    res.timings_ms.measured = now();
    res.terminated_early = S.ended;
    res.local_sdp = pc.localDescription ? pc.localDescription.sdp : null;
    res.remote_sdp = pc.remoteDescription ? pc.remoteDescription.sdp : null;
    const linger = (cfg.linger === undefined ? (cfg.mode === 'call' ? 1.5 : 4) : cfg.linger) * 1000;
    if (!S.ended) {
      try { await until(() => S.ended, Math.min(linger, left()), 'remote hang-up'); } catch { /* ours */ }
    }
    if (!S.ended) {
      sendSessionTerminate('success');
      await sleep(200);
    }
    // A call that a failure ended (IQ error, security error, ...) did not run.
    res.ok = !['iq-error', 'iq-timeout'].includes(res.ended_by) && !(res.ended_by === 'local' &&
      res.terminate_reason !== 'success') && !(res.ended_by === 'remote' && res.terminated_early &&
      res.terminate_reason !== 'success');
    if (!res.ok && !res.error) res.error = `call ended early: ${res.ended_by} ${res.terminate_reason}`;
  } catch (e) {
    res.error = res.error || String(e && e.message || e);
    log('error', String(e && e.message || e));
    if (S.with && !S.ended && S.state !== 'proposed' && S.state !== 'null') {
      sendSessionTerminate('failed-application', res.error);
    }
  } finally {
    res.stats = lastStats;
    applyMediaTotals(res, lastStats);
    // What arrived after each restart we started (until the end).
    const end = statsPoint();
    for (const r of res.ice_restarts) {
      if (!r.stats_before) continue;
      r.after = { audio_packets: end.audio_packets - r.stats_before.audio_packets,
        audio_energy: end.audio_energy - r.stats_before.audio_energy,
        audio_samples: end.audio_samples - r.stats_before.audio_samples,
        video_frames: end.video_frames - r.stats_before.video_frames,
        until: end.t, selected_pair_at_end: end.selected_pair };
    }
    res.ended = S.ended;
    res.state = S.state;
    res.timings_ms.end = now();
    if (client) {
      await sleep(300);
      try { await Promise.race([client.disconnect(), sleep(1000)]); } catch { /* ignore */ }
    }
  }
  return res;
}

// ===========================================================================
// Monal mode (cfg.monal: true)
// ===========================================================================
// Places a call the way Monal (iOS, libwebrtc) does. Every rule below was
// read from Monal's source and names the file it comes from: monal-im/Monal
// of 2024-10 (133bfd3), paths under Monal/Classes/ unless they start with
// rust/. Caller only (mode "call"): the outgoing call of
// MLVoIPProcessor.m initiateCallWithType → performStartCallAction → MLCall.m.
//
// Shared with the Conversations mode: makeDriverKit (login, IQs, caps) and
// its SDP <-> Jingle mapping (conv*). Monal's own mapping is a Rust crate
// (rust/sdp-to-jingle); of it only what decides whether a stanza is taken
// is reproduced: serde's required fields (a content needs creator and name,
// a candidate component, foundation, generation, ip, port, priority,
// protocol and type: xep_0167.rs, xep_0176.rs), and what Monal writes into
// its candidate transport-infos (senders='both', a random id, generation,
// the misspelt 'rel_port').
//
// Not reproduced: CallKit/PushKit (the audio session counts as active at
// once), OMEMO-encrypted DTLS fingerprints, XEP-0215 and Monal's fallback
// TURN server (no ICE servers here), and RTCConfiguration fields a web page
// cannot set (WebRTCClient.swift: continualGatheringPolicy
// gatherContinually, iceConnectionReceivingTimeout 1000 ms,
// iceBackupCandidatePairPingInterval 2000 ms, rtcpMuxPolicy negotiate).
//
// ICE restart is not Monal's: MLCall.m has restartIce() and
// handleConnectivityChange: commented out, ends a call 2 s after ICE
// 'disconnected' and at once on 'failed'. With cfg.ice_restart_after the
// page does what that commented-out code meant to (no end on
// 'disconnected', a 45 s reconnecting timeout: createReconnectingTimeoutTimer)
// but signals the restart the Conversations way (a transport-info with new
// ufrag/pwd only; Monal's own would have been a second session-initiate,
// which MLCall.m itself answers with conflict), and takes the first
// transport-info with new credentials as the answer. Every other
// transport-info rule stays Monal's.

const NS_DELAY = 'urn:xmpp:delay';
const MONAL_CAPS_NODE = 'https://monal-im.org/';   // XMPPPresence.m initWithHash:
// HelperTools.m getOwnFeatureSet with Monal's default settings
// (MLXMPPManager.m: SendLastUserInteraction, SendLastChatState,
// SendReceivedMarkers, SendDisplayedMarkers, allowVersionIQ all YES) and
// shouldProvideVoip (iOS).
const MONAL_FEATURES = [
  NS_CAPS, NS_DISCO_INFO, 'jabber:x:conference', 'jabber:x:oob', 'urn:xmpp:ping', 'urn:xmpp:eme:0',
  'urn:xmpp:message-retract:1', 'urn:xmpp:message-correct:0', 'urn:xmpp:idle:1',
  'http://jabber.org/protocol/chatstates', NS_RECEIPTS, 'urn:xmpp:chat-markers:0', 'jabber:iq:version',
  NS_JMI, 'urn:xmpp:jingle:1', NS_RTP, RTP_AUDIO, RTP_VIDEO, NS_ICE_UDP, 'urn:ietf:rfc:5888', NS_DTLS,
  'urn:ietf:rfc:5576', NS_HDREXT, NS_RTCP_FB,
];
// xmpp.m setupObjects: identity client/phone "Monal <version>".
const MONAL_IDENTITY = { category: 'client', type: 'phone', name: 'Monal (belfry e2e)' };
const MONAL_CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'];   // xep_0176.rs

// Whether Monal's Rust crate would take this <jingle> at all
// (jingle_str_to_sdp_str: quick_xml into the serde structs): null if so,
// else why not. Candidates are checked only when withCandidates.
function monalUnparsable(jingle, withCandidates) {
  const num = v => v !== null && /^\d+$/.test(v);
  for (const c of convChildren(jingle, 'content', 'urn:xmpp:jingle:1')) {
    if (c.getAttribute('creator') === null) return 'content without creator';
    if (c.getAttribute('name') === null) return 'content without name';
    if (!withCandidates) continue;
    for (const t of convChildren(c, 'transport', NS_ICE_UDP)) {
      for (const k of convChildren(t, 'candidate', NS_ICE_UDP)) {
        for (const a of ['component', 'generation', 'port', 'priority']) {
          if (!num(k.getAttribute(a))) return `candidate ${a} missing or not a number`;
        }
        for (const a of ['foundation', 'ip', 'protocol', 'type']) {
          if (k.getAttribute(a) === null) return `candidate without ${a}`;
        }
        if (!MONAL_CANDIDATE_TYPES.includes(k.getAttribute('type'))) return `candidate type ${k.getAttribute('type')}`;
        if (!['udp', 'tcp'].includes(k.getAttribute('protocol'))) return `candidate protocol ${k.getAttribute('protocol')}`;
      }
    }
  }
  return null;
}

// HelperTools.m sdp2xml via the Rust crate (xep_0167.rs Content: creator
// hardcoded 'initiator', senders always written): Monal's <content>, with
// the Conversations mode's description and transport inside.
function monalJingleXml(action, sid, map) {
  let x = `<jingle xmlns='urn:xmpp:jingle:1' action='${action}' sid='${xmlEscape(sid)}'>`;
  for (const [name, dt] of map.contents) {
    x += `<content xmlns='urn:xmpp:jingle:1'${convAttrs({ creator: 'initiator', senders: dt.senders || 'both', name })}>`;
    if (dt.description) x += convDescriptionXml(dt.description);
    x += convTransportXml(dt.transport) + '</content>';
  }
  if (map.group) {
    x += `<group xmlns='${NS_GROUPING}' semantics='${xmlEscape(map.group.semantics)}'>` +
      map.group.tags.map(t => `<content name='${xmlEscape(t)}'/>`).join('') + '</group>';
  }
  return x + '</jingle>';
}

// MLCall.m didDiscoverLocalCandidate → HelperTools.m candidate2xml: one
// <content> (name = sdpMid) whose transport has our pwd and the
// candidate's ufrag, and the candidate as xep_0176.rs new_from_sdp writes it
// (id = the clock's nanoseconds, generation 0 when the SDP has none, no
// network, rel-addr and the misspelt rel_port).
function monalCandidateContent(mid, pwd, sdpCandidate) {
  const s = String(sdpCandidate).replace(/^a=/, '');
  const seg = s.slice('candidate:'.length).split(' ');
  const extra = {};
  for (let i = 6; i < seg.length - 1; i += 2) extra[seg[i]] = seg[i + 1];
  const cand = {
    xmlns: NS_ICE_UDP, id: String(Math.floor((performance.timeOrigin + performance.now()) * 1e6) % 1e9),
    component: seg[1], foundation: seg[0], generation: extra.generation || '0', ip: seg[4], port: seg[5],
    priority: seg[3], protocol: seg[2].toLowerCase(), 'rel-addr': extra.raddr, rel_port: extra.rport,
    type: extra.typ,
  };
  const xml = `<content xmlns='urn:xmpp:jingle:1' creator='initiator' senders='both' name='${xmlEscape(mid)}'>` +
    `<transport xmlns='${NS_ICE_UDP}'${convAttrs({ pwd, ufrag: extra.ufrag })}><candidate${convAttrs(cand)}/>` +
    '</transport></content>';
  return { xml, protocol: cand.protocol, ufrag: extra.ufrag, ip: cand.ip, port: Number(cand.port) };
}

async function runMonal(cfg) {
  const res = {
    ok: false, error: null, peer: 'chromium', monal: true, mode: cfg.mode, jid: null,
    remote_jid: null, sid: null, propose: null,
    timings_ms: {}, states: [], connected: false, terminated_by: null, terminate_reason: null,
    audio_total_samples_received: 0, audio_total_energy: 0, audio_packets_received: 0,
    video_frames_decoded: 0, video_packets_received: 0,
    remote_candidates: [], stats: null, timeline: [], jingle: [], jmi: [], iq_errors: [],
    local_sdp: null, remote_sdp: null, log: [], session_info_sent: [], session_info_received: [],
    // Monal-specific
    presences: [], caps: [], jmi_cap: null, call_warning: null, call_type: null,
    ringing: [], receipts: [], proceed_from: null, finish_reason: null, finish_sent: null,
    timers: [], candidates_held: 0, candidates_sent: 0, candidates_dropped_tcp: 0,
    local_candidates: [], transport_infos: [], candidates_used: [], candidates_ignored: [],
    stray_replies_sent: 0, unanswered_jingle: [], ice_restarts: [], jmi_sent: [],
  };
  const kit = makeDriverKit(cfg, res, { capsQueryNode: false, capsFromBareJid: false });
  const { log, left, wake, until, sendRaw, sendIq, iqErrorCondition, presences } = kit;
  const durationMs = (cfg.duration || 5) * 1000;
  // MLCall.m timers; each can be shortened for a test, Monal's figures by default.
  const DISCOVERING_S = cfg.ring_timeout || 30;      // createDiscoveringTimeoutTimer
  const RINGING_S = cfg.ringing_timeout || 45;       // createRingingTimeoutTimer
  const CONNECTING_S = cfg.connect_timeout || 15;    // createConnectingTimeoutTimer
  const RECONNECTING_S = cfg.reconnect_timeout || 45; // createReconnectingTimeoutTimer
  const restartMode = cfg.ice_restart_after !== undefined && cfg.ice_restart_after !== null;
  const wantVideo = cfg.video !== false;
  let client = null, pc = null, loggedIn = false, authFailed = null, localStream = null;
  let lastStats = null;
  // The call (MLCall.m properties).
  const S = {
    jmiid: null, callType: wantVideo ? 'video' : 'audio', contact: null, proposeMsgId: null,
    jmiPropose: false, jmiProceed: null, fullRemoteJid: null,
    localSDP: null,    // our session-initiate's content map
    remoteSDP: null,   // {map, names, creds: Map(name -> {ufrag, pwd})} from the session-accept
    isConnected: false, wasConnectedOnce: false, isReconnecting: false, isFinished: false,
    finishReason: null, connectedAt: null, timers: {},
    incomingCandidateQueue: [], outgoingCandidateQueue: [], restart: null, lastIce: null,
  };

  const uuid = () => crypto.randomUUID().toUpperCase();   // [[NSUUID UUID] UUIDString]

  // --- timers (MLCall.m create*TimeoutTimer; HelperTools createTimer) ------
  function startTimer(name, seconds, fire) {
    cancelTimer(name);
    const rec = { name, s: seconds, t: now() };
    res.timers.push(rec);
    S.timers[name] = { rec, h: setTimeout(() => { rec.fired = now(); delete S.timers[name]; fire(); }, seconds * 1000) };
  }
  function cancelTimer(name) {
    const t = S.timers[name];
    if (!t) return;
    clearTimeout(t.h);
    t.rec.cancelled = now();
    delete S.timers[name];
  }

  // --- the end of a call ---------------------------------------------------
  // MLCall.m end → MLVoIPProcessor.m performEndCallAction: the reason comes
  // from the state (connected: normal; proceeded: connectivity error; else
  // the proposal is retracted).
  function end(why) {
    if (S.isFinished) return;
    handleEndCallAction(S.isConnected ? 'normal' : S.jmiProceed ? 'connectivity-error' : 'retracted', why);
  }
  // MLCall.m handleEndCallActionWithReason: internalHandleEndCallAction
  // (timers stopped, PeerConnection closed) and internalUpdateCallKitState,
  // which for an outgoing call sends: a retract (not proceeded), else
  // session-terminate + JMI finish with the reason.
  function handleEndCallAction(reason, why) {
    if (S.isFinished) return;
    for (const n of Object.keys(S.timers)) cancelTimer(n);
    try { if (pc) pc.close(); } catch { /* ignore */ }
    S.finishReason = reason;
    S.isConnected = false;
    S.isFinished = true;
    res.finish_reason = reason;
    res.timings_ms.finished = now();
    log('call finished:', reason, why || '');
    if (S.jmiPropose && !S.jmiProceed) {
      if (reason === 'retracted') sendJmiRetract();
      else if (reason === 'error') sendJmiFinish('application-error');
      // rejected / answered elsewhere: only CallKit hears of it
    } else if (S.jmiPropose) {
      const r = { normal: 'success', 'connectivity-error': 'connectivity-error',
        'security-error': 'security-error', error: 'application-error' }[reason];
      if (r) sendJmiFinish(r);
    }
    wake();
  }

  // MLCall.m sendJmiFinishWithReason: session-terminate (sent without a
  // response handler) and a JMI finish, both to the proceeding full JID.
  function sendJmiFinish(reason) {
    res.finish_sent = { t: now(), reason };
    if (!res.terminated_by) { res.terminated_by = 'local'; res.terminate_reason = reason; }
    sendRaw(`<iq xmlns='jabber:client' type='set' to='${xmlEscape(S.fullRemoteJid)}' id='${uuid()}'>` +
            `<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='${xmlEscape(S.jmiid)}'>` +
            `<reason><${reason}/></reason></jingle></iq>`);
    sendJmi('finish', S.fullRemoteJid, `<reason xmlns='urn:xmpp:jingle:1'><${reason}/></reason>`);
  }
  // MLCall.m sendJmiRetract: to the contact (bare JID), reason cancel.
  function sendJmiRetract() {
    sendJmi('retract', S.contact, `<reason xmlns='urn:xmpp:jingle:1'><cancel/></reason>`);
  }
  // XMPPMessage.m init (type chat, a UUID id) + setStoreHint.
  function sendJmi(action, to, inner, id) {
    res.jmi_sent.push({ t: now(), action, to });
    sendRaw(`<message xmlns='jabber:client' type='chat' to='${xmlEscape(to)}' id='${id || uuid()}'>` +
            `<${action} xmlns='${NS_JMI}' id='${xmlEscape(S.jmiid)}'>${inner || ''}</${action}>` +
            `<store xmlns='${NS_HINTS}'/></message>`);
  }

  // --- raw stanzas -----------------------------------------------------------
  function onRaw(dir, xml) { kit.dispatchRaw(dir, xml, { onIq, onMessage }); }

  function onIq(doc, xml) {
    const iq = doc.documentElement;
    const type = iq.getAttribute('type'), id = iq.getAttribute('id');
    if (kit.takeIqReply(type, id, doc, xml)) return;
    const jingle = doc.getElementsByTagNameNS('urn:xmpp:jingle:1', 'jingle')[0];
    if (type !== 'set' || !jingle || jingle.parentNode !== iq) return;
    for (const c of candidatesOf(doc)) { c.t = now(); res.remote_candidates.push(c); }
    const item = { fake: false, from: iq.getAttribute('from'), id, jingle };
    // MLIQProcessor.m processSetIq: transport-info → processIncomingICECandidate,
    // every other Jingle action → processIncomingSDP. In order, one at a time.
    jingleChain = jingleChain.then(() => (jingle.getAttribute('action') === 'transport-info'
      ? processIncomingICECandidate(item) : processIncomingSDP(item)))
      .catch(e => log('error handling jingle', String(e && e.stack || e)));
  }
  let jingleChain = Promise.resolve();

  // An IQ answer as MLCall.m sends them: initAsResponseTo / initAsErrorTo
  // (the id and the sender of what is answered; no payload echoed). For a
  // candidate taken from a session-accept (a "fake" transport-info built by
  // processIncomingSDP) the id is one it made up: the peer gets a reply to
  // an IQ it never sent.
  function reply(item, errorXml) {
    if (item.fake) res.stray_replies_sent++;
    sendRaw(`<iq xmlns='jabber:client' type='${errorXml ? 'error' : 'result'}' to='${xmlEscape(item.from)}' ` +
            `id='${xmlEscape(item.id)}'>${errorXml || ''}</iq>`);
  }
  const stanzaError = (type, cond, text) => `<error type='${type}'><${cond} xmlns='${NS_STANZAS}'/>` +
    (text ? `<text xmlns='${NS_STANZAS}'>${xmlEscape(text)}</text>` : '') + '</error>';

  // --- JMI (MLMessageProcessor.m, MLVoIPProcessor.m handleIncomingJMIStanza)
  function onMessage(doc) {
    const msg = doc.documentElement;
    const from = msg.getAttribute('from') || '', to = msg.getAttribute('to') || '';
    // An error message is a message error (DataLayer), never a call event:
    // a bounced propose just waits for the discovering timeout.
    if (msg.getAttribute('type') === 'error') {
      if (msg.getAttribute('id') === S.proposeMsgId) res.propose_bounced = { t: now(), from };
      return;
    }
    // A receipt only marks a message delivered (XEP-0184), no call state.
    const received = convChild(msg, 'received', NS_RECEIPTS);
    if (received) res.receipts.push({ t: now(), from, id: received.getAttribute('id') });
    // "ignore messages from our own device".
    if (from === res.jid && bareJid(to) === bareJid(res.jid)) return;
    const el = Array.from(msg.children).find(c => c.namespaceURI === NS_JMI);
    if (!el) return;
    if (el.localName === 'propose') { log('ignored a propose: this page only calls'); return; }
    // getCallForJmiid: anything for another call (or a finished one) is dropped.
    if (el.getAttribute('id') !== S.jmiid || S.isFinished) {
      log('ignored JMI', el.localName, 'for an unknown call', el.getAttribute('id'));
      return;
    }
    const fromOwnAccount = bareJid(from) === bareJid(res.jid);
    switch (el.localName) {
      case 'proceed':
        // No check of who proceeds: the session-initiate goes to them.
        if (S.jmiProceed) { log('ignored a second proceed from', from); return; }
        S.fullRemoteJid = from;
        S.jmiProceed = { from, t: now() };
        res.proceed_from = from;
        res.remote_jid = from;
        res.timings_ms.proceed = now();
        establishOutgoingConnection();
        break;
      case 'ringing':
        if (fromOwnAccount) { log('ignored ringing from our own account'); return; }
        // MLCall.m reportRinging → createRingingTimeoutTimer (45 s to answer;
        // nothing checks whether the call already proceeded).
        res.ringing.push({ t: now(), via: 'jmi', from });
        if (res.timings_ms.ringing === undefined) res.timings_ms.ringing = now();
        cancelTimer('discovering');
        startTimer('ringing', RINGING_S, () => {
          res.error = res.error || `not answered within ${RINGING_S} s of ringing`;
          end(res.error);
        });
        break;
      case 'reject':
        if (fromOwnAccount || S.jmiProceed) { log('ignored reject from', from); return; }
        res.error = `rejected by ${from}`;
        handleEndCallAction('rejected', res.error);
        break;
      case 'finish': {
        const r = msg.getElementsByTagNameNS('urn:xmpp:jingle:1', 'reason')[0];
        const reason = r && r.firstElementChild ? r.firstElementChild.localName : null;
        log('JMI finish from', from, reason);
        if (S.jmiProceed) end(`JMI finish (${reason})`);
        else handleEndCallAction(reason === 'connectivity-error' ? 'connectivity-error' : 'answered-elsewhere');
        break;
      }
      default:   // retract of an outgoing call: "should never happen"
        log('ignored JMI', el.localName, 'from', from);
    }
  }

  // MLCall.m establishOutgoingConnection: 15 s to be connected, then offerSDP.
  function establishOutgoingConnection() {
    cancelTimer('discovering');
    cancelTimer('ringing');
    startTimer('connecting', CONNECTING_S, () => {
      res.error = res.error || `not connected within ${CONNECTING_S} s of proceed`;
      end(res.error);
    });
    offerSDP().catch(e => {
      res.error = res.error || `offer failed: ${e && e.message || e}`;
      handleEndCallAction('error', res.error);
    });
  }

  // MLCall.m offerSDP: the offer (WebRTCClient.swift offer: createOffer, then
  // setLocalDescription) as a session-initiate to the proceeding JID; an
  // error reply is only logged.
  async function offerSDP() {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const map = convContentMapFromSdp(convSdpParse(offer.sdp), true);
    const { reply: r } = sendIq(S.fullRemoteJid, 'set', monalJingleXml('session-initiate', S.jmiid, map), uuid());
    S.localSDP = map;
    res.timings_ms.initiate = now();
    r.then(x => {
      if (x.type !== 'result') {
        res.iq_errors.push({ t: now(), action: 'session-initiate', condition: iqErrorCondition(x.doc), xml: (x.xml || '').slice(0, 2000) });
      }
    });
  }

  // --- Jingle: MLCall.m processIncomingSDP -----------------------------------
  async function processIncomingSDP(item) {
    const { jingle } = item;
    const action = jingle.getAttribute('action');
    // Another call's, or the call is over: nobody answers.
    if (jingle.getAttribute('sid') !== S.jmiid || S.isFinished) {
      res.unanswered_jingle.push({ t: now(), action, why: S.isFinished ? 'call finished' : 'unknown sid' });
      return;
    }
    if (S.remoteSDP && (action === 'session-initiate' || action === 'session-accept')) {
      reply(item, stanzaError('cancel', 'conflict'));
      return;
    }
    if (action === 'session-terminate') {
      // No IQ reply: a JMI finish is faked and handled, so a call that had
      // proceeded ends with our own session-terminate + finish.
      const r = convChild(jingle, 'reason');
      res.terminated_by = res.terminated_by || 'remote';
      if (res.terminated_by === 'remote') {
        res.terminate_reason = r ? (Array.from(r.children).map(c => c.localName).find(n => n !== 'text') || null) : null;
      }
      res.timings_ms.remote_terminate = now();
      if (S.jmiProceed) end('session-terminate from the peer');
      else handleEndCallAction('answered-elsewhere', 'session-terminate before proceed');
      return;
    }
    if (action !== 'session-accept') {
      // session-initiate on an outgoing call ("Unexpected incoming jingle
      // data direction"), session-info, content-*, ...: ignored, unanswered.
      if (action === 'session-info') {
        for (const el of jingle.children) {
          if (el.namespaceURI === NS_RTP_INFO) {
            res.session_info_received.push({ t: now(), info: el.localName,
              name: el.getAttribute('name'), creator: el.getAttribute('creator') });
          }
        }
      }
      res.unanswered_jingle.push({ t: now(), action, why: 'not handled by MLCall.m' });
      return;
    }
    // The accept's candidates become one "fake" transport-info each (the
    // content and transport attributes, one candidate), queued; the accept
    // itself is converted without them.
    const copy = jingle.cloneNode(true);
    for (const content of convChildren(copy, 'content', 'urn:xmpp:jingle:1')) {
      const transport = convChild(content, 'transport', NS_ICE_UDP);
      if (!transport) continue;
      for (const cand of convChildren(transport, 'candidate', NS_ICE_UDP)) {
        transport.removeChild(cand);
        const fj = document.implementation.createDocument('urn:xmpp:jingle:1', 'jingle', null).documentElement;
        fj.setAttribute('action', 'transport-info');
        fj.setAttribute('sid', S.jmiid);
        const fc = content.cloneNode(false);
        const ft = transport.cloneNode(false);
        ft.appendChild(cand);
        fc.appendChild(ft);
        fj.appendChild(fc);
        S.incomingCandidateQueue.push({ fake: true, from: S.fullRemoteJid, id: uuid(), jingle: fj });
      }
    }
    // Security: video in the accept of a call proposed as audio only.
    if (S.callType === 'audio' && convChildren(copy, 'content', 'urn:xmpp:jingle:1').some(c => {
      const d = convChild(c, 'description', NS_RTP);
      return d && d.getAttribute('media') === 'video';
    })) {
      reply(item, stanzaError('modify', 'not-acceptable', 'Sent video in jingle, but only advertised audio in jmi!'));
      res.error = 'security error: video in the session-accept of an audio call';
      handleEndCallAction('security-error', res.error);
      return;
    }
    // HelperTools.m xml2sdp: nil → bad-request and the call ends (error).
    let map, sdp;
    try {
      const why = monalUnparsable(copy, false);
      if (why) throw new Error(why);
      map = convContentMapFromJingle(copy);
      sdp = convSdpFromContentMap(map, false);
    } catch (e) {
      reply(item, stanzaError('modify', 'bad-request'));
      res.error = `session-accept not convertible: ${e && e.message || e}`;
      handleEndCallAction('error', res.error);
      return;
    }
    const names = [...map.contents.keys()];
    S.remoteSDP = { map, names, creds: new Map(names.map(n => [n, {
      ufrag: map.contents.get(n).transport.ufrag, pwd: map.contents.get(n).transport.pwd }])) };
    try { S.peerSetup = convDtlsSetup(map); } catch { S.peerSetup = null; }
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (e) {
      reply(item, stanzaError('modify', 'not-acceptable'));
      res.error = `setRemoteDescription: ${e && e.message || e}`;
      handleEndCallAction('error', res.error);
      return;
    }
    reply(item, null);
    res.timings_ms.accepted = now();
    res.remote_sdp = sdp;
    // The queued incoming candidates (the accept's own among them), then
    // ours, held until now.
    for (const q of S.incomingCandidateQueue.splice(0)) await processRemoteICECandidate(q);
    for (const x of S.outgoingCandidateQueue.splice(0)) sendCandidateIq(x);
  }

  // --- Jingle: MLCall.m processIncomingICECandidate / processRemoteICECandidate
  async function processIncomingICECandidate(item) {
    if (item.jingle.getAttribute('sid') !== S.jmiid || S.isFinished) {
      res.unanswered_jingle.push({ t: now(), action: 'transport-info', why: S.isFinished ? 'call finished' : 'unknown sid' });
      return;
    }
    // Before the offer and the answer are both there: queued, unanswered.
    if (!S.remoteSDP || !S.localSDP) {
      S.incomingCandidateQueue.push(item);
      return;
    }
    await processRemoteICECandidate(item);
  }

  async function processRemoteICECandidate(item) {
    const { jingle } = item;
    const contents = convChildren(jingle, 'content', 'urn:xmpp:jingle:1');
    const cands = [];
    for (const c of contents) {
      for (const t of convChildren(c, 'transport', NS_ICE_UDP)) {
        for (const k of convChildren(t, 'candidate', NS_ICE_UDP)) cands.push({ content: c, transport: t, el: k });
      }
    }
    const rec = { t: now(), fake: item.fake, candidates: cands.length, reply: null };
    res.transport_infos.push(rec);
    const attrsOf = el => Object.fromEntries(Array.from(el.attributes, a => [a.name, a.value]));
    // xml2candidate: the whole <jingle> to SDP, the first a=candidate line
    // of it; nothing (no candidate, not parsable) or any TCP candidate →
    // bad-request (the call goes on).
    let why = cands.length ? monalUnparsable(jingle, true) : 'no candidate';
    if (!why && cands.some(c => c.el.getAttribute('protocol') === 'tcp')) why = 'tcp candidate';
    if (why) {
      rec.reply = 'bad-request';
      rec.why = why;
      reply(item, stanzaError('modify', 'bad-request'));
      return;
    }
    const first = cands[0];
    // The mid is the first content's name; its m-line index from the
    // remote description's contents.
    const mid = contents[0].getAttribute('name');
    const idx = S.remoteSDP.names.indexOf(mid);
    if (idx < 0) {
      rec.reply = 'result';
      rec.why = `no content ${mid}`;
      reply(item, null);
      return;
    }
    const named = contents.find(c => c.getAttribute('name') === mid);
    const tEl = named ? convChild(named, 'transport', NS_ICE_UDP) : null;
    const cred = { ufrag: tEl ? tEl.getAttribute('ufrag') : null, pwd: tEl ? tEl.getAttribute('pwd') : null };
    rec.ufrag = cred.ufrag;
    let remote = S.remoteSDP.creds.get(mid);
    // Not Monal: the answer to our own ICE restart (see the mode's header).
    if (S.restart && S.restart.awaitingAnswer && cred.ufrag && cred.pwd &&
        (cred.ufrag !== remote.ufrag || cred.pwd !== remote.pwd)) {
      await applyRestartAnswer(jingle, rec);
      remote = S.remoteSDP.creds.get(mid);
    }
    // "Jingle incoming candidate has wrong pwd or ufrag" → not-authorized.
    if (!remote || !remote.ufrag || !remote.pwd || remote.ufrag !== cred.ufrag || remote.pwd !== cred.pwd) {
      rec.reply = 'not-authorized';
      rec.why = `ufrag/pwd ${cred.ufrag}/${cred.pwd ? '(pwd)' : null} are not ${remote && remote.ufrag}`;
      reply(item, stanzaError('auth', 'not-authorized'));
      return;
    }
    // Only the first candidate is used; the others are dropped unseen.
    for (const c of cands.slice(1)) {
      res.candidates_ignored.push({ t: now(), content: c.content.getAttribute('name'), ...attrsOf(c.el),
        why: 'not the first candidate of its transport-info' });
    }
    const c0 = attrsOf(first.el);
    let line;
    try {
      line = convCandidateToSdp(c0, first.transport.getAttribute('ufrag'));
    } catch (e) {
      rec.reply = 'bad-request';
      rec.why = String(e.message);
      reply(item, stanzaError('modify', 'bad-request'));
      return;
    }
    try {
      await pc.addIceCandidate({ candidate: line, sdpMid: mid, sdpMLineIndex: idx });
    } catch (e) {
      rec.reply = 'not-acceptable';
      rec.why = `addIceCandidate: ${e}`;
      reply(item, stanzaError('modify', 'not-acceptable'));
      return;
    }
    rec.reply = 'result';
    rec.used = { mid, ip: c0.ip, port: Number(c0.port), protocol: c0.protocol, type: c0.type };
    res.candidates_used.push({ t: now(), fake: item.fake, ...rec.used });
    reply(item, null);
  }

  // --- our candidates (MLCall.m didDiscoverLocalCandidate) -------------------
  function onLocalCandidate(c) {
    if (!c || !c.candidate || S.isFinished) return;
    const f = c.candidate.split(' ');
    res.local_candidates.push({ t: now(), ip: f[4], port: Number(f[5]), protocol: f[2], mid: c.sdpMid, candidate: c.candidate });
    // The pwd is read from our offer (the content named like the mid);
    // after a restart (not Monal's) from our restart offer.
    const local = S.localSDP && S.localSDP.contents.get(c.sdpMid);
    const cand = monalCandidateContent(c.sdpMid, local ? local.transport.pwd : null, c.candidate);
    // The release build drops TCP candidates ("it's using tcp instead of udp").
    if (cand.protocol === 'tcp') { res.candidates_dropped_tcp++; return; }
    const x = { xml: cand.xml, ip: cand.ip, port: cand.port, ufrag: cand.ufrag };
    // Held until the offer and the answer have both been processed.
    if (!S.remoteSDP || !S.localSDP) {
      S.outgoingCandidateQueue.push(x);
      res.candidates_held++;
      return;
    }
    if (S.restart && S.restart.holding) { S.restart.held.push(x); return; }
    sendCandidateIq(x);
  }

  function sendCandidateIq(x) {
    if (S.isFinished) return;
    res.candidates_sent++;
    const r = S.restart;
    if (r && r.rec.result_t) r.rec.candidates_sent = (r.rec.candidates_sent || 0) + 1;
    const { reply: p } = sendIq(S.fullRemoteJid, 'set',
      `<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='${xmlEscape(S.jmiid)}'>${x.xml}</jingle>`, uuid());
    p.then(y => {   // errors are only logged
      if (y.type !== 'result') {
        res.iq_errors.push({ t: now(), action: 'transport-info', condition: iqErrorCondition(y.doc), xml: (y.xml || '').slice(0, 2000) });
      }
    });
  }

  // --- ICE state (MLCall.m didChangeConnectionState: RTCIceConnectionState)
  function onIceState() {
    const state = pc.iceConnectionState;
    res.states.push({ t: now(), ice: state, pc: pc.connectionState, signaling: pc.signalingState });
    if (pc.connectionState === 'connected' && res.timings_ms.dtls_connected === undefined) {
      res.timings_ms.dtls_connected = now();
    }
    if (S.isFinished || state === S.lastIce) { wake(); return; }
    S.lastIce = state;
    if (state === 'connected' || state === 'completed') {
      // isConnected → startCallDuartionTimer: every timer stopped (the
      // audio session counts as active: no CallKit here).
      S.isConnected = true;
      S.wasConnectedOnce = true;
      S.isReconnecting = false;
      for (const n of ['discovering', 'ringing', 'connecting', 'reconnecting']) cancelTimer(n);
      if (S.connectedAt === null) {
        S.connectedAt = performance.now();
        res.connected = true;
        res.timings_ms.connected = now();
        emit({ event: 'connected', t: now(), sid: S.jmiid });
      }
      const r = res.ice_restarts[res.ice_restarts.length - 1];
      if (r && r.answer_applied && !r.reconnected) { r.reconnected = now(); emit({ event: 'ice_restart_connected', t: now() }); }
    } else if (state === 'disconnected') {
      if (restartMode) {
        log('ICE disconnected (restart mode: not ended)');
      } else {
        // delayedEnd:2.0 withDisconnectedState:YES: ended 2 s later, whatever happens meanwhile.
        setTimeout(() => {
          if (S.isFinished) return;
          S.isConnected = false;
          res.error = res.error || 'ICE disconnected: call ended after 2 s';
          end(res.error);
        }, 2000);
      }
    } else if (state === 'failed') {
      if (restartMode && S.wasConnectedOnce && !S.restart) {
        restartIce('ice failed');
      } else if (!restartMode || !S.restart) {
        S.isConnected = false;
        res.error = res.error || 'ICE failed';
        end(res.error);
      }
    }
    wake();
  }

  // --- ICE restart (not Monal's: see the mode's header) -----------------------
  function restartIce(trigger) {
    if (S.isFinished || S.restart) return;
    const rec = { t: now(), trigger, by: 'us', stats_before: statsPoint() };
    res.ice_restarts.push(rec);
    S.restart = { rec, holding: true, awaitingAnswer: true, held: [], offerSent: false };
    S.isReconnecting = true;
    startTimer('reconnecting', RECONNECTING_S, () => {
      res.error = res.error || `not reconnected within ${RECONNECTING_S} s of the ICE restart`;
      end(res.error);
    });
    log('restartIce', trigger);
    emit({ event: 'ice_restart', t: now(), trigger });
    pc.restartIce();
  }

  async function renegotiate() {
    const R = S.restart;
    if (!R || R.offerSent || S.isFinished || pc.signalingState !== 'stable') return;
    R.offerSent = true;
    await pc.setLocalDescription();
    const map = convContentMapFromSdp(convSdpParse(pc.localDescription.sdp), true);
    R.rec.local_credentials = { t: now(), ufrag: convDistinctCredentials(map).ufrag };
    S.localSDP = map;
    R.rec.transport_info_t = now();
    const { reply: p } = sendIq(S.fullRemoteJid, 'set', convJingleXml('transport-info', S.jmiid, convRestartTransportInfo(map)), uuid());
    const r = await p;
    R.rec.reply = r.type;
    if (r.type !== 'result') {
      R.rec.error = iqErrorCondition(r.doc);
      R.rec.error_xml = (r.xml || '').slice(0, 2000);
      return;
    }
    R.rec.result_t = now();
    R.holding = false;
    for (const x of R.held.splice(0)) sendCandidateIq(x);
  }

  // The peer's answer: its new credentials on the description it already
  // gave us (Conversations' way: RtpContentMap.modifiedCredentials with the
  // DTLS setup it has).
  async function applyRestartAnswer(jingle, trec) {
    const R = S.restart;
    R.awaitingAnswer = false;
    try {
      const newCred = convDistinctCredentials(convContentMapFromJingle(jingle));
      if (!S.peerSetup || S.peerSetup === 'actpass') throw new Error('Invalid peer setup');
      const restartMap = convModifiedCredentials(S.remoteSDP.map, newCred, S.peerSetup);
      R.rec.remote_credentials = { t: now(), ufrag: newCred.ufrag, isOffer: false };
      await pc.setRemoteDescription({ type: 'answer', sdp: convSdpFromContentMap(restartMap, false) });
      S.remoteSDP.map = restartMap;
      for (const n of S.remoteSDP.names) S.remoteSDP.creds.set(n, { ...newCred });
      R.rec.answer_applied = now();
      trec.restart_answer = true;
    } catch (e) {
      R.rec.failed = String(e && e.message || e);
      log('restart answer not applied', R.rec.failed);
    }
  }

  // A restart is through when media flows on another pair (libwebrtc
  // switches pairs without leaving 'connected').
  function noteNewPair() {
    const r = res.ice_restarts[res.ice_restarts.length - 1];
    const pair = lastStats && lastStats.selected_pair;
    if (!r || r.pair_changed || !pair || !r.stats_before) return;
    if (JSON.stringify(pair) === JSON.stringify(r.stats_before.selected_pair)) return;
    r.pair_changed = now();
    r.new_pair = pair;
    if (!r.reconnected) {
      r.reconnected = now();
      cancelTimer('reconnecting');
      S.isReconnecting = false;
      emit({ event: 'ice_restart_connected', t: now() });
    }
  }

  function statsPoint() {
    const s = lastStats || {};
    return {
      t: now(),
      audio_packets: s.audio ? s.audio.packetsReceived || 0 : 0,
      audio_energy: s.audio ? s.audio.totalAudioEnergy || 0 : 0,
      audio_samples: s.audio ? s.audio.totalSamplesReceived || 0 : 0,
      video_frames: s.video ? s.video.framesDecoded || 0 : 0,
      selected_pair: s.selected_pair || null,
    };
  }

  // MLVoIPProcessor.m initWebRTCForPendingCall → createWebRTCClientForCall
  // (WebRTCClient.swift): unified plan, no ICE servers here, the audio track
  // first, video only for a video call.
  function createWebRTCClient() {
    pc = new RTCPeerConnection({ iceServers: [] });
    for (const kind of ['audio', 'video']) {
      for (const track of localStream.getTracks().filter(t => t.kind === kind)) pc.addTrack(track, localStream);
    }
    pc.addEventListener('track', ev => {
      log('remote track', ev.track.kind);
      const el = document.getElementById(ev.track.kind === 'audio' ? 'remote-audio' : 'remote-video');
      if (el) {
        el.srcObject = new MediaStream([ev.track]);
        el.play().catch(e => log('play failed', String(e)));
      }
    });
    pc.addEventListener('icecandidate', ev => onLocalCandidate(ev.candidate));
    pc.addEventListener('iceconnectionstatechange', onIceState);
    pc.addEventListener('connectionstatechange', onIceState);
    pc.addEventListener('negotiationneeded', () => { renegotiate().catch(e => log('renegotiate', String(e))); });
  }

  // --- the call -------------------------------------------------------------
  try {
    if (cfg.mode !== 'call') throw new Error('monal mode places calls only (mode "call")');
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: wantVideo });
    res.timings_ms.media = now();
    const [user, resource] = [bareJid(cfg.jid), String(cfg.jid).split('/').slice(1).join('/')];
    client = createClient({
      jid: user, password: cfg.password, resource: resource || undefined,
      transports: { websocket: cfg.ws, bosh: false },
      useStreamManagement: false, autoReconnect: false,
      jingle: { iceServers: [] }, capsNode: MONAL_CAPS_NODE,
    });
    kit.client = client;
    // StanzaJS's Jingle module must not answer Jingle IQs (Monal leaves
    // some unanswered): a listener of our own keeps it quiet.
    client.removeAllListeners('iq:set:jingle');
    client.on('iq:set:jingle', () => {});
    const features = client.disco.features.get('');
    features.clear();
    for (const f of MONAL_FEATURES) features.add(f);
    client.disco.identities.set('', [MONAL_IDENTITY]);
    client.on('raw:incoming', xml => onRaw('in', xml));
    client.on('raw:outgoing', xml => onRaw('out', xml));
    client.on('session:started', () => {
      loggedIn = true;
      res.jid = client.jid;
      let caps = null;
      try { client.updateCaps(); caps = client.getCurrentCaps(); } catch (e) { log('caps', String(e)); }
      client.sendPresence(caps ? { legacyCapabilities: caps.legacyCapabilities } : {});
      wake();
    });
    client.on('auth:failed', () => { authFailed = 'authentication failed'; wake(); });
    client.on('disconnected', () => { if (!loggedIn) { authFailed = 'disconnected'; wake(); } });
    client.connect();
    await until(() => loggedIn || authFailed, Math.min(left(), 15000), 'login');
    if (!loggedIn) throw new Error(`login failed: ${authFailed}`);
    res.timings_ms.login = now();
    emit({ event: 'ready', jid: res.jid });

    S.contact = bareJid(cfg.target);
    // The contact's presence (adding a contact subscribes); its caps are
    // what chatViewController.m openCallScreen: looks at.
    sendRaw(`<presence xmlns='jabber:client' type='subscribe' to='${xmlEscape(S.contact)}'/>`);
    const capsWaitMs = (cfg.caps_timeout || 8) * 1000;
    const mine = () => [...presences.values()].filter(e => bareJid(e.from) === S.contact);
    const settled = () => mine().length > 0 && mine().every(e => e.features ||
      res.caps.some(c => c.from === e.from && (c.why || c.verified)));
    try { await until(() => mine().some(e => e.features && e.features.has(NS_JMI)) || settled(),
      Math.min(left(), capsWaitMs), 'the contact\'s caps'); } catch { /* judged below */ }
    res.timings_ms.caps = now();
    // DataLayer.m checkCap: any resource whose (verified) caps name JMI.
    // Without it Monal warns ("Missing Call Support") and the user may go on.
    res.jmi_cap = mine().some(e => e.features && e.features.has(NS_JMI));
    if (!res.jmi_cap) {
      res.call_warning = 'Missing Call Support: Your contact may not support calls. ' +
        'Your call might never reach its destination. (Try nevertheless)';
      log(res.call_warning);
    }

    // MLVoIPProcessor.m performStartCallAction: sendJmiPropose, then the
    // WebRTC client. MLCall.m sendJmiPropose: to the contact (bare JID),
    // type chat, a UUID message id, <propose id=jmiid> with an audio
    // description (and a video one for a video call), <store/>; no receipt
    // request. Then 30 s for ringing or proceed.
    S.jmiid = uuid();
    res.sid = S.jmiid;
    res.call_type = S.callType;
    res.propose = true;
    const desc = ['audio'].concat(S.callType === 'video' ? ['video'] : [])
      .map(m => `<description xmlns='${NS_RTP}' media='${m}'/>`).join('');
    S.proposeMsgId = uuid();
    S.jmiPropose = true;
    sendJmi('propose', S.contact, desc, S.proposeMsgId);
    res.timings_ms.propose = now();
    startTimer('discovering', DISCOVERING_S, () => {
      res.error = res.error || `no ringing in ${DISCOVERING_S} s`;
      end(res.error);
    });
    createWebRTCClient();

    await until(() => S.connectedAt !== null || S.isFinished, left(), 'connected');
    if (S.connectedAt === null) throw new Error(res.error || `call ended before it connected (${res.finish_reason})`);

    if (restartMode) {
      const delay = Math.max(0, S.connectedAt + cfg.ice_restart_after * 1000 - performance.now());
      setTimeout(() => restartIce('scheduled'), delay);
    }

    const endAt = S.connectedAt + durationMs;
    let nextTimeline = S.connectedAt;
    while (!S.isFinished && performance.now() < endAt) {
      try { lastStats = summariseStats(await pc.getStats()); } catch (e) { log('getStats failed', String(e)); }
      noteNewPair();
      if (lastStats && performance.now() >= nextTimeline) {
        nextTimeline += 1000;
        res.timeline.push({
          t: now(), pc: pc.connectionState, ice: pc.iceConnectionState,
          audio_packets: lastStats.audio ? lastStats.audio.packetsReceived : 0,
          audio_samples: lastStats.audio ? lastStats.audio.totalSamplesReceived : 0,
          audio_energy: lastStats.audio ? lastStats.audio.totalAudioEnergy : 0,
          video_frames: lastStats.video ? lastStats.video.framesDecoded : 0,
          pair: lastStats.selected_pair,
        });
      }
      await sleep(Math.min(250, Math.max(1, endAt - performance.now())));
    }
    if (!S.isFinished) {
      try { lastStats = summariseStats(await pc.getStats()); } catch (e) { log('getStats failed', String(e)); }
    }
    res.timings_ms.measured = now();
    res.terminated_early = S.isFinished;
    res.local_sdp = pc.localDescription ? pc.localDescription.sdp : null;
    const linger = (cfg.linger === undefined ? 1.5 : cfg.linger) * 1000;
    if (!S.isFinished) {
      try { await until(() => S.isFinished, Math.min(linger, left()), 'remote hang-up'); } catch { /* ours */ }
    }
    if (!S.isFinished) {
      end('hung up');   // the user ends the call: MLCall.m end → success
      await sleep(200);
    }
    // A call counts when it connected and ended normally (by us after the
    // measurement, or by the peer with success).
    res.ok = !res.error && S.finishReason === 'normal' &&
      !(res.terminated_by === 'remote' && res.terminated_early && res.terminate_reason !== 'success');
    if (!res.ok && !res.error) res.error = `call ended: ${S.finishReason} (${res.terminated_by} ${res.terminate_reason})`;
  } catch (e) {
    res.error = res.error || String(e && e.message || e);
    log('error', String(e && e.message || e));
    if (S.jmiPropose && !S.isFinished) end(res.error);
  } finally {
    for (const n of Object.keys(S.timers)) cancelTimer(n);
    res.stats = lastStats;
    applyMediaTotals(res, lastStats);
    const endPoint = statsPoint();
    for (const r of res.ice_restarts) {
      if (!r.stats_before) continue;
      r.after = { audio_packets: endPoint.audio_packets - r.stats_before.audio_packets,
        audio_energy: endPoint.audio_energy - r.stats_before.audio_energy,
        audio_samples: endPoint.audio_samples - r.stats_before.audio_samples,
        video_frames: endPoint.video_frames - r.stats_before.video_frames,
        until: endPoint.t, selected_pair_at_end: endPoint.selected_pair };
    }
    res.state = { finished: S.isFinished, finish_reason: S.finishReason, proceeded: !!S.jmiProceed,
      was_connected: S.wasConnectedOnce, queued_incoming: S.incomingCandidateQueue.length,
      queued_outgoing: S.outgoingCandidateQueue.length };
    res.timings_ms.end = now();
    if (client) {
      await sleep(300);
      try { await Promise.race([client.disconnect(), sleep(1000)]); } catch { /* ignore */ }
    }
  }
  return res;
}

window.belfryPeer = { run };
