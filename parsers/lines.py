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
"""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"


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


class SizeLimitExceeded(Exception):
    """The (decompressed) text is larger than the caller allowed."""


class LineSplitter:
    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self._head = b""  # first bytes, until we know whether the stream is gzip
        self._gzip: bool | None = None
        self._inflater: zlib._Decompress | None = None
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
        elif self._inflater is not None:
            text = self._inflater.flush()
            self._count(len(text))
        return self._split(text, final=True)

    # -- transport: plain or gzip ----------------------------------------------------------------
    def _decode_transport(self, data: bytes) -> bytes:
        if self._gzip is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            self._gzip = data.startswith(GZIP_MAGIC)
            if self._gzip:
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if not self._gzip:
            self._count(len(data))
            return data
        return self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        out = []
        while data:
            assert self._inflater is not None
            limit = 0 if self.max_bytes is None else self.max_bytes - self.text_bytes + 1
            try:
                piece = self._inflater.decompress(data, limit) if limit else self._inflater.decompress(data)
            except zlib.error:
                # A corrupt stream: what was decoded stands, the rest is dropped, nothing raises.
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                break
            self._count(len(piece))
            out.append(piece)
            if self._inflater.unconsumed_tail:
                data = self._inflater.unconsumed_tail
                continue
            if self._inflater.eof:  # next gzip member
                data = self._inflater.unused_data
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                if data and not data.startswith(GZIP_MAGIC[:len(data)]):
                    break  # trailing garbage after the last member
                continue
            break
        return b"".join(out)

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
            count = text.count(b"\n", start, end) + (text[end - 1] != 10)
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
