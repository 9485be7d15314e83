// The Chromium peer: StanzaJS over Prosody's WebSocket, libwebrtc for media.
// Bundled by build.mjs; driven by chromium-peer.mjs through
// window.belfryPeer.run(cfg), which resolves to the result object.
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

async function run(cfg) {
  const res = {
    ok: false, error: null, peer: 'chromium', mode: cfg.mode, jid: null, remote_jid: null,
    sid: null, propose: !!cfg.propose,
    timings_ms: {}, states: [], connected: false, terminated_by: null, terminate_reason: null,
    audio_total_samples_received: 0, audio_total_energy: 0, audio_packets_received: 0,
    video_frames_decoded: 0, video_packets_received: 0,
    remote_candidates: [], stats: null, timeline: [], jingle: [], jmi: [], iq_errors: [],
    local_sdp: null, remote_sdp: null, log: [],
    session_info_sent: [], session_info_received: [],
  };
  const log = (...a) => {
    const line = `${now()} ` + a.map(x => typeof x === 'string' ? x : JSON.stringify(x)).join(' ');
    res.log.push(line.slice(0, 2000));
  };
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
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
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
    client.jingle.on('log', (level, msg, ...args) => {
      if (level === 'error' || level === 'info') log('jingle', level, msg, ...args.map(a => String(a && a.message || a).slice(0, 300)));
    });
    client.jingle.on('peerTrackAdded', (sess, track) => {
      log('remote track', track.kind);
      if (track.kind === 'audio') {
        const el = document.getElementById('remote-audio');
        el.srcObject = new MediaStream([track]);
        el.play().catch(e => log('audio play failed', String(e)));
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
      if (!res.terminated_by) res.terminated_by = 'remote';
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
      const rec = { t: now(), info: item.info, name: null, creator: null };
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
    while (!ended && performance.now() < endAt) {
      try {
        lastStats = summariseStats(await session.pc.getStats());
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
      await sleep(Math.min(250, Math.max(1, endAt - performance.now())));
    }
    if (!ended) {
      try { lastStats = summariseStats(await session.pc.getStats()); } catch (e) { log('getStats failed', String(e)); }
    }
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
    res.stats = lastStats;
    if (lastStats) {
      if (lastStats.audio) {
        res.audio_total_samples_received = lastStats.audio.totalSamplesReceived || 0;
        res.audio_total_energy = lastStats.audio.totalAudioEnergy || 0;
        res.audio_packets_received = lastStats.audio.packetsReceived || 0;
      }
      if (lastStats.video) {
        res.video_frames_decoded = lastStats.video.framesDecoded || 0;
        res.video_packets_received = lastStats.video.packetsReceived || 0;
      }
    }
    res.timings_ms.end = now();
    if (client) {
      // Let queued stanzas (the reply to a session-terminate) go out first.
      await sleep(300);
      try { await Promise.race([client.disconnect(), sleep(1000)]); } catch { /* ignore */ }
    }
  }
  return res;
}

window.belfryPeer = { run };
