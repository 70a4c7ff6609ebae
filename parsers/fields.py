"""Splitting the ``key: value`` part of train and eval lines into typed values.

MMEngine joins fields with two spaces (``lr: 1e-4  eta: 1 day, 8:39:30  time: 0.5``); metric names
may hold single spaces, dots, slashes and parentheses (``coco/AP (M)``). mmcv 1.x joins them with
``", "``, which also occurs inside an eta (``eta: 1 day, 20:25:23``) and in list values.
"""

from __future__ import annotations

from .grammar import ETA, MMCV_FIELD_SEPARATOR, MMENGINE_FIELD_SEPARATOR

_ETA_MATCH = ETA.compiled.match


def parse_eta(text: str) -> float | None:
    """``'1 day, 8:39:30'`` -> 117570.0 seconds; None when it is not an eta."""
    m = _ETA_MATCH(text.strip())
    if m is None:
        return None
    days, h = m.group("days") or "0", m.group("h")
    if len(days) > 15 or len(h) > 15:
        return None  # not an eta: beyond int()'s 4300 digits or a double's range, far beyond any run
    return float(int(days) * 86400 + int(h) * 3600 + int(m.group("m")) * 60 + int(m.group("s")))


def split_mmengine_fields(text: str) -> list[tuple[str, str]]:
    """``'lr: 1e-4  eta: 0:01:00  coco/AP (M): -1.0'`` -> [(key, raw value), ...].

    A piece without ``': '`` (a value that itself held two spaces) is glued back to the one before.
    """
    # The glued pieces are collected and joined once (gluing them one at a time was quadratic in a line of
    # many pieces without a key); the value is what ``(value + separator + piece).strip()`` piece after piece
    # gives: each piece without its trailing blanks, blank pieces dropped, the first kept one without its
    # leading blanks when the value was empty.
    out: list[tuple[str, list[str]]] = []
    for piece in text.split(MMENGINE_FIELD_SEPARATOR):
        if not piece:
            continue
        key, sep, value = piece.partition(": ")
        if sep:
            value = value.strip()
            out.append((key.strip(), [value] if value else []))
        elif out:
            parts = out[-1][1]
            piece = piece.rstrip()
            if piece:
                parts.append(piece if parts else piece.lstrip())
        elif piece.strip():
            out.append((piece.strip(), []))
    return [(k, MMENGINE_FIELD_SEPARATOR.join(parts)) for k, parts in out]


def split_mmcv_fields(text: str) -> list[tuple[str, str]]:
    """``'lr: 1.9e-05, eta: 1 day, 20:25:23, time: 1.8'`` -> [(key, raw value), ...]."""
    out: list[tuple[str, list[str]]] = []
    for piece in text.strip().split(MMCV_FIELD_SEPARATOR):
        key, sep, value = piece.partition(": ")
        if sep:
            out.append((key.strip(), [value.strip()]))
        elif out:
            out[-1][1].append(piece)
    return [(k, MMCV_FIELD_SEPARATOR.join(parts)) for k, parts in out]
