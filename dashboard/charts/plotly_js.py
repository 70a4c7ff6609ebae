"""Which plotly.js the browser gets: the pages' charts (``ui.live_chart``) and the HTML report (``reports.html``).

Every chart of the dashboard is a ``scatter`` trace, so the first choice is plotly.js's *basic* bundle (scatter,
bar, pie): npm's ``plotly.js-basic-dist-min``, declared in the repository's ``package.json`` (exact version in
``package-lock.json``) and installed by ``npm ci`` (``make demo``, ``make test``) into ``node_modules/``; 1.1 MB
(0.38 MB gzipped) against the full bundle's 4.9 MB (1.5 MB gzipped), and less for the browser to evaluate before
the first chart. Without it (no npm on the machine, ``npm ci`` not run) or when it is not the plotly.js major
version the installed ``plotly`` package writes figures for, the full bundle that comes with the ``plotly`` package
(``plotly/package_data/plotly.min.js``) is used, and ``PlotlyJs.note`` says which one is served and why (shown in
the Runs page's watcher panel).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

#: The repository's folder (``package.json``, ``node_modules/``).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The npm package of plotly.js's basic bundle and its file, as ``package.json`` declares them.
BASIC_PACKAGE = "plotly.js-basic-dist-min"
BASIC_FILE = "plotly-basic.min.js"


@dataclass(frozen=True)
class PlotlyJs:
    """One plotly.js file: ``kind`` is ``basic`` or ``full``; ``version`` plotly.js's; ``note`` one line saying
    which bundle this is and, for the full one, why the basic one is not used."""

    path: Path
    kind: str
    version: str
    note: str

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return self.path.name


def _full() -> tuple[Path, str]:
    import plotly
    from plotly.offline import get_plotlyjs_version

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js", get_plotlyjs_version()


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def choose(root: Path = REPO_ROOT) -> PlotlyJs:
    """The basic bundle under ``root/node_modules`` when it is there, readable, and of the plotly.js major version
    the ``plotly`` package writes figures for; else the ``plotly`` package's full bundle, with the reason."""
    full_path, full_version = _full()
    size = full_path.stat().st_size if full_path.is_file() else 0
    fallback = (f"the full bundle of the plotly package ({full_path.name}, plotly.js {full_version}, "
                f"{size / 1e6:.1f} MB)")
    folder = root / "node_modules" / BASIC_PACKAGE
    path = folder / BASIC_FILE
    try:
        version = str(json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"])
        basic_size = path.stat().st_size
    except FileNotFoundError:
        why = f"{BASIC_PACKAGE} is not installed (run `npm ci` in {root})"
    except (OSError, ValueError, KeyError, TypeError) as e:
        why = f"{BASIC_PACKAGE} in {folder} is unreadable ({type(e).__name__}: {e})"
    else:
        if basic_size == 0:
            why = f"{path} is empty (run `npm ci` in {root})"
        elif _major(version) != _major(full_version):
            why = (f"{BASIC_PACKAGE} {version} is not plotly.js {_major(full_version)}.x, which the installed "
                   "plotly package writes figures for (run `npm ci`, or install a matching plotly)")
        else:
            return PlotlyJs(path, "basic", version, f"charts' plotly.js: the basic bundle ({BASIC_PACKAGE} {version}, "
                                                    f"{basic_size / 1e6:.1f} MB, scatter/bar/pie) from {folder}")
    return PlotlyJs(full_path, "full", full_version, f"charts' plotly.js: {fallback}: {why}")


@functools.cache
def served() -> PlotlyJs:
    """The choice for this process (made once: the server serves one file for as long as it runs)."""
    return choose()
