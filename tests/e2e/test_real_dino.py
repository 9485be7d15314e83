"""Real Dino (Debian 12's dino-im 0.4.2) calls echo@relay.localhost.

Dino runs headless under Xvfb with a prepared profile; the call is placed
through AT-SPI by activating the conversation's "Start call" menu button's
`call.audio` action, as a click on "Audio call" would (real_dino.py has how
and why each piece is set up). Proven:

- Dino logs in over STARTTLS, sees echo's caps and offers the call button;
  it proposes (JMI) to the bare JID, belfry proceeds, Dino's own
  session-initiate arrives from its resource, belfry accepts, ICE connects
  and DTLS-SRTP is keyed ("media secured").
- The sound Dino captures comes back: what Dino plays into its speaker sink
  carries energy only while the call runs (silent before the call).

Audio only: Dino has no camera here (no v4l2loopback without kernel
modules), so it would send no video and a video call proves nothing more.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import e2e
import harness
import real_dino as rd

ALICE = "alice@localhost"
ECHO = harness.ECHO
CALL_TIMEOUT = 45
PLAYED_RMS = 300      # s16 RMS; the mic signal is ~4500, Dino's AGC moves it
SILENT_RMS = 30


def require():
    missing = [p for p in (rd.DINO, "/usr/bin/Xvfb", "/usr/bin/pulseaudio", "/usr/bin/paplay",
                           "/usr/bin/parec", "/usr/bin/pactl", "/usr/bin/dbus-daemon",
                           "/usr/bin/openssl", "/usr/bin/unshare", "/usr/libexec/at-spi-bus-launcher")
               if not os.access(p, os.X_OK)]
    r = subprocess.run([e2e.PY, "-c", "import pyatspi"], capture_output=True, timeout=30)
    if r.returncode != 0:
        missing.append("python3-pyatspi")
    r = subprocess.run(["dpkg", "-L", "dino-im"], capture_output=True, text=True, timeout=30)
    if "plugins/rtp.so" not in r.stdout or "plugins/ice.so" not in r.stdout:
        missing.append("dino-im's rtp and ice plugins")
    assert not missing, "missing (scripts/setup.sh): " + ", ".join(missing)


def wait_for(pred, timeout, what, info=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} within {timeout}s{info()}")


def test_real_dino_audio_call_to_echo():
    require()
    work = Path(tempfile.mkdtemp(prefix="belfry-real-dino-"))
    prosody = belfry = desktop = dino = None
    rd.add_veth()
    try:
        pki = rd.make_pki(work / "pki")
        prosody = rd.TlsProsody(pki)
        prosody.start()
        e2e.adopt(prosody.proc.pid)
        belfry = harness.Belfry(work / "belfry", port=prosody.component_port, verbose=True,
                                modules="echo", groups={"media": {"addresses": rd.MEDIA_ADDR}})
        belfry.start()
        e2e.adopt(belfry.pid)
        rd.roster_echo(ALICE, harness.USERS["alice"], ECHO)

        desktop = rd.Desktop(work)
        desktop.start()
        for p in desktop.procs.values():
            e2e.adopt(p.pid)
        dino = rd.Dino(desktop, pki / "bundle.crt")
        dino.prepare_profile(ALICE, harness.USERS["alice"], ECHO)
        e2e.adopt(dino.proc.pid)
        dino.start()
        e2e.adopt(dino.proc.pid)

        def info():
            return "\n--- dino ---\n" + dino.log_tail() + "\n--- belfry ---\n" + belfry.log()[-6000:]

        full = f"{ALICE}/{rd.RESOURCE}"
        # logged in over TLS: the probe for echo comes from Dino's resource
        wait_for(lambda: any("type='probe'" in l and f"from='{full}'" in l
                             for l in belfry.log().splitlines()), 30,
                 "no presence probe from Dino", info)
        before = rd.rms(desktop.record(2.0))
        assert before < SILENT_RMS, f"Dino's speaker not silent before the call: rms {before:.0f}"

        dino.press_call("call.audio", timeout=CALL_TIMEOUT)
        wait_for(lambda: "media secured" in belfry.log(), CALL_TIMEOUT, "no 'media secured'", info)
        log = belfry.log()
        assert any(f"from='{full}'" in l and "<propose xmlns='urn:xmpp:jingle-message:0'" in l
                   for l in log.splitlines()), info()
        assert f"from {full} to {ECHO}: 1 contents" in log, info()
        assert f"with {full} accepted (1 contents, 1 transports)" in log, info()

        played = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            played.append(rd.rms(desktop.record(3.0)))
            if played[-1] > PLAYED_RMS:
                break
        assert played and played[-1] > PLAYED_RMS, (
            f"Dino never played its own audio back: rms per 3 s {played}{info()}")
        # what Dino played came from the RTP it received: rtpbin gave it a
        # stream, linked to the audio decoder (Dino's own debug line)
        assert "to audio decode for audio" in dino.log_text(), info()
        print(f"real Dino: silent before {before:.0f}, played rms per 3 s {[round(x) for x in played]}")
        assert "failed" not in "\n".join(l for l in belfry.log().splitlines()
                                         if "belfry-session" in l), info()
    finally:
        if desktop is not None and desktop.env is not None:
            desktop.screenshot(work / "screen.png")
        errors = []
        for stop in (dino and dino.stop, belfry and belfry.stop, desktop and desktop.stop,
                     prosody and prosody.close):
            if stop:
                try:
                    stop()
                except Exception as e:   # belfry.stop fails if belfry died
                    errors.append(e)
        rd.del_veth()
        if not os.environ.get("BELFRY_KEEP_TMP"):
            shutil.rmtree(work, ignore_errors=True)
    if errors:
        raise errors[0]
