"""The MCU's composite as the conference tests see it: mcu.c's layout
written again from mcu.h's description, and which colour sits at each
tile of a decoded frame (tests/e2e/test_conference_mcu.py, the ordinary
peers' picture; tests/e2e/test_conference_record.py, a recording's video
track).  One copy so both tests check the same layout.

Frames are numpy arrays of RGB ints at SNAP (the 640x360 composite scaled
by 10: webrtcbin_peer.VIDEO_SNAP, and what the recording test decodes to).
Pure functions; no I/O.
"""

import numpy as np

W, H = 640, 360             # the composite (mcu-room.c)
SNAP = (64, 36)             # webrtcbin_peer.VIDEO_SNAP: the composite scaled by 10
COLOUR = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def even(v):
    return v & ~1


def tile(n, i, big):
    """mcu.c's layout_tile, written again from mcu.h's description: the
    grid (big None) or one big + strip."""
    if n <= 1:
        return 0, 0, W, H
    if big is None:
        cols = 1
        while cols * cols < n:
            cols += 1
        rows = (n + cols - 1) // cols
        cw, ch = even(W // cols), even(H // rows)
        return (i % cols) * cw, (i // cols) * ch, cw, ch
    bw, bh = even(W * 3 // 4), even(H * 3 // 4)
    if i == big:
        return even((W - bw) // 2), 0, bw, bh
    k = n - 1
    slot = i if i < big else i - 1
    tw = even(W // max(k, 4))
    th = even(tw * H // W)
    if th > H - bh:
        th = even(H - bh)
        tw = even(th * W // H)
    return even((W - k * tw) // 2) + slot * tw, bh + even((H - bh - th) // 2), tw, th


def colour_at(frame, rect):
    """The mean colour of the inner half of @rect (composite pixels)."""
    sx, sy = SNAP[0] / W, SNAP[1] / H
    x, y, w, h = rect
    x0, x1 = int((x + w / 4) * sx), int(np.ceil((x + 3 * w / 4) * sx))
    y0, y1 = int((y + h / 4) * sy), int(np.ceil((y + 3 * h / 4) * sy))
    return frame[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)].reshape(-1, 3).mean(axis=0)


def is_colour(rgb, name):
    ch = COLOUR[name].index(255)
    return rgb[ch] > 120 and all(rgb[ch] > rgb[c] + 60 for c in range(3) if c != ch)


def layout_matches(frame, colours):
    """Which layout (None: the grid, else the big tile's index) puts each
    of @colours (add order) at its tile: "grid" or the big tile's index
    (0 included: test with `is not False`); False if none does."""
    n = len(colours)
    for big in [None] + list(range(n)):
        if all(is_colour(colour_at(frame, tile(n, i, big)), c) for i, c in enumerate(colours)):
            return big if big is not None else "grid"
    return False
