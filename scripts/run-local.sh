#!/usr/bin/env bash
# Runs belfry locally against a throwaway Prosody, on loopback only:
#
#   sudo bash scripts/run-local.sh [--c2s-port N] [--http-port N]
#
# Installs the Debian packages (scripts/setup.sh), builds belfry, starts a
# private Prosody (VirtualHost "localhost", Component "relay.localhost") and
# belfry with the echo, proxy65, call and conference modules, registers two demo accounts
# and prints how to connect.  Prosody's http port also serves the call page
# (examples/call-page, bundled with tests/e2e's StanzaJS and esbuild): open
# it in a browser on this machine to watch a call.  Stays in the foreground:
# Ctrl-C stops belfry, then Prosody, and
# removes every file it created.  If either process dies, the other is
# stopped and the script exits non-zero.
#
# Needs root (package installation, running Prosody as the prosody user).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash scripts/run-local.sh [--c2s-port N] [--http-port N]

  --c2s-port N    the port XMPP clients connect to (default: a free port)
  --http-port N   the port of the call page, WebSocket and BOSH
                  (default: a free port)

Runs Prosody and belfry on 127.0.0.1 until Ctrl-C.
EOF
}

log() { printf 'run-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

c2s_port=
http_port=
while [ $# -gt 0 ]; do
  case "$1" in
    --c2s-port)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      c2s_port=$2; shift 2 ;;
    --c2s-port=*)
      c2s_port=${1#*=}; shift ;;
    --http-port)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      http_port=$2; shift 2 ;;
    --http-port=*)
      http_port=${1#*=}; shift ;;
    -h|--help)
      usage; exit 0 ;;
    *)
      log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done
for opt in c2s http; do
  val=${opt}_port
  val=${!val}
  if [ -n "$val" ]; then
    if ! [[ $val =~ ^[0-9]+$ ]] || [ "$val" -lt 1 ] || [ "$val" -gt 65535 ]; then
      die "--$opt-port: not a port number: $val"
    fi
  fi
done
if [ -n "$c2s_port" ] && [ "$c2s_port" = "$http_port" ]; then
  die "--c2s-port and --http-port must differ"
fi

[ "$(id -u)" -eq 0 ] || die "run this as root (it installs packages and runs Prosody as the prosody user)"

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$script_dir/.." && pwd)
py=/usr/bin/python3   # Debian's interpreter, whatever 'python3' on PATH is

# --- State for cleanup ------------------------------------------------------
tmp=
prosody_pid=
belfry_pid=
tail_pid=
cleaned=0
stop_status=0
stop_failed=0

# True while $1 is a live (not zombie) process.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

# Sends SIGTERM to child $2 (named $1), waits up to $3 seconds, then SIGKILL;
# reaps it and sets $stop_status to its exit status.
stop_child() {
  local name=$1 pid=$2 limit=$3 i
  stop_status=0
  if alive "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < limit * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$name did not stop within ${limit}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || stop_status=$?
}

# Stops belfry, then Prosody, then removes the files.  Sets $stop_failed
# when either did not exit with status 0.
cleanup() {
  [ "$cleaned" = 1 ] && return
  cleaned=1
  trap '' INT TERM HUP
  if [ -n "$belfry_pid" ]; then
    stop_child belfry "$belfry_pid" 10
    if [ "$stop_status" != 0 ]; then
      log "belfry exited with status $stop_status"
      stop_failed=1
    fi
    belfry_pid=
  fi
  # After belfry, so that its last log lines are shown.
  if [ -n "$tail_pid" ]; then
    kill "$tail_pid" 2>/dev/null || true
    wait "$tail_pid" 2>/dev/null || true
    tail_pid=
  fi
  if [ -n "$prosody_pid" ]; then
    stop_child prosody "$prosody_pid" 10
    if [ "$stop_status" != 0 ]; then
      log "prosody exited with status $stop_status"
      stop_failed=1
    fi
    prosody_pid=
  fi
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then
    rm -rf -- "$tmp"
  fi
}

# shellcheck disable=SC2317  # invoked by the traps below
on_signal() {
  echo >&2
  log "$1: shutting down"
  cleanup
  if [ "$stop_failed" = 1 ]; then
    log "stopped, but not cleanly"
    exit 1
  fi
  log "stopped"
  exit 0
}

trap cleanup EXIT
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP

# --- Packages and build -----------------------------------------------------
bash "$repo/scripts/setup.sh"
id prosody >/dev/null 2>&1 || die "no 'prosody' user: is the prosody package installed?"

cd "$repo"
if [ ! -f build/build.ninja ]; then
  meson setup build
fi
ninja -C build
belfry_bin=$repo/build/relay/belfry
[ -x "$belfry_bin" ] || die "$belfry_bin was not built"
# belfry finds its modules in the build tree beside its executable.
for m in echo proxy65 call; do
  [ -f "$repo/build/modules/$m/$m.so" ] || die "build/modules/$m/$m.so was not built"
done
# The call page is bundled with the e2e tests' esbuild and StanzaJS
# (tests/e2e/node_modules, installed by setup.sh).
command -v node >/dev/null 2>&1 || die "no 'node' (Node.js) to bundle the call page"
[ -f "$repo/tests/e2e/node_modules/stanza/package.json" ] \
  || die "tests/e2e/node_modules is missing (scripts/setup.sh runs npm ci there)"

# --- Ports and secrets ------------------------------------------------------
# Prints whether TCP port $1 on 127.0.0.1 can be bound right now.
port_free() {
  "$py" -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

# N distinct free loopback ports (bound together, so they differ), none of
# them equal to the ports given after N.
free_ports() {
  "$py" -c 'import socket, sys
n, avoid = int(sys.argv[1]), {int(a) for a in sys.argv[2:] if a}
socks, ports = [], []
while len(ports) < n:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    p = s.getsockname()[1]
    if p not in avoid:
        ports.append(p)
print(" ".join(map(str, ports)))' "$@"
}

for given in "$c2s_port" "$http_port"; do
  [ -z "$given" ] || port_free "$given" || die "port $given on 127.0.0.1 is in use"
done
# Four free ports; the c2s and http ones are used only when not given.
read -r -a spare < <(free_ports 4 "$c2s_port" "$http_port")
[ "${#spare[@]}" -eq 4 ] || die "could not find free ports on 127.0.0.1"
comp_port=${spare[0]}
proxy_port=${spare[1]}
[ -n "$c2s_port" ] || c2s_port=${spare[2]}
[ -n "$http_port" ] || http_port=${spare[3]}

random_secret() { "$py" -c 'import secrets; print(secrets.token_urlsafe(18))'; }
component_secret=$(random_secret)
demo_password=$(random_secret)

# --- Files --------------------------------------------------------------------
# $tmp           root, 711: both users can traverse, neither can list.
# $tmp/prosody   prosody, 700: its config (holds the secret), data, logs,
#                and www/, the call page it serves (config.json holds the
#                demo password).
# $tmp/belfry    root, 700: belfry's config and secret file.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/belfry-local.XXXXXXXX")
chmod 711 "$tmp"
pdir=$tmp/prosody
bdir=$tmp/belfry
www=$pdir/www
mkdir -m 700 "$pdir" "$pdir/data" "$pdir/certs" "$bdir" "$www"

# --- The call page ------------------------------------------------------------
cp "$repo/examples/call-page/index.html" "$repo/examples/call-page/call-page.css" "$www/"
node "$repo/tests/e2e/build.mjs" call-page "$www/call-page.bundle.js" >/dev/null \
  || die "could not bundle the call page (node tests/e2e/build.mjs call-page)"
# What the page needs to log in: the accounts registered below.  Served on
# 127.0.0.1 only, like everything here.
"$py" -c 'import json, sys
json.dump({"domain": "localhost", "relay": "relay.localhost",
           "accounts": ["demo", "demo2"], "password": sys.argv[1]}, sys.stdout)' \
  "$demo_password" > "$www/config.json"

prosody_cfg=$pdir/prosody.cfg.lua
cat > "$prosody_cfg" <<EOF
-- Throwaway Prosody for belfry's scripts/run-local.sh: loopback only.
pidfile = "$pdir/prosody.pid"
data_path = "$pdir/data"
certificates = "$pdir/certs"   -- empty: no TLS
log = { { levels = { min = "info" }, to = "file", filename = "$pdir/prosody.log" } }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $c2s_port }
c2s_direct_tls_ports = { }
s2s_ports = { }
component_ports = { $comp_port }
component_interfaces = { "127.0.0.1" }
http_ports = { $http_port }
http_interfaces = { "127.0.0.1" }
https_ports = { }

modules_enabled = { "roster", "saslauth", "disco", "ping", "bosh", "websocket", "http_files" }
modules_disabled = { "s2s", "offline" }

authentication = "internal_hashed"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
consider_bosh_secure = true
http_default_host = "localhost"
-- The call page at http://127.0.0.1:$http_port/ (the WebSocket and BOSH
-- paths stay theirs: exact routes win over the files' wildcard).
http_files_dir = "$www"
http_paths = { files = "/" }

VirtualHost "localhost"

Component "relay.localhost"
	component_secret = "$component_secret"
EOF
chmod 600 "$prosody_cfg"
chown -R prosody:prosody "$pdir"

belfry_cfg=$bdir/belfry.conf
printf '%s' "$component_secret" > "$bdir/secret"
chmod 600 "$bdir/secret"
cat > "$belfry_cfg" <<EOF
# Throwaway belfry config for scripts/run-local.sh (see examples/belfry.conf).
[component]
jid = relay.localhost
host = 127.0.0.1
port = $comp_port
secret-file = $bdir/secret

[modules]
load = echo;proxy65;call;conference

[echo]

# Group calls: call team@relay.localhost (or any other name) from two
# clients or tabs; each hears the other through the room.
[conference]
allow-domains = localhost

# Calls between users of localhost through the relay:
# call bob\\40localhost@relay.localhost to reach bob@localhost.
[call]
allow-domains = localhost

# File transfers: relay.localhost is a SOCKS5 bytestreams proxy.
[proxy65]
listen = 127.0.0.1:$proxy_port

# Calls to echo@relay.localhost: ICE on loopback only, like everything here.
[media]
addresses = 127.0.0.1
EOF
chmod 600 "$belfry_cfg"

# --- Prosody ------------------------------------------------------------------
as_prosody() { setpriv --reuid=prosody --regid=prosody --init-groups "$@"; }

# setsid: Ctrl-C in the terminal reaches only this script, which then stops
# belfry before Prosody.  --pdeathsig: they die with this script even if it
# is killed with SIGKILL.  (setsid and setpriv exec, so $! is the server.)
log "starting Prosody (c2s 127.0.0.1:$c2s_port, component port $comp_port, http $http_port)"
setsid setpriv --pdeathsig TERM --reuid=prosody --regid=prosody --init-groups \
  prosody -F --config "$prosody_cfg" > "$pdir/console.log" 2>&1 &
prosody_pid=$!

# Waits until 127.0.0.1:$2 accepts connections, while child $1 lives.
wait_port() {
  local pid=$1 port=$2 i
  for ((i = 0; i < 150; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

show_prosody_log() {
  log "Prosody's log:"
  tail -n 20 "$pdir/prosody.log" "$pdir/console.log" >&2 2>/dev/null || true
}

for port in "$c2s_port" "$comp_port" "$http_port"; do
  if ! wait_port "$prosody_pid" "$port"; then
    show_prosody_log
    die "Prosody is not listening on 127.0.0.1:$port"
  fi
done

# The call page must come back from the http port (mod_http_files).
"$py" -c 'import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # no http_proxy
with opener.open(sys.argv[1], timeout=5) as r:
    sys.exit(0 if r.status == 200 and b"call-page.bundle.js" in r.read() else 1)' \
  "http://127.0.0.1:$http_port/" || { show_prosody_log; die "Prosody does not serve the call page"; }

as_prosody prosodyctl --config "$prosody_cfg" register demo localhost "$demo_password" \
  || die "could not register demo@localhost"
# A second account, to try a call through the relay between two clients.
as_prosody prosodyctl --config "$prosody_cfg" register demo2 localhost "$demo_password" \
  || die "could not register demo2@localhost"

# --- belfry -------------------------------------------------------------------
belfry_log=$bdir/belfry.log
log "starting belfry"
setsid setpriv --pdeathsig TERM "$belfry_bin" --config "$belfry_cfg" > "$belfry_log" 2>&1 &
belfry_pid=$!

attached=0
for ((i = 0; i < 150; i++)); do
  if grep -q 'attached to' "$belfry_log"; then
    attached=1
    break
  fi
  alive "$belfry_pid" || break
  alive "$prosody_pid" || break
  sleep 0.1
done
if [ "$attached" != 1 ]; then
  log "belfry's log:"
  tail -n 30 "$belfry_log" >&2 || true
  show_prosody_log
  die "belfry did not attach to Prosody"
fi

cat <<EOF

================================================================
 belfry is running against a local Prosody (loopback only)

 XMPP server   127.0.0.1, port $c2s_port (no TLS; plain auth allowed)
 accounts      demo@localhost, demo2@localhost (same password)
 password      $demo_password
 WebSocket     ws://127.0.0.1:$http_port/xmpp-websocket
 BOSH          http://127.0.0.1:$http_port/http-bind

 relay         relay.localhost (service discovery: disco#info/items)
 file proxy    relay.localhost, SOCKS5 on 127.0.0.1:$proxy_port (XEP-0065)
 echo          echo@relay.localhost
               send it a chat message: it comes back;
               call it (audio/video, Jingle): your media comes back
 call relay    demo calls demo2\\40localhost@relay.localhost to reach demo2
               through belfry (media relayed and re-encrypted, IPs hidden)
 group call    demo and demo2 both call team@relay.localhost (any name):
               each hears the other through the room's mix

 call page     http://127.0.0.1:$http_port/
               in a browser on this machine: log in, call the echo; or open
               http://127.0.0.1:$http_port/?as=demo and
               http://127.0.0.1:$http_port/?as=demo2 in two tabs and call
               one from the other through the relay (Firefox: set
               media.peerconnection.ice.loopback to true in about:config)

 logs          $belfry_log
               $pdir/prosody.log

 Ctrl-C stops belfry and Prosody and removes $tmp
================================================================

EOF

# Show belfry's log from here on.
tail -n +1 -f "$belfry_log" --pid="$belfry_pid" &
tail_pid=$!

# Until a signal arrives or one of the two exits.
done_pid=
status=0
wait -n -p done_pid "$prosody_pid" "$belfry_pid" || status=$?
if [ "$done_pid" = "$belfry_pid" ]; then
  belfry_pid=
  log "belfry exited unexpectedly (status $status)"
  tail -n 20 "$belfry_log" >&2 || true
else
  prosody_pid=
  log "Prosody exited unexpectedly (status $status)"
  show_prosody_log
fi
cleanup
exit 1
