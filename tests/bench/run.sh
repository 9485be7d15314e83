#!/usr/bin/env bash
# Benchmarks (not tests): bash tests/bench/run.sh
# Builds belfry (default build, -O2), then prints:
#  - stanza throughput of the core against a bare expat parse of the same
#    bytes, in the same run (ratio of times; best of N rounds);
#  - idle RSS of a running belfry attached to a throwaway Prosody.
# The figures in the README's table come from this command.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
bash scripts/setup.sh >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "== stanza throughput (20000 stanzas, best of 7) =="
./build/tests/bench/bench-stanza "${BENCH_STANZAS:-20000}" "${BENCH_ROUNDS:-7}"
echo
echo "== idle memory =="
/usr/bin/python3 tests/bench/idle_rss.py
