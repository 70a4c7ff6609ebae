"""The numba code behind ``parsers.gpu_csv`` (imported only when a GPU log is read).

Kept apart so that ``import parsers`` does not import numba, and at module level so that numba can cache the
compiled code on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_POW10 = np.array([float(10**k) for k in range(19)])

# Field kinds (``parsers.gpu_csv`` passes one per column of the header).
SKIP, TIMESTAMP, INDEX, NAME = -1, 0, 1, 2  # numeric value columns are 3 + their value row


@njit(cache=True, nogil=True, boundscheck=False)
def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True, boundscheck=False)
def _int(buf, p, end, n):
    """Exactly n digits at p, or -1."""
    if p + n > end:
        return -1
    v = 0
    for k in range(n):
        c = buf[p + k]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit(cache=True, nogil=True, boundscheck=False)
def _timestamp(buf, p, end):
    """``YYYY/MM/DD HH:MM:SS[.fff]`` filling [p, end) (trailing spaces allowed): seconds of the naive clock."""
    y = _int(buf, p, end, 4)
    mo = _int(buf, p + 5, end, 2)
    d = _int(buf, p + 8, end, 2)
    hh = _int(buf, p + 11, end, 2)
    mi = _int(buf, p + 14, end, 2)
    ss = _int(buf, p + 17, end, 2)
    if (y < 0 or mo < 1 or mo > 12 or d < 1 or d > 31 or hh < 0 or hh > 23 or mi < 0 or mi > 59 or ss < 0
            or ss > 60 or buf[p + 4] != 47 or buf[p + 7] != 47 or buf[p + 10] != 32 or buf[p + 13] != 58
            or buf[p + 16] != 58):
        return np.nan
    q = p + 19
    frac = 0.0
    if q < end and buf[q] == 46:
        q += 1
        scale = 0.1
        start = q
        while q < end and 48 <= buf[q] <= 57:
            frac += (buf[q] - 48) * scale
            scale *= 0.1
            q += 1
        if q == start:
            return np.nan
    while q < end and buf[q] == 32:
        q += 1
    if q != end:
        return np.nan
    return float(_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss) + frac


@njit(cache=True, nogil=True, boundscheck=False)
def _value(buf, p, end, units, u0, u1):
    """A reading filling [p, end): ``[N/A]``-like text in brackets (NaN, status 1), or a decimal number
    optionally followed by a space and the column's unit ``units[u0:u1]`` (status 0); else status -1."""
    if p < end and buf[p] == 91:  # [
        q = end - 1
        while q > p and buf[q] == 32:
            q -= 1
        return np.nan, (1 if buf[q] == 93 else -1)
    if p + 3 <= end and buf[p] == 78 and buf[p + 1] == 47 and buf[p + 2] == 65:  # N/A (the nounits format)
        return np.nan, 1
    neg = False
    if p < end and buf[p] == 45:
        neg = True
        p += 1
    mant = 0
    nd = 0
    frac = 0
    q = p
    while q < end and 48 <= buf[q] <= 57 and nd < 18:
        mant = mant * 10 + (buf[q] - 48)
        nd += 1
        q += 1
    if q < end and buf[q] == 46:
        q += 1
        while q < end and 48 <= buf[q] <= 57 and nd < 18:
            mant = mant * 10 + (buf[q] - 48)
            nd += 1
            frac += 1
            q += 1
    if nd == 0 or (q < end and 48 <= buf[q] <= 57):
        return np.nan, -1
    x = float(mant) / _POW10[frac] if frac else float(mant)
    if neg:
        x = -x
    if q < end and buf[q] == 32:
        r = q
        while r < end and buf[r] == 32:
            r += 1
        if r < end:  # a unit: it must be the column's
            n = u1 - u0
            if n == 0 or r + n > end:
                return np.nan, -1
            for k in range(n):
                if buf[r + k] != units[u0 + k]:
                    return np.nan, -1
            r += n
            while r < end and buf[r] == 32:
                r += 1
            if r != end:
                return np.nan, -1
        q = end
    if q != end:
        return np.nan, -1
    return x, 0


@njit(cache=True, nogil=True, boundscheck=False)
def scan_rows(buf, pos, stop, kinds, units, unit_off, t, gpu, vals, name_s, name_e, bad_pos, counts):
    """Read the complete lines of ``buf[pos:stop]`` (``stop`` just after a newline).

    Row r goes to ``t[r]``, ``gpu[r]``, ``vals[:, r]`` and the name's byte span ``name_s[r]:name_e[r]``. A line
    that is not a row of this header is not a row: its start goes to ``bad_pos`` (while there is room). Empty
    lines and repeated header lines (starting ``timestamp``) are skipped. ``counts``: [0] rows, [1] bad lines,
    [2] header lines, [3] readings in brackets, [4] lines read. Returns the byte position where it stopped (the
    start of the first line it had no room for, or ``stop``).
    """
    nf = kinds.shape[0]
    cap = t.shape[0]
    nv = vals.shape[0]
    r = counts[0]
    while pos < stop:
        e = pos
        while e < stop and buf[e] != 10:
            e += 1
        le = e
        if le > pos and buf[le - 1] == 13:
            le -= 1
        if le == pos:
            pos = e + 1
            counts[4] += 1
            continue
        if (le - pos >= 9 and buf[pos] == 116 and buf[pos + 1] == 105 and buf[pos + 2] == 109
                and buf[pos + 3] == 101 and buf[pos + 8] == 112):  # "timestamp"
            counts[2] += 1
            counts[4] += 1
            pos = e + 1
            continue
        if r >= cap:
            break
        ok = True
        p = pos
        ts = np.nan
        gi = -1
        ns = 0
        ne = 0
        na = 0
        for k in range(nv):
            vals[k, r] = np.nan
        for f in range(nf):
            if f > 0:
                if p >= le or buf[p] != 44:  # ,
                    ok = False
                    break
                p += 1
            while p < le and buf[p] == 32:
                p += 1
            q = p
            while q < le and buf[q] != 44:
                q += 1
            fe = q
            while fe > p and buf[fe - 1] == 32:
                fe -= 1
            kind = kinds[f]
            if kind == 0:
                ts = _timestamp(buf, p, fe)
                if ts != ts:
                    ok = False
                    break
            elif kind == 1:
                v = 0
                if fe == p or fe - p > 6:
                    ok = False
                    break
                for c in range(p, fe):
                    d = buf[c]
                    if d < 48 or d > 57:
                        ok = False
                        break
                    v = v * 10 + (d - 48)
                if not ok:
                    break
                gi = v
            elif kind == 2:
                ns = p
                ne = fe
            elif kind >= 3:
                x, st = _value(buf, p, fe, units, unit_off[f], unit_off[f + 1])
                if st < 0:
                    ok = False
                    break
                if st == 1:
                    na += 1
                vals[kind - 3, r] = x
            p = q
        if ok and p != le:  # more fields than the header
            ok = False
        if ok:
            t[r] = ts
            gpu[r] = gi
            name_s[r] = ns
            name_e[r] = ne
            counts[3] += na
            r += 1
        else:
            if counts[1] < bad_pos.shape[0]:
                bad_pos[counts[1]] = pos
            counts[1] += 1
        counts[4] += 1
        pos = e + 1
    counts[0] = r
    return pos
