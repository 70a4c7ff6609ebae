"""Bytes in, complete text lines out, for a log that arrives in arbitrary chunks.

Invariants:
- Every complete line (ended by ``\\n``) is yielded exactly once, in order, whatever the chunking:
  a chunk may end inside a UTF-8 character, inside ``\\r\\n`` or inside the gzip magic.
- A trailing line without its newline is held back until its newline arrives, or ``close()``.
- ``\\r\\n`` ends a line like ``\\n``. A bare ``\\r`` (a progress bar redrawn in place) splits the
  physical line into segments that share its line number.
- Bytes that are not UTF-8 become U+FFFD; nothing raises on any input.
- Gzip input (magic bytes ``1f 8b``, several members allowed) is decompressed on the fly, and
  decompression stops with ``SizeLimitExceeded`` once ``max_bytes`` of text have come out.
- Damaged gzip gives the same text and the same note (``notes``) whatever the chunking: the text is what
  zlib makes of the bytes before the one it rejects, then nothing more is read. Bytes after a member that
  do not start another are ignored (as ``gzip -d`` does), with a note; so is a stream that ends inside a
  member (at ``close()``: cut short, or still being written), after the text it gave.
"""

from __future__ import annotations

import zlib

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
_TRAILING_GARBAGE = "bytes after the last gzip member are not gzip: ignored, as gzip -d does"


class RawLines:
    """Complete lines, still as UTF-8 bytes, none holding a ``\\r``: the text interpreter's compiled
    scanner reads train lines straight from ``data``; ``lines`` decodes them (once) for everyone else.

    The lines are ``data[start:end]`` (a slice of a bigger read, left uncopied), joined by ``\\n`` and
    ending with one unless the last is the file's last line.
    """

    __slots__ = ("data", "start", "end", "count", "_lines")

    def __init__(self, data: bytes, start: int, end: int, count: int) -> None:
        self.data = data
        self.start = start
        self.end = end
        self.count = count
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            lines = self.data[self.start:self.end].decode("utf-8", "replace").split("\n")
            if self.data[self.end - 1] == 10:
                lines.pop()
            self._lines = lines
        return self._lines

    def __len__(self) -> int:
        return self.count


def as_lines(block: list[str] | RawLines) -> list[str]:
    return block.lines if isinstance(block, RawLines) else block


NUL = "\0"


def after_nuls(line: str) -> str:
    """The text of a line after its last NUL byte (all of it when it has none).

    A crash can leave a log's blocks as zeros: the size was written, the data was not. A writer that starts
    again appends after them, so its first line follows the NUL bytes directly, often after a piece of the
    line the zeros cut short. What follows the last NUL is the line; what precedes it is debris.
    """
    cut = line.rfind(NUL)
    return line if cut < 0 else line[cut + 1:]


#: From this many bytes on, numpy counts newlines (a vector compare, ~3x faster than ``bytes.count``'s loop
#: over a read of 8 MB; below it numpy's call costs more than it saves).
_NUMPY_COUNT_FROM = 1 << 16


def _newlines(text: bytes, start: int, end: int) -> int:
    """``text.count(b"\\n", start, end)``."""
    if end - start < _NUMPY_COUNT_FROM:
        return text.count(b"\n", start, end)
    return int(np.count_nonzero(np.frombuffer(text, np.uint8, end - start, start) == 10))


class SizeLimitExceeded(Exception):
    """The (decompressed) text is larger than the caller allowed."""


class LineSplitter:
    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self._head = b""  # first bytes, until we know whether the stream is gzip
        self._gzip: bool | None = None
        self._inflater: zlib._Decompress | None = None  # inside a gzip member; None between members
        self._member_head = b""  # the first byte of what may be the next member's magic
        self._stopped = False  # damaged gzip data or trailing garbage: the rest of the input is not read
        self.notes: list[str] = []  # what happened to the transport (damaged gzip, ...), the same however fed
        self._pending = b""  # the incomplete last line
        self.line_no = 0  # physical lines yielded so far
        self.text_bytes = 0  # decompressed bytes seen
        self.input_bytes = 0

    @property
    def is_gzip(self) -> bool:
        return bool(self._gzip)

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    def feed(self, data: bytes) -> list[tuple[int, list[str] | RawLines]]:
        """Bytes in; the complete lines they finish, as (first line number, lines) blocks, where lines
        are a ``RawLines`` when the text holds no ``\\r`` (most logs), else a list of str."""
        self.input_bytes += len(data)
        text = self._decode_transport(data)
        if not text:
            return []
        return self._split(text, final=False)

    def close(self) -> list[tuple[int, list[str] | RawLines]]:
        """End of input: the held-back partial line (if any) is a line too."""
        text = b""
        if self._gzip is None and self._head:
            self._gzip = False
            text, self._head = self._head, b""
        elif self._gzip and not self._stopped and self._inflater is not None:
            self._stop(f"the gzip data ends inside a member (cut short, or still being written): "
                       f"{self.text_bytes:,} bytes of text read")
        elif self._gzip and not self._stopped and self._member_head:
            self._stop(_TRAILING_GARBAGE)
        return self._split(text, final=True)

    # -- transport: plain or gzip ----------------------------------------------------------------
    def _decode_transport(self, data: bytes) -> bytes:
        if self._gzip is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            self._gzip = data.startswith(GZIP_MAGIC)
        if not self._gzip:
            self._count(len(data))
            return data
        return self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data and not self._stopped:
            if self._inflater is None:
                # Between members: the next bytes start one (its magic may arrive a byte at a time), or
                # are not gzip.
                data, self._member_head = self._member_head + data, b""
                if len(data) < len(GZIP_MAGIC) and GZIP_MAGIC.startswith(data):
                    self._member_head = data
                    break
                if not data.startswith(GZIP_MAGIC):
                    self._stop(_TRAILING_GARBAGE)
                    break
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            inflater = self._inflater
            before = inflater.copy()  # to read again up to a bad byte (a call that fails returns nothing)
            limit = 0 if self.max_bytes is None else self.max_bytes - self.text_bytes + 1
            try:
                piece = inflater.decompress(data, limit) if limit else inflater.decompress(data)
            except zlib.error as e:
                for piece in self._before_the_bad_byte(before, data):
                    self._count(len(piece))
                    out.append(piece)
                reason = str(e).split(": ", 1)[-1]
                self._stop(f"damaged gzip data ({reason}) after {self.text_bytes:,} bytes of text: "
                           "the rest is not read")
                break
            self._count(len(piece))
            out.append(piece)
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
                continue
            if inflater.eof:  # the member ends; the bytes after it come round again
                data = inflater.unused_data
                self._inflater = None
                continue
            break
        return b"".join(out)

    def _before_the_bad_byte(self, inflater: zlib._Decompress, data: bytes) -> list[bytes]:
        """The text ``inflater`` (the state before ``data``) makes of ``data`` up to the byte zlib rejects.

        zlib raises and returns nothing for a call that meets a bad byte, so the text of the bytes before it
        would depend on where the chunks were cut; read again, in halving pieces, it does not. Each piece is
        read from a copy, kept only when zlib takes it whole. Stops with ``SizeLimitExceeded`` like the
        plain path once more than ``max_bytes`` of text came out.
        """
        out: list[bytes] = []
        size = 0
        pos, step = 0, len(data)
        while step and pos < len(data):
            trial = inflater.copy()
            pieces: list[bytes] = []
            rest = data[pos:pos + step]
            try:
                while rest:
                    room = 0 if self.max_bytes is None else self.max_bytes - self.text_bytes - size + 1
                    piece = trial.decompress(rest, room) if room else trial.decompress(rest)
                    pieces.append(piece)
                    size += len(piece)
                    if self.max_bytes is not None and self.text_bytes + size > self.max_bytes:
                        self._count(size)  # raises SizeLimitExceeded: this text is all before the bad byte
                    rest = trial.unconsumed_tail
            except zlib.error:
                size -= sum(len(p) for p in pieces)
                step //= 2
                continue
            out += pieces
            inflater = trial
            pos += step
        return out

    def _stop(self, note: str) -> None:
        self._stopped = True
        self._inflater = None
        self._member_head = b""
        self.notes.append(note)

    def _count(self, n: int) -> None:
        self.text_bytes += n
        if self.max_bytes is not None and self.text_bytes > self.max_bytes:
            raise SizeLimitExceeded(f"text is larger than the limit of {self.max_bytes} bytes")

    # -- lines -------------------------------------------------------------------------------------
    def _split(self, text: bytes, *, final: bool) -> list[tuple[int, list[str] | RawLines]]:
        pending, self._pending = self._pending, b""
        blocks: list[tuple[int, list[str] | RawLines]] = []
        start = 0
        if pending:
            # The held-back line, completed by this text's first newline, is a block of its own, so
            # that the (big) text itself is never copied.
            nl = text.find(b"\n")
            if nl < 0 and not final:
                self._pending = pending + text
                return []
            start = len(text) if nl < 0 else nl + 1
            blocks += self._blocks(pending + text[:start], 0, len(pending) + start)
        end = len(text)
        if not final:
            cut = text.rfind(b"\n", start)
            if cut < 0:
                self._pending, end = text[start:], start
            else:
                if cut + 1 < end:
                    self._pending = text[cut + 1:]
                end = cut + 1
        if start < end:
            blocks += self._blocks(text, start, end)
        return blocks

    def _blocks(self, text: bytes, start: int, end: int) -> list[tuple[int, list[str] | RawLines]]:
        """Complete lines ``text[start:end]`` (the last one may lack its newline only at the end of
        input) as blocks, numbering them."""
        first = self.line_no + 1
        if text.find(b"\r", start, end) < 0:
            count = _newlines(text, start, end) + (text[end - 1] != 10)
            self.line_no += count
            return [(first, RawLines(text, start, end, count))]
        text = text[start:end]
        decoded = text.decode("utf-8", "replace")
        lines = decoded.split("\n")
        if lines[-1] == "":
            lines.pop()  # the text ended with a newline
        self.line_no += len(lines)
        if "\r" not in decoded:
            return [(first, lines)]
        # Strip the \r of \r\n; split on bare \r (segments keep their physical line number).
        blocks: list[tuple[int, list[str]]] = []
        run: list[str] = []
        run_first = first
        for offset, line in enumerate(lines):
            if line.endswith("\r"):
                line = line[:-1]
            if "\r" in line:
                if run:
                    blocks.append((run_first, run))
                segments = [s for s in line.split("\r") if s]
                for seg in segments or [""]:
                    blocks.append((first + offset, [seg]))
                run = []
                run_first = first + offset + 1
            else:
                if not run:
                    run_first = first + offset
                run.append(line)
        if run:
            blocks.append((run_first, run))
        return blocks
