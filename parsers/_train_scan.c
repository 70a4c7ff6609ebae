/* The C build of parsers/_train_kernel_numba.py (see parsers/train_kernel.py for the contract).
 *
 * The same byte loops, function by function, with the same results: the same rows, end position, head,
 * values and etas, including what a line that stops the scan leaves behind (its eta slot set to NaN and
 * the values read before the field that failed). Integers wrap like numba's int64 (unsigned arithmetic
 * here, so that C has no undefined behaviour). Doubles: one correctly rounded multiply or divide, as in
 * numba (built without -ffast-math; x86-64 and arm64 use IEEE doubles, no extended precision).
 *
 * train_kernel.py compiles this file with the system C compiler into a per-user cache and calls
 * scan_lines through ctypes, which releases the GIL during the call. The library also holds the one other loop
 * a long run needs compiled, debiased_ema (dashboard/analysis/smoothing.py's _ema_into, which numba compiles
 * when numba is the scanner): loaded with the scanner, it costs nothing more.
 */

#include <stdint.h>

typedef int64_t i64;
typedef uint64_t u64;
typedef const uint8_t *bytes;

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const i64 MAX_EXACT = (i64)1 << 53;

#define IS_DIGIT(c) ((c) >= 48 && (c) <= 57)

static double nan_value(void) { return __builtin_nan(""); }      /* positive quiet NaN, like np.nan */
static double inf_value(void) { return __builtin_inf(); }

/* Unsigned decimal at p: its value (or -1 when there is none) and the position after it in *out. */
static i64 digits(bytes buf, i64 p, i64 end, i64 max_digits, i64 *out) {
    u64 v = 0;
    i64 q = p;
    while (q < end && IS_DIGIT(buf[q]) && q - p < max_digits) {
        v = v * 10u + (u64)(buf[q] - 48);
        q += 1;
    }
    if (q == p || (q < end && IS_DIGIT(buf[q]))) {
        *out = p;
        return -1;
    }
    *out = q;
    return (i64)v;
}

/* Digits at *q appended to *mant; stops once more than 18 significant digits were seen. */
static void mantissa_digits(bytes buf, i64 *q, i64 end, u64 *mant, i64 *sig, i64 *n) {
    i64 count = 0;
    while (*q < end && IS_DIGIT(buf[*q]) && *sig <= 18) {
        u64 d = (u64)(buf[*q] - 48);
        if (*mant || d) *sig += 1;
        *mant = *mant * 10u + d;
        count += 1;
        *q += 1;
    }
    *n = count;
}

/* A value ending at a space or a newline: 1 and *x, *after set, or 0. */
static int number(bytes buf, i64 p, i64 end, double *x, i64 *after) {
    int neg = 0;
    if (p < end && (buf[p] == 45 || buf[p] == 43)) {
        neg = buf[p] == 45;
        p += 1;
    }
    if (p + 3 <= end && buf[p] == 110 && buf[p + 1] == 97 && buf[p + 2] == 110) { /* nan */
        i64 q = p + 3;
        if (q < end && buf[q] != 32 && buf[q] != 10) return 0;
        *x = nan_value();
        *after = q;
        return 1;
    }
    if (p + 3 <= end && buf[p] == 105 && buf[p + 1] == 110 && buf[p + 2] == 102) { /* inf */
        i64 q = p + 3;
        if (q < end && buf[q] != 32 && buf[q] != 10) return 0;
        *x = neg ? -inf_value() : inf_value();
        *after = q;
        return 1;
    }
    u64 mant = 0;
    i64 sig = 0, whole = 0, frac = 0, q = p;
    mantissa_digits(buf, &q, end, &mant, &sig, &whole);
    if (q < end && buf[q] == 46) { /* . */
        q += 1;
        mantissa_digits(buf, &q, end, &mant, &sig, &frac);
    }
    if (sig > 18 || whole + frac == 0) return 0;
    i64 exp = 0;
    if (q < end && (buf[q] == 101 || buf[q] == 69)) { /* e E */
        q += 1;
        int eneg = 0;
        if (q < end && (buf[q] == 45 || buf[q] == 43)) {
            eneg = buf[q] == 45;
            q += 1;
        }
        i64 q2;
        i64 e = digits(buf, q, end, 4, &q2);
        if (e < 0) return 0;
        q = q2;
        exp = eneg ? -e : e;
    }
    if (q < end && buf[q] != 32 && buf[q] != 10) return 0;
    i64 e10 = exp - frac;
    i64 m = (i64)mant; /* at most 18 significant digits here: no wrap */
    if (m == 0) {
        *x = neg ? -0.0 : 0.0;
        *after = q;
        return 1;
    }
    if (m > MAX_EXACT || e10 < -22 || e10 > 22) return 0;
    double v = (double)m;
    v = e10 >= 0 ? v * POW10[e10] : v / POW10[-e10];
    *x = neg ? -v : v;
    *after = q;
    return 1;
}

/* [D day(s), ]H:MM:SS[.f] ending at a double space or a newline: 1 and *x, *after set, or 0. */
static int eta(bytes buf, i64 p, i64 end, double *x, i64 *after) {
    i64 q;
    i64 a = digits(buf, p, end, 9, &q);
    if (a < 0) return 0;
    i64 days = 0;
    if (q + 4 <= end && buf[q] == 32 && buf[q + 1] == 100 && buf[q + 2] == 97 && buf[q + 3] == 121) {
        q += 4; /* " day" */
        if (q < end && buf[q] == 115) q += 1; /* s */
        if (!(q + 2 <= end && buf[q] == 44 && buf[q + 1] == 32)) return 0; /* ", " */
        days = a;
        a = digits(buf, q + 2, end, 9, &q);
        if (a < 0) return 0;
    }
    if (!(q + 6 <= end && buf[q] == 58 && buf[q + 3] == 58)) return 0; /* H:MM:SS */
    if (!IS_DIGIT(buf[q + 1]) || !IS_DIGIT(buf[q + 2]) || !IS_DIGIT(buf[q + 4]) || !IS_DIGIT(buf[q + 5])) return 0;
    i64 mm = (buf[q + 1] - 48) * 10 + (buf[q + 2] - 48);
    i64 ss = (buf[q + 4] - 48) * 10 + (buf[q + 5] - 48);
    q += 6;
    if (q < end && buf[q] == 46) { /* a fraction, ignored like parse_eta does */
        i64 q2;
        i64 f = digits(buf, q + 1, end, 64, &q2);
        if (f < 0) return 0;
        q = q2;
    }
    if (q < end && buf[q] != 10 && !(q + 1 < end && buf[q] == 32 && buf[q + 1] == 32)) return 0;
    *x = (double)(days * 86400 + a * 3600 + mm * 60 + ss);
    *after = q;
    return 1;
}

static i64 two(bytes buf, i64 p) {
    uint8_t c0 = buf[p], c1 = buf[p + 1];
    if (IS_DIGIT(c0) && IS_DIGIT(c1)) return (c0 - 48) * 10 + (c1 - 48);
    return -1;
}

/* '[', padding spaces, a number, with a byte after it: its value and *out its end, or -1 (*out = p). */
static i64 bracket_number(bytes buf, i64 p, i64 end, i64 *out) {
    *out = p;
    if (p >= end || buf[p] != 91) return -1;
    i64 q = p + 1;
    while (q < end && buf[q] == 32) q += 1;
    i64 a = digits(buf, q, end, 18, &q);
    if (a < 0 || q >= end) return -1;
    *out = q;
    return a;
}

/* One line at p: the position after its newline, or -1 when it is outside the subset. Strides in elements. */
static i64 line(bytes buf, i64 p, i64 end, bytes keys, const i64 *key_offsets, i64 k, i64 eta_col,
                i64 *head, i64 hs0, i64 hs1, double *values, i64 vs0, i64 vs1, double *etas, i64 es, i64 row) {
    i64 year = -1;
    if (p + 22 <= end && buf[p + 4] == 47) {
        i64 y0 = two(buf, p), y1 = two(buf, p + 2);
        if (y0 < 0 || y1 < 0) return -1;
        year = y0 * 100 + y1;
        p += 5;
    }
    if (p + 17 > end) return -1;
    i64 month = two(buf, p), day = two(buf, p + 3), hh = two(buf, p + 6), mi = two(buf, p + 9),
        ss = two(buf, p + 12);
    if (month < 0 || day < 0 || hh < 0 || mi < 0 || ss < 0 || buf[p + 2] != 47 || buf[p + 5] != 32 ||
        buf[p + 8] != 58 || buf[p + 11] != 58 || buf[p + 14] != 32 || buf[p + 15] != 45 || buf[p + 16] != 32)
        return -1;
    p += 17;
    /* Logger name [A-Za-z0-9_.-]+, then " - INFO - ". */
    i64 q = p;
    while (q < end) {
        uint8_t c = buf[q];
        if (IS_DIGIT(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 46 || c == 45)
            q += 1;
        else
            break;
    }
    if (q == p || q + 10 > end) return -1;
    if (!(buf[q] == 32 && buf[q + 1] == 45 && buf[q + 2] == 32 && buf[q + 3] == 73 && buf[q + 4] == 78 &&
          buf[q + 5] == 70 && buf[q + 6] == 79 && buf[q + 7] == 32 && buf[q + 8] == 45 && buf[q + 9] == 32))
        return -1;
    p = q + 10;
    /* Epoch(train) or Iter(train). */
    if (p + 12 <= end && buf[p] == 69 && buf[p + 1] == 112 && buf[p + 2] == 111 && buf[p + 3] == 99 &&
        buf[p + 4] == 104)
        p += 5;
    else if (p + 11 <= end && buf[p] == 73 && buf[p + 1] == 116 && buf[p + 2] == 101 && buf[p + 3] == 114)
        p += 4;
    else
        return -1;
    if (!(buf[p] == 40 && buf[p + 1] == 116 && buf[p + 2] == 114 && buf[p + 3] == 97 && buf[p + 4] == 105 &&
          buf[p + 5] == 110 && buf[p + 6] == 41)) /* (train) */
        return -1;
    p += 7;
    while (p < end && buf[p] == 32) p += 1;
    /* [ e][ i/n] or [ i/n] */
    i64 a = bracket_number(buf, p, end, &p);
    if (a < 0) return -1;
    i64 epoch = -1;
    if (buf[p] == 93) { /* ]: that was the epoch */
        epoch = a;
        a = bracket_number(buf, p + 1, end, &p);
        if (a < 0) return -1;
    }
    if (buf[p] != 47) return -1; /* / */
    i64 n = digits(buf, p + 1, end, 18, &p);
    if (n < 0 || p + 1 >= end || buf[p] != 93 || buf[p + 1] != 32) return -1;
    p += 1;
    while (p < end && buf[p] == 32) p += 1;
    /* The fields: key0: v0  key1: v1 ... */
    etas[row * es] = nan_value();
    for (i64 j = 0; j < k; j++) {
        if (j) {
            if (p + 2 > end || buf[p] != 32 || buf[p + 1] != 32) return -1;
            p += 2;
        }
        i64 k0 = key_offsets[j], k1 = key_offsets[j + 1];
        if (p + (k1 - k0) + 2 > end) return -1;
        for (i64 t = 0; t < k1 - k0; t++)
            if (buf[p + t] != keys[k0 + t]) return -1;
        p += k1 - k0;
        if (buf[p] != 58 || buf[p + 1] != 32) return -1; /* ": " */
        p += 2;
        double x;
        if (j == eta_col) {
            if (!eta(buf, p, end, &x, &p)) return -1;
            etas[row * es] = x;
        } else {
            if (!number(buf, p, end, &x, &p)) return -1;
            values[j * vs0 + row * vs1] = x;
        }
    }
    if (p < end && buf[p] != 10) return -1;
    i64 h[9] = {year, month, day, hh, mi, ss, epoch, a, n};
    for (int c = 0; c < 9; c++) head[c * hs0 + row * hs1] = h[c];
    return p + 1;
}

/* Read train lines from byte pos of buf[0:end]; rows = columns of head. Writes the line count to *rows_read
 * and returns the byte position after them (see train_kernel.scan). */
i64 scan_lines(bytes buf, i64 end, i64 pos, bytes keys, const i64 *key_offsets, i64 k, i64 eta_col,
               i64 *head, i64 hs0, i64 hs1, i64 rows, double *values, i64 vs0, i64 vs1, double *etas, i64 es,
               i64 *rows_read) {
    i64 row = 0;
    while (row < rows && pos < end) {
        i64 nxt = line(buf, pos, end, keys, key_offsets, k, eta_col, head, hs0, hs1, values, vs0, vs1, etas, es,
                       row);
        if (nxt < 0) break;
        pos = nxt;
        row += 1;
    }
    *rows_read = row;
    return pos;
}

/* out[i] = the debiased EMA of y[0..i] (pandas' ewm kernel, adjust=True, no NaN): smoothing.py's _ema_into,
 * operation for operation, so the same doubles (built with -ffp-contract=off: no fused multiply-add). */
void debiased_ema(const double *y, i64 n, double decay, double *out) {
    if (n <= 0) return;
    double w = y[0];
    double old = 1.0;
    out[0] = w;
    for (i64 i = 1; i < n; i++) {
        double cur = y[i];
        old *= decay;
        if (w != cur) w = (old * w + cur) / (old + 1.0);
        old += 1.0;
        out[i] = w;
    }
}
