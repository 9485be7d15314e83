#!/usr/bin/env node
// A real WebRTC peer on Firefox's stack (nICEr ICE, NSS DTLS): Debian's
// headless firefox-esr driven over WebDriver BiDi by npm puppeteer-core,
// running the same page/index.html as the Chromium peer (StanzaJS over
// Prosody's WebSocket). Stands in for Movim in Firefox.
//
//   node firefox-peer.mjs '<json>'       (or '-' to read the JSON from stdin)
//
// Input and output: as chromium-peer.mjs (JSON lines on stdout, last
// {"event":"result", ...}; exit status 0 when the call ran). The result's
// `peer` is "firefox" and it carries `firefox_version` and `profile_prefs`
// (what we set in the fresh profile).
import puppeteer from 'puppeteer-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBundle } from './build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const FIREFOX = process.env.BELFRY_FIREFOX || '/usr/bin/firefox-esr';

// Written to the fresh profile's user.js (on top of puppeteer's own test
// profile defaults, which point some services at a dummy host name: we blank
// those too, so not even a DNS lookup is tried).
export const FIREFOX_PREFS = {
  // Media: fake capture devices, no permission prompt, ICE on loopback with
  // plain IP host candidates (no mDNS names), no default STUN server.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Fake devices count as capturing only with this: otherwise Firefox treats
  // the page as not granted and gathers only the "default route" address
  // (found by a UDP connect() to a public address: none in our namespace,
  // so no candidate at all and ICE fails at once).
  'media.navigator.permission.fake': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.default_iceservers': '[]',
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Codec plugins (OpenH264, Widevine) are never downloaded.
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-manager.url': '',
  'media.gmp-gmpopenh264.autoupdate': false,
  'media.gmp-widevinecdm.enabled': false,
  'media.eme.enabled': false,
  // Updates, studies, add-ons.
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.update.checkInstallTime': false,
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'app.shield.optoutstudies.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.systemAddon.update.url': '',
  'extensions.webservice.discoverURL': '',
  'browser.search.update': false,
  'browser.region.update.enabled': false,
  'browser.region.network.url': '',
  'general.useragent.updates.enabled': false,
  // Telemetry and data reporting.
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.newProfilePing.enabled': false,
  'toolkit.telemetry.shutdownPingSender.enabled': false,
  'toolkit.telemetry.firstShutdownPing.enabled': false,
  'toolkit.telemetry.updatePing.enabled': false,
  'toolkit.telemetry.bhrPing.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.healthreport.documentServerURI': '',
  'datareporting.policy.dataSubmissionEnabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.newtabpage.enabled': false,
  'browser.topsites.contile.enabled': false,
  // Captive portal and connectivity checks.
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'captivedetect.canonicalURL': '',
  // Safe Browsing and tracking-protection list updates.
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.passwords.enabled': false,
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'privacy.trackingprotection.enabled': false,
  // Remote settings (blocklists, CRLite, intermediates): a release build
  // honours this URL only under MOZ_DISABLE_NONLOCAL_CONNECTIONS (below),
  // and then, with this very value, does no remote activity at all.
  'services.settings.server': 'data:,#remote-settings-dummy/v1',
  'security.remote_settings.crlite_filters.enabled': false,
  'security.remote_settings.intermediates.enabled': false,
  'security.OCSP.enabled': 0,
  // Push, DNS-over-HTTPS, prefetching, speculative connections, geo, sync.
  'dom.push.connection.enabled': false,
  'dom.push.serverURL': '',
  'network.trr.mode': 5,
  'doh-rollout.disable-heuristics': true,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.http.speculative-parallel-limit': 0,
  'browser.urlbar.speculativeConnect.enabled': false,
  'network.sntp.pools': '',
  'geo.enabled': false,
  'geo.provider.network.url': '',
  'identity.fxaccounts.enabled': false,
  'browser.discovery.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.page': 0,
  'browser.startup.homepage': 'about:blank',
  'startup.homepage_welcome_url': 'about:blank',
};

// Firefox's own test-harness switch: necko refuses every connection and
// DNS lookup that is not to a loopback address, and Remote Settings (whose
// server URL a release build ignores otherwise) stays silent.
export const FIREFOX_ENV = {
  MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1',
  MOZ_CRASHREPORTER_DISABLE: '1',
  MOZ_DISABLE_AUTO_SAFE_MODE: '1',
};

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function readConfig() {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: firefox-peer.mjs <json>|-');
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
    out({ event: 'result', ok: false, peer: 'firefox', error: `bad input: ${e.message}` });
    return 1;
  }
  const timeout = (cfg.timeout || 60) * 1000;
  let browser = null;
  let profile = null;
  let version = null;
  const consoleLines = [];
  let hardTimer = null;
  try {
    await ensureBundle();
    const launchStarted = Date.now();
    // A fresh profile per run, removed at the end.
    profile = mkdtempSync(join(tmpdir(), 'belfry-e2e-firefox-'));
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: FIREFOX,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: FIREFOX_PREFS,
      timeout: 30000,
      // The test stops us by PID with SIGTERM: let puppeteer close Firefox.
      handleSIGINT: true, handleSIGTERM: true, handleSIGHUP: true,
      env: { ...process.env, ...FIREFOX_ENV },
    });
    version = await browser.version();
    const page = (await browser.pages())[0] || await browser.newPage();
    page.on('console', m => {
      if (consoleLines.length < 200) consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 1000));
    });
    page.on('pageerror', e => consoleLines.push(`pageerror: ${e.message}`));
    await page.exposeFunction('belfryEvent', ev => { out(ev); });
    await page.goto(pathToFileURL(join(here, 'page', 'index.html')).href);
    const launchMs = Date.now() - launchStarted;
    const run = page.evaluate(c => window.belfryPeer.run(c), cfg);
    const hard = new Promise((_, reject) => {
      hardTimer = setTimeout(() => reject(new Error(`no result within ${timeout / 1000 + 10} s`)),
        timeout + 10000);
    });
    const res = await Promise.race([run, hard]);
    res.peer = 'firefox';
    res.browser_launch_ms = launchMs;
    res.wall_ms = Date.now() - started;
    res.firefox_version = version;
    res.console = consoleLines;
    out({ event: 'result', ...res });
    return res.ok ? 0 : 1;
  } catch (e) {
    out({ event: 'result', ok: false, peer: 'firefox', error: String(e && e.message || e),
      firefox_version: version, console: consoleLines, wall_ms: Date.now() - started });
    return 1;
  } finally {
    clearTimeout(hardTimer);
    if (browser) {
      await Promise.race([browser.close().catch(() => {}), new Promise(r => setTimeout(r, 5000))]);
    }
    if (profile) rmSync(profile, { recursive: true, force: true });
  }
}

const code = await main();
process.exit(code);
