"""The numba code behind ``parsers.train_kernel`` (imported only when a batch of train lines needs it).

Kept apart so that ``import parsers`` does not import numba, and at module level so that numba can
cache the compiled code on disk (``cache=True``): a process compiles once per installation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_POW10 = np.array([float(10**k) for k in range(23)])  # 1e0 .. 1e22: every one an exact double
_MAX_EXACT = 1 << 53  # integers up to this are exact doubles

@njit(cache=True, nogil=True, boundscheck=False)
def _digits(buf, p, end, max_digits):
    """Unsigned decimal at p: (value, position after it), or (-1, p) when there is none."""
    v = 0
    q = p
    while q < end and 48 <= buf[q] <= 57 and q - p < max_digits:
        v = v * 10 + (buf[q] - 48)
        q += 1
    if q == p or (q < end and 48 <= buf[q] <= 57):
        return -1, p
    return v, q

@njit(cache=True, nogil=True, boundscheck=False)
def _mantissa_digits(buf, q, end, mant, sig):
    """Digits at q appended to ``mant``: (mant, significant digits so far, digits read, position after).
    Stops early once more than 18 significant digits (no longer exact in an int64) were seen."""
    n = 0
    while q < end and 48 <= buf[q] <= 57 and sig <= 18:
        d = buf[q] - 48
        if mant or d:
            sig += 1
        mant = mant * 10 + d
        n += 1
        q += 1
    return mant, sig, n, q


@njit(cache=True, nogil=True, boundscheck=False)
def _number(buf, p, end):
    """A value ending at a space or a newline: (float, position after it, ok)."""
    neg = False
    if p < end and (buf[p] == 45 or buf[p] == 43):  # - +
        neg = buf[p] == 45
        p += 1
    if p + 3 <= end and buf[p] == 110 and buf[p + 1] == 97 and buf[p + 2] == 110:  # nan
        q = p + 3
        if q < end and buf[q] != 32 and buf[q] != 10:
            return 0.0, p, False
        return np.nan, q, True
    if p + 3 <= end and buf[p] == 105 and buf[p + 1] == 110 and buf[p + 2] == 102:  # inf
        q = p + 3
        if q < end and buf[q] != 32 and buf[q] != 10:
            return 0.0, p, False
        return (-np.inf if neg else np.inf), q, True
    mant, sig, whole, q = _mantissa_digits(buf, p, end, 0, 0)
    frac = 0  # digits after the point
    if q < end and buf[q] == 46:  # .
        mant, sig, frac, q = _mantissa_digits(buf, q + 1, end, mant, sig)
    if sig > 18 or whole + frac == 0:
        return 0.0, p, False
    exp = 0
    if q < end and (buf[q] == 101 or buf[q] == 69):  # e E
        q += 1
        eneg = False
        if q < end and (buf[q] == 45 or buf[q] == 43):
            eneg = buf[q] == 45
            q += 1
        e, q2 = _digits(buf, q, end, 4)
        if e < 0:
            return 0.0, p, False
        q = q2
        exp = -e if eneg else e
    if q < end and buf[q] != 32 and buf[q] != 10:
        return 0.0, p, False
    e10 = exp - frac
    if mant == 0:
        return (-0.0 if neg else 0.0), q, True
    if mant > _MAX_EXACT or e10 < -22 or e10 > 22:
        return 0.0, p, False  # would need more than one rounding: float() decides on the general path
    x = float(mant)
    x = x * _POW10[e10] if e10 >= 0 else x / _POW10[-e10]
    return (-x if neg else x), q, True

@njit(cache=True, nogil=True, boundscheck=False)
def _eta(buf, p, end):
    """``[D day(s), ]H:MM:SS[.f]`` ending at a double space or a newline: (seconds, position, ok)."""
    a, q = _digits(buf, p, end, 9)
    if a < 0:
        return 0.0, p, False
    days = 0
    if q + 4 <= end and buf[q] == 32 and buf[q + 1] == 100 and buf[q + 2] == 97 and buf[q + 3] == 121:
        q += 4  # " day"
        if q < end and buf[q] == 115:  # s
            q += 1
        if not (q + 2 <= end and buf[q] == 44 and buf[q + 1] == 32):  # ", "
            return 0.0, p, False
        days = a
        a, q = _digits(buf, q + 2, end, 9)
        if a < 0:
            return 0.0, p, False
    if not (q + 6 <= end and buf[q] == 58 and buf[q + 3] == 58):  # H:MM:SS
        return 0.0, p, False
    mm = 0
    ss = 0
    for off in (1, 2, 4, 5):
        c = buf[q + off]
        if not 48 <= c <= 57:
            return 0.0, p, False
    mm = (buf[q + 1] - 48) * 10 + (buf[q + 2] - 48)
    ss = (buf[q + 4] - 48) * 10 + (buf[q + 5] - 48)
    q += 6
    if q < end and buf[q] == 46:  # fraction, ignored like parse_eta does
        f, q2 = _digits(buf, q + 1, end, 64)
        if f < 0:
            return 0.0, p, False
        q = q2
    if q < end and buf[q] != 10 and not (q + 1 < end and buf[q] == 32 and buf[q + 1] == 32):
        return 0.0, p, False
    return float(days * 86400 + a * 3600 + mm * 60 + ss), q, True

@njit(cache=True, nogil=True, boundscheck=False)
def _two(buf, p):
    c0 = buf[p]
    c1 = buf[p + 1]
    if 48 <= c0 <= 57 and 48 <= c1 <= 57:
        return (c0 - 48) * 10 + (c1 - 48)
    return -1

@njit(cache=True, nogil=True, boundscheck=False)
def _bracket_number(buf, p, end):
    """``[``, padding spaces, a number, with a byte after it: (value, its position), or (-1, p)."""
    if p >= end or buf[p] != 91:
        return -1, p
    q = p + 1
    while q < end and buf[q] == 32:
        q += 1
    a, q = _digits(buf, q, end, 18)
    if a < 0 or q >= end:
        return -1, p
    return a, q


@njit(cache=True, nogil=True, boundscheck=False)
def _line(buf, p, end, keys, key_offsets, eta_col, head, values, etas, row):
    """One line at p: the position after its newline, or -1 when it is outside the subset."""
    k = key_offsets.shape[0] - 1
    # Time stamp: YYYY/MM/DD HH:MM:SS or MM/DD HH:MM:SS, then " - ".
    year = -1
    if p + 22 <= end and buf[p + 4] == 47:
        y0 = _two(buf, p)
        y1 = _two(buf, p + 2)
        if y0 < 0 or y1 < 0:
            return -1
        year = y0 * 100 + y1
        p += 5
    if p + 17 > end:
        return -1
    month = _two(buf, p)
    day = _two(buf, p + 3)
    hh = _two(buf, p + 6)
    mi = _two(buf, p + 9)
    ss = _two(buf, p + 12)
    if (month < 0 or day < 0 or hh < 0 or mi < 0 or ss < 0 or buf[p + 2] != 47 or buf[p + 5] != 32
            or buf[p + 8] != 58 or buf[p + 11] != 58 or buf[p + 14] != 32 or buf[p + 15] != 45
            or buf[p + 16] != 32):
        return -1
    p += 17
    # Logger name [A-Za-z0-9_.-]+, then " - INFO - ".
    q = p
    while q < end:
        c = buf[q]
        if (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 46 or c == 45:
            q += 1
        else:
            break
    if q == p or q + 10 > end:
        return -1
    if not (buf[q] == 32 and buf[q + 1] == 45 and buf[q + 2] == 32 and buf[q + 3] == 73 and buf[q + 4] == 78
            and buf[q + 5] == 70 and buf[q + 6] == 79 and buf[q + 7] == 32 and buf[q + 8] == 45
            and buf[q + 9] == 32):
        return -1
    p = q + 10
    # Epoch(train) or Iter(train).
    if p + 12 <= end and buf[p] == 69 and buf[p + 1] == 112 and buf[p + 2] == 111 and buf[p + 3] == 99 \
            and buf[p + 4] == 104:
        p += 5
    elif p + 11 <= end and buf[p] == 73 and buf[p + 1] == 116 and buf[p + 2] == 101 and buf[p + 3] == 114:
        p += 4
    else:
        return -1
    if not (buf[p] == 40 and buf[p + 1] == 116 and buf[p + 2] == 114 and buf[p + 3] == 97
            and buf[p + 4] == 105 and buf[p + 5] == 110 and buf[p + 6] == 41):  # (train)
        return -1
    p += 7
    while p < end and buf[p] == 32:
        p += 1
    # [ e][ i/n] or [ i/n]
    a, p = _bracket_number(buf, p, end)
    if a < 0:
        return -1
    epoch = -1
    if buf[p] == 93:  # ] : that was the epoch
        epoch = a
        a, p = _bracket_number(buf, p + 1, end)
        if a < 0:
            return -1
    if buf[p] != 47:  # /
        return -1
    n, p = _digits(buf, p + 1, end, 18)
    if n < 0 or p + 1 >= end or buf[p] != 93 or buf[p + 1] != 32:
        return -1
    p += 1
    while p < end and buf[p] == 32:
        p += 1
    # The fields: key0: v0  key1: v1 ...
    etas[row] = np.nan
    for j in range(k):
        if j:
            if p + 2 > end or buf[p] != 32 or buf[p + 1] != 32:
                return -1
            p += 2
        k0 = key_offsets[j]
        k1 = key_offsets[j + 1]
        if p + (k1 - k0) + 2 > end:
            return -1
        for t in range(k1 - k0):
            if buf[p + t] != keys[k0 + t]:
                return -1
        p += k1 - k0
        if buf[p] != 58 or buf[p + 1] != 32:  # ": "
            return -1
        p += 2
        if j == eta_col:
            x, p, ok = _eta(buf, p, end)
            if not ok:
                return -1
            etas[row] = x
        else:
            x, p, ok = _number(buf, p, end)
            if not ok:
                return -1
            values[j, row] = x
    if p < end and buf[p] != 10:
        return -1
    head[0, row] = year
    head[1, row] = month
    head[2, row] = day
    head[3, row] = hh
    head[4, row] = mi
    head[5, row] = ss
    head[6, row] = epoch
    head[7, row] = a
    head[8, row] = n
    return p + 1

@njit(cache=True, nogil=True, boundscheck=False)
def scan_lines(buf, pos, keys, key_offsets, eta_col, head, values, etas):
    end = buf.shape[0]
    rows = head.shape[1]
    row = 0
    while row < rows and pos < end:
        nxt = _line(buf, pos, end, keys, key_offsets, eta_col, head, values, etas, row)
        if nxt < 0:
            break
        pos = nxt
        row += 1
    return row, pos
