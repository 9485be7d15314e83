#!/usr/bin/env node
// A real WebRTC peer: headless Debian Chromium (libwebrtc) running
// page/index.html, which logs into Prosody over WebSocket with StanzaJS and
// calls or answers a Jingle A/V call.
//
//   node chromium-peer.mjs '<json>'      (or '-' to read the JSON from stdin)
//
// Input JSON: {"ws": "ws://127.0.0.1:PORT/xmpp-websocket",
//              "jid": "alice@localhost/chromium", "password": "...",
//              "mode": "call" | "answer", "target": "bob@localhost/res",
//              "propose": false, "duration": 5, "timeout": 60,
//              "linger": null, "audio": true, "video": true,
//              "session_info": [{"after": S, "info": "hold"|"unhold"|"active"|
//                                "mute"|"unmute"|"ringing", "media": "audio"}]}
//              (session_info: each sent S s after media connected; mute/unmute
//              name the content of that media, creator='initiator')
//              Conversations mode (page/peer.js runConversations):
//              "conversations": true, "caps_timeout": 8, "ring_timeout": 30,
//              "ice_restart_after": S, "answer_delay": 0.3;
//              Monal mode (page/peer.js runMonal, calls only): "monal": true,
//              "caps_timeout": 8, "ring_timeout": 30 (s to ringing/proceed),
//              "ringing_timeout": 45, "connect_timeout": 15 (s from proceed),
//              "reconnect_timeout": 45, "ice_restart_after": S (not Monal's);
//              Conference tests (basic mode): "tone_hz": F, "tone_volume": V
//              (a WebAudio sine sent instead of the fake microphone),
//              "record_audio": PATH (the decoded remote audio appended to
//              PATH as tone_analysis.py reads it), "mute_silences": true
//              (a scripted audio mute also disables the sent track),
//              "announce_connected": true (the "connected" event);
//              "allow_loopback": false launches Chromium without
//              --allow-loopback-in-peer-connection (ICE on other addresses only)
// Output: JSON lines on stdout. {"event":"ready","jid":FULL} once logged in
// (answerers are then ready for calls), last {"event":"result", ...}.
// Exit status 0 when the call ran (result.ok), 1 otherwise.
import { chromium } from 'playwright-core';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBundle } from './build.mjs';
import { closeSync, openSync, writeSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.BELFRY_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-breakpad', '--disable-crash-reporter',
  // Host candidates as IPs, not mDNS names (media permission already does it).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function readConfig() {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: chromium-peer.mjs <json>|-');
  if (arg !== '-') return JSON.parse(arg);
  let data = '';
  for await (const chunk of process.stdin) data += chunk;
  return JSON.parse(data);
}

async function main() {
  const started = Date.now();
  let cfg;
  try {
    cfg = await readConfig();
    for (const k of ['ws', 'jid', 'password', 'mode']) {
      if (!cfg[k]) throw new Error(`missing "${k}"`);
    }
    if (cfg.mode !== 'call' && cfg.mode !== 'answer') throw new Error('mode must be call or answer');
    if (cfg.mode === 'call' && !cfg.target) throw new Error('missing "target"');
  } catch (e) {
    out({ event: 'result', ok: false, peer: 'chromium', error: `bad input: ${e.message}` });
    return 1;
  }
  const timeout = (cfg.timeout || 60) * 1000;
  let browser = null;
  const consoleLines = [];
  let hardTimer = null;
  let recordFd = null;
  try {
    await ensureBundle();
    const launchStarted = Date.now();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Playwright gives every launch a fresh temporary user-data-dir.
      args: cfg.allow_loopback === false
        ? CHROMIUM_ARGS.filter(a => a !== '--allow-loopback-in-peer-connection') : CHROMIUM_ARGS,
      timeout: 30000,
    });
    const page = await browser.newPage();
    page.on('console', m => {
      if (consoleLines.length < 200) consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 1000));
    });
    page.on('pageerror', e => consoleLines.push(`pageerror: ${e.message}`));
    await page.exposeFunction('belfryEvent', ev => { out(ev); });
    if (cfg.record_audio) {
      // Chunks as tone_analysis.py reads them: <d wall s><I samples> S16LE.
      const fd = openSync(cfg.record_audio, 'w');
      recordFd = fd;
      await page.exposeFunction('belfryAudio', chunks => {
        for (const c of chunks) {
          const pcm = Buffer.from(c.b64, 'base64');
          const head = Buffer.alloc(12);
          head.writeDoubleLE(c.wall, 0);
          head.writeUInt32LE(pcm.length / 2, 8);
          writeSync(fd, head);
          writeSync(fd, pcm);
        }
      });
    }
    await page.goto(pathToFileURL(join(here, 'page', 'index.html')).href);
    const launchMs = Date.now() - launchStarted;
    const run = page.evaluate(c => window.belfryPeer.run(c), cfg);
    const hard = new Promise((_, reject) => {
      hardTimer = setTimeout(() => reject(new Error(`no result within ${timeout / 1000 + 10} s`)),
        timeout + 10000);
    });
    const res = await Promise.race([run, hard]);
    res.browser_launch_ms = launchMs;
    res.wall_ms = Date.now() - started;
    res.chromium_version = browser.version();
    res.console = consoleLines;
    out({ event: 'result', ...res });
    return res.ok ? 0 : 1;
  } catch (e) {
    out({ event: 'result', ok: false, peer: 'chromium', error: String(e && e.message || e),
      console: consoleLines, wall_ms: Date.now() - started });
    return 1;
  } finally {
    clearTimeout(hardTimer);
    if (recordFd !== null) closeSync(recordFd);
    if (browser) {
      await Promise.race([browser.close().catch(() => {}), new Promise(r => setTimeout(r, 5000))]);
    }
  }
}

const code = await main();
process.exit(code);
