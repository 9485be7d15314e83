// Bundles page/peer.js (StanzaJS + the peer logic) into build/peer.bundle.js.
// Run by chromium-peer.mjs when the bundle is missing or older than its
// sources; `npm run build` does the same by hand.
//
// Also bundles the demo call page (examples/call-page/call-page.js, served
// by scripts/run-local.sh) with the same StanzaJS:
//   node build.mjs call-page [OUTFILE]   (default build/call-page.bundle.js)
import { build } from 'esbuild';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const bundlePath = join(here, 'build', 'peer.bundle.js');
const sources = [join(here, 'page', 'peer.js'), join(here, 'package-lock.json')];

function mtime(p) {
  try { return statSync(p).mtimeMs; } catch { return -1; }
}

export function bundleIsFresh() {
  const b = mtime(bundlePath);
  return b > 0 && sources.every(s => mtime(s) <= b);
}

async function bundle(entry, outfile, extra = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  // Build to a private name, then rename: peers started in parallel never
  // load a half-written bundle.
  const tmp = `${outfile}.${process.pid}.tmp`;
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    outfile: tmp,
    logLevel: 'warning',
    define: { global: 'globalThis' },
    ...extra,
  });
  renameSync(tmp, outfile);
  return outfile;
}

export async function buildBundle() {
  return bundle(join(here, 'page', 'peer.js'), bundlePath);
}

export const callPageSource = join(here, '..', '..', 'examples', 'call-page', 'call-page.js');
export const callPageBundlePath = join(here, 'build', 'call-page.bundle.js');

export async function buildCallPage(outfile = callPageBundlePath) {
  // The page lives outside this package: its imports (stanza, events) are
  // resolved from this node_modules.
  return bundle(callPageSource, outfile, { nodePaths: [join(here, 'node_modules')] });
}

export async function ensureBundle() {
  if (!bundleIsFresh()) await buildBundle();
  return bundlePath;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === 'call-page') {
    console.log(await buildCallPage(process.argv[3] ? resolve(process.argv[3]) : undefined));
  } else {
    await buildBundle();
    console.log(bundlePath);
  }
}
