#!/usr/bin/env bash
# Installs every Debian package belfry's build, run and tests need.
# Idempotent and non-interactive; run as root on Debian 12.
set -euo pipefail

PACKAGES=(
  # build
  build-essential meson ninja-build pkg-config
  libglib2.0-dev libexpat1-dev libssl-dev libnice-dev libsrtp2-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libsoup-3.0-dev
  libopus-dev   # the conference mixer (modules/conference)
  # media runtime (GStreamer pipelines, webrtcbin peers in tests)
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-nice gstreamer1.0-tools gstreamer1.0-plugins-base-apps
  # the conference MCU's H.264 (modules/conference/mcu.c): x264enc, and
  # avdec_h264 to decode H.264 senders (openh264dec in -bad is the fallback)
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1
  # real XMPP servers and clients for tests and the local demo
  prosody lua-unbound ejabberd python3-slixmpp python3-pytest
  # sanitizers and libFuzzer
  clang libclang-rt-14-dev
  # tools the tests use (systemd: systemd-analyze verify of the unit)
  procps iproute2 util-linux systemd
  # conference e2e tests: FFT of the decoded audio (tests/e2e/tone_analysis.py),
  # packet loss on one peer's address (iptables statistic; no sch_netem here)
  python3-numpy iptables
  # e2e media tests: real browser peers (driven by npm playwright-core and
  # puppeteer-core; the system browsers, never a downloaded build)
  chromium firefox-esr
  # real Dino, headless (tests/e2e/test_real_dino.py)
  dino-im xvfb pulseaudio pulseaudio-utils python3-pyatspi at-spi2-core dbus-daemon openssl
  # call-relay benchmark baseline (tests/bench/bench_call.py): rtpengine in
  # userspace, started by the benchmark in the foreground
  rtpengine-daemon
  # conference benchmark baseline (tests/bench/bench_conference.py): Janus
  # AudioBridge, started by the benchmark in the foreground
  janus
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The e2e harness's npm packages (tests/e2e): `npm ci` when node_modules is
# missing or package-lock.json changed since the last install.
npm_e2e() {
  local dir
  dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e"
  [ -f "$dir/package-lock.json" ] || return 0
  local stamp="$dir/node_modules/.belfry-lock.sha256"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -d "$dir/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: tests/e2e npm packages up to date"
    return 0
  fi
  echo "setup: npm ci in tests/e2e"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  echo "$want" > "$stamp"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  npm_e2e
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi

# Installing prosody or ejabberd must not start their system services: they
# would listen on public ports with Debian's default configuration. A
# policy-rc.d that answers 101 forbids service starts during the install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "setup: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Belt and braces: if a service got started anyway, stop it.
for svc in prosody ejabberd rtpengine-daemon janus; do
  if command -v service >/dev/null 2>&1; then
    service "$svc" stop >/dev/null 2>&1 || true
  fi
done
npm_e2e
echo "setup: done"
