#!/usr/bin/env node
// The Chromium half of xep0521_chromium.py: launches headless Debian
// Chromium (Playwright, the flags chromium-peer.mjs uses) on
// page/xep0521.html and serves its window.x0521.* functions over JSON
// lines, so the Python driver keeps XMPP and the SDP <-> Jingle mapping
// (sdp_jingle.py) and Chromium does the media.
//
//   stdin:  {"id": N, "fn": "create"|"setRemote"|"addCandidate"|"stats"|"summary", "args": [...]}
//   stdout: {"id": N, "ok": true, "value": ...} | {"id": N, "ok": false, "error": "..."}
//           events: {"event": "ready", "chromium_version"} once the page is loaded,
//           {"event": "ice"|"state", ...} from the page,
//           {"event": "audio", "key", "chunks": [{wall, b64}]} (decoded S16LE 48 kHz mono)
// Ends (closing Chromium) when stdin closes. One request at a time per
// call; requests may overlap (each answered by its id).
import { chromium } from 'playwright-core';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.BELFRY_CHROMIUM || '/usr/bin/chromium';
// chromium-peer.mjs's flags (importing it would run that peer).
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-breakpad', '--disable-crash-reporter',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];
const out = obj => process.stdout.write(JSON.stringify(obj) + '\n');

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
                                        args: CHROMIUM_ARGS, timeout: 30000 });
let closing = false;
async function close(code) {
  if (closing) return;
  closing = true;
  await Promise.race([browser.close().catch(() => {}), new Promise(r => setTimeout(r, 5000))]);
  process.exit(code);
}
try {
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') out({ event: 'console', text: m.text().slice(0, 500) }); });
  page.on('pageerror', e => out({ event: 'console', text: `pageerror: ${e.message}` }));
  await page.exposeFunction('x0521Event', ev => out(ev));
  await page.exposeFunction('x0521Audio', (key, chunks) => out({ event: 'audio', key, chunks }));
  await page.goto(pathToFileURL(join(here, 'page', 'xep0521.html')).href);
  out({ event: 'ready', chromium_version: browser.version() });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', async line => {
    let req;
    try { req = JSON.parse(line); } catch { return; }
    try {
      const value = await page.evaluate(([fn, args]) => window.x0521[fn](...args), [req.fn, req.args || []]);
      out({ id: req.id, ok: true, value });
    } catch (e) {
      out({ id: req.id, ok: false, error: String(e && e.message || e).slice(0, 1000) });
    }
  });
  rl.on('close', () => close(0));
} catch (e) {
  out({ event: 'fatal', error: String(e && e.message || e) });
  await close(1);
}
