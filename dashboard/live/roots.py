"""Log roots: where MMDash looks for training logs, and the check that keeps every path inside them.

Where the roots come from, first match wins:

1. command-line options (``--root PATH``, repeatable; see ``add_root_arguments``),
2. ``MMDASH_ROOTS``: paths separated by ``os.pathsep`` (``:`` on Linux), empty entries ignored,
3. the bundled ``sample_logs`` folder next to this package.

Invariants:

- A ``LogRoot`` has a ``label``, the basename of its directory, unique among the configured roots
  (``logs``, ``logs-2``, ...). A source id is ``<label>/<path relative to the root>`` with ``/``
  separators: it never contains an absolute path, so ids can go into URLs and shared links.
- ``resolve_under_root`` is the one gate between a path that came from outside (a URL, a form) and
  the file system. It returns a real path (``os.path.realpath``) that ``os.path.commonpath`` proves
  to be inside the root's real path, or raises ``UnsafePath``. It rejects NUL bytes, absolute paths,
  drive letters, ``..`` components (with either slash) and symlinks that lead out of the root.
- ``open_inside`` is the one way a file under a root is opened (the tailer, discovery's sniffing, a log
  opened by reference): the check holds at every open, not only when a path is first resolved, so a file
  or directory swapped for a symlink after it was checked (a time-of-check race) is refused, never read.
  A descriptor it returned that is kept open while the file is renamed (a rotation) is read again only while
  ``still_in`` its directory, or deleted from there.
- Nothing here reads the contents of a file.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import stat as _stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ENV_ROOTS = "MMDASH_ROOTS"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "sample_logs"

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(ValueError):
    """A relative path or source id that would leave its log root (or is malformed)."""


@dataclass(frozen=True)
class LogRoot:
    """One configured log root.

    ``path`` is absolute (``os.path.abspath`` of what was configured, symlinks not resolved) and is
    what messages show; ``realpath()`` is what containment checks use. ``single_file`` restricts
    the root to one file name directly inside ``path`` (``python -m dashboard tail FILE``).
    """

    label: str
    path: str
    single_file: str | None = None

    def realpath(self) -> str:
        return os.path.realpath(self.path)

    def bound(self, path: str) -> str:
        """The real path every open of ``path`` (a file of this root) must stay inside: the root's real path,
        or for a single-file root the named file's real path now (a link named on the command line is followed
        to where it leads when it is first found, never elsewhere later)."""
        if self.single_file is not None:
            return os.path.realpath(path)
        return self.realpath()

    def source_id(self, relative: str) -> str:
        """``<label>/<relative>`` with forward slashes."""
        rel = relative.replace(os.sep, "/")
        if os.altsep:
            rel = rel.replace(os.altsep, "/")
        return f"{self.label}/{rel}"


def _label_base(path: str) -> str:
    name = os.path.basename(os.path.normpath(path))
    if not name or name in (".", ".."):
        name = os.path.basename(os.path.realpath(path)) or "root"
    # A label is one path component of a source id: keep it free of separators and NULs.
    return name.replace("/", "_").replace("\\", "_").replace("\x00", "_") or "root"


def make_roots(paths: Iterable[str | os.PathLike], *, single_file: str | None = None) -> list[LogRoot]:
    """LogRoots for ``paths`` in order, with unique labels; the same directory given twice counts once."""
    roots: list[LogRoot] = []
    seen_paths: set[str] = set()
    used: set[str] = set()
    for p in paths:
        raw = os.fspath(p)
        if "\x00" in raw:
            raise UnsafePath("a log root contains a NUL byte")
        ab = os.path.abspath(os.path.expanduser(raw))
        if ab in seen_paths:
            continue
        seen_paths.add(ab)
        base = _label_base(ab)
        label, n = base, 2
        while label in used:
            label = f"{base}-{n}"
            n += 1
        used.add(label)
        roots.append(LogRoot(label=label, path=ab, single_file=single_file))
    return roots


def roots_from_env(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The paths in ``MMDASH_ROOTS``, or None when it is unset or holds no path."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_ROOTS)
    if not value:
        return None
    paths = [p for p in value.split(os.pathsep) if p.strip()]
    return paths or None


def configured_roots(
    cli_roots: Sequence[str | os.PathLike] | None = None, environ: Mapping[str, str] | None = None
) -> list[LogRoot]:
    """Roots from the command line, else ``MMDASH_ROOTS``, else the bundled sample logs."""
    if cli_roots:
        return make_roots(cli_roots)
    env = roots_from_env(environ)
    if env:
        return make_roots(env)
    return make_roots([DEFAULT_ROOT])


def add_root_arguments(parser: argparse.ArgumentParser) -> None:
    """``--root PATH`` (repeatable): a log root; overrides ``MMDASH_ROOTS``."""
    parser.add_argument(
        "--root", dest="roots", action="append", metavar="PATH", default=None,
        help=f"a log root (repeatable); default: ${ENV_ROOTS} ({os.pathsep}-separated), else the bundled sample_logs",
    )


def roots_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> list[LogRoot]:
    return configured_roots(getattr(args, "roots", None), environ)


def root_problem(root: LogRoot | str | os.PathLike) -> str | None:
    """A clear message when a root cannot be watched (missing, not a directory, unreadable), else None."""
    path = root.path if isinstance(root, LogRoot) else os.fspath(root)
    shown = root.label + f" ({path})" if isinstance(root, LogRoot) else path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"log root {shown} does not exist"
    except PermissionError:
        return f"log root {shown} cannot be read: permission denied"
    except OSError as e:
        return f"log root {shown} cannot be read: {e.strerror or e}"
    if not _stat.S_ISDIR(st.st_mode):
        return f"log root {shown} is not a directory"
    try:
        with os.scandir(path) as it:
            next(it, None)
    except PermissionError:
        return f"log root {shown} cannot be read: permission denied"
    except OSError as e:
        return f"log root {shown} cannot be read: {e.strerror or e}"
    return None


def _components(relative: str) -> list[str]:
    return [c for c in relative.split("/") if c not in ("", ".")]


def check_relative(relative: object) -> list[str]:
    """The components of a safe relative path (``/``-separated), or ``UnsafePath``."""
    if not isinstance(relative, str):
        raise UnsafePath("a relative path must be a string")
    if "\x00" in relative:
        raise UnsafePath("path contains a NUL byte")
    if not relative.strip():
        raise UnsafePath("path is empty")
    if relative.startswith(("/", "\\")) or os.path.isabs(relative) or _DRIVE.match(relative):
        raise UnsafePath("absolute paths are not allowed")
    if any(part == ".." for part in re.split(r"[\\/]", relative)):
        raise UnsafePath("'..' is not allowed in a path")
    parts = _components(relative.replace(os.sep, "/") if os.sep != "/" else relative)
    if not parts:
        raise UnsafePath("path names no file")
    return parts


def resolve_under_root(root: LogRoot | str | os.PathLike, relative: str) -> str:
    """The real path of ``relative`` inside ``root``, or ``UnsafePath`` (see the module docstring)."""
    parts = check_relative(relative)
    root_path = root.path if isinstance(root, LogRoot) else os.fspath(root)
    if "\x00" in root_path:
        raise UnsafePath("root contains a NUL byte")
    root_real = os.path.realpath(root_path)
    candidate = os.path.realpath(os.path.join(root_real, *parts))
    if not is_inside(root_real, candidate):
        raise UnsafePath("path leads outside its log root")
    return candidate


def is_inside(bound: str, real: str) -> bool:
    """Whether the real path ``real`` is ``bound`` or below it (``os.path.commonpath``, never ``startswith``)."""
    try:
        return os.path.commonpath([bound, real]) == bound
    except ValueError:  # different drives (Windows), or one path relative
        return False


#: Read-only; the last component must not be a symlink; a FIFO does not block the open; not inherited.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_DELETED = " (deleted)"


def _fd_path(fd: int) -> str | None:
    """The path the kernel holds for an open file (Linux ``/proc/self/fd``, macOS ``F_GETPATH``), or None."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
    try:
        import fcntl

        getpath = getattr(fcntl, "F_GETPATH", None)
        if getpath is not None:
            raw = fcntl.fcntl(fd, getpath, bytes(1024))
            return os.fsdecode(raw.rstrip(b"\x00"))
    except (ImportError, OSError):
        pass
    return None


def opened_path(fd: int) -> str | None:
    """The real path of the file open at ``fd`` as the kernel holds it now (it follows renames), or None when
    the file was deleted or the kernel gives no path."""
    p = _fd_path(fd)
    return None if p is None or p.endswith(_DELETED) else p


def still_in(fd: int, directory: str) -> bool | None:
    """Whether the file open at ``fd`` (opened by ``open_inside``) is still directly in ``directory``, a real path:
    True when the kernel's path of it is there, or it was deleted from there (then nothing else can be read
    through the descriptor); False when it was moved elsewhere (it is not read); None when the kernel gives no
    path (the caller finds the file in ``directory`` by its ``(st_dev, st_ino)`` instead)."""
    p = _fd_path(fd)
    if p is None:
        return None
    if p.endswith(_DELETED):
        p = p[: -len(_DELETED)]
    return os.path.dirname(p) == directory


def open_inside(path: str | os.PathLike, bound: str | os.PathLike | None) -> int:
    """Open ``path`` read-only and prove that what was opened is the regular file at its real path, inside
    ``bound``; the file descriptor (the caller closes it), or ``UnsafePath`` / ``OSError``.

    ``bound`` is a real path: a root directory, or one file (a file named on the command line); None allows
    any real path (the race below is still closed). The steps:

    1. ``real = realpath(path)`` must be ``bound`` or inside it;
    2. ``real`` is opened with ``O_NOFOLLOW`` (a symlink put at its last component since step 1 fails, and is
       refused) and ``O_NONBLOCK`` (a FIFO put there does not block the caller);
    3. the opened file must be a regular file and be the file at ``real``: the kernel's path of the
       descriptor equals ``real``, or is inside ``bound`` (the file was renamed since it was opened: a rotation),
       so a directory on the way swapped for a symlink since step 1 is refused too; where the kernel gives no
       path, its ``(st_dev, st_ino)`` must equal ``lstat(real)``'s.

    Every read then goes through the descriptor, so it reads the file that was checked. Messages never name
    where a link leads.
    """
    real = os.path.realpath(path)
    bound_real = None if bound is None else os.fspath(bound)
    if bound_real is not None and not is_inside(bound_real, real):
        raise UnsafePath("the path leads outside its log root (a symlink)")
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePath("the file was replaced by a symlink after it was checked") from None
        raise
    try:
        st = os.fstat(fd)
        if not _stat.S_ISREG(st.st_mode):
            raise UnsafePath("not a regular file")
        opened = _fd_path(fd)
        if opened is None:
            here = os.lstat(real)
            same = (here.st_dev, here.st_ino) == (st.st_dev, st.st_ino)
        elif opened.endswith(_DELETED) and opened[: -len(_DELETED)] == real:
            raise FileNotFoundError(errno.ENOENT, "the file was deleted while it was opened")
        else:
            # The file may have been renamed since it was opened (a rotation: ``train.log`` -> ``train.log.1``):
            # the kernel's path is then another name of the same directory. What is refused is a descriptor
            # whose file is outside ``bound`` (a directory on the way swapped for a symlink).
            same = opened == real or bound_real is None or is_inside(bound_real, opened)
        if not same:
            raise UnsafePath("the file opened is not the file checked: a directory on its path was replaced "
                             "(a symlink) after it was checked")
    except BaseException:
        os.close(fd)
        raise
    return fd


def split_source_id(source_id: str, roots: Sequence[LogRoot]) -> tuple[LogRoot, str]:
    """``(root, relative)`` for ``<label>/<relative>``; ``UnsafePath`` for an unknown label or a bad path."""
    if not isinstance(source_id, str) or "/" not in source_id:
        raise UnsafePath("a source id is <root label>/<relative path>")
    label, relative = source_id.split("/", 1)
    for root in roots:
        if root.label == label:
            check_relative(relative)
            return root, relative
    raise UnsafePath(f"unknown log root {label!r}")


def resolve_source_id(source_id: str, roots: Sequence[LogRoot]) -> str:
    """The real path a source id names, checked by ``resolve_under_root``."""
    root, relative = split_source_id(source_id, roots)
    return resolve_under_root(root, relative)
