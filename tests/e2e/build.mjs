// Bundles page/peer.js (StanzaJS + the peer logic) into build/peer.bundle.js.
// Run by chromium-peer.mjs when the bundle is missing or older than its
// sources; `npm run build` does the same by hand.
import { build } from 'esbuild';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

export async function buildBundle() {
  mkdirSync(dirname(bundlePath), { recursive: true });
  // Build to a private name, then rename: peers started in parallel never
  // load a half-written bundle.
  const tmp = `${bundlePath}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(here, 'page', 'peer.js')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    outfile: tmp,
    logLevel: 'warning',
    define: { global: 'globalThis' },
  });
  renameSync(tmp, bundlePath);
  return bundlePath;
}

export async function ensureBundle() {
  if (!bundleIsFresh()) await buildBundle();
  return bundlePath;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBundle();
  console.log(bundlePath);
}
