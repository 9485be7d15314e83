#!/usr/bin/env bash
# belfry's end-to-end media tests: real Prosody, headless Chromium and
# GStreamer webrtcbin, all inside a private network namespace (only lo up).
# Run as root from anywhere:  bash tests/e2e/run.sh [pytest args]
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
[ -d tests/e2e/node_modules ] || bash scripts/setup.sh
export BELFRY_E2E_NETNS=1
exec unshare --net -- /bin/sh -c 'ip link set lo up && exec "$@"' sh \
  /usr/bin/python3 -m pytest tests/e2e -rA "$@"
