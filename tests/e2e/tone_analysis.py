"""What a peer heard, by frequency: the analysis behind the conference tests
(tests/e2e/test_conference_audio.py).

Each peer (webrtcbin_peer.py, dino_peer.py, the Chromium page) can record
the audio it decoded (`record_audio`) as 48 kHz mono S16LE in chunks, each
chunk with the wall-clock time (time.time(), seconds) at which it came out
of the peer's decoder:

    chunk := <d wall time> <I n samples> n * <h sample>      (little endian)

The peers send pure tones of distinct, non-harmonic frequencies, so who is
heard is which frequencies carry energy. Levels are read from a
Hann-windowed FFT as the power within a few bins of the frequency, in dB
relative to a full-scale sine (0 dB = a sine of amplitude 1.0, -200 dB for
none at all); a window's wall time is interpolated from the chunk times.

Pure functions on numpy arrays (Debian's python3-numpy); no I/O but read().
"""

import struct

import numpy as np

RATE = 48000
HEADER = struct.Struct("<dI")
FLOOR_DB = -200.0


class Recording:
    """Decoded audio of one peer: `x` float samples (-1..1), and the chunk
    boundaries `ends` (sample index after each chunk) with their wall times
    `walls` (when the chunk left the decoder)."""

    def __init__(self, x, ends, walls, rate=RATE):
        self.x = np.asarray(x, dtype=np.float64)
        self.ends = np.asarray(ends, dtype=np.float64)
        self.walls = np.asarray(walls, dtype=np.float64)
        self.rate = rate

    @property
    def seconds(self):
        return len(self.x) / self.rate

    def wall_at(self, index):
        """Wall time of sample `index` (interpolated between chunk ends)."""
        if len(self.ends) == 0:
            return float("nan")
        if len(self.ends) == 1:
            return float(self.walls[0] - (self.ends[0] - index) / self.rate)
        return float(np.interp(index, self.ends, self.walls,
                               left=self.walls[0] - (self.ends[0] - index) / self.rate,
                               right=self.walls[-1] + (index - self.ends[-1]) / self.rate))

    def index_at(self, wall):
        """First sample index at or after wall time `wall` (clamped)."""
        if len(self.ends) == 0:
            return 0
        i = np.interp(wall, self.walls, self.ends,
                      left=0.0, right=float(len(self.x)))
        return int(min(max(0, round(i)), len(self.x)))

    def between(self, wall_from, wall_to):
        """The samples decoded between two wall times."""
        return self.x[self.index_at(wall_from):self.index_at(wall_to)]


def read(path, rate=RATE):
    data = open(path, "rb").read()
    pos, parts, ends, walls, total = 0, [], [], [], 0
    while pos + HEADER.size <= len(data):
        wall, n = HEADER.unpack_from(data, pos)
        pos += HEADER.size
        if n == 0 or pos + 2 * n > len(data):
            break   # a chunk cut short (the peer was stopped mid-write)
        parts.append(np.frombuffer(data, dtype="<i2", count=n, offset=pos))
        pos += 2 * n
        total += n
        ends.append(total)
        walls.append(wall)
    x = (np.concatenate(parts).astype(np.float64) / 32768.0) if parts else np.zeros(0)
    return Recording(x, ends, walls, rate)


def coverage(rec, wall_from, wall_to):
    """Seconds of audio decoded between two wall times over the seconds
    that passed: about 1.0 for a continuous stream; a stream that stops
    (DTX, a stalled sender) leaves no samples behind, only a jump in the
    chunks' wall times, so this is the check for that."""
    span = wall_to - wall_from
    return len(rec.between(wall_from, wall_to)) / rec.rate / span if span > 0 else 0.0


def spectrum(x, rate=RATE):
    """Hann-windowed power spectrum, scaled so that a sine of amplitude A
    sums to A^2/2 over its main lobe (Parseval with the window's power)."""
    n = len(x)
    w = np.hanning(n)
    X = np.fft.rfft(x * w)
    p = (np.abs(X) ** 2) * 2.0 / (n * np.sum(w ** 2))
    return np.fft.rfftfreq(n, 1.0 / rate), p


def band_db(freqs, p, f, half_width):
    sel = (freqs >= f - half_width) & (freqs <= f + half_width)
    ms = float(np.sum(p[sel]))
    return 10.0 * np.log10(ms / 0.5) if ms > 0 else FLOOR_DB


def half_width_for(n, rate=RATE):
    # The Hann main lobe is +-2 bins; 2 more bins and at least 3 Hz cover a
    # sender's clock differing a little from ours.
    return max(4.0 * rate / n, 3.0)


def levels(x, freqs_hz, rate=RATE):
    """{f: dB} for each frequency in freqs_hz over all of x."""
    if len(x) < 64:
        return {f: FLOOR_DB for f in freqs_hz}
    fr, p = spectrum(x, rate)
    hw = half_width_for(len(x), rate)
    return {f: band_db(fr, p, f, hw) for f in freqs_hz}


def rms_db(x):
    if len(x) == 0:
        return FLOOR_DB
    ms = float(np.mean(np.asarray(x) ** 2))
    return 10.0 * np.log10(ms / 0.5) if ms > 0 else FLOOR_DB


def distortion_products(tones, rate=RATE, avoid_hz=40.0):
    """Frequencies where clipping or a non-linear mix puts energy: 2f and 3f
    of each tone, f1+f2, |f1-f2|, 2f1-f2 of each pair; those closer than
    avoid_hz to any tone (or each other's duplicates, or above 0.45 rate, or
    below 100 Hz) left out. Returns {freq: what}."""
    tones = list(tones)
    cands = {}
    for f in tones:
        cands.setdefault(2 * f, f"2x{f}")
        cands.setdefault(3 * f, f"3x{f}")
    for i, a in enumerate(tones):
        for b in tones[i + 1:]:
            cands.setdefault(a + b, f"{a}+{b}")
            cands.setdefault(abs(a - b), f"{max(a, b)}-{min(a, b)}")
            cands.setdefault(abs(2 * a - b), f"2x{a}-{b}")
            cands.setdefault(abs(2 * b - a), f"2x{b}-{a}")
    return {f: what for f, what in sorted(cands.items())
            if 100 <= f <= 0.45 * rate and all(abs(f - t) >= avoid_hz for t in tones)}


def sliding_levels(rec, freqs_hz, window_s, hop_s, wall_from=None, wall_to=None):
    """Levels in windows of window_s every hop_s: (walls, {f: array of dB})
    where walls are the wall times of the windows' centres."""
    rate = rec.rate
    n = int(round(window_s * rate))
    hop = max(1, int(round(hop_s * rate)))
    i0 = rec.index_at(wall_from) if wall_from is not None else 0
    i1 = rec.index_at(wall_to) if wall_to is not None else len(rec.x)
    starts = np.arange(i0, max(i0, i1 - n + 1), hop)
    if len(starts) == 0:
        return np.zeros(0), {f: np.zeros(0) for f in freqs_hz}
    frames = np.stack([rec.x[s:s + n] for s in starts])
    w = np.hanning(n)
    X = np.fft.rfft(frames * w, axis=1)
    p = (np.abs(X) ** 2) * 2.0 / (n * np.sum(w ** 2))
    fr = np.fft.rfftfreq(n, 1.0 / rate)
    hw = half_width_for(n, rate)
    out = {}
    for f in freqs_hz:
        sel = (fr >= f - hw) & (fr <= f + hw)
        ms = np.sum(p[:, sel], axis=1)
        with np.errstate(divide="ignore"):
            out[f] = np.where(ms > 0, 10.0 * np.log10(ms / 0.5), FLOOR_DB)
    walls = np.array([rec.wall_at(s + n / 2.0) for s in starts])
    return walls, out


def first_present(walls, db, threshold_db, after=None, hold=3):
    """Wall time of the first window (after `after`) from which the level
    stays >= threshold_db for `hold` windows; None if never."""
    run = 0
    for i, (t, v) in enumerate(zip(walls, db)):
        if after is not None and t < after:
            run = 0
            continue
        run = run + 1 if v >= threshold_db else 0
        if run >= hold:
            return float(walls[i - hold + 1])
    return None


def first_absent(walls, db, threshold_db, after=None, hold=3):
    """Wall time of the first window (after `after`) from which the level
    stays < threshold_db for `hold` windows; None if never."""
    return first_present(walls, -np.asarray(db), -threshold_db, after, hold)


def longest_run_below(walls, db, threshold_db, hop_s):
    """The longest stretch (s) of consecutive windows below threshold_db,
    and the wall time where it starts."""
    best, best_at, run, run_at = 0, None, 0, None
    for t, v in zip(walls, db):
        if v < threshold_db:
            if run == 0:
                run_at = t
            run += 1
            if run > best:
                best, best_at = run, run_at
        else:
            run = 0
    return best * hop_s, best_at
