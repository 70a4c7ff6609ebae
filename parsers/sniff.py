"""What a file is, from its first bytes: gzip or not, and binary, JSON Lines, text or undecided.

The one sniffer of the project: discovery (which files under a root are logs), the tailer (a file
that turns out binary is not fed to the parser), the upload store (binaries and damaged gzip are
refused) and the upload review (JSON or text) all ask it. The parser itself
(``lines.LineSplitter``) tells gzip by the same magic bytes.

Rules, in order:

1. Gzip: a head that starts with ``GZIP_MAGIC`` is decompressed (members back to back, as ``cat a.gz
   b.gz`` makes them) until ``window`` bytes of text came out. Data that zlib rejects before that is
   ``damaged``; a stream that just stops (cut short, or still being written) is not: what came out
   is judged.
2. Leading NUL bytes are skipped, not judged. A crash or power loss can leave a log's first blocks
   as zeros (the size was written, the data was not), and the text after them is the log. A head
   that is nothing but NUL bytes is ``undecided``, not binary: the caller needs more bytes. Callers
   that have them look further (discovery reads on past the NUL bytes, up to ``MAX_LEADING_NULS``;
   the upload store has the whole file); the watcher sniffs an undecided file again when it grows;
   the tailer hands the bytes to the parser, which counts the NUL line as one unparsed line.
3. Binary: a NUL byte after the text has started, or more than ``BINARY_SHARE`` of the characters
   of the window odd: a C0 control character other than tab, newline, carriage return, form feed,
   backspace and ESC (tqdm and coloured loggers write those), or a byte that is not UTF-8.
4. JSON: the first non-blank line (after a UTF-8 byte-order mark) starts with ``{``. Else text.

Why 30% (``BINARY_SHARE``), counted on decoded characters: there were two sniffers, one counting
control bytes only (binary above 10%), one counting control characters and bytes that are not
UTF-8 (binary above 30%, Perl's ``-B`` rule). Control bytes alone are a weak signal: random data
has 26 of 256 byte values in that set, about 10%, so a 10% threshold sat right at the level of
the data it had to catch and missed it about half the time in a 1 KiB sample that happened to hold
no NUL. Counting bytes that are not UTF-8 too, binary data scores far above 30% (measured on 16 KiB:
random bytes 0.55, zlib output 0.55, float32 tensors 0.53, float16 tensors 0.49, a shared library
0.64-0.88), and text far below it: an ASCII log with a few Latin-1 file names a few per cent,
Latin-1 prose 0.22. A log whose head is mostly CJK text in a legacy encoding (GBK) scores about
0.4 and is taken for binary; in UTF-8, as Linux writes it, it is text.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, replace
from typing import BinaryIO

from .lines import GZIP_MAGIC

__all__ = [
    "BINARY", "BINARY_SHARE", "GZIP_MAGIC", "GZIP_SNIFF_INPUT", "JSON", "MAX_LEADING_NULS", "SNIFF_BYTES", "TEXT",
    "UNDECIDED", "Sniff", "gunzip_head", "is_gzip", "judge", "leading_nuls", "looks_binary", "may_be_gzip",
    "read_past_nuls", "sniff_head",
]

TEXT = "text"
JSON = "json"
BINARY = "binary"
UNDECIDED = "undecided"

SNIFF_BYTES = 16 * 1024  # text judged by default
GZIP_SNIFF_INPUT = 64 * 1024  # compressed bytes a caller reads to fill the window
MAX_LEADING_NULS = 16 << 20  # NUL bytes skipped at most before the text is looked for
BINARY_SHARE = 0.3

BOM = b"\xef\xbb\xbf"
_ODD_CONTROLS = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27))
_NOT_NUL = re.compile(rb"[^\x00]")


@dataclass(frozen=True)
class Sniff:
    """The verdict on a file's first bytes."""

    kind: str  # TEXT, JSON, BINARY or UNDECIDED (nothing but NUL bytes, or nothing at all, so far)
    text: bytes  # the judged window: decompressed, after the leading NUL bytes, at most ``window`` bytes
    gzip: bool = False
    damaged: bool = False  # gzip data that zlib rejects before the window filled
    leading_nuls: int = 0  # NUL bytes skipped before ``text``
    reason: str = ""


def is_gzip(head: bytes) -> bool:
    return head[:2] == GZIP_MAGIC


def may_be_gzip(head: bytes) -> bool:
    """True for gzip, and for a head too short to tell (a lone first magic byte)."""
    return GZIP_MAGIC.startswith(head[:2])


def leading_nuls(data: bytes, limit: int = MAX_LEADING_NULS) -> int:
    """How many NUL bytes ``data`` starts with, counting at most ``limit`` (nothing is copied)."""
    m = _NOT_NUL.search(data, 0, limit)
    return m.start() if m is not None else min(len(data), limit)


def gunzip_head(data: bytes, limit: int, *, skip_nuls: int = 0) -> tuple[bytes, int, bool]:
    """Decompress gzip ``data`` until ``limit`` bytes of text came out, dropping up to ``skip_nuls``
    leading NUL bytes of the text first. Returns (text, NUL bytes dropped, damaged)."""
    out: list[bytes] = []
    size = 0
    dropped = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while data and size < limit:
        try:
            piece = d.decompress(data, limit - size)
        except zlib.error:
            return b"".join(out), dropped, True
        if not size and dropped < skip_nuls:
            n = leading_nuls(piece, skip_nuls - dropped)
            dropped += n
            piece = piece[n:]
        out.append(piece)
        size += len(piece)
        if d.unconsumed_tail:
            data = d.unconsumed_tail
            continue
        if d.eof and d.unused_data.startswith(GZIP_MAGIC):  # the next member
            data = d.unused_data
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            continue
        break  # the end of the input, or trailing bytes that are not gzip (ignored, as gzip -d does)
    return b"".join(out), dropped, False


def judge(data: bytes, *, window: int = SNIFF_BYTES) -> Sniff:
    """Classify text bytes (already decompressed): ``window`` bytes after the leading NUL bytes."""
    nuls = leading_nuls(data)
    text = data[nuls:nuls + window]
    if nuls >= MAX_LEADING_NULS or (nuls and not text):
        return Sniff(UNDECIDED, b"", leading_nuls=nuls, reason=f"only NUL bytes so far ({nuls:,})")
    if not text:
        return Sniff(UNDECIDED, text, reason="no content yet")
    if b"\x00" in text:
        return Sniff(BINARY, text, leading_nuls=nuls, reason="NUL bytes inside the content")
    if odd_share(text) > BINARY_SHARE:
        return Sniff(BINARY, text, leading_nuls=nuls,
                     reason=f"more than {BINARY_SHARE:.0%} control characters or bytes that are not UTF-8")
    first = next((line for line in text.removeprefix(BOM).split(b"\n") if line.strip()), b"")
    if first.lstrip().startswith(b"{"):
        return Sniff(JSON, text, leading_nuls=nuls, reason="the first line is a JSON object")
    return Sniff(TEXT, text, leading_nuls=nuls, reason="text")


def odd_share(text: bytes) -> float:
    """The share of characters of ``text`` that text logs do not hold: control characters other than
    tab, newline, CR, form feed, backspace and ESC, and bytes that are not UTF-8."""
    decoded = text.decode("utf-8", "replace")
    if not decoded:
        return 0.0
    odd = decoded.count("\ufffd") + len(text) - len(text.translate(None, _ODD_CONTROLS))
    return odd / len(decoded)


def sniff_head(head: bytes, *, window: int = SNIFF_BYTES) -> Sniff:
    """Classify the first bytes of a file, plain or gzip (of which at most ``GZIP_SNIFF_INPUT``
    compressed bytes are read)."""
    if not is_gzip(head):
        return judge(head, window=window)
    text, dropped, damaged = gunzip_head(head[:GZIP_SNIFF_INPUT], window, skip_nuls=MAX_LEADING_NULS)
    s = judge(text, window=window)
    reason = "damaged gzip data" if damaged and not text else s.reason
    return replace(s, gzip=True, damaged=damaged, leading_nuls=dropped + s.leading_nuls, reason=reason)


def looks_binary(data: bytes, *, window: int = SNIFF_BYTES) -> bool:
    """True when the (decompressed) bytes are binary; a NUL-only head is not (it is undecided)."""
    return judge(data, window=window).kind == BINARY


def read_past_nuls(f: BinaryIO, head: bytes, size: int, max_nuls: int = MAX_LEADING_NULS) -> tuple[int, bytes]:
    """``head`` was the first read of ``f``; while everything read is NUL bytes, read on (at most
    ``max_nuls`` of them). Returns (leading NUL bytes, the ``size`` bytes after them, fewer at the end)."""
    skipped = 0
    data = head
    while data:
        room = max_nuls - skipped
        n = leading_nuls(data, room)
        if n < len(data) and n < room:
            rest = data[n:n + size]
            if len(rest) < size:
                rest += f.read(size - len(rest))
            return skipped + n, rest
        skipped += n
        if skipped >= max_nuls:
            break
        data = f.read(size)
    return skipped, b""
