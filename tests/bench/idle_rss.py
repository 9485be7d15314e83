"""Idle memory of a running belfry: attached to a throwaway Prosody on
loopback with the echo module loaded, after it has answered a few queries.
Prints VmRSS and VmHWM. A benchmark, not a test: it prints figures."""
import os
import sys
import tempfile
import time
from pathlib import Path

repo = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(repo / "tests" / "integration"))
os.environ.setdefault("BELFRY_BIN", str(repo / "build" / "relay" / "belfry"))

import harness  # noqa: E402


def status_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main():
    prosody = harness.Prosody()
    prosody.start()
    work = Path(tempfile.mkdtemp(prefix="belfry-bench-"))
    belfry = harness.Belfry(work, port=prosody.component_port)
    try:
        belfry.start()
        client = harness.Client(f"alice@{harness.DOMAIN}", harness.USERS["alice"],
                                prosody.c2s_port)
        try:
            for _ in range(20):
                client.query(harness.COMPONENT, "http://jabber.org/protocol/disco#info")
                client.iq(f"echo@{harness.COMPONENT}", payload="<ping xmlns='urn:xmpp:ping'/>")
        finally:
            client.close()
        time.sleep(2)
        rss = status_kb(belfry.pid, "VmRSS")
        hwm = status_kb(belfry.pid, "VmHWM")
        print(f"idle belfry (echo module, attached, after 40 queries): "
              f"VmRSS {rss / 1024:.1f} MiB, VmHWM {hwm / 1024:.1f} MiB")
    finally:
        belfry.stop()
        prosody.close()


if __name__ == "__main__":
    main()
