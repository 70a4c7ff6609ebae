"""The one rule for files this process runs as code: the compiled scanner's library (``train_kernel``) and the
dashboard's cache entries (pickles, ``dashboard.live.parse_cache`` and ``dashboard.views.summary_cache``).

Only what the process's own user wrote may be run: a file or folder owned by another user, or writable by others
(a cache folder pointed at a shared directory, a umask that lets the group write), is refused, never loaded.
"""

from __future__ import annotations

import os


def untrusted(st: os.stat_result) -> str | None:
    """Why a file or folder with this ``stat`` must not be run as code, or None when only this user could have
    written it."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return "owned by another user"
    if st.st_mode & 0o022:
        return "writable by other users"
    return None
