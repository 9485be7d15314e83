"""The conference tests' analysis (tone_analysis.py) on synthetic signals:
each check the conference tests make must tell a right mix from the wrong
ones it guards against (own voice leaked at -30 dB, a clipped sum, a
20 ms hole, a late onset). No peers, no network: well under a second."""

import struct

import numpy as np

import tone_analysis as ta

RATE = ta.RATE
TONES = (600, 1300, 2100, 3100)


def sine(f, secs, amp=0.25, phase=0.0):
    t = np.arange(int(secs * RATE)) / RATE
    return amp * np.sin(2 * np.pi * f * t + phase)


def rec_of(x, t0=1000.0, chunk=960):
    ends = np.arange(chunk, len(x) + 1, chunk)
    return ta.Recording(x[:ends[-1]], ends, t0 + ends / RATE)


def test_levels_of_a_mix_and_a_leak():
    mix = sine(1300, 2) + sine(2100, 2) + sine(3100, 2)
    lv = ta.levels(mix, TONES)
    for f in (1300, 2100, 3100):
        assert abs(lv[f] - 20 * np.log10(0.25)) < 0.3, lv   # -12 dB each
    assert lv[600] < -100, lv
    # Own voice leaking 30 dB down is seen (and would fail the 40 dB rule).
    leak = mix + sine(600, 2, amp=0.25 * 10 ** (-30 / 20))
    lv = ta.levels(leak, TONES)
    assert abs((lv[1300] - lv[600]) - 30) < 0.5, lv
    # A sender's clock 0.05 % off still lands in the band.
    lv = ta.levels(sine(3100 * 1.0005, 2), TONES)
    assert abs(lv[3100] - 20 * np.log10(0.25)) < 0.5, lv


def test_clipping_shows_distortion_products():
    mix = sine(1300, 2, 0.45) + sine(2100, 2, 0.45) + sine(3100, 2, 0.45)
    products = ta.distortion_products((1300, 2100, 3100))
    clean = ta.levels(mix, list(products) + [1300])
    clipped = ta.levels(np.clip(mix, -1, 1), list(products) + [1300])
    worst_clean = max(clean[f] for f in products)
    worst_clipped = max(clipped[f] for f in products)
    assert worst_clean < -100, worst_clean
    assert worst_clipped > clipped[1300] - 40, (worst_clipped, clipped[1300])


def test_read_and_wall_times(tmp_path):
    x = sine(600, 1)
    pcm = (x * 32767).astype("<i2")
    path = tmp_path / "rec.pcm"
    with open(path, "wb") as f:
        for i in range(0, len(pcm), 960):
            f.write(struct.pack("<dI", 500.0 + (i + 960) / RATE, 960) + pcm[i:i + 960].tobytes())
        f.write(struct.pack("<dI", 501.5, 960) + b"\0" * 10)   # cut short
    rec = ta.read(path)
    assert len(rec.x) == RATE and abs(rec.wall_at(RATE / 2) - 500.5) < 1e-6
    assert rec.index_at(500.25) == RATE // 4
    assert len(rec.between(500.0, 500.5)) == RATE // 2
    assert abs(ta.coverage(rec, 500.0, 501.0) - 1.0) < 0.01


def test_coverage_sees_a_stream_that_stopped():
    x = sine(600, 2)
    ends = np.arange(960, len(x) + 1, 960)
    walls = 1000.0 + ends / RATE
    walls[len(walls) // 2:] += 1.0          # 1 s with nothing decoded mid-way
    rec = ta.Recording(x[:ends[-1]], ends, walls)
    assert abs(ta.coverage(rec, 1000.0, 1003.0) - 2 / 3) < 0.02


def test_onset_and_offset_in_sliding_windows():
    quiet, tone = np.zeros(RATE), sine(900, 1.5)
    rec = rec_of(np.concatenate([quiet, tone, quiet]))
    walls, lv = ta.sliding_levels(rec, [900], 0.1, 0.02)
    on = ta.first_present(walls, lv[900], -30)
    off = ta.first_absent(walls, lv[900], -30, after=on)
    assert abs(on - 1001.0) < 0.06 and abs(off - 1002.5) < 0.06, (on, off)


def test_a_20ms_hole_is_a_gap():
    x = sine(2100, 2) + sine(1300, 2)
    holed = x.copy()
    holed[RATE:RATE + RATE // 50] = 0.0          # one lost 20 ms frame, not concealed
    for sig, want in ((x, 0.0), (holed, 0.0075)):
        walls, lv = ta.sliding_levels(rec_of(sig), [2100], 0.01, 0.0025)
        gap, _ = ta.longest_run_below(walls, lv[2100], lv[2100].max() - 20, 0.0025)
        assert (gap >= want) if want else (gap == 0), gap
