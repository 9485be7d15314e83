#!/usr/bin/env python3
"""Fails on any GLib non-cryptographic random call in relay/ and modules/.

GLib's g_random_* and g_rand_* are a Mersenne Twister: a peer that sees a
few outputs (SSRCs, session ids, resources) can predict the rest.  Every
value a peer sees comes from bf_random_* (relay/random.c, getrandom).  The
only uses allowed are listed here by file and function, each timing jitter
that no peer can read back as an identifier:

- relay/link.c schedule_reconnect: the reconnect delay's 0.8..1.2 spread,
  so a fleet of relays does not reconnect in step; it is a delay, never
  sent anywhere.
- relay/media/consent-clock.c consent_next_check: the ICE consent check's
  randomised interval (RFC 7675 5.1), so calls set up together do not
  check in step; an attacker gains nothing from predicting it.
"""
import pathlib
import re
import sys

ALLOWED = {
    ("relay/link.c", "schedule_reconnect"),
    ("relay/media/consent-clock.c", "consent_next_check"),
}
CALL = re.compile(r"\bg_rand(?:om)?_\w+")
# A C function definition as GLib style writes it: the name at the start
# of a line, followed by " (".
FUNC = re.compile(r"^([A-Za-z_]\w*) \(")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    bad = []
    for top in ("relay", "modules"):
        for path in sorted((root / top).rglob("*.[ch]")):
            rel = path.relative_to(root).as_posix()
            func = None
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = FUNC.match(line)
                if m:
                    func = m.group(1)
                for call in CALL.findall(line):
                    if (rel, func) not in ALLOWED:
                        bad.append(f"{rel}:{n}: {call} in {func}()")
    scanned = list((root / "relay").rglob("*.c"))
    if not scanned:
        print(f"no sources under {root}/relay", file=sys.stderr)
        return 1
    for b in bad:
        print(f"not a CSPRNG (use bf_random_*): {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
