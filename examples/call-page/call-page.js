// belfry's call page: logs in to Prosody over its WebSocket with StanzaJS,
// calls echo@<relay> or another account through belfry's call relay (or
// answers such a call), and shows both videos, the audio levels and every
// Jingle / XEP-0353 step.  The browser's own WebRTC does the media.
//
// Bundled by tests/e2e/build.mjs (`node tests/e2e/build.mjs call-page OUT`);
// scripts/run-local.sh serves the bundle, index.html, call-page.css and a
// config.json (domain, relay, accounts, password) from Prosody's http port.
//
// window.callPage.snapshot() returns the page's state as plain data (the
// e2e test tests/e2e/test_call_page.py reads it).
import { createClient } from 'stanza';

const NS_JINGLE = 'urn:xmpp:jingle:1';
const NS_JMI = 'urn:xmpp:jingle-message:0';
const NS_ICE_UDP = 'urn:xmpp:jingle:transports:ice-udp:1';
const NS_RTP = 'urn:xmpp:jingle:apps:rtp:1';
const NS_RTP_INFO = 'urn:xmpp:jingle:apps:rtp:info:1';
const LOG_MAX = 500;
const STATS_INTERVAL_MS = 500;
const ICE_HINT_MS = 8000;

const $ = id => document.getElementById(id);
const t0 = performance.now();
const secs = () => ((performance.now() - t0) / 1000).toFixed(2);

const state = {
  ready: false,    // config.json read, the form filled in
  config: null,
  loggedIn: false,
  jid: null,
  call: null,      // the current or last call (see newCall)
  calls: 0,        // calls placed or answered since the page loaded
  log: [],         // {t, kind, dir, text}
  errors: [],
};

let client = null;
let localStream = null;
let syntheticStop = null;   // stops the test pattern / tone, when in use
let statsTimer = null;

// ---------------------------------------------------------------------------
// Log
// ---------------------------------------------------------------------------

// kind: 'jingle' | 'jmi' | 'state' | 'info' | 'error'; dir: '→' sent, '←' received.
function log(kind, text, dir = '') {
  const entry = { t: Number(secs()), kind, dir, text };
  state.log.push(entry);
  if (state.log.length > LOG_MAX) state.log.shift();
  if (kind === 'error') state.errors.push(text);
  const li = document.createElement('li');
  li.className = `${kind} ${dir === '→' ? 'out' : dir === '←' ? 'in' : ''}`;
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = `${entry.t.toFixed(2)}s`;
  const d = document.createElement('span');
  d.className = 'dir';
  d.textContent = dir ? `${dir} ` : '  ';
  li.append(t, d, document.createTextNode(text));
  const ol = $('log');
  const atBottom = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
  ol.append(li);
  while (ol.children.length > LOG_MAX) ol.firstElementChild.remove();
  if (atBottom) ol.scrollTop = ol.scrollHeight;
}

// ---------------------------------------------------------------------------
// JIDs
// ---------------------------------------------------------------------------

const bare = jid => String(jid || '').split('/')[0];
const localOf = jid => bare(jid).includes('@') ? bare(jid).split('@')[0] : '';
const domainOf = jid => bare(jid).split('@').pop();

// XEP-0106 escaping of a whole bare JID as a localpart (lower-case hex, as
// belfry expects): bob@example.org -> bob\40example.org.
const ESCAPES = { ' ': '\\20', '"': '\\22', '&': '\\26', "'": '\\27', '/': '\\2f', ':': '\\3a',
  '<': '\\3c', '>': '\\3e', '@': '\\40' };
function escapeNode(s) {
  return s.replace(/\\(20|22|26|27|2f|3a|3c|3e|40|5c)/gi, m => '\\5c' + m.slice(1))
    .replace(/[ "&'/:<>@]/g, c => ESCAPES[c]);
}
function unescapeNode(s) {
  return s.replace(/\\(20|22|26|27|2f|3a|3c|3e|40|5c)/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

function relayDomain() {
  return (state.config && state.config.relay) || `relay.${domainOf(state.jid)}`;
}

// The address to call for `target`: through the relay, user@domain becomes
// user\40domain@relay; anything already on the relay's domain is kept.
function callAddress(target, viaRelay) {
  target = target.trim();
  if (!viaRelay || domainOf(target) === relayDomain()) return target;
  return `${escapeNode(bare(target))}@${relayDomain()}`;
}

// How to show a JID: relay addresses as "user@domain (through relay)".
function displayJid(jid) {
  const b = bare(jid);
  if (domainOf(b) === relayDomain() && localOf(b).includes('\\40')) {
    return `${unescapeNode(localOf(b))} (through ${relayDomain()})`;
  }
  return b;
}

// ---------------------------------------------------------------------------
// XML helpers (StanzaJS has no XEP-0353: JMI is sent and read as raw XML)
// ---------------------------------------------------------------------------

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, c => ({
    '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;'
  })[c]);
}

function randomId() {
  const a = new Uint8Array(9);
  crypto.getRandomValues(a);
  return Array.from(a, b => b.toString(16).padStart(2, '0')).join('');
}

function sendRaw(xml) {
  client.transport.write(xml);
}

function sendJmi(to, el, id, extra = '') {
  sendRaw(`<message xmlns='jabber:client' to='${xmlEscape(to)}' type='chat' id='${randomId()}'>` +
          `<${el} xmlns='${NS_JMI}' id='${xmlEscape(id)}'>${extra}</${el}>` +
          `<store xmlns='urn:xmpp:hints'/></message>`);
  log('jmi', `JMI ${el} to ${to}`, '→');
}

// ---------------------------------------------------------------------------
// The Jingle log: every Jingle and JMI stanza, read from the raw XML
// ---------------------------------------------------------------------------

const sentActions = new Map();   // iq id -> Jingle action we sent

function childrenNS(el, ns, name) {
  return Array.from(el.children).filter(c => c.namespaceURI === ns && (!name || c.localName === name));
}

function describeJingle(jingle) {
  const action = jingle.getAttribute('action');
  const parts = [action];
  const contents = childrenNS(jingle, NS_JINGLE, 'content');
  const names = [];
  const cands = [];
  for (const c of contents) {
    const desc = childrenNS(c, NS_RTP, 'description')[0];
    const codecs = desc ? childrenNS(desc, NS_RTP, 'payload-type').map(p => p.getAttribute('name')) : [];
    if (desc) names.push(`${c.getAttribute('name')}=${desc.getAttribute('media')}` +
                         (codecs.length ? ` [${codecs.slice(0, 4).join(' ')}${codecs.length > 4 ? ' …' : ''}]` : ''));
    for (const t of childrenNS(c, NS_ICE_UDP, 'transport')) {
      for (const cand of childrenNS(t, NS_ICE_UDP, 'candidate')) {
        cands.push(`${cand.getAttribute('protocol')} ${cand.getAttribute('ip')}:${cand.getAttribute('port')}` +
                   ` ${cand.getAttribute('type')}`);
      }
    }
  }
  if (names.length) parts.push(names.join(', '));
  // BUNDLE: the same candidate is often listed under every content.
  const uniq = [...new Set(cands)];
  if (uniq.length) parts.push(`candidate${uniq.length > 1 ? 's' : ''} ${uniq.join('; ')}`);
  else if (action === 'transport-info') parts.push('(no more candidates)');
  const reason = childrenNS(jingle, NS_JINGLE, 'reason')[0];
  if (reason) {
    const cond = Array.from(reason.children).find(e => e.localName !== 'text');
    const text = childrenNS(reason, NS_JINGLE, 'text')[0];
    parts.push(`reason ${cond ? cond.localName : '?'}${text ? ` (${text.textContent})` : ''}`);
  }
  const infos = childrenNS(jingle, NS_RTP_INFO).map(e => e.localName + (e.getAttribute('name') ? ` ${e.getAttribute('name')}` : ''));
  if (infos.length) parts.push(infos.join(', '));
  return parts.join('  ');
}

function onRaw(dir, xml) {
  const isJingle = xml.includes(NS_JINGLE);
  const isJmi = xml.includes(NS_JMI);
  const isError = dir === 'in' && /^<iq\b[^>]*\btype=["']error["']/.test(xml);
  if (!isJingle && !isJmi && !isError) return;
  let doc;
  try { doc = new DOMParser().parseFromString(xml, 'application/xml'); } catch { return; }
  const top = doc.documentElement;
  if (!top || top.localName === 'parsererror') return;
  const peer = top.getAttribute(dir === 'in' ? 'from' : 'to') || '';
  if (isError) {
    const action = sentActions.get(top.getAttribute('id'));
    if (!action) return;
    const err = Array.from(top.getElementsByTagName('error')[0]?.children || []).map(e => e.localName);
    log('error', `error reply to ${action} from ${peer}: ${err.join(' ') || 'unknown'}`, '←');
    return;
  }
  if (top.localName === 'iq' && isJingle) {
    const jingle = top.getElementsByTagNameNS(NS_JINGLE, 'jingle')[0];
    if (!jingle || top.getAttribute('type') !== 'set') return;
    if (dir === 'out') sentActions.set(top.getAttribute('id'), jingle.getAttribute('action'));
    log('jingle', `${describeJingle(jingle)}  ${dir === 'in' ? 'from' : 'to'} ${peer}`, dir === 'in' ? '←' : '→');
    return;
  }
  if (top.localName === 'message' && isJmi && dir === 'in') {
    const el = top.getElementsByTagNameNS(NS_JMI, '*')[0];
    if (el) onJmi(top.getAttribute('from'), el);
  }
}

// ---------------------------------------------------------------------------
// Local media: camera and microphone, or a generated test pattern and tone
// ---------------------------------------------------------------------------

function testPattern(label) {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 480;
  const g = canvas.getContext('2d');
  let n = 0;
  // A timer, not requestAnimationFrame: frames keep coming in a tab that is
  // not in front (at a lower rate).
  const timer = setInterval(() => {
    n++;
    const hue = (n * 3) % 360;
    g.fillStyle = `hsl(${hue} 45% 30%)`;
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#fff';
    g.fillRect((n * 8) % 640, 0, 24, 480);
    g.font = 'bold 40px sans-serif';
    g.fillText(label, 30, 80);
    g.font = '32px monospace';
    g.fillText(new Date().toISOString().slice(11, 23), 30, 440);
  }, 1000 / 15);
  const video = canvas.captureStream(15).getVideoTracks()[0];

  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = 440;
  const gain = ctx.createGain();
  gain.gain.value = 0;
  // A 440 Hz beep, 0.25 s every second: easy to hear and to see on a meter.
  const beep = setInterval(() => {
    const at = ctx.currentTime;
    gain.gain.setValueAtTime(0.3, at);
    gain.gain.setValueAtTime(0, at + 0.25);
  }, 1000);
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  const audio = dest.stream.getAudioTracks()[0];
  const stop = () => { clearInterval(timer); clearInterval(beep); osc.stop(); ctx.close(); };
  return { audio, video, stop };
}

async function getLocalMedia() {
  stopLocalMedia();
  const source = $('media-source').value;
  let audio = null, video = null;
  if (source === 'camera') {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      audio = s.getAudioTracks()[0] || null;
      video = s.getVideoTracks()[0] || null;
    } catch (e) {
      log('error', `camera and microphone: ${e.name}: ${e.message}; trying one at a time`);
      for (const kind of ['audio', 'video']) {
        try {
          const s = await navigator.mediaDevices.getUserMedia({ [kind]: true });
          if (kind === 'audio') audio = s.getAudioTracks()[0]; else video = s.getVideoTracks()[0];
        } catch (e2) {
          log('error', `${kind}: ${e2.name}: ${e2.message}`);
        }
      }
    }
  }
  if (!audio || !video) {
    const t = testPattern(localOf(state.jid) || 'belfry');
    syntheticStop = t.stop;
    if (!audio) audio = t.audio;
    if (!video) video = t.video;
    log('info', source === 'camera' ? 'sending the test pattern / tone for what the camera and microphone did not give'
                                     : 'sending a test pattern and a 440 Hz beep');
  }
  localStream = new MediaStream([audio, video]);
  $('local-video').srcObject = localStream;
  return localStream;
}

function stopLocalMedia() {
  if (localStream) {
    for (const t of localStream.getTracks()) t.stop();
    localStream = null;
  }
  if (syntheticStop) {
    try { syntheticStop(); } catch { /* already stopped */ }
    syntheticStop = null;
  }
  $('local-video').srcObject = null;
}

// ---------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------

function newCall(fields) {
  state.calls++;
  const call = {
    sid: null, peer: null, display: null, direction: null, jmi: false,
    phase: null, ice: null, connection: null, signaling: null, session_state: null,
    reason: null, ended_by: null, answered: false,
    started_at: Number(secs()), connected_at: null, ended_at: null,
    stats: emptyStats(), session: null,
    ...fields,
  };
  state.call = call;
  return call;
}

function emptyStats() {
  return {
    audio_level: 0, audio_level_peak: 0, audio_energy: 0, audio_samples: 0, audio_packets: 0,
    audio_codec: null,
    local_audio_level: 0,
    video_frames_decoded: 0, video_packets: 0, video_codec: null, frame_width: 0, frame_height: 0,
    fps: 0, local_pair: null, remote_pair: null, srtp_cipher: null, dtls_state: null,
  };
}

const activeCall = () => state.call && state.call.phase !== 'ended' ? state.call : null;

function setPhase(call, phase, note) {
  if (call.phase === phase) return;
  call.phase = phase;
  log('state', `call ${phase}${note ? `: ${note}` : ''}`);
  render();
}

// A bare user JID (not on the relay) is rung first with a XEP-0353 propose,
// as Conversations and Dino do: a session-initiate needs a full JID.  The
// relay's addresses (echo, user\40domain) take session-initiate at once.
async function placeCall(address) {
  if (activeCall()) { log('error', 'hang up first'); return; }
  if (!state.loggedIn) return;
  const jmi = !address.includes('/') && domainOf(address) !== relayDomain();
  const call = newCall({ direction: 'outgoing', peer: address, display: displayJid(address),
    sid: randomId(), jmi });
  setPhase(call, 'calling', `to ${address}`);
  try {
    await getLocalMedia();
    if (call.phase === 'ended') { stopLocalMedia(); return; }
    if (jmi) {
      const desc = ['audio', 'video'].map(m => `<description xmlns='${NS_RTP}' media='${m}'/>`).join('');
      sendJmi(address, 'propose', call.sid, desc);   // onJmi takes the proceed
      return;
    }
    await startSession(call, address);
  } catch (e) {
    log('error', `call failed: ${e.message || e}`);
    endCall(call, 'failed-application', 'local');
  }
}

async function startSession(call, to) {
  const session = client.jingle.createMediaSession(to, call.sid, localStream);
  attachSession(call, session);
  await session.start();
}

function attachSession(call, session) {
  call.session = session;
  call.sid = session.sid;
  const pc = session.pc;
  const note = () => {
    if (call.ice !== pc.iceConnectionState) {
      call.ice = pc.iceConnectionState;
      log('state', `ICE ${call.ice}`);
    }
    if (call.connection !== pc.connectionState) {
      call.connection = pc.connectionState;
      log('state', `peer connection ${call.connection} (ICE + DTLS)`);
      if (call.connection === 'connected' && call.connected_at === null) {
        call.connected_at = Number(secs());
        setPhase(call, 'connected');
      }
      if (call.connection === 'failed') log('error', 'media path failed (ICE or DTLS)');
    }
    call.signaling = pc.signalingState;
    render();
  };
  pc.addEventListener('iceconnectionstatechange', note);
  pc.addEventListener('connectionstatechange', note);
  // Still no media path after a while: the usual reason with run-local.sh.
  setTimeout(() => {
    if (state.call !== call || call.connected_at !== null || call.phase === 'ended' ||
        !session.pc.remoteDescription) return;
    log('error', `no ICE connection after ${ICE_HINT_MS / 1000} s (ICE ${pc.iceConnectionState}). ` +
        'run-local.sh has belfry offer 127.0.0.1 only: open this page on the same machine; ' +
        'Firefox pairs no loopback candidate unless media.peerconnection.ice.loopback is true ' +
        '(about:config)');
  }, ICE_HINT_MS);
  // An incoming session's tracks were added while StanzaJS processed its
  // session-initiate, before it became this call's: play them now.
  for (const r of pc.getReceivers()) if (r.track) playRemote(r.track);
  if (!statsTimer) statsTimer = setInterval(pollStats, STATS_INTERVAL_MS);
}

// Received audio must be played (an <audio> sink), or Chromium decodes none.
function playRemote(track) {
  const el = $(track.kind === 'audio' ? 'remote-audio' : 'remote-video');
  if (el.srcObject && el.srcObject.getTracks()[0] === track) return;
  el.srcObject = new MediaStream([track]);
  el.play().catch(e => log('error', `${track.kind} play: ${e.message}`));
}

// An incoming XEP-0353 message (propose, retract, ringing, proceed, reject).
function onJmi(from, el) {
  const id = el.getAttribute('id');
  const what = el.localName;
  const media = Array.from(el.getElementsByTagNameNS(NS_RTP, 'description')).map(d => d.getAttribute('media'));
  log('jmi', `JMI ${what}${media.length ? ` (${media.join(', ')})` : ''} from ${from}`, '←');
  const call = state.call;
  if (what === 'propose') {
    if (activeCall()) {
      sendJmi(from, 'reject', id, `<reason xmlns='${NS_JINGLE}'><busy/></reason>`);
      return;
    }
    const c = newCall({ direction: 'incoming', jmi: true, sid: id, peer: from, display: displayJid(from) });
    setPhase(c, 'incoming', `from ${c.display}`);
    // XEP-0353: tell the caller we are ringing (belfry passes it on).
    sendJmi(from, 'ringing', id);
  } else if (what === 'proceed' && call && call.sid === id && call.direction === 'outgoing' &&
             call.jmi && !call.session && call.phase !== 'ended') {
    // The callee's resource that answered: the session goes to it.
    call.peer = from;
    startSession(call, from).catch(e => {
      log('error', `call failed: ${e.message || e}`);
      endCall(call, 'failed-application', 'local');
    });
  } else if (what === 'ringing' && call && call.sid === id && call.direction === 'outgoing' &&
             call.phase === 'calling') {
    setPhase(call, 'ringing', `${call.display} is ringing`);
  } else if ((what === 'retract' || what === 'reject') && call && call.sid === id && call.phase !== 'ended') {
    endCall(call, what === 'retract' ? 'cancel' : 'decline', 'remote', true);
  } else if (what === 'accept' && call && call.sid === id && call.direction === 'incoming' && !call.answered) {
    // Answered by another of our own resources (another tab of this account).
    endCall(call, 'answered elsewhere', 'remote', true);
  }
}

function onIncomingSession(session) {
  const call = activeCall();
  // After our JMI <proceed/>: the session-initiate of that call.
  if (call && call.jmi && call.answered && !call.session &&
      (session.sid === call.sid || session.peerID === call.peer)) {
    attachSession(call, session);
    acceptSession(call);
    return;
  }
  if (call) {
    log('info', `busy: declining ${session.sid} from ${session.peerID}`);
    session.end('busy');
    return;
  }
  const c = newCall({ direction: 'incoming', sid: session.sid, peer: session.peerID,
    display: displayJid(session.peerID) });
  attachSession(c, session);
  setPhase(c, 'incoming', `from ${c.display}`);
  session.ring();
}

async function answer() {
  const call = activeCall();
  if (!call || call.direction !== 'incoming' || call.answered) return;
  call.answered = true;
  setPhase(call, 'connecting', 'answered');
  try {
    await getLocalMedia();
  } catch (e) {
    log('error', `no local media: ${e.message || e}`);
    hangUp();
    return;
  }
  if (call.phase === 'ended') { stopLocalMedia(); return; }
  if (call.session) {
    acceptSession(call);
  } else {
    // XEP-0353: proceed; the caller's session-initiate follows.
    sendJmi(call.peer, 'proceed', call.sid);
  }
}

function acceptSession(call) {
  for (const track of localStream.getTracks()) call.session.addTrack(track, localStream);
  call.session.accept();
}

function decline() {
  const call = activeCall();
  if (!call || call.direction !== 'incoming' || call.answered) return;
  if (call.session) {
    endCall(call, 'decline', 'local');
  } else {
    sendJmi(call.peer, 'reject', call.sid);
    endCall(call, 'decline', 'local', true);
  }
}

function hangUp() {
  const call = activeCall();
  if (!call) return;
  if (call.direction === 'incoming' && !call.answered) { decline(); return; }
  if (call.jmi && !call.session) {
    // Outgoing: proposed, no proceed yet -> retract.  Incoming: answered
    // (proceed sent), no session-initiate yet -> reject.
    sendJmi(call.peer, call.direction === 'outgoing' ? 'retract' : 'reject', call.sid);
    endCall(call, 'cancel', 'local', true);
    return;
  }
  const pending = call.connected_at === null && call.direction === 'outgoing';
  endCall(call, pending ? 'cancel' : 'success', 'local');
}

// Ends `call`: sends session-terminate with `reason` when we end it (unless
// `silent`: nothing to terminate); records who ended it and why.
function endCall(call, reason, by, silent = false) {
  if (call.phase === 'ended') return;
  call.reason = reason;
  call.ended_by = by;
  call.ended_at = Number(secs());
  call.phase = 'ended';
  if (call.session && by === 'local' && call.session.state !== 'ended') {
    try { call.session.end(reason, silent); } catch (e) { log('error', `session end: ${e.message}`); }
  }
  log('state', `call ended by ${by === 'local' ? 'you' : 'the other side'}: ${reason}`);
  finishCall();
}

function finishCall() {
  // One last look at the numbers, then stop.
  const call = state.call;
  if (call && call.session && call.session.pc && call.session.pc.connectionState !== 'closed') {
    pollStats().catch(() => {});
  }
  clearInterval(statsTimer);
  statsTimer = null;
  stopLocalMedia();
  $('remote-video').srcObject = null;
  $('remote-audio').srcObject = null;
  render();
}

// ---------------------------------------------------------------------------
// Stats: the meters, the numbers under the videos, and what the test reads
// ---------------------------------------------------------------------------

async function pollStats() {
  const call = state.call;
  if (!call || !call.session || !call.session.pc) return;
  const report = await call.session.pc.getStats();
  const s = call.stats;
  const byId = new Map();
  report.forEach(r => byId.set(r.id, r));
  const codec = r => (r.codecId && byId.get(r.codecId)) ? byId.get(r.codecId).mimeType : null;
  report.forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      s.audio_level = r.audioLevel || 0;
      s.audio_level_peak = Math.max(s.audio_level_peak, s.audio_level);
      s.audio_energy = r.totalAudioEnergy || 0;
      s.audio_samples = r.totalSamplesReceived || 0;
      s.audio_packets = r.packetsReceived || 0;
      s.audio_codec = codec(r);
    } else if (r.type === 'inbound-rtp' && r.kind === 'video') {
      s.video_frames_decoded = r.framesDecoded || 0;
      s.video_packets = r.packetsReceived || 0;
      s.video_codec = codec(r);
      s.frame_width = r.frameWidth || 0;
      s.frame_height = r.frameHeight || 0;
      s.fps = r.framesPerSecond || 0;
    } else if (r.type === 'media-source' && r.kind === 'audio') {
      s.local_audio_level = r.audioLevel || 0;
    } else if (r.type === 'transport') {
      s.dtls_state = r.dtlsState || null;
      s.srtp_cipher = r.srtpCipher || null;
      const pair = byId.get(r.selectedCandidatePairId);
      if (pair) {
        const l = byId.get(pair.localCandidateId) || {};
        const rm = byId.get(pair.remoteCandidateId) || {};
        s.local_pair = `${l.protocol} ${l.address}:${l.port} (${l.candidateType})`;
        s.remote_pair = `${rm.protocol} ${rm.address}:${rm.port} (${rm.candidateType})`;
      }
    }
  });
  renderStats(call);
}

function renderStats(call) {
  const s = call.stats;
  $('local-level').value = s.local_audio_level;
  $('remote-level').value = call.phase === 'ended' ? 0 : s.audio_level;
  const lines = [];
  if (s.video_codec || s.video_frames_decoded) {
    lines.push(`video  ${s.video_codec || '?'}  ${s.frame_width}x${s.frame_height}  ${Math.round(s.fps)} fps  ` +
               `${s.video_frames_decoded} frames decoded, ${s.video_packets} packets`);
  }
  if (s.audio_codec || s.audio_packets) {
    lines.push(`audio  ${s.audio_codec || '?'}  level ${s.audio_level.toFixed(3)}  ` +
               `${s.audio_packets} packets, energy ${s.audio_energy.toFixed(4)}`);
  }
  if (s.local_pair) lines.push(`path   ${s.local_pair}  <->  ${s.remote_pair}`);
  if (s.dtls_state) lines.push(`DTLS   ${s.dtls_state}${s.srtp_cipher ? `, SRTP ${s.srtp_cipher}` : ''}`);
  $('stats').textContent = lines.join('\n');
}

// ---------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------

async function login(jid, password, websocket) {
  if (client) return;
  jid = jid.trim();
  if (!jid.includes('@') && state.config && state.config.domain) jid = `${jid}@${state.config.domain}`;
  log('info', `logging in as ${jid} over ${websocket}`);
  $('status').textContent = `logging in as ${jid} …`;
  const c = createClient({
    jid,
    password,
    transports: { websocket, bosh: false },
    useStreamManagement: false,
    autoReconnect: false,
    jingle: { iceServers: [] },   // belfry offers its own candidates
  });
  client = c;
  c.on('raw:incoming', xml => onRaw('in', xml));
  c.on('raw:outgoing', xml => onRaw('out', xml));
  c.on('session:started', () => {
    state.loggedIn = true;
    state.jid = c.jid;
    c.sendPresence();   // JMI proposals go to available resources
    log('info', `logged in as ${c.jid}`);
    render();
  });
  c.on('auth:failed', () => log('error', 'login failed: wrong account or password'));
  c.on('disconnected', () => {
    if (client !== c) return;
    log(state.loggedIn ? 'info' : 'error', state.loggedIn ? 'logged out' : 'could not log in (disconnected)');
    const call = activeCall();
    if (call) endCall(call, 'disconnected', 'local', true);
    client = null;
    state.loggedIn = false;
    state.jid = null;
    render();
  });
  c.jingle.on('log', (level, msg) => { if (level === 'error') log('error', `StanzaJS: ${msg}`); });
  c.on('jingle:incoming', onIncomingSession);
  c.on('jingle:ringing', () => {
    const call = activeCall();
    if (call && call.direction === 'outgoing') setPhase(call, 'ringing', `${call.display} is ringing`);
  });
  c.jingle.on('sessionState', (session, value) => {
    const call = state.call;
    if (!call || call.session !== session) return;
    call.session_state = value;
    log('state', `Jingle session ${value}`);
    if (value === 'active' && call.phase !== 'connected' && call.phase !== 'ended') setPhase(call, 'connecting', 'accepted');
  });
  c.jingle.on('peerTrackAdded', (session, track) => {
    const call = state.call;
    if (!call || call.session !== session) return;
    log('info', `receiving ${track.kind}`);
    playRemote(track);
  });
  c.on('jingle:terminated', (session, reason) => {
    const call = state.call;
    if (!call || call.session !== session || call.phase === 'ended') return;
    const why = reason ? (reason.condition || String(reason)) : 'no reason';
    endCall(call, why + (reason && reason.text ? ` (${reason.text})` : ''), 'remote');
  });
  c.connect();
}

function logout() {
  const call = activeCall();
  if (call) hangUp();
  if (client) client.disconnect();
}

// ---------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------

function render() {
  const call = state.call;
  const active = activeCall();
  $('status').textContent = state.loggedIn ? `logged in as ${state.jid}` : (client ? 'logging in …' : 'not logged in');
  $('login').hidden = !!client;
  $('logout').hidden = !client;
  for (const id of ['jid', 'password', 'websocket']) $(id).disabled = !!client;
  $('call-panel').hidden = !state.loggedIn;
  for (const b of document.querySelectorAll('#call-panel button.call, #call-echo, #call')) b.disabled = !!active;
  $('media-source').disabled = !!active;
  $('hangup').disabled = !active || (active.direction === 'incoming' && !active.answered);
  $('incoming').hidden = !(active && active.direction === 'incoming' && !active.answered);
  if (active) $('incoming-text').textContent = `${active.display} is calling`;
  const cs = $('call-state');
  cs.className = `call-state ${call ? call.phase : ''}`;
  if (!call) cs.textContent = 'no call';
  else if (call.phase === 'ended') cs.textContent = `call with ${call.display} ended (${call.reason}, by ${call.ended_by === 'local' ? 'you' : 'them'})`;
  else cs.textContent = `${call.direction === 'outgoing' ? 'call to' : 'call from'} ${call.display}: ${call.phase}`;
  $('remote-name').textContent = call ? call.display : 'remote';
  renderQuickCalls();
}

function renderQuickCalls() {
  const span = $('quick-calls');
  const cfg = state.config || {};
  const me = localOf(state.jid);
  const others = (cfg.accounts || []).filter(a => a !== me);
  const key = others.join(',') + '|' + me;
  if (span.dataset.key !== key) {
    span.dataset.key = key;
    span.textContent = '';
    for (const other of others) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'call';
      b.id = `call-${other}`;
      const jid = `${other}@${cfg.domain || domainOf(state.jid)}`;
      b.textContent = `Call ${jid} through the relay`;
      b.title = callAddress(jid, true);
      b.addEventListener('click', () => placeCall(callAddress(jid, true)));
      span.append(b);
    }
  }
  for (const b of span.querySelectorAll('button')) b.disabled = !!activeCall();
  $('call-echo').textContent = `Call echo@${relayDomain()}`;
}

async function loadConfig() {
  try {
    const r = await fetch('config.json', { cache: 'no-store' });
    if (r.ok) return await r.json();
  } catch { /* opened without run-local.sh: fill the form by hand */ }
  return {};
}

async function main() {
  const cfg = await loadConfig();
  state.config = cfg;
  const params = new URLSearchParams(location.search);
  const accounts = cfg.accounts || [];
  const as = params.get('as') || accounts[0] || '';
  const dl = $('accounts');
  for (const a of accounts) {
    const o = document.createElement('option');
    o.value = `${a}@${cfg.domain}`;
    dl.append(o);
  }
  $('jid').value = as && cfg.domain && !as.includes('@') ? `${as}@${cfg.domain}` : as;
  $('password').value = cfg.password || '';
  const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws';
  $('websocket').value = cfg.websocket || (location.host ? `${wsScheme}://${location.host}/xmpp-websocket` : '');
  if (params.get('source') === 'test') $('media-source').value = 'test';

  $('login-form').addEventListener('submit', ev => {
    ev.preventDefault();
    login($('jid').value, $('password').value, $('websocket').value);
    render();
  });
  $('logout').addEventListener('click', logout);
  $('call-echo').addEventListener('click', () => placeCall(`echo@${relayDomain()}`));
  $('dial-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const target = $('target').value;
    if (target.trim()) placeCall(callAddress(target, $('via-relay').checked));
  });
  $('hangup').addEventListener('click', hangUp);
  $('answer').addEventListener('click', answer);
  $('decline').addEventListener('click', decline);
  $('clear-log').addEventListener('click', () => { state.log = []; $('log').textContent = ''; });
  window.addEventListener('beforeunload', () => { if (activeCall()) hangUp(); });
  state.ready = true;
  render();
  log('info', cfg.relay ? `relay ${cfg.relay}, accounts ${accounts.join(', ')}`
                        : 'no config.json: enter an account, password and WebSocket URL');
  if (params.get('login') === '1' && $('jid').value && $('password').value) {
    login($('jid').value, $('password').value, $('websocket').value);
    render();
  }
}

// Plain data for tests and the console: the call without its session object.
function snapshot() {
  const call = state.call ? { ...state.call, stats: { ...state.call.stats } } : null;
  if (call) delete call.session;
  return JSON.parse(JSON.stringify({ ...state, call, config: undefined }));
}

window.callPage = { state, snapshot, login, placeCall, answer, decline, hangUp };
main();
