"""What the dashboard adds to Streamlit's server: a warm start, and plotly.js with a cache lifetime (issues 18, 12).

``streamlit run app.py`` finds the ``st.App`` that ``app.py`` makes (Streamlit's ASGI mode: ``lifespan`` and
``routes`` below); each browser session then runs ``app.py`` as its script. Without ``st.App`` (a Streamlit that
does not have it) the script runs all the same: no warm start, and plotly.js comes from the component route.

**Warm start** (``lifespan``): at server start one daemon thread (``warm``) imports the pages' modules (pandas,
plotly's template, the run model, the chart stream: ~0.5 s) and makes the process-wide ``AppState`` of this
configuration (``common.app_state``: the log watcher starts scanning the roots and reading what it must), while
the first browser loads Streamlit's JavaScript. Without it all of this was the first page view's work, after the
browser had loaded. ``lifespan`` returns at once: the server answers as soon as it would without it.
Invariant: the warm start only does earlier what the first script run would do anyway, through the same calls
(``st.cache_resource`` makes the state once, whoever asks first; a script run that asks meanwhile waits for it).
A failure here is logged and changes nothing: the first page view does the work and shows the error itself.

**plotly.js** (``routes``): the file ``charts.plotly_js.served()`` chooses, at ``<baseUrlPath>/mmdash/plotly-<kind>-
<version>-<hash>.min.js`` (``plotly_url``): the name holds the first 16 hex digits of the file's SHA-256, so it is
served ``immutable`` with a lifetime of a year (the browser keeps it across visits and tabs; Streamlit's component
route sends ``public`` without a lifetime, so browsers fetched 1.1 MB again on every page), and gzipped once
(1.1 -> 0.38 MB) for a browser that accepts it, so a teammate without a compressing proxy gets the small one too.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import threading
from contextlib import asynccontextmanager

from dashboard.charts import plotly_js

_LOG = logging.getLogger(__name__)

#: Where the dashboard's own routes live (not a prefix Streamlit reserves).
ROUTE_PREFIX = "/_mmdash/"
#: The plotly.js route's path in this process, once ``routes`` made it (the pages ask ``plotly_url``).
_plotly_path: str | None = None


def warm() -> None:
    """Import what a page view imports, build plotly's template, gzip plotly.js, make the process-wide state."""
    try:
        from dashboard.charts import figures
        from dashboard.ui import common, run_view  # noqa: F401 - imported for their cost, once per process
        from dashboard.views import chart_stream, review, runs_table  # noqa: F401

        figures.template()
        chart_stream.chart_payload(figures.new_figure())  # plotly's JSON encoder, imported on first use
        if _plotly_path is not None:
            _plotly_bytes(True)
        common.app_state()
    except Exception:  # noqa: BLE001 - the first page view does the same work and reports what fails
        _LOG.exception("warm start failed; the first page view does its work")


@asynccontextmanager
async def lifespan(_app):
    """``st.App``'s lifespan: the warm start in a thread of its own; nothing to undo at shutdown (the state's
    threads are daemons, as when a page view starts them)."""
    threading.Thread(target=warm, name="mmdash-warm-start", daemon=True).start()
    yield


@functools.cache
def _plotly_file() -> tuple[bytes, str]:
    data = plotly_js.served().path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


@functools.cache
def _plotly_bytes(gzipped: bool) -> bytes:
    data = _plotly_file()[0]
    return gzip.compress(data, compresslevel=9, mtime=0) if gzipped else data


def _accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value takes gzip (``q=0`` refuses it)."""
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def routes() -> list:
    """The routes ``app.py`` gives its ``st.App``: plotly.js (see the module doc), under ``server.baseUrlPath``."""
    global _plotly_path
    from starlette.responses import Response
    from starlette.routing import Route
    from streamlit import config

    bundle = plotly_js.served()
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    name = f"plotly-{bundle.kind}-{bundle.version}-{_plotly_file()[1]}.min.js"
    path = (f"/{base}" if base else "") + ROUTE_PREFIX + name

    async def plotly(request) -> Response:
        zipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        if zipped:
            headers["Content-Encoding"] = "gzip"
        return Response(_plotly_bytes(zipped), media_type="text/javascript", headers=headers)

    _plotly_path = path
    return [Route(path, plotly, methods=["GET", "HEAD"])]


def plotly_url() -> str | None:
    """The plotly.js route's URL path on this server, or None when the server has no such route (run without
    ``st.App``: ``ui.live_chart`` then uses the component route)."""
    return _plotly_path
