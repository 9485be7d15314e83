#!/usr/bin/env bash
# Checks that an out-of-tree module builds against an INSTALLED belfry and
# that the installed daemon loads it:
#
#   bash scripts/test-example-module.sh
#
# 1. Builds belfry in build-install/ and installs it into a temporary prefix.
# 2. Builds examples/module (the 'hello' module), examples/module-tone
#    (the 'tone' media module) and examples/module-room (the conference-
#    shaped 'room') with only that prefix's belfry.pc and headers (never
#    the source tree's include/).
# 3. Runs the installed belfry --check-config on configs loading them:
#    valid ones must exit 0, an unknown key in [hello], [tone] or [room]
#    (or a bad value of room's own) exit 2.
#
# Prints "example module: ok" and exits 0 on success, non-zero otherwise.
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$script_dir/.." && pwd -P)

fail() { printf 'example module: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '== %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/belfry-module-test.XXXXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
prefix=$tmp/prefix

# --- 1. Install belfry into $prefix -----------------------------------------
step "building and installing belfry into $prefix"
bdir=$repo/build-install
if [ -f "$bdir/build.ninja" ]; then
  # Reused between runs; only the prefix changes.
  meson configure "$bdir" -Dprefix="$prefix" >/dev/null
else
  meson setup "$bdir" "$repo" --prefix="$prefix"
fi
ninja -C "$bdir"
meson install -C "$bdir" --no-rebuild --quiet

belfry=$prefix/bin/belfry
[ -x "$belfry" ] || fail "no $belfry after installing"
for h in module.h stanza.h; do
  [ -f "$prefix/include/belfry/$h" ] || fail "$prefix/include/belfry/$h not installed"
done

pc=$(find "$prefix/lib" -path '*/pkgconfig/belfry.pc' -print -quit 2>/dev/null || true)
[ -n "$pc" ] || fail "no belfry.pc under $prefix/lib (looked in lib/pkgconfig and lib/*/pkgconfig)"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname -- "$pc")
# Nothing from the system or the environment: this prefix's belfry only.
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

cflags=$(pkg-config --cflags belfry) || fail "pkg-config --cflags belfry failed"
echo "pkg-config --cflags belfry: $cflags"
case " $cflags " in
  *"-I$prefix/include "*) ;;
  *) fail "belfry.pc's Cflags lack -I$prefix/include" ;;
esac
case "$cflags" in
  *"$repo"*) fail "belfry.pc's Cflags point into the source tree ($repo)" ;;
esac
moduledir=$(pkg-config --variable=moduledir belfry) || fail "belfry.pc has no 'moduledir' variable"
case "$moduledir" in
  "$prefix"/*) ;;
  *) fail "belfry.pc's moduledir ($moduledir) is not under the prefix $prefix" ;;
esac

# --- 2. Build the example modules -------------------------------------------
# build_module DIR NAME: builds examples/DIR into $tmp/DIR-build against the
# installed belfry only, and checks what it was compiled with and exports.
build_module() {
  local src=$repo/examples/$1 name=$2 out=$tmp/$1-build
  step "building examples/$1 against the installed headers"
  if ! meson setup "$out" "$src" > "$tmp/$1-setup.log" 2>&1; then
    cat "$tmp/$1-setup.log" >&2
    fail "meson setup of examples/$1 failed"
  fi
  ninja -C "$out" || fail "examples/$1 does not compile against the installed headers"
  local so=$out/$name.so
  [ -f "$so" ] || fail "no $name.so (name_prefix: '' expected)"

  # Only installed headers: every belfry header the compiler actually read
  # (ninja's record of the object's dependencies) must be under the prefix,
  # and nothing may come from the source tree but the module's own folder.
  local real_prefix deps belfry_headers h
  real_prefix=$(realpath -- "$prefix")
  deps=$(cd "$out" && ninja -t deps | awk '/^    /{print $1}' | xargs -r realpath -m --)
  belfry_headers=$(grep '/belfry/[^/]*\.h$' <<<"$deps" || true)
  [ -n "$belfry_headers" ] || fail "$name: the recorded dependencies contain no belfry header"
  while read -r h; do
    case "$h" in
      "$real_prefix"/include/belfry/*) ;;
      *) fail "$name was compiled with $h, not an installed header" ;;
    esac
  done <<<"$belfry_headers"
  if grep -- "^$repo/" <<<"$deps" | grep -qv -- "^$src/"; then
    fail "$name was compiled with files from the source tree: $(grep -- "^$repo/" <<<"$deps" | grep -v -- "^$src/" | head -n 3 | tr '\n' ' ')"
  fi
  echo "belfry headers used by $name: $(tr '\n' ' ' <<<"$belfry_headers")"

  # It exports the entry point and links against nothing of belfry's.
  nm -D --defined-only "$so" | grep -qw bf_module_get_info \
    || fail "$name.so does not export bf_module_get_info"
  if readelf -d "$so" | grep NEEDED | grep -qi belfry; then
    fail "$name.so links against a belfry library"
  fi
}

build_module module hello
mdir=$tmp/module-build
# The media module (module API 5: session.h, session-media.h, worker.h):
# it must need nothing beyond the installed headers either.
build_module module-tone tone
tonedir=$tmp/module-tone-build
# The conference-shaped one: placing, pinning to a worker, content-add.
build_module module-room room
roomdir=$tmp/module-room-build

# --- 3. The installed daemon loads it ---------------------------------------
step "checking configurations with the installed belfry"
write_config() {  # $1 file, $2 lines for [hello]
  cat > "$1" <<EOF
[component]
jid = relay.localhost
host = 127.0.0.1
port = 5347
secret = example-module-test

[modules]
load = hello;
path = $mdir

[hello]
$2
EOF
}

# Runs --check-config on $1 and checks the exit status is $2; for status 2
# the message must name the offending key $3.
check() {
  local conf=$1 want=$2 key=${3:-} out status=0
  out=$("$belfry" --config "$conf" --check-config 2>&1) || status=$?
  if [ "$status" != "$want" ]; then
    printf '%s\n' "$out" >&2
    fail "belfry --check-config on $(basename -- "$conf") exited $status, expected $want"
  fi
  if [ -n "$key" ] && ! grep -q -- "$key" <<<"$out"; then
    printf '%s\n' "$out" >&2
    fail "the error for $(basename -- "$conf") does not name the key '$key'"
  fi
  printf '  %-14s exit %s%s\n' "$(basename -- "$conf")" "$status" \
    "${out:+  ($(tail -n 1 <<<"$out"))}"
}

write_config "$tmp/good.conf" "greeting = Hi"
check "$tmp/good.conf" 0

write_config "$tmp/typo.conf" "bogus = 1"
check "$tmp/typo.conf" 2 bogus

# The module's own validation (bf_config_set_error) is a config error too.
write_config "$tmp/empty.conf" "greeting ="
check "$tmp/empty.conf" 2 greeting

# tone loads beside hello; it reads no keys, so any key in [tone] is a typo.
write_tone_config() {  # $1 file, $2 lines for [tone]
  cat > "$1" <<EOF
[component]
jid = relay.localhost
host = 127.0.0.1
port = 5347
secret = example-module-test

[modules]
load = hello;tone;
path = $mdir;$tonedir

[tone]
$2
EOF
}
write_tone_config "$tmp/tone.conf" ""
check "$tmp/tone.conf" 0

write_tone_config "$tmp/tone-typo.conf" "frequency = 440"
check "$tmp/tone-typo.conf" 2 frequency

# room reads allow-domains and max-participants; anything else is a typo.
write_room_config() {  # $1 file, $2 lines for [room]
  cat > "$1" <<EOF
[component]
jid = relay.localhost
host = 127.0.0.1
port = 5347
secret = example-module-test

[modules]
load = tone;room;
path = $tonedir;$roomdir

[room]
$2
EOF
}
write_room_config "$tmp/room.conf" "allow-domains = localhost
max-participants = 8"
check "$tmp/room.conf" 0

write_room_config "$tmp/room-typo.conf" "max-participant = 8"
check "$tmp/room-typo.conf" 2 max-participant

write_room_config "$tmp/room-range.conf" "max-participants = 0"
check "$tmp/room-range.conf" 2 max-participants

echo "example module: ok"
