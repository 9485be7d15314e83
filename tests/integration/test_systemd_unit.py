"""The systemd unit examples/belfry.service:

  - `systemd-analyze verify` accepts it with no complaint at all (a copy
    whose ExecStart= points at the built binary, since verify checks that
    the program exists); the same check reports a deliberately broken
    copy, so a silent verifier cannot pass it
  - it carries what operating belfry needs: ExecReload= (SIGHUP), the
    descriptor limit, the hardening options, SIGTERM as the stop signal
  - MemoryDenyWriteExecute=yes holds: belfry runs a call under the
    kernel's equivalent, prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN),
    which the test first shows refuses a writable+executable mapping
"""

import shutil
import subprocess
import sys
import textwrap


import harness
from harness import Belfry, REPO
from test_jingle import MEDIA, initiate, jingle_client, new_sid, terminate

UNIT = REPO / "examples" / "belfry.service"
ANALYZE = shutil.which("systemd-analyze")


def unit_entries():
    """(section, key, value) in file order; repeated keys kept."""
    out, section = [], None
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def verify(path):
    assert ANALYZE, "systemd-analyze not found (Debian package systemd; scripts/setup.sh)"
    return subprocess.run([ANALYZE, "verify", "--man=no", str(path)], capture_output=True,
                          text=True, timeout=60)


def copy_for_verify(tmp_path, extra=""):
    text = UNIT.read_text().replace("/usr/local/bin/belfry", harness.require_belfry())
    path = tmp_path / "belfry.service"
    path.write_text(text + extra)
    return path


def test_unit_verifies(tmp_path):
    r = verify(copy_for_verify(tmp_path))
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", \
        f"systemd-analyze verify: rc {r.returncode}\n{r.stdout}\n{r.stderr}"


def test_verify_reports_a_broken_copy(tmp_path):
    broken = copy_for_verify(tmp_path, "[Service]\nNoNewPrivileges=perhaps\nBogusKey=1\n")
    r = verify(broken)
    assert "BogusKey" in r.stderr and "perhaps" in r.stderr, r.stderr


def test_unit_settings():
    entries = unit_entries()
    service = {}
    for section, key, value in entries:
        if section == "Service":
            service.setdefault(key, []).append(value)
    want = {
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
        "LimitNOFILE": "65536",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "RestartPreventExitStatus": "2",
    }
    for key, value in want.items():
        assert value in service.get(key, []), f"{key}={value} missing: {service.get(key)}"
    assert "@system-service" in service.get("SystemCallFilter", [])
    # the drain signal is documented where operators look
    assert "SIGUSR1" in UNIT.read_text()


MDWE_WRAPPER = textwrap.dedent("""\
    #!{python}
    # Runs the program in argv[1:] with MemoryDenyWriteExecute's kernel
    # equivalent: PR_SET_MDWE (65), PR_MDWE_REFUSE_EXEC_GAIN (1); kept
    # across execve.
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_MDWE): " + os.strerror(ctypes.get_errno()))
    os.execv(sys.argv[1], sys.argv[1:])
    """)

WX_PROBE = textwrap.dedent("""\
    import mmap
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except OSError as e:
        print("refused", e.errno)
    else:
        print("allowed")
    """)


def test_belfry_runs_without_writable_executable_memory(prosody, tmp_path, monkeypatch):
    wrapper = tmp_path / "mdwe"
    wrapper.write_text(MDWE_WRAPPER.format(python=sys.executable))
    wrapper.chmod(0o755)
    # the mechanism works here: a W+X mapping is refused under it
    probe = subprocess.run([str(wrapper), sys.executable, "-c", WX_PROBE],
                           capture_output=True, text=True, timeout=30)
    assert probe.stdout.startswith("refused"), (probe.stdout, probe.stderr)

    # belfry under it: wrapper -> exec belfry (same pid)
    real = harness.require_belfry()
    launcher = tmp_path / "belfry-mdwe"
    launcher.write_text(f"#!/bin/sh\nexec {wrapper} {real} \"$@\"\n")
    launcher.chmod(0o755)
    monkeypatch.setattr(harness, "BELFRY_BIN", str(launcher))
    relay = Belfry(tmp_path, port=prosody.component_port, groups={"media": MEDIA})
    alice = None
    try:
        relay.start()
        alice = jingle_client(prosody, "alice", "mdwe")
        sid = new_sid("mdwe")
        initiate(alice, sid)   # ICE gathering, DTLS certificate, the echo's answer
        terminate(alice, relay, sid)
        relay.stop()
    finally:
        if alice:
            alice.close()
        relay.kill_quietly()
